"""Predictions a laboratory asks for: at requested times, along the recommended regimen, at
each advised sample, with and without residual error; the posterior correlation and a
second mode of the posterior (#14 "uncertainty honestly shown", "what a lab needs out").

Forecasts continue the dose history with the recommended regimen from its start and use the
between-subject η only (between-occasion variability 0, as for the ranking).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cyclodose import pk
from cyclodose.tdm.forecast import CREDIBLE_LEVEL
from cyclodose.tdm.occasions import OccasionModel, concentrations
from cyclodose.tdm.optimise import MapFit
from cyclodose.tdm.preprocess import DoseHistory, FloatArray
from cyclodose.tdm.quantiles import percentiles

FORECAST_STEP_H = 1.0
FORECAST_DRAWS = 500
SECOND_MODE_OFV = 2.0  # a local optimum within 2 OFV units fits about as well (LR test, 1 df)


@dataclass(frozen=True)
class Prediction:
    time_h: float
    map_mg_l: float
    lower_mg_l: float  # individual concentration, parameter uncertainty only
    upper_mg_l: float
    measured_lower_mg_l: float  # a measured level: residual error included
    measured_upper_mg_l: float


@dataclass(frozen=True)
class FitMode:
    """One local optimum of the posterior: its objective and parameters."""

    label: str  # "fast absorption" / "delayed absorption", else "best fit" / "second fit"
    ofv: float
    kept: bool  # the MAP estimate (the lower objective)
    parameters: dict[str, float]
    peak_after_dose_h: float  # time of the peak after the last recorded dose
    at_tell_apart_mg_l: float  # predicted level at the separating sample time


@dataclass(frozen=True)
class SecondMode:
    delta_ofv: float
    parameters: dict[str, tuple[float, float]]  # name: (best mode, second mode), where they differ
    tell_apart_after_dose_h: float  # the sample time after a dose that separates them most
    text: str
    modes: tuple[FitMode, FitMode]  # (kept, other)
    absorption: bool  # the modes peak at different times: fast against delayed absorption


def continued_doses(doses: DoseHistory, start_h: float, period_h: float,
                    offsets_h: tuple[float, ...], amounts_mg: tuple[float, ...],
                    until_h: float) -> DoseHistory:
    """The history followed by the regimen from `start_h` up to `until_h`."""
    n = max(1, int(np.ceil((until_h - start_h) / period_h)) + 1)
    t = (start_h + np.arange(n)[:, None] * period_h + np.asarray(offsets_h)[None, :]).ravel()
    a = np.broadcast_to(np.asarray(amounts_mg), (n, len(offsets_h))).ravel()
    keep = t <= until_h
    return DoseHistory(time_h=np.concatenate([doses.time_h, t[keep]]),
                       amount_mg=np.concatenate([doses.amount_mg, a[keep]]))


def forecaster(spec: pk.ModelSpec, cov: pk.Covariates | pk.CovariateTimeline,
               occ: OccasionModel, doses: DoseHistory
               ) -> Callable[[FloatArray, FloatArray], FloatArray]:
    def conc(etas: FloatArray, times: FloatArray) -> FloatArray:
        e = np.array(np.atleast_2d(etas), dtype=float)
        e[:, occ.n_iiv:] = 0.0  # IOV of a future occasion is unknown: 0
        return concentrations(spec, cov, occ, e, doses, np.asarray(times, dtype=float))
    return conc


Component = tuple[Callable[[FloatArray, FloatArray], FloatArray], pk.ModelSpec, FloatArray]


def predict(conc: Callable[[FloatArray, FloatArray], FloatArray], spec: pk.ModelSpec,
            fit: MapFit, draws: FloatArray, times_h: FloatArray,
            rng: np.random.Generator,
            mixture: list[Component] | None = None) -> list[Prediction]:
    """The MAP line from `conc` and `fit`; the intervals over `draws`, or over `mixture` (each
    model's forecaster, spec for its residual error, and its share of the draws) when the
    models are averaged."""
    return predict_each(conc, spec, fit, draws, [times_h], rng, mixture)[0]


def predict_each(conc: Callable[[FloatArray, FloatArray], FloatArray], spec: pk.ModelSpec,
                 fit: MapFit, draws: FloatArray, groups_h: list[FloatArray],
                 rng: np.random.Generator,
                 mixture: list[Component] | None = None) -> list[list[Prediction]]:
    """`predict` for several groups of times from one simulation of all of them; the
    residual errors are drawn group by group in order, as consecutive `predict` calls
    would draw them (the same numbers for the same generator)."""
    groups = [np.asarray(t, dtype=float).reshape(-1) for t in groups_h]
    every = np.concatenate(groups) if groups else np.zeros(0)
    if every.size == 0:
        return [[] for _ in groups]
    at_map_all = conc(fit.eta[None, :], every)[0]
    parts = mixture or [(conc, spec, draws[:FORECAST_DRAWS])]
    sims_all = [(c(d, every), s) for c, s, d in parts]
    lo, hi = 50.0 * (1.0 - CREDIBLE_LEVEL), 50.0 * (1.0 + CREDIBLE_LEVEL)
    out: list[list[Prediction]] = []
    start = 0
    for times_h in groups:
        cols = slice(start, start + times_h.size)
        start += times_h.size
        if times_h.size == 0:
            out.append([])
            continue
        at_map = at_map_all[cols]
        each = [(x[:, cols], s) for x, s in sims_all]
        sims = np.vstack([x for x, _ in each])
        measured = np.vstack([x + s.residual_sd(x) * rng.standard_normal(x.shape)
                              for x, s in each])
        q = percentiles(sims, [lo, hi]).tolist()  # Python floats, the same values
        qm = percentiles(measured, [lo, hi]).tolist()
        out.append([Prediction(t, m, q_lo, q_hi, max(0.0, qm_lo), qm_hi)
                    for t, m, q_lo, q_hi, qm_lo, qm_hi in zip(
                        times_h.tolist(), at_map.tolist(), q[0], q[1], qm[0], qm[1],
                        strict=True)])
    return out


def correlation(draws: FloatArray, names: tuple[str, ...]) -> tuple[tuple[str, ...], FloatArray]:
    """Posterior correlation of the between-subject η (of log CL, log V, ...)."""
    x = draws[:, : len(names)]
    sd = x.std(axis=0)
    keep = sd > 0
    c = np.corrcoef(x[:, keep], rowvar=False) if keep.sum() > 1 else np.ones((1, 1))
    return tuple(n for n, k in zip(names, keep, strict=True) if k), np.atleast_2d(c)


# The separating sample is sought from 1 h after a dose: earlier samples fall inside the
# spread of the lag time (Alghamdi 2019: typical 0.33 h, between-subject SD 0.41 on the log
# scale), where a few minutes of error in the recorded times outweigh the difference.
TELL_APART_FROM_H = 1.0
AFTER_DOSE_H = np.arange(0.25, 12.01, 0.25)  # where the peaks and the separating sample are sought
# Peaks at least this far apart are fast against delayed absorption; closer, the gap is within
# the error of recorded sample times.
ABSORPTION_PEAK_GAP_H = 0.5
_UNIT = {"cl_l_h": "L/h", "v_l": "L", "ka_per_h": "1/h", "tlag_h": "h", "mtt_h": "h"}
_SHORT = {"cl_l_h": "CL", "v_l": "V", "ka_per_h": "ka", "tlag_h": "lag", "mtt_h": "MTT"}


def _mode_text(m: FitMode, best_ofv: float) -> str:
    values = ", ".join(f"{_SHORT.get(k, k)} {v:.3g} {_UNIT.get(k, '')}".rstrip()
                       for k, v in m.parameters.items())
    rel = "kept" if m.kept else f"{m.ofv - best_ofv:+.2f}"
    return f"{m.label} ({values}; peak {m.peak_after_dose_h:g} h after a dose; OFV " \
           f"{m.ofv:.2f}, {rel})"


def second_mode(fit: MapFit, n_iiv: int, params: Callable[[FloatArray], dict[str, float]],
                conc_at: Callable[[FloatArray, FloatArray], FloatArray],
                last_dose_h: float) -> SecondMode | None:
    """A local optimum within SECOND_MODE_OFV of the best (the levels cannot tell the two
    apart), both fits, and the sample that would tell."""
    other = next((o for o in fit.optima[1:] if o.ofv - fit.ofv < SECOND_MODE_OFV), None)
    if other is None:
        return None
    a, b = params(fit.eta[None, :n_iiv]), params(other.eta[None, :n_iiv])
    differ = {k: (a[k], b[k]) for k in a if abs(a[k] - b[k]) > 1e-3 * max(abs(a[k]), 1e-9)}
    after = AFTER_DOSE_H
    c = conc_at(np.vstack([fit.eta, other.eta]), last_dose_h + after)
    apart = np.abs(np.log((c[0] + 0.1) / (c[1] + 0.1)))
    i = int(np.argmax(np.where(after >= TELL_APART_FROM_H, apart, -np.inf)))
    tell = float(after[i])
    peak = [float(after[int(np.argmax(row))]) for row in c]
    absorption = abs(peak[0] - peak[1]) >= ABSORPTION_PEAK_GAP_H
    if absorption:
        labels = ("fast absorption", "delayed absorption") if peak[0] < peak[1] \
            else ("delayed absorption", "fast absorption")
    else:
        labels = ("best fit", "second fit")
    modes = (FitMode(labels[0], float(fit.ofv), True, a, peak[0], float(c[0][i])),
             FitMode(labels[1], float(other.ofv), False, b, peak[1], float(c[1][i])))
    kind = " (fast against delayed absorption)" if absorption else ""
    cannot = ("these levels cannot tell fast from delayed absorption" if absorption
              else "these levels cannot tell the two apart")
    text = (f"two modes of the posterior fit the levels about equally{kind}: "
            f"{_mode_text(modes[0], fit.ofv)}; {_mode_text(modes[1], fit.ofv)}. The estimate "
            f"keeps the {labels[0]} fit because its objective is lower, and the probabilities "
            f"mix both (SIR); {cannot}: a level {tell:g} h after a dose would separate them "
            f"(predicted {c[0][i]:.1f} mg/L with {labels[0]}, {c[1][i]:.1f} mg/L with {labels[1]}, "
            "after the last recorded dose)")
    return SecondMode(float(other.ofv - fit.ofv), differ, tell, text, modes, absorption)
