"""FHIR Quantities with UCUM codes into canonical numbers (converted by pint via intake.units).

Only UCUM codes (system http://unitsofmeasure.org) are read; the display `unit`
is never interpreted. Each kind accepts the UCUM codes listed below, so that a
code of another kind is named as such: "'cm' is not a mass unit".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from cyclodose.errors import CaseError
from cyclodose.intake import units
from cyclodose.interop.fhir.codes import UCUM

KINDS: dict[str, tuple[str, ...]] = {
    "mass": ("kg", "g", "[lb_av]"),
    "length": ("cm", "m", "[in_i]"),
    "creatinine concentration": ("mg/dL", "umol/L", "mmol/L"),
    "drug concentration": ("mg/L", "ug/mL"),
    "dose mass": ("mg", "g"),
    "gestational age": ("wk", "d"),  # the UCUM units of HL7 BFDR's gestational-age value set
}
_CONVERT: dict[str, Callable[[float, str, str], float]] = {
    "mass": units.weight_kg,
    "length": units.length_cm,
    "creatinine concentration": units.creatinine_mg_dl,
    "drug concentration": units.drug_conc_mg_l,
    "dose mass": units.dose_mg,
    "gestational age": units.duration_days,
}


def number(q: Any, field: str) -> float:
    if q is None or q.value is None:
        raise CaseError.single(f"{field}.value", "missing")
    value = float(q.value)
    if not math.isfinite(value):
        raise CaseError.single(f"{field}.value", f"{q.value} is not a finite number")
    return value


def ucum_code(q: Any, field: str) -> str:
    if not q.code:
        raise CaseError.single(f"{field}.code", "a UCUM unit code is required"
                               + (f" (the display unit {q.unit!r} is not read)" if q.unit else ""))
    if q.system != UCUM:
        raise CaseError.single(f"{field}.system", f"{q.system!r} is not UCUM ({UCUM})")
    return str(q.code)


def convert(q: Any, field: str, kind: str) -> float:
    """The value of Quantity `q` in the canonical unit of `kind`."""
    value = number(q, field)
    code = ucum_code(q, field)
    if code not in KINDS[kind]:
        other = next((k for k, codes in KINDS.items() if code in codes), None)
        reason = (f"{code!r} is not a {kind} unit" if other else
                  f"{code!r} is not a UCUM unit read for a {kind} ({', '.join(KINDS[kind])})")
        raise CaseError.single(f"{field}.code", reason)
    return _CONVERT[kind](value, code, f"{field}.code")
