"""Guideline regimens: adult titration, paediatric (AAP, BNFC), renal; hard limits.

Every phase is built by `_phase`, the one place where the 1 g/day ceiling and the
paediatric mg/kg maximum are enforced (limits.MAX_DAILY_DOSE_MG, dose_policy). Weight-based
doses are rounded to whole capsules only within the dose policy's bound and never above a
maximum; beyond it the exact dose is an oral liquid or capsule-content preparation.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, model_validator

from cyclodose.clinical.candidates import capsule_text, fewest_capsules, whole_capsule_doses_mg
from cyclodose.clinical.dose_policy import dose_policy
from cyclodose.clinical.patient import ADULT_AGE_YEARS, RenalFunction, age_group
from cyclodose.clinical.status import RegimenStatus
from cyclodose.intake.case import Case, Dose
from cyclodose.knowledge.citations import SourceRef, cite_all
from cyclodose.limits import MAX_DAILY_DOSE_MG

TITRATION_DOSE_MG = 250.0  # monograph / US label: 250 mg twice daily for the first 2 weeks
TITRATION_DAYS = 14
# monograph: 0.5–1 g daily in divided doses
ADULT_MAINTENANCE_RANGE_MG_DAY = (500.0, MAX_DAILY_DOSE_MG)
AAP_MG_KG_DOSE = (5.0, 10.0)  # AAP: 5–10 mg/kg twice daily, max 1 g/day
BNFC_2_12_MG_KG_DOSE = 5.0  # BNFC 2–12 years: 5 mg/kg twice daily
SCHEDULE_MAINTENANCE_DAYS = 14  # an open-ended phase is shown for this many days
ON_TREATMENT_NOTE = ("Already on cycloserine (the case has a dose history): no start-of-treatment "
                     "titration or schedule is recommended; the maintenance dose is adjusted to "
                     "plasma levels and the current regimen's predicted exposure is shown.")
_CLOCK = {1: ("08:00",), 2: ("08:00", "20:00"), 3: ("06:00", "14:00", "22:00")}


def max_24h_dose_mg(doses: tuple[Dose, ...] | list[Dose]) -> float:
    """Largest total given in any 24 h window [t, t + 24 h); windows starting at a dose suffice."""
    times = sorted((d.time_h, d.amount_mg) for d in doses)
    best = total = 0.0
    end = 0
    for start, (t0, _) in enumerate(times):
        while end < len(times) and times[end][0] < t0 + 24.0:
            total += times[end][1]
            end += 1
        best = max(best, total)
        total -= times[start][1]
    return best


class Phase(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    dose_mg: float
    doses_per_day: int
    interval_h: float | None
    daily_dose_mg: float  # on a dosing day
    duration_days: int | None  # None: continue, adjusted to plasma levels
    days_per_week: int = 7
    frequency: str
    mg_per_kg_day: float
    capsules: str  # e.g. "1 × 250 mg"
    calculated_dose_mg: float | None = None  # weight-based dose before rounding
    rounding: str | None = None
    daily_dose_range_mg: tuple[float, float] | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _never_above_maximum(self) -> Phase:
        # Guard only: _phase caps before construction, so this can never fire from input.
        if self.daily_dose_mg > MAX_DAILY_DOSE_MG + 1e-9:
            raise ValueError(f"{self.daily_dose_mg} mg/day exceeds the 1 g/day maximum")
        return self


class RegimenOption(BaseModel):
    model_config = ConfigDict(frozen=True)

    guideline: str
    label: str
    phases: tuple[Phase, ...]
    rationale: tuple[str, ...]
    sources: tuple[SourceRef, ...]


class ScheduledDose(BaseModel):
    model_config = ConfigDict(frozen=True)

    clock: str  # "08:00"
    dose_mg: float


class ScheduleDay(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: int  # 1-based
    date: date
    phase: str
    doses: tuple[ScheduledDose, ...]
    daily_dose_mg: float


Status = RegimenStatus  # recommended | contraindicated | no_dose


class Recommendation(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Status
    guideline: str
    phases: tuple[Phase, ...]
    rationale: tuple[str, ...]
    sources: tuple[SourceRef, ...]
    alternatives: tuple[RegimenOption, ...] = ()
    schedule: tuple[ScheduleDay, ...] = ()
    schedule_note: str | None = None
    max_daily_dose_mg: float = MAX_DAILY_DOSE_MG


# ---- capsules and the cap -------------------------------------------------------


def capsule_breakdown(dose_mg: float, strengths: tuple[float, ...]) -> str:
    """Fewest capsules that make the dose, largest strengths first: '2 × 250 mg + 1 × 125 mg'
    (the one capsule solver: `candidates.fewest_capsules`)."""
    capsules = fewest_capsules(dose_mg, strengths)
    if capsules is None:
        return "not a whole number of capsules: needs an oral liquid"
    return capsule_text(capsules)


def _bound() -> float:
    return dose_policy().capsule_rounding.max_deviation_pct / 100.0


LIQUID = "a pharmacy-prepared oral liquid or capsule-content preparation"


def capsule_dose_within_bound(dose_mg: float, strengths: tuple[float, ...],
                              ceiling_mg: float | None = None) -> float | None:
    """The nearest whole-capsule dose within the rounding bound of `dose_mg` (ties go down),
    never above `ceiling_mg`; None when there is none (give the exact dose as a liquid)."""
    top = dose_mg * (1.0 + _bound()) if ceiling_mg is None else min(ceiling_mg,
                                                                   dose_mg * (1.0 + _bound()))
    options = [a for a in whole_capsule_doses_mg(strengths)
               if a > 0 and dose_mg * (1.0 - _bound()) - 1e-9 <= a <= top + 1e-9]
    return min(options, key=lambda a: (abs(a - dose_mg), a)) if options else None


def round_to_capsules(dose_mg: float, strengths: tuple[float, ...],
                      ceiling_mg: float | None = None) -> float:
    """Nearest dose whole capsules can make (ties go down); never above `ceiling_mg`.

    Returns 0 when the nearest is no capsule at all (the dose is too small).
    """
    options = [a for a in whole_capsule_doses_mg(strengths)
               if ceiling_mg is None or a <= ceiling_mg + 1e-9]
    return min(options, key=lambda a: (abs(a - dose_mg), a))


def _fmt(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


def _phase(*, label: str, dose_mg: float, doses_per_day: int, duration_days: int | None,
           weight_kg: float, strengths: tuple[float, ...], days_per_week: int = 7,
           frequency: str | None = None, calculated_dose_mg: float | None = None,
           rounding: str | None = None, daily_dose_range_mg: tuple[float, float] | None = None,
           note: str | None = None, child: bool = False) -> Phase:
    """Build a phase; the one place the 1 g/day ceiling and the paediatric mg/kg maximum
    are applied."""
    notes = [note] if note else []
    child_max = dose_policy().paediatric.max_mg_kg_day
    if child and dose_mg * doses_per_day > child_max * weight_kg + 1e-9:
        limit = child_max * weight_kg / doses_per_day
        capped = capsule_dose_within_bound(limit, strengths, ceiling_mg=limit) or limit
        notes.append(f"reduced from {_fmt(dose_mg)} mg to {_fmt(capped)} mg per dose: never "
                     f"above {_fmt(child_max)} mg/kg/day in a child (AAP 10 mg/kg twice daily; "
                     "WHO 15–20 mg/kg/day)")
        dose_mg = capped
    per_dose_cap = MAX_DAILY_DOSE_MG / doses_per_day
    if dose_mg > per_dose_cap + 1e-9:
        # Largest capsule dose within the cap; if no capsule fits, the exact cap (liquid).
        capped = round_to_capsules(per_dose_cap, strengths, ceiling_mg=per_dose_cap) or per_dose_cap
        notes.append(f"capped from {_fmt(dose_mg)} mg to {_fmt(capped)} mg per dose: "
                     f"never more than {_fmt(MAX_DAILY_DOSE_MG)} mg/day")
        dose_mg = capped
    if daily_dose_range_mg is not None:
        top = min(MAX_DAILY_DOSE_MG, child_max * weight_kg) if child else MAX_DAILY_DOSE_MG
        lo, hi = daily_dose_range_mg
        daily_dose_range_mg = (min(lo, top), min(hi, top))
    interval_h = 24.0 / doses_per_day if days_per_week == 7 else None
    daily = dose_mg * doses_per_day
    if daily >= MAX_DAILY_DOSE_MG - 1e-9:
        # e.g. a heavy child on a weight-based dose: the start is already at the maximum.
        notes.append(f"{_fmt(daily)} mg/day is the maximum; heart failure has occurred at daily "
                     "doses of 1 g or more: watch for it")
    return Phase(
        label=label, dose_mg=dose_mg, doses_per_day=doses_per_day, interval_h=interval_h,
        daily_dose_mg=daily, duration_days=duration_days, days_per_week=days_per_week,
        frequency=frequency or (f"every {_fmt(24.0 / doses_per_day)} h"),
        mg_per_kg_day=round(daily / weight_kg, 1),
        capsules=capsule_breakdown(dose_mg, strengths),
        calculated_dose_mg=calculated_dose_mg, rounding=rounding,
        daily_dose_range_mg=daily_dose_range_mg, note="; ".join(notes) or None,
    )


def _weight_based(mg_per_kg: float, weight_kg: float, strengths: tuple[float, ...], *,
                  maximum: bool = False) -> tuple[float, float, str]:
    """(dose, calculated dose, rounding text) for a twice-daily weight-based dose.

    Whole capsules only within the rounding bound (dose_policy); `maximum`: the dose is a
    guideline maximum, never rounded up. Otherwise the exact dose as a liquid."""
    calc = mg_per_kg * weight_kg
    head = f"{_fmt(mg_per_kg)} mg/kg × {_fmt(weight_kg)} kg = {_fmt(calc)} mg"
    bound = f"±{_fmt(100 * _bound())} %"
    rounded = capsule_dose_within_bound(calc, strengths, ceiling_mg=calc if maximum else None)
    if rounded is None:
        nearest = round_to_capsules(calc, strengths, ceiling_mg=calc if maximum else None)
        why = (f"the nearest whole-capsule dose ({_fmt(nearest)} mg, "
               f"{(nearest - calc) / calc * 100.0:+.0f} %) is outside the {bound} rounding bound"
               if nearest > 0 else f"below the smallest capsule ({_fmt(min(strengths))} mg)")
        return calc, calc, f"{head}: {why}; give {_fmt(calc)} mg as {LIQUID}"
    diff_pct = (rounded - calc) / calc * 100.0
    text = (f"{head} → {_fmt(rounded)} mg ({capsule_breakdown(rounded, strengths)}; "
            f"{diff_pct:+.0f} %, within the {bound} rounding bound"
            f"{', never above the maximum' if maximum else ''})")
    return rounded, calc, text


# ---- guideline regimens ---------------------------------------------------------


def _titration(case: Case, guideline: str, no_escalation: bool) -> tuple[Phase, ...]:
    w = case.patient.weight_kg
    s = case.settings.capsule_strengths_mg
    child = case.patient.age_years < ADULT_AGE_YEARS
    start = _phase(label="titration", dose_mg=TITRATION_DOSE_MG, doses_per_day=2,
                   duration_days=TITRATION_DAYS, weight_kg=w, strengths=s, child=child,
                   note="start low: 250 mg twice daily for 2 weeks")
    # Already on cycloserine: the start-of-treatment titration is not a recommendation.
    first: tuple[Phase, ...] = () if case.doses else (start,)
    if no_escalation:
        keep = _phase(label="maintenance (renal)", dose_mg=TITRATION_DOSE_MG, doses_per_day=2,
                      duration_days=None, weight_kg=w, strengths=s, child=child,
                      daily_dose_range_mg=(500.0, 500.0),
                      note="renal impairment: stay at 500 mg/day; increase only if weekly "
                           "plasma levels show a peak below target")
        return (*first, keep)
    upper = MAX_DAILY_DOSE_MG
    keep = _phase(label="maintenance", dose_mg=TITRATION_DOSE_MG, doses_per_day=2,
                  duration_days=None, weight_kg=w, strengths=s, child=child,
                  daily_dose_range_mg=(ADULT_MAINTENANCE_RANGE_MG_DAY[0], upper),
                  note=f"{guideline}: 0.5–1 g/day in divided doses; start at 500 mg/day and "
                       "increase only by plasma levels (peak 20–30 mg/L)")
    return (*first, keep)


def _aap(case: Case, no_escalation: bool) -> RegimenOption:
    w = case.patient.weight_kg
    s = case.settings.capsule_strengths_mg
    low, calc_low, text_low = _weight_based(AAP_MG_KG_DOSE[0], w, s)
    high, calc_high, _ = _weight_based(AAP_MG_KG_DOSE[1], w, s, maximum=True)
    high_text = (f"{_fmt(high)} mg" if high != calc_high
                 else f"{_fmt(calc_high)} mg, as {LIQUID}"
                 if fewest_capsules(calc_high, s) is None else f"{_fmt(calc_high)} mg")
    rng = (low * 2, low * 2) if no_escalation else (low * 2, min(high, calc_high) * 2)
    phase = _phase(label="AAP", dose_mg=low, doses_per_day=2, duration_days=None, weight_kg=w,
                   strengths=s, calculated_dose_mg=calc_low, rounding=text_low,
                   daily_dose_range_mg=rng, child=True,
                   note=("renal impairment: no escalation without weekly levels" if no_escalation
                         else f"start at 5 mg/kg twice daily; up to 10 mg/kg twice daily "
                              f"({high_text}; a maximum is never rounded up) by levels"))
    return RegimenOption(
        guideline="AAP", label="AAP: 5–10 mg/kg twice daily, maximum 1 g/day",
        phases=(phase,),
        rationale=("AAP dose for drug-resistant tuberculosis, as cited by the monograph; the "
                   "lower end is the starting dose, adjusted to plasma levels and response.",),
        sources=cite_all(["dose.children_aap", "precaution.level_monitoring"]),
    )


def _bnfc(case: Case, no_escalation: bool) -> RegimenOption:
    p = case.patient
    s = case.settings.capsule_strengths_mg
    group = age_group(p.age_years)
    if group == "infant":
        return RegimenOption(
            guideline="BNFC", label="BNFC: no dose under 2 years", phases=(),
            rationale=("The BNFC gives no cycloserine dose for children under 2 years; "
                       "seek specialist advice (the AAP dose is shown for comparison).",),
            sources=cite_all(["dose.children_bnfc_2_12"]),
        )
    if group == "child":
        dose, calc, text = _weight_based(BNFC_2_12_MG_KG_DOSE, p.weight_kg, s)
        phase = _phase(label="BNFC 2–12 years", dose_mg=dose, doses_per_day=2,
                       duration_days=None, weight_kg=p.weight_kg, strengths=s, child=True,
                       calculated_dose_mg=calc, rounding=text,
                       note=("renal impairment: no escalation without weekly levels"
                             if no_escalation else "adjust to plasma levels and response"))
        return RegimenOption(
            guideline="BNFC", label="BNFC 2–12 years: 5 mg/kg twice daily",
            phases=(phase,),
            rationale=("BNFC dose for children aged 2–12 years, as cited by the monograph.",),
            sources=cite_all(["dose.children_bnfc_2_12", "precaution.level_monitoring"]),
        )
    return RegimenOption(
        guideline="BNFC",
        label="BNFC 12–18 years: 250 mg twice daily for 2 weeks, then adjusted (max 1 g/day)",
        phases=_titration(case, "BNFC 12–18 years", no_escalation),
        rationale=("BNFC dose for 12–18 years, as cited by the monograph: fixed 250 mg twice "
                   "daily for 2 weeks, then adjusted to blood levels and response.",),
        sources=cite_all(["dose.children_bnfc_12_18", "precaution.level_monitoring"]),
    )


def _who(case: Case, no_escalation: bool) -> RegimenOption:
    w = case.patient.weight_kg
    s = case.settings.capsule_strengths_mg
    lo, hi = dose_policy().paediatric.who_mg_kg_day
    dose, calc, text = _weight_based(lo / 2.0, w, s)
    phase = _phase(label="WHO", dose_mg=dose, doses_per_day=2, duration_days=None, weight_kg=w,
                   strengths=s, calculated_dose_mg=calc, rounding=text, child=True,
                   note=("renal impairment: no escalation without weekly levels" if no_escalation
                         else f"WHO {_fmt(lo)}–{_fmt(hi)} mg/kg/day: start at {_fmt(lo)} "
                              f"mg/kg/day in two doses, up to {_fmt(hi)} mg/kg/day by levels"))
    return RegimenOption(
        guideline="WHO", label=f"WHO children: {_fmt(lo)}–{_fmt(hi)} mg/kg/day",
        phases=(phase,),
        rationale=(f"WHO paediatric dose {_fmt(lo)}–{_fmt(hi)} mg/kg/day, shown beside AAP and "
                   "BNFC; split into two doses here because cycloserine is given in divided "
                   "doses (monograph, US label).",),
        sources=cite_all(list(dose_policy().paediatric.who_sources)),
    )


def _ats_renal_options(case: Case) -> tuple[RegimenOption, ...]:
    w = case.patient.weight_kg
    s = case.settings.capsule_strengths_mg
    # Haemodialysis is intermittent: the dose follows the session on dialysis days. Without
    # haemodialysis there is no session to dose after (ATS: 500 mg on alternate days / 3 a week).
    hd = case.patient.dialysis == "haemodialysis"
    daily = _phase(label="ATS once daily", dose_mg=250.0, doses_per_day=1, duration_days=None,
                   weight_kg=w, strengths=s,
                   frequency="once daily (on dialysis days after the session)" if hd
                   else "once daily",
                   note="with plasma levels")
    tiw = _phase(label="ATS three times weekly", dose_mg=500.0, doses_per_day=1,
                 duration_days=None, weight_kg=w, strengths=s, days_per_week=3,
                 frequency="three times weekly, after each dialysis session" if hd
                 else "three times weekly (e.g. Monday, Wednesday, Friday)",
                 note="with plasma levels")
    why = ("Documented option only when the prescriber judges that benefit outweighs the "
           "contraindication: ATS/CDC/IDSA give 250 mg once daily or 500 mg three times weekly "
           "for CrCl < 30 mL/min or haemodialysis, dosed after dialysis, with plasma levels.")
    extra: tuple[str, ...] = ()
    if case.patient.dialysis == "peritoneal":
        extra = ("The ATS figures are for CrCl < 30 mL/min and haemodialysis; removal by "
                 "peritoneal dialysis is not established, so plasma levels are essential.",)
    srcs = cite_all(["ext.ats_2003", "ext.ats_renal_2018", "pk.dialysis"])
    return (
        RegimenOption(guideline="ATS", label="ATS: 250 mg once daily", phases=(daily,),
                      rationale=(why, *extra), sources=srcs),
        RegimenOption(guideline="ATS", label="ATS: 500 mg three times weekly", phases=(tiw,),
                      rationale=(why, *extra), sources=srcs),
    )


def recommend(case: Case, renal: RenalFunction, severe_renal: bool | None = None) -> Recommendation:
    """The guideline regimen for this patient, why, and the alternatives shown beside it.

    `severe_renal` lets screening add evidence of severe impairment that the numbers
    alone do not carry (e.g. a dialysis condition code); it defaults to `renal.severe`.
    """
    p = case.patient
    group = age_group(p.age_years)
    severe = renal.severe if severe_renal is None else (severe_renal or renal.severe)
    impaired = renal.impaired and not severe

    if severe:
        options = _ats_renal_options(case) if group == "adult" else ()
        rationale = ["Severe renal impairment (CrCl < 30 mL/min, dialysis, or recorded kidney "
                     "failure such as ESRD or CKD stage 4-5): the monograph "
                     "contraindicates cycloserine, so no regimen is recommended."]
        if group != "adult":
            rationale.append("No documented paediatric regimen exists for severe renal "
                             "impairment: seek specialist advice.")
        return Recommendation(
            status=RegimenStatus.CONTRAINDICATED, guideline="none (contraindicated)", phases=(),
            rationale=tuple(rationale), alternatives=options,
            sources=cite_all(["precaution.contraindications", "ext.ats_2003",
                              "ext.ats_renal_2018"]),
        )

    renal_note: tuple[str, ...] = ()
    renal_sources: list[str] = []
    if impaired:
        renal_note = (
            f"Renal impairment (CrCl {renal.crcl_ml_min:.1f} {renal.unit}, 30–59: moderately "
            "decreased): the monograph asks for lower doses without giving figures, and ATS "
            "changes nothing at 30 mL/min or more. "
            "Conservative rule used here: stay at the starting dose (500 mg/day for adults) and "
            "do not escalate until weekly plasma levels show a peak below the target. "
            "A model-informed dose may replace this rule.",
        )
        renal_sources = ["dose.renal", "precaution.renal_lower_doses",
                         "precaution.level_monitoring", "ext.ats_renal_2018"]

    if group == "adult":
        rec = Recommendation(
            status=RegimenStatus.RECOMMENDED,
            # on treatment (a dose history) no titration phase is shown: do not name one
            guideline=("adult maintenance (monograph; US label)" if case.doses
                       else "adult titration (monograph; US label)"),
            phases=_titration(case, "monograph", impaired),
            rationale=(
                "Usual adult dose in tuberculosis: 250 mg twice daily for 2 weeks, then "
                "0.5–1 g daily in divided doses, adjusted to plasma levels (keep below 30 mg/L).",
                "Daily doses of 1 g or more have been associated with heart failure; never "
                "exceed 1 g/day.",
                *renal_note,
            ),
            sources=cite_all(["dose.adult", "ext.us_label", "precaution.level_monitoring",
                              "precaution.plasma_ceiling", *renal_sources]),
        )
    else:
        aap, bnfc = _aap(case, impaired), _bnfc(case, impaired)
        default = case.settings.paediatric_guideline
        chosen, other = (aap, bnfc) if default == "AAP" else (bnfc, aap)
        status = RegimenStatus.RECOMMENDED if chosen.phases else RegimenStatus.NO_DOSE
        rec = Recommendation(
            status=status, guideline=chosen.label, phases=chosen.phases,
            rationale=(
                f"Default paediatric guideline: {default} (settings.paediatric_guideline); "
                f"{other.guideline} and WHO are shown as alternatives.",
                *chosen.rationale, *renal_note,
            ),
            sources=cite_all([s.id for s in chosen.sources] + renal_sources),
            alternatives=(other, _who(case, impaired)),
        )
    if case.doses:
        rec = rec.model_copy(update={"rationale": (*rec.rationale, ON_TREATMENT_NOTE)})
    if case.settings.start_date is not None and rec.phases and not case.doses:
        schedule, note = day_by_day(rec.phases, case.settings.start_date)
        rec = rec.model_copy(update={"schedule": schedule, "schedule_note": note})
    return rec


def day_by_day(phases: tuple[Phase, ...], start: date) -> tuple[tuple[ScheduleDay, ...], str]:
    """A dated schedule; an open-ended phase is shown for its first 14 days."""
    days: list[ScheduleDay] = []
    day = 1
    open_ended = None
    for ph in phases:
        if ph.days_per_week != 7:
            break
        n = ph.duration_days if ph.duration_days is not None else SCHEDULE_MAINTENANCE_DAYS
        if ph.duration_days is None:
            open_ended = ph
        clocks = _CLOCK.get(ph.doses_per_day) or tuple(
            f"{int(i * 24 / ph.doses_per_day):02d}:00" for i in range(ph.doses_per_day))
        for _ in range(n):
            days.append(ScheduleDay(
                day=day, date=start + timedelta(days=day - 1), phase=ph.label,
                doses=tuple(ScheduledDose(clock=c, dose_mg=ph.dose_mg) for c in clocks),
                daily_dose_mg=ph.daily_dose_mg,
            ))
            day += 1
    note = (f"after day {day - 1}: continue {open_ended.label} as adjusted to plasma levels"
            if open_ended else "end of the planned phases")
    return tuple(days), note
