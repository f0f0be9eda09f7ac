"""The scale-work fast paths of the population run equal their general counterparts
(issue 5: 1,000,000 patients x 12 regimens in bounded time, numbers unchanged).

- evaluate_chunk (parameters once per chunk, PK in row blocks, no tmax/tmin/trough)
  against one public pk.steady_state_metrics call per regimen;
- exposure_stats (in-place order statistics) against np.mean/np.median/np.quantile;
- Combiner filled in any order, and run_numpy's sink, against the list path;
- balanced_ranges tiles the population in bounded, near-equal chunks.
"""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose import pk
from cyclodose.population import balanced_ranges, parse_population_spec
from cyclodose.population import evaluate as ev
from cyclodose.population.backends import run_numpy
from cyclodose.population.evaluate import Job, evaluate_chunk, make_covariates
from cyclodose.population.pta import ChunkSummary, Combiner, combine, exposure_stats
from cyclodose.population.regimens import fixed
from cyclodose.population.sampling import Sampler

POP = {"weight_kg": {"dist": "normal", "mean": 58.0, "sd": 12.2, "min": 35, "max": 110},
       "crcl_ml_min": {"dist": "normal", "mean": 89.1, "sd": 31.9, "min": 25, "max": 250}}
REGIMENS = ("250mg q12h", "250/500mg q12h", "750mg q24h", "250mg q8h", "500/750mg q12h")
MICS = (4.0, 8.0, 16.0, 32.0, 48.0, 64.0)
TARGETS = (30.0, 64.0)


def _job(n: int = 700, seed: int = 5) -> Job:
    spec = parse_population_spec({"n": n, "seed": seed, "covariates": POP})
    return Job(spec=spec, plans=tuple(fixed(r) for r in REGIMENS),
               mics_mg_l=MICS, targets_pct=TARGETS)


def test_chunk_equals_one_public_call_per_regimen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ev, "PK_BLOCK", 128)  # several row blocks, the last one short
    job = _job()
    start, stop = 37, 650
    got = evaluate_chunk(job, start, stop)
    model = pk.get_model(job.spec.model)
    sample = Sampler(job.spec, model.omega).sample(start, stop)
    cov = make_covariates(sample.covariates, model)
    targets = np.array(TARGETS)
    for r, pattern in enumerate(p.pattern for p in job.plans):
        ref = pk.steady_state_metrics(model, cov, sample.eta, pattern, mics_mg_l=MICS)
        # identical, not merely close: the same per-row arithmetic
        assert np.array_equal(got.cmax_mg_l[r], ref["cmax"])
        assert np.array_equal(got.cmin_mg_l[r], ref["cmin"])
        assert np.array_equal(got.auc24_mg_h_l[r], ref["auc24"])
        tmic = ref["tmic_pct"]
        for i in range(len(MICS)):
            # plain count of %T>MIC >= target over every individual (targets below 100 %)
            full = (tmic[:, i, None] >= targets[None, :]).sum(axis=0)
            assert got.attained[r, i].tolist() == full.tolist(), (pattern, MICS[i])


