"""The fall below the ceiling after a high level: the coarse search then the grid as far as a
concentration can reach the ceiling (`rise`) gives the same times as the whole grid."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from cyclodose import pk
from cyclodose.tdm.occasions import OccasionModel, concentrations, occasion_model
from cyclodose.tdm.preprocess import DoseHistory, Observations
from cyclodose.workflows.tdm.advice import (
    FALL_COARSE,
    FALL_STEP_H,
    _fall_time,
    fall_grid_times,
)
from cyclodose.workflows.tdm.pipeline import rise_bound

ALG = pk.get_model("alghamdi2019")
RES = pk.get_model("resendiz2025")
COV_ALG = pk.Covariates.create(weight_kg=59.0, crcl_ml_min=89.1)
COV_RES = pk.Covariates.create(weight_kg=50.0, ffm_kg=38.6, crcl_56m_ml_min=122.0)
# weight and renal function falling 6 h after the last level: a new V and CL inside the
# fall window (a smaller V: the concentration steps up)
LATER = pk.Covariates.create(weight_kg=50.0, crcl_ml_min=60.0, ffm_kg=33.0,
                             crcl_56m_ml_min=80.0)
FROM_H = 218.0  # the last level, 2 h after the 216 h dose


def _doses(amount_mg: float) -> DoseHistory:
    # q12h to 216 h, then doses 2 h and 6 h after the level (inside the window) and a gap
    # of 4 h (shorter than the longest lags drawn below)
    t = np.concatenate([np.arange(0.0, 217.0, 12.0), [220.0, 224.0, 228.0]])
    return DoseHistory(time_h=t, amount_mg=np.full(t.size, amount_mg))


def _occasions(spec: pk.ModelSpec, doses: DoseHistory, starts: tuple[float, ...]
               ) -> OccasionModel:
    obs = Observations(np.array([100.0, FROM_H]), np.array([20.0, 40.0]), np.zeros(2, bool),
                       np.full(2, np.nan))
    return occasion_model(spec, obs, doses, starts)


def _rows(spec: pk.ModelSpec, cov: pk.Covariates, occ: OccasionModel,
          rng: np.random.Generator, n: int = 200) -> np.ndarray:
    """The typical patient (the first row, as the MAP), then draws of 0.7 prior SD (all
    falling inside the window) with the corners: ka below k, ka equal to k, lags longer than
    a dose gap."""
    sd = np.sqrt(np.diag(occ.omega(spec.omega)))
    etas = 0.7 * sd * rng.standard_normal((n, occ.k))
    etas[0] = 0.0
    names = spec.eta_names
    if "ka" in names:
        ka = names.index("ka")
        etas[1:20, ka] = -4.0  # ka far below k
        typical = pk.individual_parameters(spec, cov, np.zeros((1, len(names))))
        at = pk.individual_parameters(spec, cov, etas[20:30, : len(names)])
        # ka equal to k: the ka η that gives this row's elimination rate
        etas[20:30, ka] = np.log(at.k_per_h / typical.ka_per_h[0])
    if "tlag" in names:
        etas[30:40, names.index("tlag")] = 3.0  # 0.33 h x e^3: a lag of ~6.6 h > a 4 h gap
    return etas


CASES: list[tuple[str, pk.ModelSpec, Any, tuple[float, ...]]] = [
    ("first-order", ALG, COV_ALG, ()),
    ("transit", RES, COV_RES, ()),
    ("iov occasions", ALG, COV_ALG, (100.0,)),
    ("covariate timeline", ALG, pk.CovariateTimeline((-np.inf, FROM_H + 6.0),
                                                      (COV_ALG, LATER)), ()),
    ("transit timeline", RES, pk.CovariateTimeline((-np.inf, FROM_H + 6.0),
                                                    (COV_RES, LATER)), ()),
]


def _setup(spec: pk.ModelSpec, cov: Any, starts: tuple[float, ...], amount_mg: float,
           seed: int) -> tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], np.ndarray,
                               OccasionModel]:
    doses = _doses(amount_mg)
    occ = _occasions(spec, doses, starts)
    first = cov.segments[0] if isinstance(cov, pk.CovariateTimeline) else cov
    rows = _rows(spec, first, occ, np.random.default_rng(seed))

    def conc(etas: np.ndarray, times: np.ndarray) -> np.ndarray:
        return concentrations(spec, cov, occ, etas, doses, times)

    return conc, rows, occ


@pytest.mark.parametrize("name,spec,cov,starts", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("amount_mg", [300.0, 450.0])
def test_the_bounded_grid_gives_the_whole_grids_fall_times(name, spec, cov, starts,
                                                           amount_mg) -> None:
    conc, rows, occ = _setup(spec, cov, starts, amount_mg, seed=int(amount_mg))
    rise = rise_bound(spec, cov, occ, rows, FALL_COARSE * FALL_STEP_H)
    times, never = fall_grid_times(conc, rows[0], rows[1:], FROM_H)
    # every row falls inside the window (else the whole grid is simulated either way) and
    # some only after several coarse steps
    assert not never.any() and times.max() > FROM_H + 6 * FALL_COARSE * FALL_STEP_H
    # every row's fall time, not only the MAP's and the 95th percentile that the advice shows
    for mix in (None, conc):  # a mixture's simulation (`mix`) takes the same path
        bounded, bounded_never = fall_grid_times(conc, rows[0], rows[1:], FROM_H, mix, rise)
        np.testing.assert_array_equal(bounded, times)
        np.testing.assert_array_equal(bounded_never, never)
    assert _fall_time(conc, rows[0], rows[1:], FROM_H, rise=rise) == \
        _fall_time(conc, rows[0], rows[1:], FROM_H)


def test_a_rise_too_small_would_cut_the_grid_short() -> None:
    # the comparison above can fail: without the growth bound (rise 1) the last draw to fall
    # (between two coarse points) is cut at the coarse point before its fall
    conc, rows, _ = _setup(ALG, COV_ALG, (), 300.0, seed=300)
    times, _ = fall_grid_times(conc, rows[0], rows[1:], FROM_H)
    short, _ = fall_grid_times(conc, rows[0], rows[1:], FROM_H, rise=1.0)
    assert np.any(short != times)


def test_nothing_near_the_ceiling_simulates_one_point_beyond_the_coarse_grid() -> None:
    conc, rows, occ = _setup(ALG, COV_ALG, (), 50.0, seed=1)
    rise = rise_bound(ALG, COV_ALG, occ, rows, FALL_COARSE * FALL_STEP_H)
    times, never = fall_grid_times(conc, rows[0], rows[1:], FROM_H, rise=rise)
    assert np.all(times == FROM_H) and not never.any()  # already below at the last level


@pytest.mark.parametrize("name,spec,cov,starts", CASES, ids=[c[0] for c in CASES])
def test_rise_bounds_how_much_higher_a_concentration_was_one_step_before(
        name, spec, cov, starts) -> None:
    conc, rows, occ = _setup(spec, cov, starts, 750.0, seed=5)
    h = FALL_COARSE * FALL_STEP_H
    t = FROM_H + np.arange(0.0, 48.0, 0.05)
    c = conc(rows, t)
    rise = rise_bound(spec, cov, occ, rows, h)
    lag = int(round(h / 0.05))
    for d in range(1, lag + 1):  # every earlier point within one step of a later one
        assert np.all(c[:, :-d] <= rise * c[:, d:] * (1 + 1e-9))
    assert rise > 1.0


def test_every_bundled_model_is_checked_here() -> None:
    # `rise_bound` holds for the engine's structure (one central compartment, first-order
    # elimination): a new model must join the cases above
    assert {c[1].name for c in CASES} == {s.name for s in pk.list_models()}
