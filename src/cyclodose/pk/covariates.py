"""Covariates for the PK models as numpy-broadcastable arrays (a Case becomes these in
`cyclodose.workflows.adapters`).

`Covariates` holds one value per individual (or a scalar shared by all).
Derived covariates are filled in when their inputs exist: Cockcroft-Gault
CrCl (actual weight), fat-free mass (Janmahasatian), and Resendiz-Galvan's
CLcr,56M (Cockcroft-Gault as if the patient were a 56 kg male).

Covariates that change over time (`case.patient.covariate_history`) form a
`CovariateTimeline`, applied last-observation-carried-forward (LOCF_RULE).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from cyclodose.pk.spec import ModelSpec

LOCF_RULE = (
    "covariates that change over time are applied last-observation-carried-forward: "
    "each dated value holds from its date until the next one; before the first dated "
    "value the baseline patient values hold"
)



class MissingCovariate(ValueError):
    """A covariate the model needs has no value (the engine knows no input document: the
    use-case layer says which field to fill)."""

    def __init__(self, model: str, covariate: str) -> None:
        self.model = model
        self.covariate = covariate
        super().__init__(f"model {model} needs covariate {covariate}, which has no value")

_NAN = float("nan")

def _arr(x: Any) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, dtype=float))


@dataclass(frozen=True, eq=False)
class Covariates:
    """Covariate values (arrays of length 1 or n). `male` is 1.0 for male, 0.0 for female.

    Missing values are nan. Use `Covariates.create(...)` to fill derived values.
    """

    weight_kg: np.ndarray
    crcl_ml_min: np.ndarray
    age_years: np.ndarray
    male: np.ndarray
    height_cm: np.ndarray
    ffm_kg: np.ndarray
    scr_mg_dl: np.ndarray
    crcl_56m_ml_min: np.ndarray
    patient: np.ndarray  # 1 = TB patient (Alghamdi's PATIENT covariate), 0 = healthy volunteer
    dialysis: np.ndarray  # 1 = on dialysis

    @classmethod
    def create(
        cls,
        *,
        weight_kg: Any,
        crcl_ml_min: Any = _NAN,
        age_years: Any = _NAN,
        male: Any = 1.0,
        height_cm: Any = _NAN,
        ffm_kg: Any = _NAN,
        scr_mg_dl: Any = _NAN,
        crcl_56m_ml_min: Any = _NAN,
        patient: Any = 1.0,
        dialysis: Any = 0.0,
    ) -> Covariates:
        """Build covariates, deriving CrCl, FFM and CLcr,56M where their inputs are given."""
        wt, age, sex_m, ht = _arr(weight_kg), _arr(age_years), _arr(male), _arr(height_cm)
        scr = _arr(scr_mg_dl)
        crcl = _arr(crcl_ml_min)
        cg = (140.0 - age) * wt / (72.0 * scr) * np.where(sex_m >= 0.5, 1.0, 0.85)
        crcl = np.where(np.isnan(crcl), cg, crcl)
        ffm = _arr(ffm_kg)
        bmi = wt / (ht / 100.0) ** 2
        ffm_est = np.where(sex_m >= 0.5, 9270.0 * wt / (6680.0 + 216.0 * bmi),
                           9270.0 * wt / (8780.0 + 244.0 * bmi))
        ffm = np.where(np.isnan(ffm), ffm_est, ffm)
        c56 = _arr(crcl_56m_ml_min)
        # Resendiz-Galvan 2025: Cockcroft-Gault for a 56 kg male, whatever the patient's size
        c56 = np.where(np.isnan(c56), (140.0 - age) * 56.0 / (72.0 * scr), c56)
        return cls(weight_kg=wt, crcl_ml_min=crcl, age_years=age, male=sex_m, height_cm=ht,
                   ffm_kg=ffm, scr_mg_dl=scr, crcl_56m_ml_min=c56, patient=_arr(patient),
                   dialysis=_arr(dialysis))

    @functools.cached_property
    def size(self) -> int:
        # cached: asked at every prediction (the arrays of a frozen instance never change size)
        return int(np.broadcast_shapes(*(getattr(self, f.name).shape for f in fields(self)))[0])

    def take(self, index: Any) -> Covariates:
        """Covariates of a subset of individuals (scalars are kept as they are)."""
        return replace(self, **{
            f.name: (v[index] if (v := getattr(self, f.name)).shape[0] > 1 else v)
            for f in fields(self)
        })

    def value(self, name: str) -> np.ndarray:
        return np.asarray(getattr(self, name))


@dataclass(frozen=True, eq=False)
class CovariateTimeline:
    """Covariates that change at `start_h` (first entry -inf), applied LOCF."""

    start_h: tuple[float, ...]
    segments: tuple[Covariates, ...]
    rule: str = LOCF_RULE

    def at(self, time_h: float) -> Covariates:
        idx = int(np.searchsorted(np.asarray(self.start_h), time_h, side="right")) - 1
        return self.segments[max(idx, 0)]


def require(spec: ModelSpec, cov: Covariates) -> None:
    """Raise MissingCovariate when a covariate the model needs has no value."""
    for name in spec.covariates:
        if np.any(np.isnan(cov.value(name))):
            raise MissingCovariate(spec.name, name)


def validity_reasons(spec: ModelSpec, cov: Covariates | CovariateTimeline) -> list[str]:
    """Why a prediction extrapolates (empty list: inside the model's validity domain)."""
    covs = cov.segments if isinstance(cov, CovariateTimeline) else (cov,)
    v = spec.validity
    reasons: list[str] = []

    def add(msg: str) -> None:
        if msg not in reasons:
            reasons.append(msg)

    for c in covs:
        age = c.age_years[~np.isnan(c.age_years)]
        if age.size and np.any(age < v.min_age_years):
            youngest = float(np.min(age))
            shown = (f"{youngest * 12:.0f} months" if youngest < 2 else f"{youngest:.0f} years")
            add(f"age {shown} is below the model's population "
                f"({v.population}; from {v.min_age_years:.0f} years)")
        crcl = c.crcl_ml_min[~np.isnan(c.crcl_ml_min)]
        if crcl.size and np.any(crcl < v.min_crcl_ml_min):
            add(f"CrCl {np.min(crcl):.0f} mL/min is below {v.min_crcl_ml_min:.0f} mL/min: "
                f"severe renal impairment was not in the model's data")
        if not v.dialysis and np.any(c.dialysis >= 0.5):
            add("dialysis: patients on dialysis were not in the model's data and "
                "dialytic clearance is not modelled")
        for name, (q1, q3) in v.covariate_iqr.items():
            vals = c.value(name)
            vals = vals[~np.isnan(vals)]
            lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
            if vals.size and (np.any(vals < lo) or np.any(vals > hi)):
                unit = name.rsplit("_", 1)[-1] if name.endswith("_kg") else "mL/min"
                bad = vals[(vals < lo) | (vals > hi)][0]
                add(f"{name} {bad:.1f} {unit} lies outside the model's data "
                    f"(IQR {q1}-{q3} {unit}; beyond 1.5 IQR)")
    return reasons


NEAR_EDGE_AGE_YEARS = 2.0  # within 2 years of the youngest age the model was built on
NEAR_EDGE_CRCL = 1.2  # within 20 % above the lowest creatinine clearance in its data


def near_edge_reasons(spec: ModelSpec, cov: Covariates | CovariateTimeline) -> list[str]:
    """Inside the model's stated limits, but close to one: the forecast is less certain."""
    covs = cov.segments if isinstance(cov, CovariateTimeline) else (cov,)
    v = spec.validity
    out: list[str] = []
    for c in covs:
        age = c.age_years[~np.isnan(c.age_years)]
        if age.size and v.min_age_years <= np.min(age) < v.min_age_years + NEAR_EDGE_AGE_YEARS:
            msg = (f"age {np.min(age):.0f} years is near the model's lower limit "
                   f"({v.min_age_years:.0f} years; {v.population})")
            if msg not in out:
                out.append(msg)
        crcl = c.crcl_ml_min[~np.isnan(c.crcl_ml_min)]
        if crcl.size and v.min_crcl_ml_min <= np.min(crcl) < v.min_crcl_ml_min * NEAR_EDGE_CRCL:
            msg = (f"CrCl {np.min(crcl):.0f} mL/min is near the model's lower limit of "
                   f"{v.min_crcl_ml_min:.0f} mL/min: few patients of its data had so little "
                   "renal function")
            if msg not in out:
                out.append(msg)
    return out
