"""Pregnancy from FHIR R4: the pregnancy status, the gestational age, a pregnancy Condition.

What is read (facts with their sources; the codes are in codes.yaml):
- Pregnancy status: an Observation coded LOINC 82810-3 whose valueCodeableConcept is from
  the HL7 IPS value set pregnancy-status-uv-ips (IPS 2.0.1): SNOMED CT 77386006 pregnant,
  60001007 not pregnant. Its third code, 152231000119106 "pregnancy not yet confirmed", is
  refused: the assessment cannot be told what to assume.
- Gestational age: an Observation coded LOINC 11884-4, 49051-6 or 18185-9 with a
  valueQuantity in UCUM `wk` or `d` (the units of HL7 BFDR's gestational-age value set). It
  is the age on the observation's date (ONC ISA, Gestational Age: "needs to be correlated with
  the date the gestational age was documented"), so it is carried forward to the assessment
  date, in completed weeks (NHS Data Dictionary, Gestation Length in Weeks; BFDR: days
  divided by 7 without remainder).
- An active Condition that the vocabulary recognises as pregnancy (ICD-10 Z33/Z34, SNOMED CT
  77386006, or its text), without a qualifier such as "history of".

Nothing is guessed. Pregnant for a male patient, a gestational age above the 44 weeks a Case
accepts, a status contradicted by a Condition or by a later gestational age, and a current
gestational age without any pregnancy record are errors naming the resource and element.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from cyclodose.clinical.vocabulary import Recognised, recognise_condition
from cyclodose.errors import CaseError, Problem
from cyclodose.intake.case import TRIMESTER_WEEKS
from cyclodose.interop.fhir import codes, quantities
from cyclodose.interop.fhir.observations import effective
from cyclodose.interop.fhir.resources import ref

MAX_GESTATION_WEEKS = TRIMESTER_WEEKS[-1][1]  # the longest gestation a Case accepts (44)


@dataclass(frozen=True)
class Status:
    pregnant: bool
    source: str  # "Observation/ps1"
    time: datetime
    original: str  # "SNOMED CT 77386006 (pregnant)"


@dataclass(frozen=True)
class GestationalAge:
    days: float  # on the observation's date
    source: str
    time: datetime
    original: str  # "24 wk"


@dataclass
class Pregnancy:
    """What the reader puts in the Case document, with where it came from."""

    pregnant: bool | None = None  # None: nothing current was recorded
    gestational_week: int | None = None  # completed weeks on the assessment date
    sources: list[tuple[str, str, str, datetime | None]] = field(default_factory=list)
    listed: list[tuple[str, str]] = field(default_factory=list)  # (resource, reason)


@cache
def _status_codes() -> dict[str, bool]:
    table = codes.data()["pregnancy_status"]
    return {**dict.fromkeys(table["pregnant"], True), **dict.fromkeys(table["not_pregnant"], False)}


def read_status(obs: Any) -> Status:
    name = ref(obs)
    concept = obs.valueCodeableConcept
    if concept is None:
        absent = codes.text_of(obs.dataAbsentReason)
        raise CaseError.single(f"{name}.valueCodeableConcept", "missing: a pregnancy status is "
                               "coded pregnant or not pregnant" + (
                                   f" (dataAbsentReason: {absent})" if absent else ""))
    table = _status_codes()
    found = {c.code: table[c.code] for c in codes.codings(concept)
             if c.system == codes.SNOMED and c.code in table}
    if len(set(found.values())) != 1:
        given = ", ".join(f"{c.system} {c.code}" for c in codes.codings(concept)) or (
            codes.text_of(concept) or "no coding")
        reason = ("codes both pregnant and not pregnant" if found else
                  f"{given} is not a pregnancy status cyclodose reads (SNOMED CT 77386006 "
                  "pregnant or 60001007 not pregnant, HL7 IPS pregnancy-status-uv-ips)")
        raise CaseError.single(f"{name}.valueCodeableConcept", reason)
    code, pregnant = next(iter(found.items()))
    return Status(pregnant=pregnant, source=name, time=effective(obs, name),
                  original=f"SNOMED CT {code} ({'pregnant' if pregnant else 'not pregnant'})")


def read_gestational_age(obs: Any) -> GestationalAge:
    name = ref(obs)
    q = obs.valueQuantity
    if q is None:
        raise CaseError.single(f"{name}.valueQuantity", "missing: a gestational age is a "
                               "quantity in wk or d")
    if q.comparator:
        raise CaseError.single(f"{name}.valueQuantity.comparator",
                               f"{q.comparator!r}: a bound is not a gestational age")
    days = quantities.convert(q, f"{name}.valueQuantity", "gestational age")
    original = f"{float(q.value):g} {q.code}"
    if days < 7:
        raise CaseError.single(f"{name}.valueQuantity.value",
                               f"{original} is less than 1 completed week of gestation")
    if days // 7 > MAX_GESTATION_WEEKS:
        raise CaseError.single(f"{name}.valueQuantity.value", f"{original} is more than the "
                               f"{MAX_GESTATION_WEEKS} weeks a gestation lasts")
    return GestationalAge(days=days, source=name, time=effective(obs, name), original=original)


def is_pregnancy(text: str) -> bool:
    """Whether a Condition's text (as the reader puts it in the Case) is a current pregnancy."""
    hit = recognise_condition(text, "condition")
    return isinstance(hit, Recognised) and hit.concept == "pregnancy" and not hit.qualifiers


