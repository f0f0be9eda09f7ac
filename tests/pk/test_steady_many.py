"""Many dose patterns from one tabulated unit response (transit models, `pk.steady_many`):
the same steady-state metrics as the general path pattern by pattern, and as an ODE run-in."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from tests.pk.ode_reference import ode_concentrations

from cyclodose.pk import (
    Covariates,
    DosePattern,
    get_model,
    individual_parameters,
    steady_state_metrics_many,
)
from cyclodose.pk.params import Params
from cyclodose.pk.steady_many import metrics_many, metrics_patterns
from cyclodose.pk.steady_state import _metrics_general

RES = get_model("resendiz2025")
ALG = get_model("alghamdi2019")
COV_RES = Covariates.create(weight_kg=60.0, age_years=40.0, height_cm=170.0, male=1.0,
                            scr_mg_dl=0.9)
COV_ALG = Covariates.create(weight_kg=59.0, crcl_ml_min=89.1)
# the shapes of the candidate grid (unit amounts): q24h, q12h, q8h and 24 h cycles
GRID = [DosePattern.every(1.0, 24.0), DosePattern.every(1.0, 12.0), DosePattern.every(1.0, 8.0),
        DosePattern.cycle([0.5, 1.0], 12.0), DosePattern.cycle([2 / 3, 1.0], 12.0),
        DosePattern.cycle([0.75, 1.0], 12.0), DosePattern(24.0, (2.0, 10.0), (1.0, 0.5))]


def _varied(n: int, seed: int) -> Params:
    """Transit-model individuals with every absorption parameter varied too (the general
    case, beyond the bundled model's variability on CL alone), including fast absorption
    (MTT 0.1 h, ka 20 /h: trough and peak a fraction of an hour apart)."""
    rng = np.random.default_rng(seed)
    par = individual_parameters(RES, COV_RES, rng.normal(0.0, 0.34, (n, 1)))
    mtt = par.mtt_h * np.exp(rng.normal(0.0, 0.8, n))
    ka = par.ka_per_h * np.exp(rng.normal(0.0, 0.9, n))
    v = par.v_l * np.exp(rng.normal(0.0, 0.3, n))
    mtt[0], ka[0] = 0.1, 20.0
    return replace(par, mtt_h=mtt, ka_per_h=ka, v_l=v)


def _levels(par: Params, pattern: DosePattern) -> list[float]:
    """Levels across the profiles of these individuals (each crossed by some of them)."""
    ref = _metrics_general(par, pattern, None)
    return list(np.quantile(np.concatenate([ref["cmin"], ref["cmax"]]), [0.1, 0.5, 0.9]))


@pytest.mark.parametrize("seed", [1, 2])
def test_many_patterns_match_the_general_path(seed: int) -> None:
    par = _varied(300, seed)
    levels = [_levels(par, p) for p in GRID]
    fast = metrics_many(par, GRID, levels)
    assert fast is not None
    for p, lv, got in zip(GRID, levels, fast, strict=True):
        ref = _metrics_general(par, p, None, levels=np.broadcast_to(lv, (par.size, len(lv))))
        np.testing.assert_allclose(got["cmax"], ref["cmax"], rtol=1e-10)
        np.testing.assert_allclose(got["cmin"], ref["cmin"], rtol=1e-10)
        np.testing.assert_allclose(got["tmic_pct"], ref["tmic_pct"], rtol=0, atol=1e-8)
        np.testing.assert_allclose(got["auc24"], par.f * p.daily_dose_mg / par.cl_l_h)


def test_without_levels_the_same_peaks_and_troughs() -> None:
    # no levels: only the extremes that can be the highest or lowest are refined
    par = _varied(300, 3)
    with_levels = metrics_many(par, GRID, [[1.0]] * len(GRID))
    alone = metrics_many(par, GRID)
    assert with_levels is not None and alone is not None
    for a, b in zip(alone, with_levels, strict=True):
        np.testing.assert_allclose(a["cmax"], b["cmax"], rtol=1e-12)
        np.testing.assert_allclose(a["cmin"], b["cmin"], rtol=1e-12)
        assert "tmic_pct" not in a


def test_against_an_ode_run_in() -> None:
    """16 days of dosing integrated by solve_ivp (DOP853, rtol 1e-10; half-lives of 10-14 h,
    so the run-in is at steady state to ~1e-10): the last day's profile on a 0.002 h grid
    lies within the refined trough and peak, and touches them to grid accuracy."""
    par = individual_parameters(RES, COV_RES, np.array([[0.5], [0.8]]))
    pattern = DosePattern.cycle([250.0, 500.0], 12.0)
    fast = metrics_many(par, [pattern])
    assert fast is not None
    days = 16
    td = np.arange(2 * days) * 12.0
    ad = np.tile([250.0, 500.0], days)
    t = (days - 1) * 24.0 + np.arange(0.0, 24.0, 0.002)
    for i in range(par.size):
        c = ode_concentrations([(-np.inf, par.take(np.array([i])))], td, ad, t)
        cmax, cmin = fast[0]["cmax"][i], fast[0]["cmin"][i]
        assert c.max() * (1 - 1e-8) <= cmax <= c.max() * (1 + 1e-6)
        assert c.min() * (1 - 1e-4) <= cmin <= c.min() * (1 + 1e-8)


def test_it_declines_what_it_cannot_do_and_the_fallback_is_the_general_path() -> None:
    par = individual_parameters(RES, COV_RES, np.zeros((5, 1)))
    assert metrics_many(par, [DosePattern.every(500.0, 48.0)]) is None  # period beyond 24 h
    assert metrics_many(par, [DosePattern(24.0, (0.0, 10.05), (1.0, 1.0))]) is None  # off grid
    first_order = individual_parameters(ALG, COV_ALG, np.zeros((5, 4)))
    assert metrics_many(first_order, [DosePattern.every(250.0, 12.0)]) is None
    q48 = DosePattern.every(500.0, 48.0)
    got = metrics_patterns(par, [q48], [[10.0]])[0]
    ref = _metrics_general(par, q48, None, levels=np.full((5, 1), 10.0))
    np.testing.assert_array_equal(got["cmax"], ref["cmax"])
    np.testing.assert_array_equal(got["tmic_pct"], ref["tmic_pct"])


def test_public_api_scales_with_the_dose() -> None:
    eta = np.random.default_rng(5).normal(0.0, 0.34, (50, 1))
    unit, double = steady_state_metrics_many(
        RES, COV_RES, eta, [DosePattern.every(1.0, 12.0), DosePattern.every(2.0, 12.0)])
    np.testing.assert_allclose(double["cmax"], 2 * unit["cmax"], rtol=1e-12)
    np.testing.assert_allclose(double["cmin"], 2 * unit["cmin"], rtol=1e-12)


def _unit_and_weights(seed: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    from cyclodose.pk.steady_many import _N_GRID
    rng = np.random.default_rng(seed)
    unit = rng.normal(size=(37, _N_GRID)) * np.exp(rng.uniform(-5, 5, (37, 1)))
    unit[0, :5] = 0.0  # zero slopes at grid points
    shifts = [0, 16, 64, 96, 128]
    weight = np.where(rng.random((6, len(shifts))) < 0.5, rng.uniform(0.1, 2.0, (6, 5)), 0.0)
    weight[0] = 0.0  # a pattern with no entry at any of these shifts
    return unit, weight, shifts


@pytest.mark.parametrize("seed", [1, 2])
def test_superposition_equals_einsum_over_every_rolled_copy(seed: int) -> None:
    """The weighted views of U twice over give einsum's sums over the stack of np.roll
    copies (zero weights included) exactly."""
    from cyclodose.pk.steady_many import _N_GRID, _superpose
    unit, weight, shifts = _unit_and_weights(seed)
    rolled = np.stack([np.roll(unit, s, axis=1) for s in shifts])
    ref = np.einsum("ps,snt->pnt", weight, rolled)
    twice, term = np.concatenate([unit, unit], axis=1), np.empty_like(unit)
    for j in range(weight.shape[0]):
        grid = np.full((unit.shape[0], _N_GRID + 1), np.nan)
        _superpose(twice, weight[j], shifts, grid, term)
        assert np.array_equal(grid[:, :-1], ref[j]) and np.array_equal(grid[:, -1], ref[j, :, 0])


def test_extreme_brackets_are_every_sign_change_of_the_slope() -> None:
    from cyclodose.pk.steady_many import _extreme_brackets
    unit, weight, shifts = _unit_and_weights(3)
    rolled = np.stack([np.roll(unit, s, axis=1) for s in shifts])
    slope = np.einsum("ps,snt->pnt", weight, rolled)
    slope = np.concatenate([slope, slope[:, :, :1]], axis=2).reshape(-1, unit.shape[1] + 1)
    rising = slope > 0
    pair, col = np.nonzero(rising[:, :-1] != rising[:, 1:])
    got = _extreme_brackets(unit, weight, shifts)
    assert pair.size > 0
    for a, b in zip(got, (pair, col, slope[pair, col], slope[pair, col + 1]), strict=True):
        assert np.array_equal(a, b)
