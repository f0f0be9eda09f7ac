"""Multi-MIC steady-state metrics and the fast crossing solver (issue 5 scale work).

The fast path (closed-form root late on the falling branch, Halley elsewhere) must give
the same %T>MIC as the independent general path (grid + Illinois on the transition-matrix
solution) and as a plain bisection on the closed form, on random parameters including
extreme absorption, lag longer than the interval and asymmetric patterns.
"""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose.pk import Covariates, DosePattern, get_model, parse_regimen, steady_state_metrics
from cyclodose.pk.params import Params
from cyclodose.pk.steady_state import (
    _central_from_depot,
    _metrics_first_order,
    _metrics_general,
    _newton_root,
    metrics,
)

ALG = get_model("alghamdi2019")
RES = get_model("resendiz2025")
MICS = [0.5, 4.0, 8.0, 16.0, 32.0, 48.0, 64.0]
PATTERNS = ["250mg q12h", "250/500mg q12h", "750mg q24h", "250mg q8h", "125/250/250mg q8h"]


def _random_params(n: int, seed: int, n_stages: int = 0) -> Params:
    """Wide, partly implausible parameters: ka from 0.02 to 200 /h (also below k), lag up
    to 30 h (longer than any interval), V 5-80 L, CL 0.3-20 L/h."""
    rng = np.random.default_rng(seed)
    return Params(cl_l_h=rng.uniform(0.3, 20.0, n), v_l=rng.uniform(5.0, 80.0, n),
                  ka_per_h=np.exp(rng.uniform(np.log(0.02), np.log(200.0), n)),
                  tlag_h=np.where(rng.random(n) < 0.3, rng.uniform(0, 30, n), rng.uniform(0, 1, n)),
                  mtt_h=rng.uniform(0.2, 3.0, n) if n_stages else np.full(n, np.nan),
                  f=rng.uniform(0.6, 1.0, n), n_stages=n_stages)


@pytest.mark.parametrize("text", PATTERNS)
def test_multi_mic_equals_one_call_per_mic(text: str) -> None:
    rng = np.random.default_rng(3)
    n = 60
    eta = rng.multivariate_normal(np.zeros(len(ALG.eta_names)), ALG.omega, n)
    cov = Covariates.create(weight_kg=rng.uniform(40, 85, n), crcl_ml_min=rng.uniform(30, 140, n))
    pat = parse_regimen(text)
    multi = steady_state_metrics(ALG, cov, eta, pat, mics_mg_l=MICS)
    assert multi["tmic_pct"].shape == (n, len(MICS))
    for j, mic in enumerate(MICS):
        one = steady_state_metrics(ALG, cov, eta, pat, mic_mg_l=mic)
        # the same entry-by-entry computation: identical, not merely close
        assert np.array_equal(one["tmic_pct"], multi["tmic_pct"][:, j]), mic
        for key in ("cmax", "cmin", "ctrough", "tmax", "auc24"):
            assert np.array_equal(one[key], multi[key])


def test_multi_mic_transit_model_equals_one_call_per_mic() -> None:
    par = _random_params(15, seed=11, n_stages=5)
    pat = parse_regimen("250/500mg q12h")
    multi = metrics(par, pat, mics_mg_l=[4.0, 16.0, 40.0])
    for j, mic in enumerate([4.0, 16.0, 40.0]):
        assert np.array_equal(metrics(par, pat, mic)["tmic_pct"], multi["tmic_pct"][:, j])


def test_resendiz_multi_mic_matches() -> None:
    rng = np.random.default_rng(4)
    n = 10
    eta = rng.multivariate_normal(np.zeros(len(RES.eta_names)), RES.omega, n)
    cov = Covariates.create(weight_kg=rng.uniform(40, 85, n), ffm_kg=rng.uniform(30, 55, n),
                            crcl_56m_ml_min=rng.uniform(50, 150, n))
    pat = parse_regimen("250mg q12h")
    multi = steady_state_metrics(RES, cov, eta, pat, mics_mg_l=[8.0, 16.0])
    single = steady_state_metrics(RES, cov, eta, pat, mic_mg_l=16.0)
    assert np.array_equal(multi["tmic_pct"][:, 1], single["tmic_pct"])


@pytest.mark.parametrize("text", PATTERNS)
def test_fast_path_equals_general_path_on_extreme_parameters(text: str) -> None:
    par = _random_params(300, seed=sum(map(ord, text)))
    pat = parse_regimen(text)
    fast = _metrics_first_order(par, pat, None, levels=np.broadcast_to(
        np.array(MICS)[None, :], (par.size, len(MICS))))
    for j, mic in enumerate(MICS):
        slow = _metrics_general(par, pat, mic)
        # %T>MIC in percentage points: 1e-7 of a 24 h period is ~1e-8 h
        assert np.max(np.abs(fast["tmic_pct"][:, j] - slow["tmic_pct"])) < 1e-8, mic
    for key in ("cmax", "cmin"):
        assert np.allclose(fast[key], _metrics_general(par, pat, None)[key], rtol=1e-9)


