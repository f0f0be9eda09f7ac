"""Case → engine inputs: the only place where the input document meets the engines.

Covariates (a measured CrCl overrides the Cockcroft-Gault estimate; fat-free mass by
Janmahasatian), the dated covariate timeline (LOCF), and the dose and level arrays of the
Bayesian estimation.
"""

from __future__ import annotations

import numpy as np

from cyclodose.clinical.patient import cockcroft_gault_ml_min, fat_free_mass_kg
from cyclodose.errors import CaseError
from cyclodose.intake.case import Case, Patient
from cyclodose.pk.covariates import Covariates, CovariateTimeline, MissingCovariate, require
from cyclodose.pk.spec import ModelSpec
from cyclodose.tdm.preprocess import DoseHistory, Observations

_NAN = float("nan")

# Where each covariate comes from in a Case, and what to give, for a missing one.
COVARIATE_FIELDS = {
    "weight_kg": ("patient.weight_kg", "weight"),
    "crcl_ml_min": ("patient.serum_creatinine",
                    "creatinine clearance (give serum creatinine or a measured CrCl)"),
    "crcl_56m_ml_min": ("patient.serum_creatinine",
                        "age and serum creatinine (CLcr for a 56 kg male)"),
    "ffm_kg": ("patient.height_cm", "fat-free mass (give height with weight and sex)"),
    "age_years": ("patient.age_years", "age"),
    "patient": ("patient", "patient"),
}


def _require(spec: ModelSpec, cov: Covariates) -> None:
    """The engine's MissingCovariate as a CaseError naming the case field to fill."""
    try:
        require(spec, cov)
    except MissingCovariate as exc:
        field, need = COVARIATE_FIELDS.get(exc.covariate, (exc.covariate, exc.covariate))
        raise CaseError.single(field, f"model {spec.name} needs {need}") from None


def _patient_covariates(p: Patient, *, weight_kg: float, scr_mg_dl: float | None,
                        crcl_ml_min: float | None) -> Covariates:
    male = p.sex == "male"
    crcl = crcl_ml_min
    if crcl is None and scr_mg_dl is not None:
        crcl = cockcroft_gault_ml_min(p.age_years, weight_kg, scr_mg_dl, p.sex)
    ffm = (fat_free_mass_kg(weight_kg, p.height_cm, p.sex) if p.height_cm is not None else _NAN)
    return Covariates.create(
        weight_kg=weight_kg,
        crcl_ml_min=_NAN if crcl is None else crcl,
        age_years=p.age_years,
        male=1.0 if male else 0.0,
        height_cm=_NAN if p.height_cm is None else p.height_cm,
        ffm_kg=ffm,
        scr_mg_dl=_NAN if scr_mg_dl is None else scr_mg_dl,
        patient=1.0,
        dialysis=0.0 if p.dialysis == "none" else 1.0,
    )


def covariates_from_case(case: Case, spec: ModelSpec | None = None) -> Covariates:
    """Baseline covariates of the case's patient (a measured CrCl overrides the estimate).

    With `spec`, checks that every covariate the model needs is available.
    """
    p = case.patient
    cov = _patient_covariates(p, weight_kg=p.weight_kg, scr_mg_dl=p.serum_creatinine_mg_dl,
                              crcl_ml_min=p.measured_crcl_ml_min)
    if spec is not None:
        _require(spec, cov)
    return cov


def timeline_from_case(case: Case, spec: ModelSpec | None = None) -> CovariateTimeline:
    """Baseline covariates followed by each dated observation, LOCF.

    A dated creatinine or weight recomputes Cockcroft-Gault CrCl unless a measured
    clearance is in force (a dated `crcl_ml_min` replaces it; a later creatinine
    without one returns to the estimate).
    """
    p = case.patient
    weight, scr, crcl = p.weight_kg, p.serum_creatinine_mg_dl, p.measured_crcl_ml_min
    starts = [-np.inf]
    segments = [covariates_from_case(case, spec)]
    for obs in p.covariate_history:
        if obs.weight_kg is not None:
            weight = obs.weight_kg
        if obs.serum_creatinine_mg_dl is not None:
            scr = obs.serum_creatinine_mg_dl
            crcl = None  # a newer creatinine supersedes an older measured clearance
        if obs.crcl_ml_min is not None:
            crcl = obs.crcl_ml_min
        cov = _patient_covariates(p, weight_kg=weight, scr_mg_dl=scr, crcl_ml_min=crcl)
        if spec is not None:
            _require(spec, cov)
        if starts and obs.time_h <= starts[-1]:
            segments[-1] = cov
        else:
            starts.append(obs.time_h)
            segments.append(cov)
    return CovariateTimeline(start_h=tuple(starts), segments=tuple(segments))



def dose_history(case: Case) -> DoseHistory:
    """The doses given (planned doses, after the assessment time, are not history)."""
    doses = sorted(case.given_doses, key=lambda d: d.time_h)
    return DoseHistory(
        time_h=np.array([d.time_h for d in doses], dtype=float),
        amount_mg=np.array([d.amount_mg for d in doses], dtype=float),
    )


def observations(case: Case) -> Observations:
    levels = sorted(case.levels, key=lambda lv: lv.time_h)
    blq = np.array([lv.blq for lv in levels], dtype=bool)
    conc = np.array(
        [np.nan if lv.blq or lv.conc_mg_l is None else lv.conc_mg_l for lv in levels], dtype=float
    )
    lloq = np.array(
        [lv.lloq_mg_l if lv.blq and lv.lloq_mg_l is not None else np.nan for lv in levels],
        dtype=float,
    )
    return Observations(
        time_h=np.array([lv.time_h for lv in levels], dtype=float),
        conc_mg_l=conc,
        blq=blq,
        lloq_mg_l=lloq,
    )


def occasion_starts(case: Case, doses: DoseHistory) -> tuple[float, ...] | None:
    """The starts of occasions 2..K the case gives (None: the engine's default rule).

    `settings.occasion_starts` are boundary times; occasion labels on the levels start a new
    occasion at the dose before the first level of each new label (never before the last
    level of the previous one)."""
    if case.settings.occasion_starts_h:
        return case.settings.occasion_starts_h
    labelled = [lv for lv in sorted(case.levels, key=lambda x: x.time_h) if lv.occasion]
    if not labelled:
        return None
    starts: list[float] = []
    for prev, cur in zip(labelled[:-1], labelled[1:], strict=True):
        if cur.occasion != prev.occasion:
            before = doses.time_h[doses.time_h <= cur.time_h]
            start = float(before.max()) if before.size else cur.time_h
            starts.append(max(start, prev.time_h + 1e-9))
    return tuple(starts)
