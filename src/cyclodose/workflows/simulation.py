"""Simulate a Case's dose history: typical curve, 90 % prediction band, metrics per interval.

Pure: returns a `Simulation` (pydantic); the CLI renders it and the plot module draws it.
The band is the 5th-95th percentile of concentrations over seeded draws of
between-subject variability (inter-occasion variability 0, no residual error).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from cyclodose.errors import CaseError
from cyclodose.intake.case import Case
from cyclodose.limits import CEILING_MG_L
from cyclodose.pk import segments
from cyclodose.pk.covariates import LOCF_RULE, validity_reasons
from cyclodose.pk.metrics import window_metrics
from cyclodose.pk.solution import concentration_mg_l
from cyclodose.workflows.adapters import covariates_from_case, timeline_from_case
from cyclodose.workflows.model_informed import ModelRef, sample_eta
from cyclodose.workflows.tdm.averaging import single_model

BAND_DRAWS = 500
BAND_SEED = 20190502
STEP_H = 0.1


class IntervalMetrics(BaseModel):
    index: int
    start_h: float
    end_h: float
    clock: str | None
    dose_mg: float
    cmax_mg_l: float
    tmax_after_dose_h: float
    cmin_mg_l: float
    auc_mg_h_l: float
    time_above_ceiling_h: float
    tmic_pct: float | None
    peak_in_window: bool


class LevelComparison(BaseModel):
    time_h: float
    clock: str | None
    observed_mg_l: float | None
    blq: bool
    lloq_mg_l: float | None
    typical_mg_l: float
    band_p05_mg_l: float
    band_p95_mg_l: float


class Simulation(BaseModel):
    model: ModelRef
    covariates: dict[str, float]
    covariate_rule: str | None  # LOCF statement when covariates change over time
    extrapolation: list[str]
    target_window_mg_l: tuple[float, float]
    ceiling_mg_l: float
    mic_mg_l: float | None
    horizon_h: float
    step_h: float
    band_draws: int
    band_seed: int
    doses: list[tuple[float, float]]  # (time_h, amount_mg)
    intervals: list[IntervalMetrics]
    levels: list[LevelComparison]
    time_h: list[float]
    typical_mg_l: list[float]
    band_p05_mg_l: list[float]
    band_p95_mg_l: list[float]
    notes: list[str]

    def summary(self) -> dict[str, object]:
        """The JSON document without the dense curve."""
        return self.model_dump(exclude={"time_h", "typical_mg_l", "band_p05_mg_l",
                                        "band_p95_mg_l"})


def _clock(case: Case, time_h: float) -> str | None:
    c = case.clock(time_h)
    return None if c is None else c.isoformat(timespec="minutes")


def simulate(case: Case, *, model: str | None = None, days: float | None = None,
             band_draws: int = BAND_DRAWS, seed: int = BAND_SEED, step_h: float = STEP_H
             ) -> Simulation:
    if not case.doses:
        raise CaseError.single("regimen", "simulate needs a dose history or a planned regimen")
    if days is not None and not 0 < days <= 366:
        raise CaseError.single("--days", "days must be within 0-366")
    spec = single_model(model or case.settings.model)
    timeline = bool(case.patient.covariate_history)
    cov = timeline_from_case(case, spec) if timeline else covariates_from_case(case, spec)
    base_cov = covariates_from_case(case, spec)
    td = np.array([d.time_h for d in case.doses])
    ad = np.array([d.amount_mg for d in case.doses])
    starts = np.unique(td)
    gaps = np.diff(starts)
    last_gap = float(gaps[-1]) if gaps.size else 24.0
    if days is not None:
        horizon = days * 24.0
    else:
        horizon = max(float(starts[-1]) + max(last_gap, 24.0),
                      max((lv.time_h for lv in case.levels), default=0.0) + 1.0)
    grid = np.arange(0.0, horizon + 1e-9, step_h)

    typical_segs = segments(spec, cov, None)
    typical = concentration_mg_l(typical_segs, td, ad, grid)[0]
    eta = sample_eta(spec, band_draws, seed)
    draws = concentration_mg_l(segments(spec, cov, eta), td, ad, grid)
    p05, p95 = np.percentile(draws, [5.0, 95.0], axis=0)

    ends = np.append(starts[1:], starts[-1] + last_gap)
    keep = starts < horizon
    windows = np.stack([starts[keep], np.minimum(ends[keep], horizon)], axis=1)
    mic = case.target.mic_mg_l
    m = window_metrics(typical_segs, td, ad, windows, threshold_mg_l=CEILING_MG_L,
                       mic_mg_l=mic)
    low, high = case.target.peak_low_mg_l, case.target.peak_high_mg_l
    intervals = []
    for i, (lo, hi) in enumerate(windows):
        cmax = float(m["cmax"][0, i])
        intervals.append(IntervalMetrics(
            index=i + 1, start_h=round(float(lo), 4), end_h=round(float(hi), 4),
            clock=_clock(case, float(lo)), dose_mg=float(ad[td == lo].sum()),
            cmax_mg_l=round(cmax, 3), tmax_after_dose_h=round(float(m["tmax"][0, i] - lo), 3),
            cmin_mg_l=round(float(m["cmin"][0, i]), 3), auc_mg_h_l=round(float(m["auc"][0, i]), 2),
            time_above_ceiling_h=round(float(m["time_above_h"][0, i]), 3),
            tmic_pct=None if mic is None else round(float(m["tmic_pct"][0, i]), 2),
            peak_in_window=bool(low <= cmax <= high)))

    levels = []
    if case.levels:
        lt = np.array([lv.time_h for lv in case.levels])
        typ = concentration_mg_l(typical_segs, td, ad, lt)[0]
        band = np.percentile(concentration_mg_l(segments(spec, cov, eta), td, ad, lt),
                             [5.0, 95.0], axis=0)
        for j, lv in enumerate(case.levels):
            levels.append(LevelComparison(
                time_h=lv.time_h, clock=_clock(case, lv.time_h), observed_mg_l=lv.conc_mg_l,
                blq=lv.blq, lloq_mg_l=lv.lloq_mg_l, typical_mg_l=round(float(typ[j]), 3),
                band_p05_mg_l=round(float(band[0, j]), 3),
                band_p95_mg_l=round(float(band[1, j]), 3)))

    notes = [
        "typical curve: the model's typical individual for these covariates (all etas 0)",
        f"band: 5th-95th percentile over {band_draws} draws of between-subject variability "
        "(inter-occasion variability 0, residual error not included)",
        f"ceiling {CEILING_MG_L:g} mg/L: monograph, keep plasma concentrations below it",
    ]
    if any(iv.cmax_mg_l > CEILING_MG_L for iv in intervals):
        notes.append(f"the typical predicted peak exceeds {CEILING_MG_L:g} mg/L in some "
                     "intervals: check a measured level")
    return Simulation(
        model=ModelRef(name=spec.name, version=spec.version, citation=spec.citation),
        covariates={n: round(float(base_cov.value(n)[0]), 2) for n in spec.covariates},
        covariate_rule=LOCF_RULE if timeline else None,
        extrapolation=validity_reasons(spec, cov), target_window_mg_l=(low, high),
        ceiling_mg_l=CEILING_MG_L, mic_mg_l=mic, horizon_h=horizon, step_h=step_h,
        band_draws=band_draws, band_seed=seed,
        doses=[(float(t), float(a)) for t, a in zip(td, ad, strict=True)],
        intervals=intervals, levels=levels, time_h=[round(float(x), 4) for x in grid],
        typical_mg_l=[float(x) for x in typical], band_p05_mg_l=[float(x) for x in p05],
        band_p95_mg_l=[float(x) for x in p95], notes=notes)
