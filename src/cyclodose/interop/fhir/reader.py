"""FHIR R4 resources → a Case document, with where each fact came from.

`read_fhir(bundle, at=...)` returns a `FhirReading`: the Case document, the
resource behind each field (with its date), what was listed but not used (and
why), and flags such as a stale creatinine. `at` is the document's `assessed_at`:
the doses of an order from then on are planned, not given (the TDM does not fit
them; the dose checks read them). `reading.parse()` validates the
document into a Case, naming the resource when a problem is found there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cyclodose import Case, CaseDocument, parse_case
from cyclodose.errors import CaseError, Problem
from cyclodose.interop.fhir import conditions, medications, observations, pregnancy
from cyclodose.interop.fhir.resources import load, of_type, ref

CREATININE_MAX_AGE_DAYS = 30.0  # site policy (issue #12), configurable per deployment
# Site policy, configurable: the monograph asks for levels at least weekly when clearance is
# reduced or doses exceed 500 mg/day (Precautions); the screening decides who needs them.
LEVEL_MAX_AGE_DAYS = 7.0


class ReaderOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    level_code: str | None = Field(
        default=None, description="system|code of the cycloserine level Observation (no "
        "verified LOINC code exists); without it the code text must contain level_text")
    level_text: str = "cycloserine"
    creatinine_max_age_days: float = Field(default=CREATININE_MAX_AGE_DAYS, gt=0)
    open_order_days: float = Field(
        default=7.0, gt=0, le=60,
        description="an order without an end is read over this many days from now (as "
        "planned doses: checked, not fitted as given)")
    timezone: str = Field(default="UTC", description="IANA zone of timing.repeat.timeOfDay")
    level_max_age_days: float = Field(
        default=LEVEL_MAX_AGE_DAYS, gt=0,
        description="a patient on cycloserine whose latest level is older is flagged as due")


class SourceOf(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str  # Case document field, e.g. "patient.weight_kg", "levels[0]"
    resource: str  # "Observation/wt1"
    value: str  # as read, e.g. "185 [lb_av]"
    time: datetime | None = None


class Listed(BaseModel):
    model_config = ConfigDict(frozen=True)

    resource: str
    reason: str


class Flag(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: Literal["creatinine.stale", "creatinine.missing", "levels.missing", "levels.due",
                  "not_read"]
    message: str
    resource: str | None = None


class FhirReading(BaseModel):
    model_config = ConfigDict(frozen=True)

    document: CaseDocument
    at: datetime
    patient_id: str | None
    sources: tuple[SourceOf, ...]
    listed: tuple[Listed, ...]
    flags: tuple[Flag, ...]
    draft_orders: tuple[str, ...] = ()  # cycloserine draft MedicationRequests, e.g. from CDS

    def parse(self) -> Case:
        """The Case; a problem in a field read from a resource names that resource too."""
        try:
            return parse_case(self.document)
        except CaseError as exc:
            raise self.named(exc) from None

    def named(self, exc: CaseError) -> CaseError:
        """The same problems, each naming the resource its field was read from (for errors
        raised later, e.g. by a use case that refuses the case)."""
        by_field = {s.field: s.resource for s in self.sources}
        return CaseError([_named(p, by_field) for p in exc.problems])


def _named(p: Problem, by_field: dict[str, str]) -> Problem:
    for f, resource in by_field.items():
        if p.field == f or p.field.startswith((f + ".", f + "[")):
            return Problem(f"{resource} ({p.field})", p.reason)
    return p


def _age_years(birth: Any, name: str, at: datetime) -> float:
    if not isinstance(birth, date) or isinstance(birth, datetime):
        raise CaseError.single(f"{name}.birthDate",
                               "missing" if birth is None else f"{birth}: a full date is needed")
    today = at.date()
    if birth > today:
        raise CaseError.single(f"{name}.birthDate", "is after the assessment date")
    whole = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    last = _anniversary(birth, birth.year + whole)
    nxt = _anniversary(birth, birth.year + whole + 1)
    return whole + (today - last).days / (nxt - last).days


def _anniversary(birth: date, year: int) -> date:
    try:
        return birth.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)


def _latest(values: list[observations.Value]) -> observations.Value | None:
    return max(values, key=lambda v: v.time) if values else None


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CaseError as exc:
            self.problems += exc.problems
            return None


def read_fhir(*documents: Any, at: datetime, options: ReaderOptions | None = None,
              patient_id: str | None = None) -> FhirReading:
    """Read Bundles or resources (a CDS prefetch's values, a search result) into a Case document.

    `at` is the assessment time (ages, staleness, the start of a draft order)."""
    opts = options or ReaderOptions()
    if at.tzinfo is None:
        raise ValueError("read_fhir needs an aware assessment time")
    at = at.astimezone(UTC)
    try:
        zone = ZoneInfo(opts.timezone)
    except ZoneInfoNotFoundError as exc:
        raise CaseError.single("settings.timezone", f"unknown time zone {opts.timezone!r}") from exc
    loaded = load(*documents)
    res = loaded.resources
    c = _Collector()
    sources: list[SourceOf] = []
    listed = [Listed(resource=r, reason=why) for r, why in loaded.skipped]
    flags: list[Flag] = []

    # Patient
    patients = of_type(res, "Patient")
    if patient_id is not None:
        patients = [p for p in patients if p.id == patient_id] or patients
    patient: dict[str, Any] = {}
    pid, patient_ref = None, "Patient"
    if len(patients) != 1:
        c.problems.append(Problem("Patient", "no Patient resource" if not patients else
                                  f"{len(patients)} Patient resources: which one?"))
    else:
        pat = patients[0]
        pid, name = pat.id, ref(pat)
        patient_ref = name
        if pat.gender in ("male", "female"):
            patient["sex"] = pat.gender
            sources.append(SourceOf(field="patient.sex", resource=name, value=pat.gender))
        else:
            c.problems.append(Problem(f"{name}.gender", f"{pat.gender or 'missing'}: male or "
                                      "female is needed for renal function and dosing"))
        age = c.run(_age_years, pat.birthDate, name, at)
        if age is not None:
            patient["age_years"] = age  # unrounded: a rounded age could cross an age group
            sources.append(SourceOf(field="patient.age_years", resource=name,
                                    value=f"birthDate {pat.birthDate}"))

    # Observations
    pools: dict[str, list[observations.Value]] = {"weight": [], "height": [], "creatinine": []}
    pool_of = {"body_weight": "weight", "body_height": "height", "creatinine_mass": "creatinine",
               "creatinine_molar": "creatinine"}
    level_code = tuple(opts.level_code.split("|", 1)) if opts.level_code else None
    if level_code is not None and len(level_code) != 2:
        raise CaseError.single("settings.level_code", "write it as system|code")
    level_values: list[observations.LevelValue] = []
    statuses: list[pregnancy.Status] = []
    ages: list[pregnancy.GestationalAge] = []
    for obs in of_type(res, "Observation"):
        kind = observations.kind_of(obs, level_code, opts.level_text)
        if kind is None:
            listed.append(Listed(resource=ref(obs), reason="not an Observation cyclodose reads"))
            continue
        if obs.status not in observations.COUNTED_STATUSES:
            listed.append(Listed(resource=ref(obs), reason=f"status {obs.status}: only "
                                 "final, amended or corrected results count"))
            continue
        if kind == "pregnancy_status":
            if (st := c.run(pregnancy.read_status, obs)) is not None:
                statuses.append(st)
            continue
        if kind == "gestational_age":
            if (ga := c.run(pregnancy.read_gestational_age, obs)) is not None:
                ages.append(ga)
            continue
        if kind == "level":
            lv = c.run(observations.read_level, obs)
            if lv is not None:
                level_values.append(lv)
            continue
        v = c.run(observations.read_value, obs, kind)
        if v is not None:
            pools[pool_of[kind]].append(v)
    weight, height, creat = (_latest(pools[k]) for k in ("weight", "height", "creatinine"))
    for key, v in (("weight_kg", weight), ("height_cm", height)):
        if v is not None:
            patient[key] = round(v.value, 3)
            sources.append(SourceOf(field=f"patient.{key}", resource=v.source, value=v.original,
                                    time=v.time))
    if weight is None:
        c.problems.append(Problem("Observation", "no usable body weight (LOINC 29463-7 or "
                                  "3141-9, status final/amended/corrected)"))
    for k in ("weight", "height", "creatinine"):
        latest = _latest(pools[k])
        listed += [Listed(resource=v.source, reason=f"older {k} than {latest.source}")
                   for v in pools[k] if latest is not None and v is not latest]
    if creat is not None:
        patient["serum_creatinine"] = {"value": creat.value, "unit": "mg/dL"}
        sources.append(SourceOf(field="patient.serum_creatinine", resource=creat.source,
                                value=creat.original, time=creat.time))
        age_days = (at - creat.time).total_seconds() / 86400
        if age_days > opts.creatinine_max_age_days:
            flags.append(Flag(code="creatinine.stale", resource=creat.source,
                              message=f"The latest serum creatinine ({creat.source}, "
                              f"{creat.time.date()}) is {age_days:.0f} days old (more than "
                              f"{opts.creatinine_max_age_days:g} days): measure it again."))
    else:
        flags.append(Flag(code="creatinine.missing", message="No serum creatinine (LOINC "
                          "2160-0 or 14682-9) was found: renal function is unknown."))

    # Conditions
    condition_texts: list[str] = []
    pregnancy_conditions: list[str] = []
    for cond in of_type(res, "Condition"):
        ct = conditions.read_condition(cond)
        if ct.active:
            sources.append(SourceOf(field=f"patient.conditions[{len(condition_texts)}]",
                                    resource=ct.source, value=f"{ct.coded_as}; {ct.status}"))
            condition_texts.append(ct.text)
            if pregnancy.is_pregnancy(ct.text):
                pregnancy_conditions.append(ct.source)
        else:
            listed.append(Listed(resource=ct.source,
                                 reason=f"{ct.text} ({ct.coded_as}): {ct.status}, not counted"))
    patient["conditions"] = condition_texts

    # Pregnancy (after the Patient, the Observations and the Conditions it is checked against)
    preg = c.run(pregnancy.decide, statuses, ages, pregnancy_conditions,
                 sex=patient.get("sex"), sex_source=patient_ref, at=at)
    if preg is not None:
        if preg.pregnant is not None:
            patient["pregnant"] = preg.pregnant
        if preg.gestational_week is not None:
            patient["gestational_week"] = preg.gestational_week
        sources += [SourceOf(field=f, resource=r, value=v, time=t) for f, r, v, t in preg.sources]
        listed += [Listed(resource=r, reason=why) for r, why in preg.listed]

    # Medications
    meds = {ref(m): m for m in of_type(res, "Medication")}
    open_until = at + timedelta(days=opts.open_order_days)
    expansions: list[medications.Expansion] = []
    admin_doses: list[medications.DoseEvent] = []
    comeds: list[str] = []
    drafts: list[str] = []
    for rtype in ("MedicationAdministration", "MedicationRequest", "MedicationStatement"):
        for r in of_type(res, rtype):
            name = ref(r)
            concept = c.run(medications.medication_concept, r, meds)
            if concept is None:
                continue
            if r.status in medications.LISTED[rtype]:
                listed.append(Listed(resource=name, reason=f"status {r.status}, not counted"))
                continue
            if r.status not in medications.USED[rtype]:
                c.problems.append(Problem(f"{name}.status", f"{r.status}: cannot tell whether "
                                          "the medication is taken"))
                continue
            if not medications.is_cycloserine(concept):
                text = medications.comedication_text(concept)
                if text not in comeds:
                    sources.append(SourceOf(field=f"comedications[{len(comeds)}]",
                                            resource=name, value=text))
                    comeds.append(text)
                continue
            if rtype == "MedicationAdministration":
                d = c.run(medications.administered, r, concept)
                if d is not None and d.time >= at:
                    c.problems.append(Problem(f"{name}.effective[x]", f"{d.time.isoformat()} is "
                                              f"not before the assessment time ({at.isoformat()})"
                                              ": a dose given cannot be later than now"))
                elif d is not None:
                    admin_doses.append(d)
                continue
            e = c.run(medications.expand_order, r, concept, at=at, open_until=open_until,
                      zone=zone)
            if e is not None:
                expansions.append(e)
                if e.draft:
                    drafts.append(name)
    doses = _combine(admin_doses, expansions, c, listed, at)
    if level_values and not doses:
        c.problems += [Problem(lv.source, "a cycloserine level needs the dose history: no "
                               "cycloserine administration, order or statement was found")
                       for lv in level_values]
    if c.problems:
        raise CaseError(c.problems)

    document: dict[str, Any] = {"patient": patient, "comedications": comeds}
    if doses:
        document["regimen"] = {"doses": [{"time": d.time, "amount_mg": d.amount_mg}
                                         for d in doses]}
        sources += [SourceOf(field="regimen", resource=", ".join(
            sorted({d.source for d in doses})), value=_doses_read(doses, at))]
    levels = sorted(level_values, key=lambda lv: lv.time)
    if any(d.time < at for d in doses):  # doses already given, not a plan starting now
        if not levels:
            flags.append(Flag(code="levels.missing", message="No cycloserine level was found "
                              "for a patient taking cycloserine."))
        elif (at - levels[-1].time).total_seconds() / 86400 > opts.level_max_age_days:
            flags.append(Flag(code="levels.due", resource=levels[-1].source,
                              message=f"The latest cycloserine level ({levels[-1].source}, "
                              f"{levels[-1].time.date()}) is more than "
                              f"{opts.level_max_age_days:g} days old."))
    document["levels"] = [{"time": lv.time, "value": lv.value, "unit": lv.unit}
                          for lv in levels]
    sources += [SourceOf(field=f"levels[{i}]", resource=lv.source, value=f"{lv.value} mg/L",
                         time=lv.time) for i, lv in enumerate(levels)]
    document["settings"] = {"start_date": at.astimezone(zone).date()}
    document["assessed_at"] = at  # doses from now on are planned: the TDM does not fit them
    unread = "Breastfeeding, alcohol use, dialysis modality and adverse-effect symptoms are"
    if preg is None or preg.pregnant is None:
        unread = ("Pregnancy (no current pregnancy status, LOINC 82810-3, or pregnancy "
                  "Condition was found), breastfeeding, alcohol use, dialysis modality and "
                  "adverse-effect symptoms are")
    flags.append(Flag(code="not_read", message=f"{unread} not read from FHIR: the assessment "
                      "takes them as not present; check them with the patient."))
    try:
        doc = CaseDocument.model_validate(document)
    except ValidationError:  # a value out of range: the core names the field, we the resource
        by_field = {s.field: s.resource for s in sources}
        try:
            parse_case(document)
        except CaseError as exc:
            raise CaseError([_named(p, by_field) for p in exc.problems]) from None
        raise
    return FhirReading(document=doc, at=at, patient_id=pid, sources=tuple(sources),
                       listed=tuple(listed), flags=tuple(flags), draft_orders=tuple(drafts))


def _doses_read(doses: list[medications.DoseEvent], at: datetime) -> str:
    """How many doses were read, and which of them are planned (not counted as given)."""
    planned = [d for d in doses if d.time >= at]
    if not planned:
        return f"{len(doses)} doses, all given before the assessment time"
    return (f"{len(doses)} doses: {len(doses) - len(planned)} given before the assessment time, "
            f"{len(planned)} planned from {planned[0].time.isoformat(timespec='minutes')} "
            f"({', '.join(sorted({d.source for d in planned}))}; not counted as given: the TDM "
            "fits only the doses given, the dose checks read all of them)")


def _combine(admin: list[medications.DoseEvent], orders: list[medications.Expansion],
             c: _Collector, listed: list[Listed], at: datetime) -> list[medications.DoseEvent]:
    """Administrations are the actual doses up to the last one; orders give what follows.

    The doses of an order from `at` on are planned, not given (the Case document's
    `assessed_at` says so to the TDM); a draft order is not given at all: its doses before
    `at` are left out, and it replaces an active order from its start or `at`, whichever is
    later (a change of regimen). Two active orders that overlap are refused: were both given?"""
    doses = list(admin)
    last_given = max((d.time for d in admin), default=None)
    drafts = [e for e in orders if e.draft]
    active = sorted((e for e in orders if not e.draft), key=lambda e: e.start)
    for a, b in zip(active, active[1:], strict=False):
        if b.start <= a.end and b.doses and a.doses and b.doses[0].time <= a.doses[-1].time:
            c.problems.append(Problem(b.source, f"overlaps {a.source}: two cycloserine orders "
                                      "at the same time (were both given?)"))
    cut = max(min(e.start for e in drafts), at) if drafts else None
    for e in active:
        kept = [d for d in e.doses if (last_given is None or d.time > last_given)
                and (cut is None or d.time < cut)]
        if len(kept) < len(e.doses):
            listed.append(Listed(resource=e.source, reason=f"{len(e.doses) - len(kept)} planned "
                                 "doses replaced by recorded administrations or a draft order"))
        doses += kept
    for e in drafts:
        kept = [d for d in e.doses if d.time >= at and (last_given is None or d.time > last_given)]
        if len(kept) < len(e.doses):
            listed.append(Listed(resource=e.source, reason=f"{len(e.doses) - len(kept)} doses "
                                 "before the assessment time or a recorded administration left "
                                 "out: a draft order has not been given"))
        doses += kept
    return sorted(doses, key=lambda d: d.time)
