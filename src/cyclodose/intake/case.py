"""The Case document: what every interface accepts, validated into canonical units.

`CaseDocument` is what a person writes (JSON or YAML, units spelled out);
`parse_case` turns it into a `Case` whose numbers carry their unit in their
name and whose times are hours from the first dose. Every problem found is
reported with the field it belongs to; nothing is guessed.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cyclodose.errors import CaseError, Problem
from cyclodose.intake import units
from cyclodose.intake.documents import read_document
from cyclodose.limits import MAX_DAILY_DOSE_MG

CREATININE_RANGE_MG_DL = (0.1, 20.0)
# Completed weeks of gestation in each trimester (the usual obstetric convention: 1st to 13
# completed weeks, 2nd 14-27, 3rd from 28), up to the 44 weeks a gestational week may be.
TRIMESTER_WEEKS = ((1, 13), (14, 27), (28, 44))


def trimester_of_week(week: int) -> int:
    """1, 2 or 3 for a completed gestational week."""
    return next(i + 1 for i, (_, last) in enumerate(TRIMESTER_WEEKS) if week <= last)

Sex = Literal["male", "female"]
Dialysis = Literal["none", "haemodialysis", "peritoneal"]
Alcohol = Literal["none", "moderate", "misuse"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class QuantityIn(_Strict):
    value: float
    unit: str = Field(min_length=1, description="UCUM code, e.g. mg/dL, umol/L, kg, [lb_av]")


class CovariateObservationIn(_Strict):
    """A dated covariate value; applied last-observation-carried-forward."""

    time: datetime
    weight_kg: float | None = Field(default=None, gt=0, le=350)
    serum_creatinine: QuantityIn | None = None
    crcl_ml_min: float | None = Field(default=None, gt=0, le=300)


class PatientIn(_Strict):
    age_years: float = Field(ge=0, le=120)
    sex: Sex
    weight_kg: float = Field(gt=0, le=350)
    height_cm: float | None = Field(default=None, gt=30, le=250)
    serum_creatinine: QuantityIn | None = None
    crcl_ml_min: float | None = Field(
        default=None, gt=0, le=300, description="measured creatinine clearance; overrides estimates"
    )
    dialysis: Dialysis = "none"
    pregnant: bool = False
    gestational_week: int | None = Field(
        default=None, ge=1, le=44,
        description="completed weeks of gestation (1-44) for a pregnant patient; needs "
                    "pregnant: true. Trimester: 1st weeks 1-13, 2nd 14-27, 3rd 28 onwards")
    trimester: int | None = Field(
        default=None, ge=1, le=3,
        description="trimester of pregnancy (1-3) when the gestational week is not known; "
                    "needs pregnant: true; with a gestational week it must match it")
    breastfeeding: bool = False
    alcohol: Alcohol = "none"
    conditions: list[str] = Field(default_factory=list)
    symptoms: list[str] = Field(default_factory=list)
    covariate_history: list[CovariateObservationIn] = Field(default_factory=list)


class DoseIn(_Strict):
    time: datetime
    amount_mg: float = Field(ge=0, le=2000)


class RegimenIn(_Strict):
    """Explicit doses, a repeating regimen, or both (their union).

    A repeating regimen gives `amount_mg` or, for patterns that cycle such as
    250 mg morning / 500 mg evening, `amounts_mg: [250, 500]`.
    """

    doses: list[DoseIn] = Field(default_factory=list)
    amount_mg: float | None = Field(default=None, ge=0, le=2000)
    amounts_mg: list[Annotated[float, Field(ge=0, le=2000)]] | None = Field(default=None,
                                                                            min_length=1)
    interval_h: float | None = Field(default=None, gt=0, le=168)
    start: datetime | None = None
    count: int | None = Field(default=None, ge=1, le=10000)
    end: datetime | None = None
    missed: list[datetime] = Field(default_factory=list, description="times of doses not taken")

    @model_validator(mode="after")
    def _repeat_complete(self) -> RegimenIn:
        repeating = [self.amount_mg, self.amounts_mg, self.interval_h, self.start, self.count,
                     self.end]
        if any(v is not None for v in repeating):
            if self.amount_mg is None and self.amounts_mg is None:
                raise ValueError("a repeating regimen needs amount_mg or amounts_mg")
            if self.amount_mg is not None and self.amounts_mg is not None:
                raise ValueError("give amount_mg or amounts_mg, not both")
            if self.interval_h is None:
                raise ValueError("a repeating regimen needs interval_h")
            if self.start is None:
                raise ValueError("a repeating regimen needs start")
            if (self.count is None) == (self.end is None):
                raise ValueError("a repeating regimen needs exactly one of count or end")
            if self.end is not None and _naive(self.end) < _naive(self.start):
                raise ValueError("end is before start: the regimen would have no doses")
        elif not self.doses:
            raise ValueError("a regimen needs doses or a repeating regimen")
        if self.amounts_mg and any(a < 0 for a in self.amounts_mg):
            raise ValueError("amounts_mg must not be negative")
        return self


class LevelIn(_Strict):
    time: datetime
    value: float | str | None = Field(
        default=None,
        description="a number, or '<LLOQ' such as '<2' for a level below quantification",
    )
    unit: str = Field(min_length=1)
    blq: bool = False
    lloq: float | None = Field(default=None, gt=0)
    occasion: int | str | None = Field(default=None, description="occasion label: levels with "
                                       "the same label share a between-occasion effect")


class TargetIn(_Strict):
    peak_low_mg_l: float = Field(default=20.0, gt=0)
    peak_high_mg_l: float = Field(default=30.0, gt=0)
    mic_mg_l: float | None = Field(default=None, gt=0)
    tmic_pct: float = Field(default=30.0, gt=0, le=100, description="%T>MIC goal: 30 or 64")

    @model_validator(mode="after")
    def _ordered(self) -> TargetIn:
        if self.peak_low_mg_l >= self.peak_high_mg_l:
            raise ValueError("peak_low_mg_l must be below peak_high_mg_l")
        return self


class SettingsIn(_Strict):
    model: str = "alghamdi2019"
    # At most 8 strengths: dosing enumerates capsule combinations, which grow combinatorially.
    capsule_strengths_mg: list[float] = Field(default_factory=lambda: [125.0, 250.0], min_length=1,
                                              max_length=8)
    paediatric_guideline: Literal["AAP", "BNFC"] = "BNFC"
    start_date: date | None = None
    occasion_starts: list[datetime] = Field(default_factory=list, description="times at which "
                                            "a new pharmacokinetic occasion starts")
    timezone: str | None = Field(
        default=None, description="IANA time zone (e.g. Europe/Moscow) in which times written "
        "without a UTC offset are read; needed when a case mixes times with and without one")


class CaseDocument(_Strict):
    """A patient, co-medications, dose history or plan, measured levels and the target."""

    patient: PatientIn
    comedications: list[str] = Field(default_factory=list)
    regimen: RegimenIn | None = None
    levels: list[LevelIn] = Field(default_factory=list)
    target: TargetIn = Field(default_factory=TargetIn)
    settings: SettingsIn = Field(default_factory=SettingsIn)
    assessed_at: datetime | None = Field(
        default=None, description="when the case is assessed (a FHIR reading: now): doses at "
        "or after it are planned, not given; the TDM fits only those before it, the dose "
        "checks read them all. Without it every dose is taken as given")


# ---- canonical Case -------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CovariateObservation(_Frozen):
    time_h: float
    weight_kg: float | None = None
    serum_creatinine_mg_dl: float | None = None
    crcl_ml_min: float | None = None


class Patient(_Frozen):
    age_years: float
    sex: Sex
    weight_kg: float
    height_cm: float | None
    serum_creatinine_mg_dl: float | None
    measured_crcl_ml_min: float | None
    dialysis: Dialysis
    pregnant: bool
    breastfeeding: bool
    alcohol: Alcohol
    gestational_week: int | None = None
    trimester: int | None = None  # as recorded, or from the gestational week
    conditions: tuple[str, ...]
    symptoms: tuple[str, ...]
    covariate_history: tuple[CovariateObservation, ...] = ()


class Dose(_Frozen):
    time_h: float
    amount_mg: float


class StatedRegimen(_Frozen):
    """The repeating regimen as the document states it (hours from t0): what the patient is
    prescribed, read before any single dose time is guessed from."""

    interval_h: float
    amounts_mg: tuple[float, ...]  # cycling, e.g. (250, 500): morning 250, evening 500
    start_h: float
    last_h: float  # the last scheduled dose


class Level(_Frozen):
    time_h: float
    conc_mg_l: float | None  # None when below the limit of quantification
    blq: bool = False
    lloq_mg_l: float | None = None
    # The number and unit as entered, kept when the unit was converted (a molar unit): shown
    # beside the mg/L value so that a unit error can be seen.
    entered_value: float | None = None
    entered_unit: str | None = None

    @property
    def entered(self) -> str | None:
        if self.entered_value is None or self.entered_unit is None:
            return None
        return f"{self.entered_value:g} {self.entered_unit}"
    occasion: str | None = None


class Target(_Frozen):
    peak_low_mg_l: float
    peak_high_mg_l: float
    mic_mg_l: float | None
    tmic_pct: float


class Settings(_Frozen):
    model: str
    capsule_strengths_mg: tuple[float, ...]
    paediatric_guideline: Literal["AAP", "BNFC"]
    start_date: date | None
    timezone: str | None = None
    occasion_starts_h: tuple[float, ...] = ()


class Case(_Frozen):
    """Validated case in canonical units; times are hours from `t0`.

    `t0` is naive when every time of the document was written without a UTC offset (wall
    clock); otherwise it is aware, in the zone the times are shown in, and every time was
    compared as an instant."""

    patient: Patient
    comedications: tuple[str, ...]
    doses: tuple[Dose, ...]
    levels: tuple[Level, ...]
    target: Target
    settings: Settings
    t0: datetime | None = None
    stated_regimen: StatedRegimen | None = None
    assessed_at_h: float | None = None  # doses at or after it are planned (None: all given)

    @property
    def given_doses(self) -> tuple[Dose, ...]:
        """The doses already given (before `assessed_at`): the dose history the levels
        reflect. The others are planned; the dose checks read `doses`, all of them."""
        if self.assessed_at_h is None:
            return self.doses
        return tuple(d for d in self.doses if d.time_h < self.assessed_at_h)

    def clock(self, time_h: float) -> datetime | None:
        return None if self.t0 is None else clock_at(self.t0, time_h)


def hours_from_first_dose(case: Case, text: str, field: str) -> float:
    """A time given on the command line ('2026-03-12T10:00', with or without an offset, read
    as the case's times are) as hours from the case's first dose."""
    if case.t0 is None:
        raise CaseError.single(field, "the case has no dated doses to count the time from")
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CaseError.single(field, f"cannot read {text!r} as a date and time, e.g. "
                               "2026-03-12T10:00") from None
    if when.tzinfo is None and case.t0.tzinfo is not None:
        if not case.settings.timezone:
            raise CaseError.single(field, f"{text!r} has no UTC offset but the case's times "
                                   "have one: give it an offset too")
        when = when.replace(tzinfo=_zone(case.settings.timezone))
    elif when.tzinfo is not None and case.t0.tzinfo is None:
        raise CaseError.single(field, f"{text!r} has a UTC offset but the case's times have "
                               "none: give it without one, or give the case settings.timezone")
    return (when - case.t0).total_seconds() / 3600.0


def clock_at(t0: datetime, time_h: float) -> datetime:
    """`t0` + `time_h` hours as an instant (an aware `t0` keeps its zone; across a daylight
    saving change the wall clock moves with it)."""
    if t0.tzinfo is None:
        return t0 + timedelta(hours=time_h)
    return (t0.astimezone(UTC) + timedelta(hours=time_h)).astimezone(t0.tzinfo)


# ---- parsing --------------------------------------------------------------


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "case"


def _problems_from(exc: ValidationError) -> list[Problem]:
    probs = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        probs.append(Problem(_loc(tuple(err["loc"])), msg))
    return probs


def _naive(t: datetime, zone: tzinfo | None = None) -> datetime:
    """The time as a naive UTC instant (or as wall clock when the whole case is naive).

    A time without an offset is read in `zone` (settings.timezone) when the case gives one;
    `_display_zone` has refused a case that mixes the two kinds without it."""
    if t.tzinfo is None and zone is not None:
        t = t.replace(tzinfo=zone)
    if t.tzinfo is not None:
        return t.astimezone(UTC).replace(tzinfo=None)
    return t


def _document_times(doc: CaseDocument) -> list[tuple[str, datetime]]:
    """Every time of the document with the field it is in."""
    out: list[tuple[str, datetime]] = []
    reg = doc.regimen
    if reg is not None:
        out += [(f"regimen.doses[{i}].time", d.time) for i, d in enumerate(reg.doses)]
        out += [(f"regimen.{k}", t) for k in ("start", "end") if (t := getattr(reg, k))]
        out += [(f"regimen.missed[{i}]", m) for i, m in enumerate(reg.missed)]
    out += [(f"settings.occasion_starts[{i}]", t)
            for i, t in enumerate(doc.settings.occasion_starts)]
    out += [(f"levels[{i}].time", lv.time) for i, lv in enumerate(doc.levels)]
    out += [(f"patient.covariate_history[{i}].time", o.time)
            for i, o in enumerate(doc.patient.covariate_history)]
    if doc.assessed_at is not None:
        out.append(("assessed_at", doc.assessed_at))
    return out


def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CaseError.single("settings.timezone",
                               f"{name!r} is not an IANA time zone name (e.g. Europe/Moscow)"
                               ) from exc


def _display_zone(doc: CaseDocument, times: list[tuple[str, datetime]]) -> tzinfo | None:
    """The zone the case's clock times are shown in (None: all wall clock, no offsets).

    Refuses a case that mixes times with and without a UTC offset unless settings.timezone
    says how to read those without one: 10:00+03:00 against a chart at 08:00 local could
    be a 2 h peak or a trough."""
    zone = _zone(doc.settings.timezone) if doc.settings.timezone else None
    aware = [(f, t) for f, t in times if t.tzinfo is not None]
    naive = [(f, t) for f, t in times if t.tzinfo is None]
    if aware and naive and zone is None:
        raise CaseError.single(
            naive[0][0], f"written without a UTC offset while {aware[0][0]} has one "
            f"({aware[0][1].isoformat()}): give every time an offset, or settings.timezone "
            "(an IANA name such as Europe/Moscow) to say how times without one are read")
    if zone is not None:
        return zone
    return aware[0][1].tzinfo if aware else None


def _expand_regimen(reg: RegimenIn, zone: tzinfo | None = None) -> list[tuple[datetime, float]]:
    doses = [(_naive(d.time, zone), d.amount_mg) for d in reg.doses]
    if reg.interval_h is not None and reg.start is not None:
        amounts = reg.amounts_mg or [reg.amount_mg or 0.0]
        start = _naive(reg.start, zone)
        step = timedelta(hours=reg.interval_h)
        if reg.count is not None:
            n = reg.count
        else:
            assert reg.end is not None
            n = int((_naive(reg.end, zone) - start) / step) + 1
        doses += [(start + i * step, amounts[i % len(amounts)]) for i in range(max(n, 0))]
    missed = {_naive(m, zone) for m in reg.missed}
    return sorted((t, a) for t, a in doses if t not in missed)


def _parse_level(i: int, lv: LevelIn, t0: datetime, zone: tzinfo | None = None) -> Level:
    field = f"levels[{i}]"
    t = (_naive(lv.time, zone) - t0).total_seconds() / 3600.0
    value = lv.value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("<"):
            try:
                lloq = float(text[1:])
            except ValueError as exc:
                raise CaseError.single(f"{field}.value", f"cannot read {value!r}") from exc
            if lloq <= 0:
                raise CaseError.single(f"{field}.value", "the limit of quantification must be > 0")
            return Level(time_h=t, conc_mg_l=None, blq=True,
                         lloq_mg_l=units.drug_conc_mg_l(lloq, lv.unit, f"{field}.unit"))
        try:
            value = float(text)
        except ValueError as exc:
            raise CaseError.single(f"{field}.value", f"cannot read {value!r} as a number") from exc
    if lv.blq or value is None:
        if lv.lloq is None:
            raise CaseError.single(f"{field}.lloq", "a level below quantification needs lloq")
        return Level(time_h=t, conc_mg_l=None, blq=True,
                     lloq_mg_l=units.drug_conc_mg_l(lv.lloq, lv.unit, f"{field}.unit"))
    if not math.isfinite(value):  # YAML .nan/.inf or "nan" would poison every comparison
        raise CaseError.single(f"{field}.value", f"{value} is not a finite number")
    if value < 0:
        raise CaseError.single(f"{field}.value", "a concentration cannot be negative")
    conc = units.drug_conc_mg_l(value, lv.unit, f"{field}.unit")
    converted = not math.isclose(conc, value, rel_tol=1e-9, abs_tol=1e-12)
    return Level(time_h=t, conc_mg_l=conc, entered_value=value if converted else None,
                 entered_unit=lv.unit.strip() if converted else None)


def _creatinine(q: QuantityIn | None, field: str) -> float | None:
    if q is None:
        return None
    value = units.creatinine_mg_dl(q.value, q.unit, f"{field}.unit")
    lo, hi = CREATININE_RANGE_MG_DL
    if not lo <= value <= hi:
        hint = ""
        if value > hi and lo <= value / 88.4 <= hi:  # a µmol/L value written as mg/dL?
            hint = f" (if the value is in µmol/L, write unit: umol/L: {value / 88.4:.2f} mg/dL)"
        raise CaseError.single(
            f"{field}.value",
            f"{value:.2f} mg/dL is outside the plausible range {lo}–{hi} mg/dL{hint}",
        )
    return value


def _collect(problems: list[Problem], fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except CaseError as exc:
        problems.extend(exc.problems)
        return None


def parse_case(data: Any) -> Case:
    """Validate a case document (a dict, or an existing CaseDocument) into a Case."""
    if isinstance(data, CaseDocument):
        doc = data
    else:
        if not isinstance(data, dict):
            raise CaseError.single("case", "a case document must be a mapping with a 'patient' key")
        try:
            doc = CaseDocument.model_validate(data)
        except ValidationError as exc:
            raise CaseError(_problems_from(exc)) from None
    return _canonical(doc)


def _canonical(doc: CaseDocument) -> Case:
    zone = _display_zone(doc, _document_times(doc))
    reads_naive_in = _zone(doc.settings.timezone) if doc.settings.timezone else None
    case = _canonical_times(doc, reads_naive_in)
    if zone is None or case.t0 is None:
        return case
    # t0 is a naive UTC instant here: make it aware, in the zone the clock times are shown in.
    return case.model_copy(update={"t0": case.t0.replace(tzinfo=UTC).astimezone(zone)})


def _canonical_times(doc: CaseDocument, zone: tzinfo | None) -> Case:
    problems: list[Problem] = []
    p = doc.patient
    scr = _collect(problems, _creatinine, p.serum_creatinine, "patient.serum_creatinine")

    dated = _expand_regimen(doc.regimen, zone) if doc.regimen else []
    if doc.regimen and doc.regimen.missed:
        # A missed time that matches no scheduled dose would be ignored, and the dose counted.
        scheduled = {t for t, _ in _expand_regimen(doc.regimen.model_copy(update={"missed": []}),
                                                   zone)}
        problems += [Problem(f"regimen.missed[{i}]", "no scheduled dose at this time")
                     for i, m in enumerate(doc.regimen.missed) if _naive(m, zone) not in scheduled]
    t0_candidates = [t for t, _ in dated]
    t0 = min(t0_candidates) if t0_candidates else None

    if doc.levels and not dated:
        problems.append(Problem("levels", "measured levels need a dose history (regimen)"))
    at_h = ((_naive(doc.assessed_at, zone) - t0).total_seconds() / 3600.0
            if doc.assessed_at is not None and t0 is not None else None)
    levels: list[Level] = []
    if t0 is not None:
        for i, lv in enumerate(doc.levels):
            level = _collect(problems, _parse_level, i, lv, t0, zone)
            if level is None:
                continue
            if lv.occasion is not None:
                level = level.model_copy(update={"occasion": str(lv.occasion)})
            if level.time_h < 0:
                problems.append(Problem(f"levels[{i}].time",
                                        "the level is timed before the first dose"))
            if at_h is not None and level.time_h > at_h:
                problems.append(Problem(f"levels[{i}].time", "is after assessed_at: a level "
                                        "cannot be measured later than the assessment"))
            levels.append(level)

    history: list[CovariateObservation] = []
    for i, obs in enumerate(p.covariate_history):
        if t0 is None:
            problems.append(
                Problem(f"patient.covariate_history[{i}]", "dated covariates need a dose history")
            )
            break
        h_scr = _collect(problems, _creatinine, obs.serum_creatinine,
                         f"patient.covariate_history[{i}].serum_creatinine")
        history.append(CovariateObservation(
            time_h=(_naive(obs.time, zone) - t0).total_seconds() / 3600.0,
            weight_kg=obs.weight_kg, serum_creatinine_mg_dl=h_scr, crcl_ml_min=obs.crcl_ml_min,
        ))
    if p.sex == "male":
        problems += [Problem(f"patient.{flag}", f"{flag} is recorded for a male patient; check sex")
                     for flag in ("pregnant", "breastfeeding") if getattr(p, flag)]
    # A week or trimester needs a pregnant female patient; the trimester must match the week.
    for name, what, remove in (("gestational_week", "a gestational week", "week"),
                               ("trimester", "a trimester", "trimester")):
        if getattr(p, name) is None:
            continue
        if p.sex == "male":
            problems.append(Problem(f"patient.{name}",
                                    f"{what} is recorded for a male patient; check sex"))
        elif not p.pregnant:
            problems.append(Problem(f"patient.{name}", f"{what} needs pregnant: true; set it "
                                    f"or remove the {remove}"))
    from_week = (trimester_of_week(p.gestational_week) if p.gestational_week is not None
                 else None)
    trimester = p.trimester if p.trimester is not None else from_week
    if (p.trimester is not None and from_week is not None and from_week != p.trimester
            and p.sex != "male" and p.pregnant):
        problems.append(Problem("patient.trimester", (
            f"trimester {p.trimester} does not match gestational week "
            f"{p.gestational_week} (trimester {from_week}: weeks "
            f"{TRIMESTER_WEEKS[from_week - 1][0]}-{TRIMESTER_WEEKS[from_week - 1][1]}); "
            "correct one of them")))
    # Written so that NaN fails too; a capsule above the daily maximum cannot be used.
    if not all(0 < s <= MAX_DAILY_DOSE_MG for s in doc.settings.capsule_strengths_mg):
        problems.append(Problem("settings.capsule_strengths_mg",
                                f"strengths must be positive and at most {MAX_DAILY_DOSE_MG:g} mg"))
    if problems:
        raise CaseError(problems)

    patient = Patient(
        age_years=p.age_years, sex=p.sex, weight_kg=p.weight_kg, height_cm=p.height_cm,
        serum_creatinine_mg_dl=scr, measured_crcl_ml_min=p.crcl_ml_min, dialysis=p.dialysis,
        pregnant=p.pregnant, breastfeeding=p.breastfeeding, alcohol=p.alcohol,
        gestational_week=p.gestational_week, trimester=trimester,
        conditions=tuple(p.conditions),
        symptoms=tuple(p.symptoms),
        covariate_history=tuple(sorted(history, key=lambda o: o.time_h)),
    )
    doses = tuple(
        Dose(time_h=(t - t0).total_seconds() / 3600.0, amount_mg=a) for t, a in dated
    ) if t0 is not None else ()
    tg = doc.target
    st = doc.settings
    stated = None
    reg = doc.regimen
    if reg is not None and reg.interval_h is not None and reg.start is not None and t0 is not None:
        repeating = _expand_regimen(reg.model_copy(update={"doses": [], "missed": []}), zone)
        hours = [(t - t0).total_seconds() / 3600.0 for t, _ in repeating]
        stated = StatedRegimen(interval_h=reg.interval_h,
                               amounts_mg=tuple(reg.amounts_mg or [reg.amount_mg or 0.0]),
                               start_h=hours[0], last_h=hours[-1])
    return Case(
        patient=patient,
        comedications=tuple(doc.comedications),
        doses=doses,
        levels=tuple(sorted(levels, key=lambda lv: lv.time_h)),
        target=Target(peak_low_mg_l=tg.peak_low_mg_l, peak_high_mg_l=tg.peak_high_mg_l,
                      mic_mg_l=tg.mic_mg_l, tmic_pct=tg.tmic_pct),
        settings=Settings(model=st.model,
                          capsule_strengths_mg=tuple(sorted(st.capsule_strengths_mg)),
                          paediatric_guideline=st.paediatric_guideline, start_date=st.start_date,
                          timezone=st.timezone,
                          occasion_starts_h=tuple(sorted(
                              (_naive(t, zone) - t0).total_seconds() / 3600.0
                              for t in st.occasion_starts)) if t0 is not None else ()),
        t0=t0,
        stated_regimen=stated,
        assessed_at_h=at_h,
    )


def load_case(path: str | Path) -> Case:
    """Read a JSON or YAML case file and validate it; a key given twice is refused."""
    return parse_case(read_document(path, "case"))


def case_json_schema() -> dict[str, Any]:
    return CaseDocument.model_json_schema()
