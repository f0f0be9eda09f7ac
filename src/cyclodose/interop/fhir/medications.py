"""MedicationRequest, MedicationAdministration and MedicationStatement → doses or co-medications.

Cycloserine (RxNorm 197551/212797, ATC J04AB01, or its name in the text) gives
dated doses: administrations at their actual times, orders and statements
expanded from `timing.repeat` and `doseAndRate[].doseQuantity`. Every other drug
becomes a co-medication for the vocabulary. A dose or timing that cannot be read
is an error naming the element; nothing is assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cyclodose.errors import CaseError, Problem
from cyclodose.interop.fhir import codes, quantities
from cyclodose.interop.fhir.resources import ref, when

MAX_EXPANDED_DOSES = 10000
_PERIOD_H = {"h": 1.0, "d": 24.0, "wk": 168.0}
_CAPSULE_UCUM = {"{capsule}", "{capsules}", "{cap}"}
_DOSE_FORM = "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm"

# Statuses (FHIR R4 value sets) whose doses count, and those listed but not used.
USED = {
    "MedicationRequest": {"active", "draft", "completed", "stopped"},
    "MedicationStatement": {"active", "completed", "stopped", "intended"},
    "MedicationAdministration": {"completed"},
}
LISTED = {
    "MedicationRequest": {"on-hold", "cancelled", "entered-in-error"},
    "MedicationStatement": {"on-hold", "not-taken", "entered-in-error"},
    "MedicationAdministration": {"not-done", "entered-in-error"},
}


@dataclass(frozen=True)
class DoseEvent:
    time: datetime
    amount_mg: float
    source: str


@dataclass(frozen=True)
class Expansion:
    source: str
    doses: tuple[DoseEvent, ...]
    draft: bool
    administered: bool
    start: datetime
    end: datetime


def medication_concept(res: Any, medications: dict[str, Any]) -> Any:
    if res.medicationCodeableConcept is not None:
        return res.medicationCodeableConcept
    reference = res.medicationReference.reference if res.medicationReference else None
    if reference:
        if reference.startswith("#"):
            contained = {c.id: c for c in (res.contained or [])}
            med = contained.get(reference[1:])
        else:
            med = medications.get(reference) or medications.get(reference.split("/_history")[0])
        if med is not None and med.code is not None:
            return med.code
        raise CaseError.single(f"{ref(res)}.medicationReference",
                               f"{reference!r} is not in the data (or has no code)")
    raise CaseError.single(f"{ref(res)}.medication[x]", "missing")


def is_cycloserine(concept: Any) -> bool:
    c = codes.data()["cycloserine"]
    if codes.has_code(concept, codes.RXNORM, set(c["rxnorm"]["products"])):
        return True
    if codes.has_code(concept, codes.ATC, set(c["atc"]["codes"])):
        return True
    texts = [concept.text or ""] + [cd.display or "" for cd in codes.codings(concept)]
    return any(name in t.casefold() for t in texts for name in c["text"])


def comedication_text(concept: Any) -> str:
    """What the vocabulary reads: an ATC code, a known RxNorm name, the text, or the code."""
    for cd in codes.codings(concept):
        if cd.system == codes.ATC and cd.code:
            return str(cd.code)
    rx = codes.data()["rxnorm_comedications"]["codes"]
    for cd in codes.codings(concept):
        if cd.system == codes.RXNORM and cd.code in rx:
            return str(rx[cd.code])
    text = codes.text_of(concept)
    if text:
        return text
    first = next(iter(codes.codings(concept)), None)
    return f"{first.system} {first.code}" if first else "medication without code or text"


def _strength_mg(concept: Any) -> float | None:
    products = codes.cycloserine_products()
    for cd in codes.codings(concept):
        if cd.system == codes.RXNORM and cd.code in products:
            return float(products[cd.code]["strength_mg"])
    return None


def dose_mg(q: Any, field: str, concept: Any) -> float:
    """A dose quantity in mg: a mass, or a capsule count times the coded product's strength."""
    if q is None:
        raise CaseError.single(field, "missing")
    is_capsule = (q.system == codes.UCUM and (q.code or "").lower() in _CAPSULE_UCUM) or (
        q.system == _DOSE_FORM and q.code == "CAP")
    if is_capsule:
        count = quantities.number(q, field)
        strength = _strength_mg(concept)
        if strength is None:
            raise CaseError.single(field, "a capsule count needs a coded product with a known "
                                   "strength (RxNorm 197551 or 212797)")
        return count * strength
    mg = quantities.convert(q, field, "dose mass")
    if mg < 0:
        raise CaseError.single(f"{field}.value", "a dose cannot be negative")
    return mg