def _weeks_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / (7 * 86400)


def decide(statuses: Sequence[Status], ages: Sequence[GestationalAge],
           conditions: Sequence[str], *, sex: str | None, sex_source: str,
           at: datetime) -> Pregnancy:
    """The pregnancy of the Case document from everything recorded; `conditions` are the
    active pregnancy Conditions ("Condition/c1")."""
    out = Pregnancy()
    problems: list[Problem] = []
    status = max(statuses, key=lambda s: s.time, default=None)
    out.listed += [(s.source, f"older pregnancy status than {status.source}")
                   for s in statuses if status is not None and s is not status]
    if status is not None and status.pregnant and \
            _weeks_between(status.time, at) > MAX_GESTATION_WEEKS:
        out.listed.append((status.source, f"pregnant on {status.time.date()}, more than "
                           f"{MAX_GESTATION_WEEKS} weeks ago: that pregnancy has ended"))
        status = None
    if status is not None and not status.pregnant:
        problems += [Problem(f"{c}.code", f"an active pregnancy, but {status.source} records "
                             f"not pregnant on {status.time.date()}: resolve the Condition or "
                             "correct the pregnancy status") for c in conditions]
    pregnant = (status is not None and status.pregnant) or bool(conditions)
    evidence = [status.source] if status is not None and status.pregnant else list(conditions)
    if pregnant and sex == "male":
        problems += [Problem(f"{e}.valueCodeableConcept" if e.startswith("Observation/")
                             else f"{e}.code", f"pregnant, but {sex_source}.gender is male: "
                             "check which is wrong") for e in evidence]

    age = max(ages, key=lambda a: a.time, default=None)
    out.listed += [(a.source, f"older gestational age than {age.source}")
                   for a in ages if age is not None and a is not age]
    if age is not None:
        weeks_now = int((age.days + (at - age.time).total_seconds() / 86400) // 7)
        carried = (f"{age.original} on {age.time.date()}: {weeks_now} completed weeks on "
                   f"{at.date()}")
        if age.time > at:
            problems.append(Problem(f"{age.source}.effective[x]",
                                    f"{age.time.date()} is after the assessment date"))
        elif pregnant:
            if weeks_now > MAX_GESTATION_WEEKS:
                problems.append(Problem(f"{age.source}.effective[x]", (
                    f"{carried}, more than {MAX_GESTATION_WEEKS}, yet {', '.join(evidence)} "
                    "records a current pregnancy: record the current gestational age")))
            else:
                out.gestational_week = weeks_now
                out.sources.append(("patient.gestational_week", age.source, carried, age.time))
        elif status is not None and age.time <= status.time:
            out.listed.append((age.source, f"before {status.source} recorded not pregnant "
                               f"({status.time.date()})"))
        elif status is not None:
            problems.append(Problem(f"{age.source}.effective[x]", (
                f"a gestational age on {age.time.date()}, after {status.source} recorded not "
                f"pregnant ({status.time.date()}): record the current pregnancy status")))
        elif weeks_now > MAX_GESTATION_WEEKS:
            out.listed.append((age.source, f"{carried}: of a pregnancy that has ended"))
        else:
            problems.append(Problem(age.source, (
                f"{carried}, but no pregnancy status (LOINC 82810-3) or pregnancy Condition: "
                "record the pregnancy status")))
    if problems:
        raise CaseError(problems)
    if status is not None:
        out.pregnant = status.pregnant
        out.sources.insert(0, ("patient.pregnant", status.source, status.original, status.time))
    elif conditions:
        out.pregnant = True
        out.sources.insert(0, ("patient.pregnant", ", ".join(conditions),
                               "active pregnancy Condition", None))
    return out
