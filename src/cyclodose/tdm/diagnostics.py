"""Stage 7: how well the individual fit explains each level, and patterns worth a flag."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cyclodose.tdm.preprocess import DoseHistory, FloatArray, Observations

IWRES_FLAG = 3.0  # |IWRES| above this: the model finds the level implausible
# Central share of the population (prior) predictive distribution, residual error included,
# outside which a level is implausible for anyone on this dose history (|z| > 3 equivalent).
# IWRES alone misses a single wrong level: the fit bends towards it (an 80 mg/L level after
# 250 mg drags the clearance down and the flag lands on the other, correct, level).
POPULATION_RANGE = 0.9973
# Windows (h after the last dose) that count as "the 2 h" and "the 6 h" sample.
EARLY_WINDOW_H = (1.0, 3.5)
LATE_WINDOW_H = (4.5, 8.0)
# A level drawn at most this long before a dose (or at its time) is a pre-dose (trough) sample:
# the dose given at the sample time has not yet been absorbed into it.
PRE_DOSE_H = 0.5


@dataclass(frozen=True)
class LevelDiagnostic:
    time_h: float
    time_after_dose_h: float  # since the last dose strictly before the sample (nan: none)
    pre_dose: bool
    observed_mg_l: float | None
    blq: bool
    lloq_mg_l: float | None
    pred_mg_l: float  # population prediction (η = 0)
    ipred_mg_l: float  # individual prediction at the MAP
    iwres: float | None  # (observed − ipred) / residual SD at ipred
    flag: str | None


@dataclass(frozen=True)
class Diagnostics:
    levels: list[LevelDiagnostic]
    flags: list[str]
    delayed_absorption: bool


def time_after_dose_h(times_h: FloatArray, dose_times_h: FloatArray) -> FloatArray:
    """Time since the last dose before each sample; a dose given at the sample time comes
    after it (the sample is its trough)."""
    out = np.full(times_h.shape, np.nan)
    for i, t in enumerate(times_h):
        before = dose_times_h[dose_times_h < t]
        if before.size:
            out[i] = t - before.max()
    return out


def pre_dose(times_h: FloatArray, dose_times_h: FloatArray) -> FloatArray:
    """Samples drawn at a dose time or at most PRE_DOSE_H before it."""
    return np.array([bool(np.any((dose_times_h >= t) & (dose_times_h <= t + PRE_DOSE_H)))
                     for t in times_h], dtype=bool)


def when_after_dose(tad_h: float, is_pre_dose: bool) -> str:
    """'2.0 h after a dose', 'pre-dose, 12.0 h after the previous dose'."""
    if is_pre_dose:
        return ("pre-dose, before the first dose" if not np.isfinite(tad_h)
                else f"pre-dose, {tad_h:.1f} h after the previous dose")
    return f"{tad_h:.1f} h after a dose"


def _delayed_absorption(obs: Observations, tad: FloatArray,
                        dose_times_h: FloatArray) -> tuple[int, int] | None:
    """A 6 h level above the 2 h level after the same dose (Hung 2014: ~1 in 5 patients):
    the indices (early, late) of the first such pair."""
    last_dose = np.array([dose_times_h[dose_times_h < t].max() if np.any(dose_times_h < t)
                          else np.nan for t in obs.time_h])
    for i in range(obs.n):
        for j in range(obs.n):
            if (obs.quantified[i] and obs.quantified[j] and last_dose[i] == last_dose[j]
                    and EARLY_WINDOW_H[0] <= tad[i] <= EARLY_WINDOW_H[1]
                    and LATE_WINDOW_H[0] <= tad[j] <= LATE_WINDOW_H[1]
                    and obs.conc_mg_l[j] > obs.conc_mg_l[i]):
                return i, j
    return None


def population_range(sims_mg_l: FloatArray, residual_sd_mg_l: FloatArray, rng: np.random.Generator,
                     share: float = POPULATION_RANGE) -> tuple[FloatArray, FloatArray]:
    """Bounds of the central `share` of observations the population would give: prior
    predictions (n_sims, n_obs) plus residual error with the model's SD at each prediction."""
    y = sims_mg_l + residual_sd_mg_l * rng.standard_normal(sims_mg_l.shape)
    tail = 0.5 * (1.0 - share)
    q = np.quantile(y, [tail, 1.0 - tail], axis=0)
    return np.asarray(q[0], dtype=float), np.asarray(q[1], dtype=float)


