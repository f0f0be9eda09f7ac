"""Virtual covariates and etas: copula, truncation, resampling, reproducibility."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from cyclodose.errors import CaseError
from cyclodose.population.sampling import BLOCK_SIZE, Sampler, chunk_ranges, omega_factor
from cyclodose.population.spec import parse_population_spec

OMEGA = np.diag([0.409, 1.52, 0.174, 0.353]) ** 2  # Alghamdi 2019 IIV SDs squared


def _spec(n: int, rho: float = 0.4, **cov: dict[str, object]) -> object:
    covariates = cov or {
        "weight_kg": {"dist": "normal", "mean": 58.0, "sd": 12.2, "min": 0},
        "crcl_ml_min": {"dist": "normal", "mean": 89.1, "sd": 31.9, "min": 0},
    }
    names = list(covariates)
    corr = [{"a": names[0], "b": names[1], "rho": rho}] if len(names) > 1 and rho else []
    return parse_population_spec({"n": n, "seed": 7, "covariates": covariates,
                                  "correlations": corr})


@pytest.mark.parametrize("rho", [0.4, -0.6])
def test_copula_pearson_and_spearman_near_rho(rho: float) -> None:
    # Normal marginals (truncation at 0 is > 2.7 SD away, negligible): Pearson ≈ rho;
    # Gaussian copula: Spearman = 6/π·asin(rho/2) (Kruskal 1958).
    s = Sampler(_spec(40_000, rho), OMEGA).sample(0, 40_000).covariates  # type: ignore[arg-type]
    w, c = s["weight_kg"], s["crcl_ml_min"]
    assert np.corrcoef(w, c)[0, 1] == pytest.approx(rho, abs=0.02)
    spearman = stats.spearmanr(w, c).statistic
    assert spearman == pytest.approx(6 / np.pi * np.arcsin(rho / 2), abs=0.02)


def test_copula_rank_correlation_survives_lognormal_and_truncation() -> None:
    spec = _spec(40_000, 0.7,
                 weight_kg={"dist": "lognormal", "mean": 60.0, "sd": 15.0, "min": 40, "max": 80},
                 age_years={"dist": "uniform", "min": 18, "max": 70})
    s = Sampler(spec, OMEGA).sample(0, 40_000).covariates  # type: ignore[arg-type]
    # Truncation and monotone marginals leave the copula's ranks alone... except that
    # truncating one margin selects a sub-region; rank correlation stays close to rho_s.
    rho_s = stats.spearmanr(s["weight_kg"], s["age_years"]).statistic
    assert 0.55 < rho_s < 0.72


def test_truncation_bounds_respected_and_marginal_correct() -> None:
    spec = _spec(50_000, 0.4,
                 weight_kg={"dist": "normal", "mean": 58.0, "sd": 12.2, "min": 50, "max": 60},
                 crcl_ml_min={"dist": "lognormal", "mean": 89.1, "sd": 31.9, "min": 80,
                              "max": 200})
    s = Sampler(spec, OMEGA).sample(0, 50_000).covariates  # type: ignore[arg-type]
    w, c = s["weight_kg"], s["crcl_ml_min"]
    assert w.min() >= 50 and w.max() <= 60 and c.min() >= 80 and c.max() <= 200
    # Exact truncated normal marginal: KS test against scipy's truncnorm
    a, b = (50 - 58.0) / 12.2, (60 - 58.0) / 12.2
    assert stats.kstest(w, stats.truncnorm(a, b, loc=58.0, scale=12.2).cdf).pvalue > 1e-3
    # mass is renormalised, not piled onto the bounds (clipping would put ~40 % at 50)
    assert np.mean(w == 50) < 1e-3


def test_lognormal_mean_and_sd_are_of_the_variable() -> None:
    spec = _spec(100_000, 0.0, weight_kg={"dist": "lognormal", "mean": 60.0, "sd": 15.0},
                 age_years={"dist": "constant", "value": 40})
    s = Sampler(spec, OMEGA).sample(0, 100_000).covariates  # type: ignore[arg-type]
    assert s["weight_kg"].mean() == pytest.approx(60.0, rel=0.01)
    assert s["weight_kg"].std() == pytest.approx(15.0, rel=0.03)
    assert np.all(s["age_years"] == 40)


def test_bernoulli_fraction() -> None:
    spec = _spec(20_000, 0.0, weight_kg={"dist": "uniform", "min": 40, "max": 80},
                 male={"dist": "bernoulli", "p": 0.65})
    s = Sampler(spec, OMEGA).sample(0, 20_000).covariates  # type: ignore[arg-type]
    assert set(np.unique(s["male"])) == {0.0, 1.0}
    assert s["male"].mean() == pytest.approx(0.65, abs=0.015)


def test_etas_have_the_model_covariance() -> None:
    eta = Sampler(_spec(100_000), OMEGA).sample(0, 100_000).eta  # type: ignore[arg-type]
    np.testing.assert_allclose(np.cov(eta.T), OMEGA, atol=0.03 * OMEGA.max())
    off = np.cov(eta.T) - np.diag(np.diag(np.cov(eta.T)))
    assert np.abs(off).max() < 0.02


def test_bsv_false_and_zero_omega_give_typical_individuals() -> None:
    spec = parse_population_spec({"n": 50, "seed": 1, "bsv": False,
                                  "covariates": {"weight_kg": {"dist": "constant", "value": 59}}})
    assert np.all(Sampler(spec, OMEGA).sample(0, 50).eta == 0)
    spec2 = spec.model_copy(update={"bsv": True})
    assert np.all(Sampler(spec2, np.zeros((4, 4))).sample(0, 50).eta == 0)


def test_omega_factor_handles_singular_matrices() -> None:
    om = np.array([[0.1, 0.0], [0.0, 0.0]])
    f = omega_factor(om)
    np.testing.assert_allclose(f @ f.T, om, atol=1e-15)


@pytest.mark.parametrize("chunk", [1, 999, 4096, BLOCK_SIZE, BLOCK_SIZE + 17, 200_000])
def test_same_numbers_whatever_the_chunk_size(chunk: int) -> None:
    n = BLOCK_SIZE + 5_000  # spans two canonical blocks
    sampler = Sampler(_spec(n), OMEGA)  # type: ignore[arg-type]
    whole = sampler.sample(0, n)
    ranges = chunk_ranges(n, chunk)
    # the first chunks, the ones around the block boundary and the last one
    at_boundary = [r for r in ranges if r[0] - 2 * chunk <= BLOCK_SIZE <= r[1] + 2 * chunk]
    ranges = sorted(set(ranges[:2] + at_boundary + ranges[-1:]))
    for start, stop in ranges:
        part = sampler.sample(start, stop)
        assert np.array_equal(part.eta, whole.eta[start:stop])
        for k, v in part.covariates.items():
            assert np.array_equal(v, whole.covariates[k][start:stop])


def test_seed_changes_numbers_and_population_size_does_not() -> None:
    a = Sampler(_spec(1000), OMEGA).sample(0, 1000)  # type: ignore[arg-type]
    b = Sampler(_spec(500), OMEGA).sample(0, 500)  # type: ignore[arg-type]
    assert np.array_equal(a.eta[:500], b.eta)  # the first 500 patients do not depend on n
    spec_other = _spec(1000).model_copy(update={"seed": 8})  # type: ignore[attr-defined]
    assert not np.array_equal(Sampler(spec_other, OMEGA).sample(0, 1000).eta, a.eta)


def test_inconsistent_correlations_are_a_case_error() -> None:
    spec = parse_population_spec({"n": 10, "seed": 1, "covariates": {
        "weight_kg": {"dist": "uniform", "min": 40, "max": 80},
        "crcl_ml_min": {"dist": "uniform", "min": 40, "max": 80},
        "age_years": {"dist": "uniform", "min": 20, "max": 60}},
        "correlations": [{"a": "weight_kg", "b": "crcl_ml_min", "rho": 0.95},
                         {"a": "weight_kg", "b": "age_years", "rho": 0.95},
                         {"a": "crcl_ml_min", "b": "age_years", "rho": -0.95}]})
    with pytest.raises(CaseError) as exc:
        Sampler(spec, OMEGA)
    assert exc.value.problems[0].field == "correlations"


def test_resampling_keeps_patients_whole(tmp_path: Path) -> None:
    rows = [(45.0, 60.0, 30.0), (60.0, 95.0, 41.0), (82.0, 130.0, 25.0)]
    (tmp_path / "pts.csv").write_text(
        "weight_kg,crcl_ml_min,age_years\n" + "\n".join(",".join(map(str, r)) for r in rows))
    spec = parse_population_spec({"n": 3000, "seed": 5, "resample": "pts.csv",
                                  "covariates": {"male": {"dist": "bernoulli", "p": 0.5}}},
                                 base_dir=tmp_path)
    s = Sampler(spec, OMEGA).sample(0, 3000).covariates
    drawn = set(zip(s["weight_kg"], s["crcl_ml_min"], s["age_years"], strict=True))
    assert drawn == set(rows)  # each virtual patient is one real row, every row used
    counts = np.unique(s["weight_kg"], return_counts=True)[1]
    assert counts.min() > 900  # with replacement, uniformly (expected 1000 each)