def _bisect(k: np.ndarray, ka: np.ndarray, xd: np.ndarray, xc: np.ndarray, v: np.ndarray,
            level: np.ndarray, lo: np.ndarray, hi: np.ndarray, rising: bool) -> np.ndarray:
    a, b = lo.copy(), hi.copy()
    for _ in range(200):
        m = 0.5 * (a + b)
        g, ek, _ = _central_from_depot(m, k, ka)
        c = (xd * g + xc * ek) / v
        right = (c < level) if rising else (c > level)
        a, b = np.where(right, m, a), np.where(right, b, m)
    return 0.5 * (a + b)


@pytest.mark.parametrize("rising", [True, False])
def test_root_solver_against_bisection(rising: bool) -> None:
    """Every branch: closed-form late fall, Halley, the expm1 path for ka close to k
    (including ka == k exactly) and the bracket fallback."""
    rng = np.random.default_rng(5 if rising else 6)
    n = 4000
    k = rng.uniform(0.02, 0.5, n)
    ka = np.exp(rng.uniform(np.log(0.01), np.log(300.0), n))
    ka[:40] = k[:40] * (1 + rng.uniform(-1e-6, 1e-6, 40))
    ka[40:50] = k[40:50]
    xd = rng.uniform(0.0, 500.0, n) if rising else rng.uniform(0.0, 50.0, n)
    xc = rng.uniform(0.0, 100.0, n) if rising else rng.uniform(50.0, 500.0, n)
    v = rng.uniform(10.0, 60.0, n)
    lo = np.zeros(n)
    hi = rng.uniform(0.5, 48.0, n)
    if rising:
        # a rising piece: from the start up to the peak (or the piece end if earlier)
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = np.log(ka * xd / np.maximum(k * (ka * xd + (ka - k) * xc) / ka, 1e-300)) / (
                ka - k)
        hi = np.where(np.isfinite(tau) & (tau > 0.05), np.minimum(tau, hi), 0.05)
        xd = np.maximum(xd, 1.0)
        xc = np.minimum(xc, 0.5 * xd)
    g0, e0, _ = _central_from_depot(lo, k, ka)
    g1, e1, _ = _central_from_depot(hi, k, ka)
    c_lo, c_hi = (xd * g0 + xc * e0) / v, (xd * g1 + xc * e1) / v
    u = rng.uniform(0.01, 0.99, n)
    level = c_lo + u * (c_hi - c_lo)
    mono = (c_hi > c_lo) == rising
    assert mono.mean() > 0.5
    idx = np.flatnonzero(mono)
    a = [z[idx] for z in (k, ka, xd, xc, v, level, lo, hi, c_lo, c_hi)]
    root = _newton_root(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], rising)
    ref = _bisect(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], rising)
    assert np.max(np.abs(root - ref)) < 1e-10
    late = (ka[idx] - k[idx]) * root >= 40.0  # where the closed-form late-fall root applies
    close = np.abs(ka[idx] - k[idx]) < 1e-3  # where the expm1 path applies
    assert (late.mean() > 0.2) == (not rising) and close.sum() >= 30
    # the same root whatever other entries share the call (chunk independence)
    sub = slice(3, 700, 7)
    b = [z[sub] for z in a]
    again = _newton_root(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], rising)
    assert np.array_equal(again, root[sub])


def test_metrics_with_per_individual_mic_still_supported() -> None:
    par = _random_params(20, seed=9)
    pat = DosePattern(period_h=24.0, offsets_h=(0.0, 10.0), amounts_mg=(250.0, 500.0))
    mic = np.linspace(2.0, 40.0, 20)
    out = metrics(par, pat, mic)
    for i in (0, 5, 19):
        assert out["tmic_pct"][i] == metrics(par, pat, float(mic[i]))["tmic_pct"][i]


@pytest.mark.parametrize("text", PATTERNS)
def test_times_false_leaves_the_other_metrics_unchanged(text: str) -> None:
    # population runs skip tmax/tmin/ctrough; everything they keep must be bit-identical
    par = _random_params(400, seed=7 + len(text))
    pat = parse_regimen(text)
    full = metrics(par, pat, mics_mg_l=MICS)
    lean = metrics(par, pat, mics_mg_l=MICS, times=False)
    for key in ("cmax", "cmin", "tmic_pct", "auc24", "auc_period"):
        assert np.array_equal(full[key], lean[key]), key
    assert "ctrough" not in lean and "tmax" not in lean
