"""What to do now, marked for the clinician (#14 "safety of the advice").

- A measured level above the 30 mg/L ceiling (monograph; above 35 mg/L the CNS risk rises,
  UK TB drug monographs): hold the next dose now, check an early level when the fit predicts
  the concentration below 30 mg/L, restart only then; not only a steady-state recheck.
- A level far above what this dose history can produce (outside the population model's
  99.7 % prediction range, residual error included, or above the ceiling at more than
  POSSIBLE_ERROR_RATIO times the population prediction for these doses and this renal
  function, e.g. 55 mg/L on 250 mg twice daily): a possible dosing or sampling error; the
  advice is "verify".
- A change of regimen only for a clinically meaningful gain: at least MEANINGFUL_GAIN in
  P(goal), or MEANINGFUL_GAIN less P(peak > 30 mg/L); otherwise keep the current regimen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from cyclodose.clinical.tdm_regimen import ScoredRegimen
from cyclodose.limits import CEILING_MG_L, CNS_RISK_MG_L
from cyclodose.tdm.preprocess import FloatArray, Observations

MEANINGFUL_GAIN = 0.10  # 10 percentage points: about 3 Monte Carlo SEs at 1000 draws
CHANGE_THRESHOLD = (f"a change is proposed only for a gain of at least "
                    f"{100 * MEANINGFUL_GAIN:.0f} percentage points in P(goal) or "
                    f"{100 * MEANINGFUL_GAIN:.0f} points less P(peak > {CEILING_MG_L:g} mg/L)")
POSSIBLE_ERROR_RATIO = 2.0
FALL_WINDOW_H = 120.0
FALL_STEP_H = 0.25
FALL_DRAWS = 500
FALL_COARSE = 8  # the fall grid is searched every 8 points (2 h) first; 480 = 60 x 8


class Action(StrEnum):
    KEEP = "keep the current regimen"
    CHANGE = "change the regimen"
    HOLD = "hold the next dose now, then reduce"


@dataclass(frozen=True)
class Advice:
    action: Action
    text: str
    possible_error: bool  # a level the dose history cannot explain
    highest_level_mg_l: float | None
    below_ceiling_h: float | None  # the MAP concentration falls below 30 mg/L (no more doses)
    below_ceiling_upper_h: float | None  # 95th percentile of that time over the posterior
    # more than 5 % of the posterior draws stay above 30 mg/L through the window: the 95th
    # percentile (below_ceiling_upper_h None) lies beyond it and cannot be bounded
    below_ceiling_unbounded: bool = False


ConcFn = Callable[[FloatArray, FloatArray], FloatArray]


UPPER_QUANTILE = 0.95


def _reach(coarse: FloatArray, rise: float) -> int:
    """How many points of the fall grid can hold a concentration at or above the ceiling,
    from the concentrations on every FALL_COARSE-th point (`coarse`, rows × points) and
    `rise`, a bound on how many times higher a concentration can be at most one coarse step
    before a later one: after the last coarse point whose `rise` times cannot reach the
    ceiling in any row, no point of the grid can either."""
    # a margin far above the engine's rounding (and its 1e-7 nudge where ka meets k); a nan
    # (of `rise` or a concentration) reaches, so that the grid is then simulated in full
    below = coarse[:, 1:] * (rise * (1.0 + 1e-6)) < CEILING_MG_L
    reaches = ~below.all(axis=0)
    last = int(np.flatnonzero(reaches)[-1]) + 1 if reaches.any() else 0
    return FALL_COARSE * last + 1


def fall_grid_times(conc: ConcFn, eta_map: FloatArray, draws: FloatArray, from_h: float,
                    mix: ConcFn | None = None, rise: float | None = None
                    ) -> tuple[FloatArray, np.ndarray]:
    """Per row (the MAP, then the first FALL_DRAWS draws): the first grid time after the last
    one at or above the ceiling (`from_h` when none is), and whether the last grid time is
    (the row never falls below within the window). `mix(draws, times)`, when given,
    simulates the posterior draws instead (a model-averaged mixture). `rise` (see `_reach`):
    the grid is first simulated every FALL_COARSE points, then in full only as far as a
    concentration can reach the ceiling (the same times as the whole grid gives); None: the
    whole grid."""
    t = from_h + np.arange(0.0, FALL_WINDOW_H + FALL_STEP_H, FALL_STEP_H)

    def simulate(times: FloatArray) -> FloatArray:
        return (conc(np.vstack([eta_map[None, :], draws[:FALL_DRAWS]]), times) if mix is None
                else np.vstack([conc(eta_map[None, :], times), mix(draws[:FALL_DRAWS], times)]))

    n_fine = t.size if rise is None else _reach(simulate(t[::FALL_COARSE]), rise)
    above = simulate(t[:n_fine]) >= CEILING_MG_L
    # the last grid time above the ceiling, +1 step (none above: already below at from_h);
    # beyond the simulated part of the grid no point is above
    last = np.where(above.any(axis=1), above.shape[1] - np.argmax(above[:, ::-1], axis=1), 0)
    return t[np.minimum(last, t.size - 1)], last >= t.size


def _fall_time(conc: ConcFn, eta_map: FloatArray, draws: FloatArray, from_h: float,
               mix: ConcFn | None = None, rise: float | None = None
               ) -> tuple[float | None, float | None, bool]:
    """When the concentration (history doses only) is below the ceiling for good: (MAP time,
    95th percentile over the draws, whether that percentile lies beyond the window); the
    arguments as for `fall_grid_times`."""
    times, never = fall_grid_times(conc, eta_map, draws, from_h, mix, rise)
    map_t = None if never[0] else float(times[0])
    rest = times[1:]
    if rest.size == 0:
        return map_t, map_t, False
    # A draw that never falls below the ceiling within the window has no fall time (it is
    # later than the window, by how much is unknown). The percentile is bounded only when its
    # interpolation uses fall times alone: the sorted value just above its position is one.
    n_fall = int(rest.size - np.count_nonzero(never[1:]))
    if int(np.ceil(UPPER_QUANTILE * (rest.size - 1))) >= n_fall:
        return map_t, None, True
    # the non-falling draws sort last either way (their grid time is the window's end)
    return map_t, float(np.quantile(rest, UPPER_QUANTILE)), False


def advise(obs: Observations, pop_upper_mg_l: FloatArray | None, pred_mg_l: FloatArray,
           current: ScoredRegimen | None, best: ScoredRegimen,
           conc: ConcFn, eta_map: FloatArray, draws: FloatArray, when: Callable[[float], str],
           sims: ConcFn | None = None, rise: Callable[[], float] | None = None) -> Advice:
    """`current`, `best`: scored over the same posterior as the ranking; `sims`: the
    posterior draws' concentrations when they are a model-averaged mixture; `rise()`: how
    many times higher a concentration can be one FALL_COARSE step earlier (`_reach`; asked
    only after a level above the ceiling)."""
    quantified = obs.conc_mg_l[obs.quantified] if obs.n else np.zeros(0)
    highest = float(quantified.max()) if quantified.size else None
    parts: list[str] = []
    possible_error = False
    for i in range(obs.n):
        if not obs.quantified[i]:
            continue
        c = float(obs.conc_mg_l[i])
        outside = pop_upper_mg_l is not None and c > pop_upper_mg_l[i]
        if outside or (c > CEILING_MG_L and c > POSSIBLE_ERROR_RATIO * pred_mg_l[i]):
            possible_error = True
            basis = (f"population model, 99.7 % range up to {pop_upper_mg_l[i]:.1f} mg/L"
                     if outside and pop_upper_mg_l is not None else
                     f"more than {POSSIBLE_ERROR_RATIO:g} × the {pred_mg_l[i]:.1f} mg/L a typical "
                     "patient with this renal function would have on these doses")
            parts.append(
                f"Verify: the level of {c:.1f} mg/L at {when(obs.time_h[i])} is far above what "
                f"this dose history can produce ({basis}): a possible dosing or sampling error "
                "(extra doses, wrong sample time or tube, a sample drawn through a line); check "
                "the dose record and repeat the level before acting on it.")
    if highest is not None and highest > CEILING_MG_L:
        last_h = float(obs.time_h.max())
        fall, fall_up, unbounded = _fall_time(conc, eta_map, draws, last_h, sims,
                                               rise() if rise is not None else None)
        risk = (f"; above {CNS_RISK_MG_L:g} mg/L the risk of CNS toxicity (psychosis, seizures) "
                "rises (UK TB drug monographs)" if highest > CNS_RISK_MG_L else "")
        text = (f"Hold the next dose now: a level of {highest:.1f} mg/L is above the "
                f"{CEILING_MG_L:g} mg/L ceiling (monograph){risk}. Assess for CNS toxicity. ")
        if fall is not None:
            text += (f"Without further doses the fit predicts the concentration below "
                     f"{CEILING_MG_L:g} mg/L from {when(fall)}"
                     + (f" (90 % upper bound {when(fall_up)})" if fall_up is not None
                        else f" (90 % upper bound: cannot be bounded, more than "
                        f"{100 * (1 - UPPER_QUANTILE):.0f} % of the posterior draws stay above "
                        f"{CEILING_MG_L:g} mg/L for the {FALL_WINDOW_H / 24:g} days computed)"
                        if unbounded else "")
                     + f"; check an early level then, and restart at the reduced regimen "
                     f"({best.regimen.label}) only when it is below {CEILING_MG_L:g} mg/L.")
        else:
            text += ("The fit does not predict the concentration falling below the ceiling "
                     "within 5 days: seek specialist advice.")
        return Advice(Action.HOLD, " ".join([*parts, text]), possible_error, highest, fall,
                      fall_up, below_ceiling_unbounded=unbounded)
    if current is None or current.regimen.label == best.regimen.label:
        action = Action.KEEP if current is not None else Action.CHANGE
        text = ("Keep the current regimen: it ranks first." if current is not None
                else "No current regimen could be read from the dose history.")
    else:
        gain = best.objective - current.objective
        safer = current.p_above_ceiling - best.p_above_ceiling
        if gain >= MEANINGFUL_GAIN - 1e-9 or safer >= MEANINGFUL_GAIN - 1e-9:
            action = Action.CHANGE
            text = (f"Change to {best.regimen.label}: P(goal) {100 * current.objective:.0f} % → "
                    f"{100 * best.objective:.0f} %, P(peak > {CEILING_MG_L:g} mg/L) "
                    f"{100 * current.p_above_ceiling:.0f} % → {100 * best.p_above_ceiling:.0f} %"
                    f" ({CHANGE_THRESHOLD}).")
        else:
            action = Action.KEEP
            text = (f"Keep the current regimen ({current.regimen.label}): {best.regimen.label} "
                    f"would change P(goal) by {100 * gain:+.0f} percentage points and "
                    f"P(peak > {CEILING_MG_L:g} mg/L) by {-100 * safer:+.0f}, below the "
                    f"threshold ({CHANGE_THRESHOLD}).")
    return Advice(action, " ".join([*parts, text]), possible_error, highest, None, None)
