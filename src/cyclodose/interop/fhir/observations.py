"""Observations by LOINC: weight, height, creatinine (latest wins), cycloserine levels, and
the pregnancy observations (read in `pregnancy`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cyclodose.errors import CaseError, Problem
from cyclodose.interop.fhir import codes, quantities
from cyclodose.interop.fhir.resources import ref, when

COUNTED_STATUSES = frozenset({"final", "amended", "corrected"})  # FHIR R4 observation-status


@dataclass(frozen=True)
class Value:
    value: float  # canonical unit of its kind
    unit: str
    source: str  # "Observation/wt1"
    time: datetime
    original: str  # "185 [lb_av]"


@dataclass(frozen=True)
class LevelValue:
    source: str
    time: datetime
    value: float | str  # mg/L, or "<LLOQ"
    unit: str


def effective(obs: Any, name: str, *, need_time: bool = False) -> datetime:
    for element in ("effectiveDateTime", "effectiveInstant"):
        if getattr(obs, element, None) is not None:
            return when(getattr(obs, element), f"{name}.{element}", need_time=need_time)
    if getattr(obs, "effectivePeriod", None) is not None:
        return when(obs.effectivePeriod.start, f"{name}.effectivePeriod.start",
                    need_time=need_time)
    raise CaseError.single(f"{name}.effective[x]", "the observation has no date")


def kind_of(obs: Any, level_code: tuple[str, str] | None, level_text: str) -> str | None:
    c = obs.code
    for kind in ("body_weight", "body_height", "creatinine_mass", "creatinine_molar",
                 "pregnancy_status", "gestational_age"):
        if codes.has_code(c, codes.LOINC, codes.loinc(kind)):
            return kind
    if level_code and codes.has_code(c, level_code[0], {level_code[1]}):
        return "level"
    texts = [c.text or ""] + [cd.display or "" for cd in codes.codings(c)]
    if level_text and any(level_text.casefold() in t.casefold() for t in texts):
        return "level"
    return None


_KIND = {"body_weight": ("mass", "kg"), "body_height": ("length", "cm"),
         "creatinine_mass": ("creatinine concentration", "mg/dL"),
         "creatinine_molar": ("creatinine concentration", "mg/dL")}


def read_value(obs: Any, kind: str) -> Value:
    name = ref(obs)
    q = obs.valueQuantity
    if q is None:
        absent = codes.text_of(obs.dataAbsentReason)
        raise CaseError.single(f"{name}.valueQuantity", "missing" + (
            f" (dataAbsentReason: {absent})" if absent else ""))
    if q.comparator:
        raise CaseError.single(f"{name}.valueQuantity.comparator",
                               f"{q.comparator!r}: a bound is not a measured value")
    qkind, unit = _KIND[kind]
    problems: list[Problem] = []
    value = time = None
    try:
        value = quantities.convert(q, f"{name}.valueQuantity", qkind)
    except CaseError as exc:
        problems += exc.problems
    try:
        time = effective(obs, name)
    except CaseError as exc:
        problems += exc.problems
    if problems or value is None or time is None:
        raise CaseError(problems)
    return Value(value=value, unit=unit, source=name, time=time,
                 original=f"{float(q.value):g} {q.code}")


def read_level(obs: Any) -> LevelValue:
    name = ref(obs)
    q = obs.valueQuantity
    if q is None:
        raise CaseError.single(f"{name}.valueQuantity", "missing")
    time = effective(obs, name, need_time=True)
    mg_l = quantities.convert(q, f"{name}.valueQuantity", "drug concentration")
    if q.comparator in ("<", "<="):
        return LevelValue(source=name, time=time, value=f"<{mg_l:g}", unit="mg/L")
    if q.comparator:
        raise CaseError.single(f"{name}.valueQuantity.comparator",
                               f"{q.comparator!r}: only '<' (below quantification) is read")
    return LevelValue(source=name, time=time, value=mg_l, unit="mg/L")
