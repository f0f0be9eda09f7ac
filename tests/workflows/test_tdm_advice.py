"""The advice's change threshold and the second mode, on constructed inputs (#14)."""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose.clinical.tdm_regimen import CandidateRegimen, ScoredRegimen, Summary
from cyclodose.tdm.optimise import LocalOptimum, MapFit
from cyclodose.tdm.preprocess import Observations
from cyclodose.workflows.tdm.advice import MEANINGFUL_GAIN, Action, Advice, advise
from cyclodose.workflows.tdm.forecasts import second_mode

OBS = Observations(time_h=np.array([218.0]), conc_mg_l=np.array([18.0]), blq=np.array([False]),
                   lloq_mg_l=np.array([np.nan]))


def _scored(label: str, goal: float, above: float) -> ScoredRegimen:
    s = Summary(20.0, 15.0, 25.0)
    return ScoredRegimen(
        regimen=CandidateRegimen(label, 12.0, (0.0,), (250.0,), 500.0, (1,)), peak_mg_l=s,
        trough_mg_l=s, auc24_mg_h_l=s, tmic_pct=None, p_in_target=goal, p_above_ceiling=above,
        p_tmic_goal=None, objective=goal)


def _advise(current: ScoredRegimen, best: ScoredRegimen) -> Action:
    def conc(etas: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.zeros((np.atleast_2d(etas).shape[0], t.size))

    return advise(OBS, None, np.array([18.0]), current, best, conc, np.zeros(4),
                  np.zeros((10, 4)), str).action


def test_a_change_needs_a_meaningful_gain() -> None:
    now = _scored("250 mg q12h", 0.60, 0.02)
    assert _advise(now, _scored("250/375 mg q12h", 0.60 + MEANINGFUL_GAIN - 0.01, 0.02)) \
        is Action.KEEP
    assert _advise(now, _scored("250/375 mg q12h", 0.60 + MEANINGFUL_GAIN, 0.02)) \
        is Action.CHANGE
    # leaving a toxic range is a gain too
    toxic = _scored("500 mg q12h", 0.55, 0.30)
    assert _advise(toxic, _scored("375 mg q12h", 0.55, 0.05)) is Action.CHANGE
    assert _advise(now, now) is Action.KEEP


def test_second_mode_within_2_ofv_is_named_with_the_sample_that_tells() -> None:
    best = np.array([0.0, 0.8, 0.0, 0.0])
    other = np.array([0.0, -0.8, 0.0, 0.0])
    fit = MapFit(eta=best, ofv=10.0, converged=True, at_bound=(False,) * 4, n_starts=5,
                 optima=[LocalOptimum(best, 10.0, (False,) * 4),
                         LocalOptimum(other, 11.2, (False,) * 4)])

    def params(e: np.ndarray) -> dict[str, float]:
        return {"ka_per_h": float(np.exp(e[0, 1])), "cl_l_h": 1.5}

    def conc(etas: np.ndarray, t: np.ndarray) -> np.ndarray:
        ka = np.exp(etas[:, 1])[:, None]
        tau = (t - t[0] + 0.5)[None, :]
        return 20 * (np.exp(-0.1 * tau) - np.exp(-ka * tau))

    m = second_mode(fit, 4, params, conc, 0.0)
    assert m is not None and abs(m.delta_ofv - 1.2) < 1e-12
    assert set(m.parameters) == {"ka_per_h"} and "would separate them" in m.text
    assert 0.5 <= m.tell_apart_after_dose_h <= 3.0
    far = MapFit(eta=best, ofv=10.0, converged=True, at_bound=(False,) * 4, n_starts=5,
                 optima=[fit.optima[0], LocalOptimum(other, 12.5, (False,) * 4)])
    assert second_mode(far, 4, params, conc, 0.0) is None


HIGH = Observations(time_h=np.array([218.0]), conc_mg_l=np.array([45.0]), blq=np.array([False]),
                    lloq_mg_l=np.array([np.nan]))


def _hold(n_stuck: int, n_draws: int = 100) -> Advice:
    """A level above the ceiling; the MAP and the first draws fall (half-life 10 h from
    45 mg/L), the last `n_stuck` draws stay at 40 mg/L for the whole window."""

    def conc(etas: np.ndarray, t: np.ndarray) -> np.ndarray:
        e = np.atleast_2d(etas)
        falling = 45.0 * np.exp(-np.log(2) / 10.0 * (t - 218.0))[None, :] * np.exp(e[:, :1])
        return np.where(e[:, 1:2] > 0, 40.0, falling)

    draws = np.zeros((n_draws, 4))
    draws[:, 0] = np.linspace(-0.2, 0.2, n_draws)
    draws[n_draws - n_stuck:, 1] = 1.0
    s = _scored("250 mg q12h", 0.5, 0.1)
    return advise(HIGH, None, np.array([20.0]), s, s, conc, np.zeros(4), draws, str)


@pytest.mark.filterwarnings("error")
def test_a_fall_time_beyond_the_window_is_said_not_bounded() -> None:
    """Regression: more than 5 % of the draws never below 30 mg/L made np.quantile
    interpolate inf - inf (RuntimeWarning) and the bound vanished from the text."""
    a = _hold(n_stuck=10)
    assert a.action is Action.HOLD and a.below_ceiling_h is not None
    assert a.below_ceiling_upper_h is None and a.below_ceiling_unbounded
    assert "cannot be bounded" in a.text and "5 days" in a.text


@pytest.mark.filterwarnings("error")
def test_a_few_draws_that_never_fall_leave_the_bound_finite() -> None:
    a = _hold(n_stuck=3)  # 3 % of the draws: the 95th percentile is a fall time
    assert a.below_ceiling_upper_h is not None and not a.below_ceiling_unbounded
    assert a.below_ceiling_h is not None
    assert a.below_ceiling_h <= a.below_ceiling_upper_h < 218.0 + 120.0
    assert "cannot be bounded" not in a.text and "90 % upper bound" in a.text
    none_stuck = _hold(n_stuck=0)
    assert none_stuck.below_ceiling_upper_h == a.below_ceiling_upper_h
