"""`steady_state.metrics_each`: first-order patterns of the same dose count computed as one
array (patterns x individuals) must give exactly the numbers of `metrics` pattern by
pattern (every operation is elementwise; stacking only changes which row holds what)."""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose.pk import DosePattern
from cyclodose.pk.params import Params
from cyclodose.pk.steady_state import metrics, metrics_each

PATTERNS = [DosePattern.every(1.0, 24.0), DosePattern.every(250.0, 12.0),
            DosePattern.every(1.0, 8.0), DosePattern.cycle([0.5, 1.0], 12.0),
            DosePattern(24.0, (2.0, 10.0), (500.0, 250.0)), DosePattern.every(400.0, 10.0),
            DosePattern(24.0, (0.0, 8.0, 16.0), (250.0, 0.0, 250.0)),  # a zero dose
            DosePattern(24.0, (1.0, 9.0, 17.0), (250.0, 500.0, 250.0))]


def _edge_params(n: int, seed: int) -> Params:
    """ka below k, equal to k and a hair above it; lags longer than every dose gap."""
    rng = np.random.default_rng(seed)
    cl, v = rng.uniform(0.3, 20.0, n), rng.uniform(5.0, 80.0, n)
    k = cl / v
    ka = np.exp(rng.uniform(np.log(0.02), np.log(200.0), n))
    kind = np.arange(n) % 5
    ka = np.where(kind == 1, k, np.where(kind == 2, 0.3 * k, np.where(kind == 3, k * (1 + 1e-9),
                                                                         ka)))
    lag = np.where(rng.random(n) < 0.3, rng.uniform(0.0, 30.0, n), rng.uniform(0.0, 1.0, n))
    return Params(cl_l_h=cl, v_l=v, ka_per_h=ka, tlag_h=lag, mtt_h=np.full(n, np.nan),
                  f=rng.uniform(0.6, 1.0, n))


def _levels(par: Params, patterns: list[DosePattern], seed: int) -> list[list[float]]:
    """0 to 4 levels per pattern, across each pattern's profiles (crossed by some rows)."""
    rng = np.random.default_rng(seed)
    out = []
    for p in patterns:
        m = metrics(par, p, times=False)
        lo, hi = np.quantile(m["cmin"], 0.2), np.quantile(m["cmax"], 0.8)
        out.append(list(rng.uniform(lo, hi, int(rng.integers(0, 5)))))
    return out


def _assert_identical(got: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> None:
    assert set(got) == set(ref)
    for key, value in ref.items():
        assert got[key].shape == value.shape, key
        assert np.array_equal(got[key], value, equal_nan=True), key


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stacked_patterns_equal_one_by_one(seed: int) -> None:
    par = _edge_params(157, seed)
    levels = _levels(par, PATTERNS, seed)
    levels[1] = []  # a pattern without levels among others with some
    crossed = 0
    for got, p, lv in zip(metrics_each(par, PATTERNS, levels), PATTERNS, levels, strict=True):
        _assert_identical(got, metrics(par, p, mics_mg_l=np.asarray(lv, dtype=float),
                                       times=False))
        assert got["tmic_pct"].shape == (par.size, len(lv))
        crossed += int(np.sum((got["tmic_pct"] > 0) & (got["tmic_pct"] < 100)))
    assert crossed > 0  # levels inside the profiles: the crossing solver was exercised


def test_stacked_levels_are_crossed_and_padding_never_counts() -> None:
    par = _edge_params(80, 4)
    pats = [DosePattern.every(250.0, 12.0), DosePattern.every(500.0, 24.0)]
    one = metrics(par, pats[0], times=False)
    mid = float(np.median(0.5 * (one["cmax"] + one["cmin"])))
    levels = [[mid, mid, mid], [mid]]  # the second pattern padded with two nan levels
    got = metrics_each(par, pats, levels)
    tm = got[0]["tmic_pct"]
    assert np.any((tm > 0) & (tm < 100))  # some rows cross: the root finder ran
    assert got[1]["tmic_pct"].shape == (80, 1)
    _assert_identical(got[1], metrics(par, pats[1], mics_mg_l=[mid], times=False))


def test_without_levels_and_one_pattern_alone() -> None:
    par = _edge_params(40, 5)
    for got, p in zip(metrics_each(par, PATTERNS), PATTERNS, strict=True):
        _assert_identical(got, metrics(par, p, times=False))
        assert np.all(np.isnan(got["tmic_pct"]))
    (alone,) = metrics_each(par, PATTERNS[3:4])
    _assert_identical(alone, metrics(par, PATTERNS[3], times=False))
    assert metrics_each(par, []) == []


def test_transit_models_go_pattern_by_pattern() -> None:
    rng = np.random.default_rng(6)
    n = 12
    par = Params(cl_l_h=rng.uniform(1, 5, n), v_l=rng.uniform(20, 60, n),
                 ka_per_h=rng.uniform(0.5, 3, n), tlag_h=np.zeros(n),
                 mtt_h=rng.uniform(0.5, 2, n), f=np.ones(n), n_stages=4)
    pats = PATTERNS[:2]
    for got, p in zip(metrics_each(par, pats, [[0.01], [5.0]]), pats, strict=True):
        lv = [0.01] if p is pats[0] else [5.0]
        _assert_identical(got, metrics(par, p, mics_mg_l=lv, times=False))
