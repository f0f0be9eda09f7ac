"""Stage 7: how well the individual fit explains each level, and patterns worth a flag."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cyclodose.tdm.preprocess import DoseHistory, FloatArray, Observations

IWRES_FLAG = 3.0  # |IWRES| above this: the model finds the level implausible
# Windows (h after the last dose) that count as "the 2 h" and "the 6 h" sample.
EARLY_WINDOW_H = (1.0, 3.5)
LATE_WINDOW_H = (4.5, 8.0)


@dataclass(frozen=True)
class LevelDiagnostic:
    time_h: float
    time_after_dose_h: float
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
    out = np.full(times_h.shape, np.nan)
    for i, t in enumerate(times_h):
        before = dose_times_h[dose_times_h <= t]
        if before.size:
            out[i] = t - before.max()
    return out


def _delayed_absorption(obs: Observations, tad: FloatArray, dose_times_h: FloatArray) -> bool:
    """A 6 h level above the 2 h level after the same dose (Hung 2014: ~1 in 5 patients)."""
    last_dose = np.array([dose_times_h[dose_times_h <= t].max() for t in obs.time_h])
    for i in range(obs.n):
        for j in range(obs.n):
            if (obs.quantified[i] and obs.quantified[j] and last_dose[i] == last_dose[j]
                    and EARLY_WINDOW_H[0] <= tad[i] <= EARLY_WINDOW_H[1]
                    and LATE_WINDOW_H[0] <= tad[j] <= LATE_WINDOW_H[1]
                    and obs.conc_mg_l[j] > obs.conc_mg_l[i]):
                return True
    return False


def diagnose(obs: Observations, doses: DoseHistory, pred: FloatArray, ipred: FloatArray,
             ipred_sd: FloatArray) -> Diagnostics:
    """Per-level PRED, IPRED and IWRES, with flags a pharmacist should see."""
    tad = time_after_dose_h(obs.time_h, doses.time_h)
    rows: list[LevelDiagnostic] = []
    flags: list[str] = []
    for i in range(obs.n):
        flag = None
        iwres = None
        t_txt = f"level at {obs.time_h[i]:.1f} h ({tad[i]:.1f} h after a dose)"
        if obs.blq[i]:
            if ipred[i] > 2.0 * obs.lloq_mg_l[i]:
                flag = (f"{t_txt}: below {obs.lloq_mg_l[i]:.3g} mg/L but the fit predicts "
                        f"{ipred[i]:.1f} mg/L; check the sample time and whether the dose "
                        "was taken")
        else:
            iwres = float((obs.conc_mg_l[i] - ipred[i]) / ipred_sd[i])
            if abs(iwres) > IWRES_FLAG:
                flag = (f"{t_txt}: {obs.conc_mg_l[i]:.1f} mg/L against {ipred[i]:.1f} mg/L fitted "
                        f"(IWRES {iwres:+.1f}); a wrong sample time or dose record is likely")
        if flag:
            flags.append(flag)
        rows.append(LevelDiagnostic(
            time_h=float(obs.time_h[i]), time_after_dose_h=float(tad[i]),
            observed_mg_l=None if obs.blq[i] else float(obs.conc_mg_l[i]), blq=bool(obs.blq[i]),
            lloq_mg_l=float(obs.lloq_mg_l[i]) if obs.blq[i] else None,
            pred_mg_l=float(pred[i]), ipred_mg_l=float(ipred[i]), iwres=iwres, flag=flag))
    delayed = _delayed_absorption(obs, tad, doses.time_h) if obs.n >= 2 else False
    if delayed:
        flags.append("delayed absorption: the 6 h level is above the 2 h level (the peak was "
                     "missed "
                     "by the 2 h sample; seen in about a fifth of patients, Hung 2014)")
    return Diagnostics(levels=rows, flags=flags, delayed_absorption=delayed)