def test_chunk_does_not_depend_on_the_pk_block(monkeypatch: pytest.MonkeyPatch) -> None:
    job = _job(n=500, seed=9)
    whole = evaluate_chunk(job, 0, 500)
    monkeypatch.setattr(ev, "PK_BLOCK", 77)
    split = evaluate_chunk(job, 0, 500)
    assert np.array_equal(whole.attained, split.attained)
    for a, b in zip(whole.cmax_mg_l + whole.cmin_mg_l + whole.auc24_mg_h_l,
                    split.cmax_mg_l + split.cmin_mg_l + split.auc24_mg_h_l, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("n", [1, 2, 1001, 40_000])
def test_exposure_stats_equal_numpy_statistics(n: int) -> None:
    rng = np.random.default_rng(n)
    cmax = rng.lognormal(2.5, 0.4, n)
    cmax[: n // 3] = np.round(cmax[: n // 3])  # ties
    cmin, auc = rng.lognormal(2.0, 0.5, n), rng.lognormal(5.0, 0.3, n)
    keep = cmax.copy()
    st = exposure_stats(cmax, cmin, auc)
    assert np.array_equal(cmax, keep)  # the input is left alone
    assert st["cmax_mean"] == float(np.mean(cmax))
    assert st["cmax_median"] == float(np.median(cmax))
    assert st["cmax_p05"] == float(np.quantile(cmax, 0.05))
    assert st["cmax_p95"] == float(np.quantile(cmax, 0.95))
    assert st["cmin_median"] == float(np.median(cmin))
    assert st["auc24_mean"] == float(np.mean(auc))
    assert st["auc24_median"] == float(np.median(auc))
    assert st["p_cmax_above_30"] == float(np.mean(cmax > 30.0))
    assert st["p_cmax_above_35"] == float(np.mean(cmax > 35.0))


def _chunks(job: Job, ranges: list[tuple[int, int]]) -> list[ChunkSummary]:
    return [evaluate_chunk(job, a, b) for a, b in ranges]


def test_combiner_in_any_order_equals_combine() -> None:
    job = _job(n=600, seed=2)
    chunks = _chunks(job, [(0, 250), (250, 400), (400, 600)])
    args = (list(REGIMENS), [1.0] * len(REGIMENS), list(MICS), list(TARGETS))
    ref = combine(chunks, *args)
    acc = Combiner(600, len(REGIMENS), len(MICS), len(TARGETS))
    for c in (chunks[2], chunks[0], chunks[1]):
        acc.add(c)
    for threads in (1, 2):
        got = acc.results(*args, threads=threads)
        for a, b in zip(ref, got, strict=True):
            assert a.to_json() == b.to_json()
            assert np.array_equal(a.cmin_mg_l, b.cmin_mg_l)


def test_combiner_refuses_a_gap_or_an_outside_chunk() -> None:
    job = _job(n=300, seed=2)
    c1, _, c3 = _chunks(job, [(0, 100), (100, 200), (200, 300)])
    acc = Combiner(300, len(REGIMENS), len(MICS), len(TARGETS))
    acc.add(c1)
    acc.add(c3)
    with pytest.raises(ValueError, match="gap"):
        acc.results(list(REGIMENS), [1.0] * 5, list(MICS), list(TARGETS))
    small = Combiner(150, len(REGIMENS), len(MICS), len(TARGETS))
    with pytest.raises(ValueError, match="outside"):
        small.add(c3)


@pytest.mark.parametrize("workers", [1, 2])
def test_run_numpy_sink_receives_every_chunk(workers: int) -> None:
    job = _job(n=400, seed=4)
    ranges = [(0, 130), (130, 260), (260, 400)]
    ref = run_numpy(evaluate_chunk, job, ranges, workers=workers)
    got: list[ChunkSummary] = []
    seen: list[int] = []
    out = run_numpy(evaluate_chunk, job, ranges, workers=workers, sink=got.append,
                    progress=seen.append)
    assert out == [] and sum(seen) == 400
    assert sorted(c.start for c in got) == [0, 130, 260]
    for a, b in zip(sorted(ref, key=lambda c: c.start), sorted(got, key=lambda c: c.start),
                    strict=True):
        assert np.array_equal(a.attained, b.attained)
        assert np.array_equal(a.cmax_mg_l[1], b.cmax_mg_l[1])


@pytest.mark.parametrize(("n", "chunk", "workers"),
                         [(1_000_000, 65536, 2), (10, 65536, 2), (1000, 7, 3), (5, 2, 2),
                          (65536, 65536, 2)])
def test_balanced_ranges_tile_in_bounded_chunks(n: int, chunk: int, workers: int) -> None:
    ranges = balanced_ranges(n, chunk, workers)
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    sizes = [b - a for a, b in ranges]
    assert max(sizes) <= chunk and min(sizes) > 0
    if n >= chunk * workers:  # large runs: whole rounds of equal work for every worker
        assert len(ranges) % workers == 0 and max(sizes) - min(sizes) <= 1