def _one_dose(dosage: Any, field: str, concept: Any) -> float:
    rates = dosage.doseAndRate or []
    if len(rates) != 1:
        raise CaseError.single(f"{field}.doseAndRate",
                               "exactly one doseAndRate with a doseQuantity is needed"
                               if not rates else "several doseAndRate entries: which one is given?")
    if rates[0].doseRange is not None:
        raise CaseError.single(f"{field}.doseAndRate[0].doseRange",
                               "a dose range is not a dose: give doseQuantity")
    return dose_mg(rates[0].doseQuantity, f"{field}.doseAndRate[0].doseQuantity", concept)


def _refuse(rep: Any, field: str) -> None:
    for element in ("when", "dayOfWeek", "offset", "periodMax", "frequencyMax", "durationMax",
                    "boundsRange", "countMax"):
        if getattr(rep, element, None):
            raise CaseError.single(f"{field}.{element}",
                                   "not read by cyclodose: give frequency/period or timeOfDay")


def expand_dosage(dosage: Any, field: str, concept: Any, *, start: datetime | None,
                  end: datetime | None, open_until: datetime, zone: ZoneInfo,
                  source: str) -> tuple[list[DoseEvent], datetime, datetime | None]:
    """The dose times of one Dosage, from its start to its end (or `open_until`).

    Returns the doses, the start and the end (None for an open-ended instruction)."""
    if dosage.asNeededBoolean or dosage.asNeededCodeableConcept is not None:
        raise CaseError.single(f"{field}.asNeeded[x]", "a dose taken as needed has no times")
    amount = _one_dose(dosage, field, concept)
    rep = dosage.timing.repeat if dosage.timing is not None else None
    tfield = f"{field}.timing.repeat"
    if rep is None:
        raise CaseError.single(tfield, "missing: the dose times cannot be read"
                               + (" (timing.code is not read)" if dosage.timing else ""))
    _refuse(rep, tfield)
    if rep.boundsPeriod is not None:
        if rep.boundsPeriod.start is not None:
            start = when(rep.boundsPeriod.start, f"{tfield}.boundsPeriod.start")
        if rep.boundsPeriod.end is not None:
            end = when(rep.boundsPeriod.end, f"{tfield}.boundsPeriod.end")
    if start is None:
        raise CaseError.single(f"{tfield}.boundsPeriod.start", "the order has no start date")
    exclusive = False
    if rep.boundsDuration is not None:
        d = rep.boundsDuration
        if d.code not in _PERIOD_H or d.value is None:
            raise CaseError.single(f"{tfield}.boundsDuration", "give a value in h, d or wk")
        end = start + timedelta(hours=float(d.value) * _PERIOD_H[d.code])
        exclusive = True  # 14 days of doses end before the 15th day begins
    limit = end or open_until

    def within(t: datetime) -> bool:
        return start <= t < limit if exclusive else start <= t <= limit

    if rep.period is None or rep.periodUnit not in _PERIOD_H:
        raise CaseError.single(f"{tfield}.period", "period and periodUnit (h, d or wk) needed")
    period_h = float(rep.period) * _PERIOD_H[rep.periodUnit]
    frequency = int(rep.frequency) if rep.frequency is not None else 1  # R4: absent means once
    if period_h <= 0 or frequency <= 0:
        raise CaseError.single(tfield, "period and frequency must be positive")
    times: list[datetime] = []
    if rep.timeOfDay:
        if period_h != 24.0 or frequency not in (1, len(rep.timeOfDay)):
            raise CaseError.single(f"{tfield}.timeOfDay",
                                   "timeOfDay is read for a daily period with one dose per time")
        clocks = sorted(t if isinstance(t, time) else time.fromisoformat(str(t))
                        for t in rep.timeOfDay)
        day = start.astimezone(zone).date()
        while len(times) <= MAX_EXPANDED_DOSES:
            stamps = [datetime.combine(day, c, tzinfo=zone) for c in clocks]
            if stamps[0] > limit:
                break
            times += [s for s in stamps if within(s)]
            day += timedelta(days=1)
    else:
        step = timedelta(hours=period_h / frequency)
        t = start
        while within(t) and len(times) <= MAX_EXPANDED_DOSES:
            times.append(t)
            t += step
    if rep.count is not None:
        times = times[: int(rep.count)]
    if len(times) > MAX_EXPANDED_DOSES:
        raise CaseError.single(tfield, f"more than {MAX_EXPANDED_DOSES} doses: check the bounds")
    return [DoseEvent(t, amount, source) for t in times], start, end