def diagnose(obs: Observations, doses: DoseHistory, pred: FloatArray, ipred: FloatArray,
             ipred_sd: FloatArray,
             pop_range_mg_l: tuple[FloatArray, FloatArray] | None = None,
             when: Callable[[float], str] | None = None,
             absorption_varies: bool = True) -> Diagnostics:
    """Per-level PRED, IPRED and IWRES, with flags a pharmacist should see. `when` names a
    sample time (hours from the first dose) as the pharmacist knows it, e.g. a clock time."""
    tad = time_after_dose_h(obs.time_h, doses.time_h)
    pre = pre_dose(obs.time_h, doses.time_h)
    rows: list[LevelDiagnostic] = []
    flags: list[str] = []
    for i in range(obs.n):
        flag = None
        iwres = None
        at = when(float(obs.time_h[i])) if when else f"{obs.time_h[i]:.1f} h"
        t_txt = f"level at {at} ({when_after_dose(float(tad[i]), bool(pre[i]))})"
        if obs.blq[i]:
            if ipred[i] > 2.0 * obs.lloq_mg_l[i]:
                flag = (f"{t_txt}: below {obs.lloq_mg_l[i]:.3g} mg/L but the fit predicts "
                        f"{ipred[i]:.1f} mg/L; check the sample time and whether the dose "
                        "was taken")
        else:
            iwres = float((obs.conc_mg_l[i] - ipred[i]) / ipred_sd[i])
            parts = []
            if abs(iwres) > IWRES_FLAG:
                parts.append(f"{obs.conc_mg_l[i]:.1f} mg/L against {ipred[i]:.1f} mg/L fitted "
                             f"(IWRES {iwres:+.1f})")
            if pop_range_mg_l is not None:
                lo, hi = float(pop_range_mg_l[0][i]), float(pop_range_mg_l[1][i])
                if not lo <= obs.conc_mg_l[i] <= hi:
                    parts.append(f"{obs.conc_mg_l[i]:.1f} mg/L is outside the range the population "
                                 f"model predicts for this dose history ({lo:.1f}–{hi:.1f} mg/L, "
                                 f"{100 * POPULATION_RANGE:.1f} % prediction interval)")
            if parts:
                flag = (f"{t_txt}: " + "; ".join(parts)
                        + "; a wrong sample time, dose record or sample handling is likely")
        if flag:
            flags.append(flag)
        rows.append(LevelDiagnostic(
            time_h=float(obs.time_h[i]), time_after_dose_h=float(tad[i]), pre_dose=bool(pre[i]),
            observed_mg_l=None if obs.blq[i] else float(obs.conc_mg_l[i]), blq=bool(obs.blq[i]),
            lloq_mg_l=float(obs.lloq_mg_l[i]) if obs.blq[i] else None,
            pred_mg_l=float(pred[i]), ipred_mg_l=float(ipred[i]), iwres=iwres, flag=flag))
    pair = _delayed_absorption(obs, tad, doses.time_h) if obs.n >= 2 else None
    if pair is not None:
        i, j = pair  # the sample times as drawn, not the nominal 2 h and 6 h
        flags.append(f"delayed absorption: the level {tad[j]:.1f} h after the dose "
                     f"({obs.conc_mg_l[j]:.1f} mg/L) is above the level at {tad[i]:.1f} h "
                     f"({obs.conc_mg_l[i]:.1f} mg/L), so the early sample missed the peak (seen "
                     "in about a fifth of patients, Hung 2014); "
                     + ("the fit allows slow absorption" if absorption_varies else
                        "this model has no between-patient variability on absorption and "
                        "cannot follow it"))
    return Diagnostics(levels=rows, flags=flags, delayed_absorption=pair is not None)
