"""Whether the virtual population lies inside the PK model's validity domain.

Counted per chunk (patients below the model's minimum age or CrCl, on dialysis,
or beyond the Tukey fences of the model-building data's IQR) and turned into
warnings for the output and the plot caption: a population outside the model's
data (children on an adult model, severe renal impairment) extrapolates.
"""

from __future__ import annotations

import numpy as np

from cyclodose import pk

AGE_NOT_GIVEN = "age_not_given"


def _fences(q1: float, q3: float) -> tuple[float, float]:
    return q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)


def count_outside(model: pk.ModelSpec, cov: pk.Covariates) -> dict[str, int]:
    """Patients outside each limit of the model's domain (keys: see `warnings`)."""
    v = model.validity
    age, crcl = cov.age_years, cov.crcl_ml_min
    out = {
        "age_below_min": int(np.count_nonzero(age < v.min_age_years)),
        AGE_NOT_GIVEN: int(np.count_nonzero(np.isnan(age))),
        "crcl_below_min": int(np.count_nonzero(crcl < v.min_crcl_ml_min)),
        "dialysis": 0 if v.dialysis else int(np.count_nonzero(cov.dialysis >= 0.5)),
    }
    for name, (q1, q3) in v.covariate_iqr.items():
        lo, hi = _fences(q1, q3)
        vals = cov.value(name)
        out[f"iqr.{name}"] = int(np.count_nonzero((vals < lo) | (vals > hi)))
    return out


def warnings(model: pk.ModelSpec, counts: dict[str, int], n: int) -> list[str]:
    """One sentence per limit that some virtual patients cross, with their share."""
    v = model.validity

    def share(k: int) -> str:
        return f"{k:,} of {n:,} virtual patients ({k / n:.1%})"

    out = []
    if counts.get("age_below_min"):
        out.append(f"{share(counts['age_below_min'])} are younger than {v.min_age_years:g} "
                   f"years, below the population of model {model.name} ({v.population}): "
                   "their exposures are extrapolated")
    if counts.get("crcl_below_min"):
        out.append(f"{share(counts['crcl_below_min'])} have CrCl below "
                   f"{v.min_crcl_ml_min:g} mL/min, the lowest in model {model.name}'s data: "
                   "severe renal impairment is extrapolated")
    if counts.get("dialysis"):
        out.append(f"{share(counts['dialysis'])} are on dialysis, which model {model.name} "
                   "does not cover (dialytic clearance is not modelled)")
    for name, (q1, q3) in v.covariate_iqr.items():
        k = counts.get(f"iqr.{name}", 0)
        if k:
            lo, hi = _fences(q1, q3)
            out.append(f"{share(k)} have {name} outside {lo:.1f}-{hi:.1f} (1.5 IQR beyond the "
                       f"model's data, IQR {q1:g}-{q3:g})")
    return out


def notes(model: pk.ModelSpec, counts: dict[str, int], n: int) -> list[str]:
    """What could not be checked (no age: the model's minimum age is not verified)."""
    if counts.get(AGE_NOT_GIVEN):
        return [f"age is not in the population spec: model {model.name} starts at "
                f"{model.validity.min_age_years:g} years and that is not checked (children "
                "are recognised only through weight outside the model's data)"]
    return []