def expand_order(res: Any, concept: Any, *, at: datetime, open_until: datetime,
                 zone: ZoneInfo) -> Expansion:
    """A MedicationRequest or MedicationStatement for cycloserine as dated doses."""
    name = ref(res)
    rtype = res.get_resource_type()
    draft = rtype == "MedicationRequest" and res.status == "draft"
    dosages = res.dosageInstruction if rtype == "MedicationRequest" else res.dosage
    element = "dosageInstruction" if rtype == "MedicationRequest" else "dosage"
    if not dosages:
        raise CaseError.single(f"{name}.{element}", "missing: the dose cannot be read")
    start: datetime | None = at if draft else None  # a draft without a start begins now
    end: datetime | None = None
    if rtype == "MedicationStatement" and res.effectivePeriod is not None:
        p = res.effectivePeriod
        start = when(p.start, f"{name}.effectivePeriod.start") if p.start else None
        end = when(p.end, f"{name}.effectivePeriod.end") if p.end else None
    problems: list[Problem] = []
    doses: list[DoseEvent] = []
    starts, ends = [], []
    # Dosage.sequence orders phases: a later sequence starts when the earlier one ends;
    # instructions that share a sequence (or have none) run at the same time.
    order = sorted(range(len(dosages)), key=lambda i: dosages[i].sequence or 0)
    phase_start, phase_seq, phase_end = start, None, None
    for i in order:
        dosage = dosages[i]
        if dosage.sequence is not None and phase_seq is not None and dosage.sequence != phase_seq:
            if phase_end is None:
                problems.append(Problem(f"{name}.{element}[{i}].sequence", "follows an "
                                        "instruction without an end"))
                continue
            phase_start = phase_end
        phase_seq = dosage.sequence
        try:
            got, s, e = expand_dosage(dosage, f"{name}.{element}[{i}]", concept,
                                      start=phase_start, end=end, open_until=open_until,
                                      zone=zone, source=name)
        except CaseError as exc:
            problems += exc.problems
            continue
        doses += got
        starts.append(s)
        ends.append(e or open_until)
        phase_end = e
    if problems:
        raise CaseError(problems)
    if res.status in ("completed", "stopped") and not doses:
        raise CaseError.single(f"{name}.{element}", "no dose falls within the order's bounds")
    return Expansion(source=name, doses=tuple(sorted(doses, key=lambda d: d.time)), draft=draft,
                     administered=False, start=min(starts), end=max(ends))


def administered(res: Any, concept: Any) -> DoseEvent:
    name = ref(res)
    if res.effectiveDateTime is not None:
        t = when(res.effectiveDateTime, f"{name}.effectiveDateTime", need_time=True)
    elif res.effectivePeriod is not None:
        t = when(res.effectivePeriod.start, f"{name}.effectivePeriod.start", need_time=True)
    else:
        raise CaseError.single(f"{name}.effective[x]", "missing: when was the dose given?")
    if res.dosage is None:
        raise CaseError.single(f"{name}.dosage.dose", "missing")
    return DoseEvent(t, dose_mg(res.dosage.dose, f"{name}.dosage.dose", concept), name)
