"""Quantities at the boundary: parse a value with its unit, return canonical units.

Canonical units past this module: kg, cm, mg/dL (creatinine), mg/L (drug
concentration), mg (dose), mL/min (clearance), hours (time). UCUM codes and
common spellings are accepted; a value without a unit is refused.
"""

from __future__ import annotations

import math
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from cyclodose.errors import CaseError

if TYPE_CHECKING:
    import pint

CYCLOSERINE_MW_G_MOL = 102.09  # PubChem CID 6234
CREATININE_MG_DL_PER_UMOL_L = 1 / 88.4  # creatinine MW 113.12 g/mol

# UCUM codes and everyday spellings mapped to pint expressions.
_ALIASES = {
    "[lb_av]": "lb",
    "lbs": "lb",
    "[in_i]": "inch",
    "in": "inch",
    "ug/ml": "microgram/milliliter",
    "µg/ml": "microgram/milliliter",
    "mcg/ml": "microgram/milliliter",
    "umol/l": "micromole/liter",
    "µmol/l": "micromole/liter",
    "mmol/l": "millimole/liter",
    "mg/dl": "milligram/deciliter",
    "mg/l": "milligram/liter",
    "ml/min": "milliliter/minute",
    "ml/min/{1.73_m2}": "milliliter/minute",
    "ml/min/1.73m2": "milliliter/minute",
    "wk": "week",  # UCUM week
}


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    # Imported here: pint (and the dask it probes for) costs ~0.5 s at every CLI start.
    import pint

    return pint.UnitRegistry()


def _errors() -> Any:
    import pint

    return pint.errors


def _parse_unit(unit: str, field: str) -> pint.Unit:
    if not isinstance(unit, str) or not unit.strip():
        raise CaseError.single(field, "a unit is required")
    # A control character (NUL, a tab inside the code...) is not part of any UCUM code; pint
    # would drop it silently or fail with an AssertionError (#8).
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in unit):
        raise CaseError.single(field, f"unit {unit!r} contains a control character")
    key = unit.strip()
    expr = _ALIASES.get(key.lower(), key)
    try:
        return registry().Unit(expr)
    except Exception as exc:  # pint's parser fails in many ways on malformed text (undefined
        # unit, tokenize.TokenError on a lone bracket, AssertionError, ZeroDivisionError): all
        # of them mean the unit cannot be read
        raise CaseError.single(field, f"unknown unit {unit!r}") from exc


def _convert(value: float, unit: str, target: str, field: str, what: str) -> float:
    u = _parse_unit(unit, field)
    q = registry().Quantity(value, u)
    try:
        return float(q.to(target).magnitude)
    except _errors().DimensionalityError as exc:
        raise CaseError.single(field, f"unit {unit!r} is not a {what}") from exc


def sig3(value: float) -> str:
    """A number to 3 significant figures, trailing zeros kept (25.012 -> "25.0", 255.3 -> "255")."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{round(value, decimals):.{decimals}f}"


def weight_kg(value: float, unit: str, field: str = "weight") -> float:
    return _convert(value, unit, "kg", field, "mass")


def length_cm(value: float, unit: str, field: str = "height") -> float:
    return _convert(value, unit, "cm", field, "length")


def creatinine_mg_dl(value: float, unit: str, field: str = "serum_creatinine") -> float:
    """Serum creatinine in mg/dL from mg/dL, mg/L or a molar unit (1 mg/dL = 88.4 µmol/L)."""
    u = _parse_unit(unit, field)
    q = registry().Quantity(value, u)
    if q.check("[substance]/[length]**3"):
        return float(q.to("micromole/liter").magnitude) * CREATININE_MG_DL_PER_UMOL_L
    return _convert(value, unit, "mg/dL", field, "creatinine concentration")


def drug_conc_mg_l(value: float, unit: str, field: str = "level") -> float:
    """Cycloserine concentration in mg/L; µg/mL equals mg/L; molar units use MW 102.09."""
    u = _parse_unit(unit, field)
    q = registry().Quantity(value, u)
    if q.check("[substance]/[length]**3"):
        umol_l = float(q.to("micromole/liter").magnitude)
        return umol_l * CYCLOSERINE_MW_G_MOL / 1000.0
    return _convert(value, unit, "mg/L", field, "concentration")


def dose_mg(value: float, unit: str, field: str = "dose") -> float:
    return _convert(value, unit, "mg", field, "mass")


def duration_days(value: float, unit: str, field: str = "duration") -> float:
    return _convert(value, unit, "day", field, "time")


def clearance_ml_min(value: float, unit: str, field: str = "crcl") -> float:
    return _convert(value, unit, "mL/min", field, "flow (volume per time)")
