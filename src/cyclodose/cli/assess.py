"""`cyclodose assess CASE [--json] [--model NAME]`: render an Assessment; no clinical logic here."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from cyclodose.cli.app import Table, app, console, print_json, user_errors
from cyclodose.cli.prediction_view import render_prediction
from cyclodose.intake.case import Case

if TYPE_CHECKING:  # the clinical core loads when a command runs, not at CLI start
    from cyclodose.clinical.dosing import Phase, RegimenOption
    from cyclodose.workflows.assessment import Assessment

_SEVERITY_STYLE = {"contraindicated": "bold red", "avoid": "red", "warning": "yellow",
                   "caution": "cyan", "info": "green"}
_SCHEDULE_ROWS = 21


def with_model(case: Case, model: str | None) -> Case:
    """--model overrides case.settings.model (validated by the PK layer)."""
    if model is None:
        return case
    return case.model_copy(update={"settings": case.settings.model_copy(update={"model": model})})


@app.command("assess")
@user_errors
def assess_command(
    case_file: Annotated[Path, typer.Argument(
        metavar="CASE", help="Case file (YAML or JSON), or a FHIR R4 Bundle (JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    as_fhir: Annotated[bool, typer.Option("--fhir", help="A FHIR R4 Bundle: draft "
                                          "MedicationRequest, DetectedIssues, CarePlan.")] = False,
    model: Annotated[str | None, typer.Option("--model", help="PK model name "
                                              "(overrides settings.model).")] = None,
    at: Annotated[datetime | None, typer.Option(
        "--at", help="Assessment time for a FHIR Bundle (ages, staleness); default now, "
        "UTC unless a zone is given.")] = None,
) -> None:
    """Screen a case, recommend a guideline regimen and a monitoring plan."""
    from cyclodose.cli.fhir_input import load_input, render_reading
    from cyclodose.workflows.assessment import assess

    case, reading = load_input(case_file, at)
    result = assess(with_model(case, model))
    if as_fhir:
        from cyclodose.render.fhir_bundle import assessment_bundle

        subject = f"Patient/{reading.patient_id}" if reading and reading.patient_id else None
        print_json(assessment_bundle(result, now=datetime.now(UTC), subject=subject))
    elif as_json:
        out = result.model_dump(mode="json")
        if reading is not None:
            out["fhir_input"] = reading.model_dump(mode="json", exclude={"document"})
        print_json(out)
    else:
        if reading is not None:
            render_reading(reading)
        render(result)


def _table(title: str, *columns: str, **kwargs: Any) -> Table:
    """A table whose cells wrap and fold, never cut with an ellipsis: every word is clinical."""
    t = Table(title=title, title_justify="left", **kwargs)
    for col in columns:
        t.add_column(col, overflow="fold")
    return t


def _num(x: float | None, unit: str, digits: int = 1) -> str:
    if x is None:
        return "—"
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{x:.0f}"
    return f"{text} {unit}"


def _patient(a: Assessment) -> Table:
    p = a.patient
    t = Table(title="Patient", show_header=False, title_justify="left")
    t.add_column("item", style="bold", overflow="fold")
    t.add_column("value", overflow="fold")
    t.add_row("age", f"{_num(p.age_years, 'years')} ({p.age_group})")
    t.add_row("sex", p.sex)
    t.add_row("weight", _num(p.weight_kg, "kg"))
    t.add_row("height", _num(p.height_cm, "cm"))
    t.add_row("BMI", _num(p.bmi_kg_m2, "kg/m²"))
    t.add_row("serum creatinine", _num(p.serum_creatinine_mg_dl, "mg/dL", 2))
    renal = (f"{_num(p.crcl_ml_min, p.crcl_unit)} by {p.crcl_method.replace('_', ' ')}"
             if p.crcl_ml_min is not None else f"unknown ({p.crcl_method.replace('_', ' ')})")
    t.add_row("renal function", f"{renal}; KDIGO {p.renal_category or '—'}")
    if p.ckd_epi_ml_min_173m2 is not None:
        t.add_row("CKD-EPI 2021 eGFR", _num(p.ckd_epi_ml_min_173m2, "mL/min/1.73 m²"))
    t.add_row("dialysis", p.dialysis)
    t.add_row("pregnant / breastfeeding", f"{'yes' if p.pregnant else 'no'} / "
                                          f"{'yes' if p.breastfeeding else 'no'}")
    if p.gestation is not None:  # shown only for a pregnant patient
        t.add_row("gestation", p.gestation.text)
    t.add_row("alcohol", p.alcohol)
    for note in p.renal.notes:
        t.add_row("", f"[dim]{escape(note)}[/dim]")
    return t


def _findings(a: Assessment) -> Table:
    # Severity and code share a column so that the message gets the width at 80 columns.
    t = Table(title="Findings", title_justify="left", show_lines=True)
    t.add_column("severity / code", ratio=2, overflow="fold")
    t.add_column("finding", ratio=4, overflow="fold")
    t.add_column("sources", ratio=3, overflow="fold")
    for f in a.findings:
        style = _SEVERITY_STYLE[f.severity]
        t.add_row(f"[{style}]{f.severity}[/{style}]\n{escape(f.code)}", escape(f.message),
                  escape("\n".join(str(s) for s in f.sources)))
    return t


def _phases(title: str, phases: tuple[Phase, ...]) -> Table:
    # Five columns so that nothing is cut at 80 columns; capsules and mg/kg sit under the dose.
    t = _table(title, "phase", "dose", "daily dose", "duration", "notes", show_lines=True)
    for ph in phases:
        days = f"{ph.duration_days} days" if ph.duration_days is not None else "ongoing"
        dose = f"{_num(ph.dose_mg, 'mg')} {ph.frequency}\n({ph.capsules})"
        daily = _num(ph.daily_dose_mg, "mg")
        if ph.days_per_week != 7:
            daily += f" on {ph.days_per_week} days/week"
        if ph.daily_dose_range_mg and ph.daily_dose_range_mg[0] != ph.daily_dose_range_mg[1]:
            lo, hi = ph.daily_dose_range_mg
            daily += f" (range {lo:.0f}–{hi:.0f} mg)"
        per_kg = _num(ph.mg_per_kg_day, "mg/kg/day")
        if ph.days_per_week != 7:
            per_kg += " on a dosing day"
        notes = "\n".join(x for x in (ph.rounding, ph.note) if x)
        t.add_row(escape(ph.label), escape(dose), f"{daily}\n{per_kg}", days, escape(notes))
    return t


def _option(o: RegimenOption) -> None:
    if o.phases:
        console.print(_phases(escape(f"Alternative — {o.label}"), o.phases))
    else:
        console.print(f"[bold]Alternative — {escape(o.label)}[/bold]")
    for line in o.rationale:
        console.print(f"  • {line}", markup=False)
    console.print("  sources: " + "; ".join(str(s) for s in o.sources), markup=False)


def _style(status: str) -> str:
    return "green" if status == "recommended" else "bold red"


def print_lead(a: Assessment, *, with_reason: bool = True) -> None:
    """The headline: the lead recommendation and its status (workflows.lead decides). The
    reason names the reference sections, so `cyclodose tdm`, which shows none, leaves it out."""
    lead = a.lead
    style = _style(lead.status)
    console.print(f"[bold]Recommendation (lead)[/bold]: [{style}]{escape(lead.headline)}"
                  f"[/{style}]")
    if with_reason:
        console.print(f"  [dim]{escape(lead.reason)}[/dim]")


def _recommendation(a: Assessment, title: str, reference: bool) -> None:
    r = a.recommendation
    style = _style(r.status)
    # Below a TDM lead the guideline's status is its own, not the recommendation's.
    status = f"guideline status [{style}]{r.status}[/{style}]" if reference else (
        f"[{style}]{r.status}[/{style}]")
    console.print(f"\n[bold]{escape(title)}[/bold]: {status} — "
                  f"{escape(r.guideline)} (never above {r.max_daily_dose_mg:.0f} mg/day)")
    if r.phases:
        console.print(_phases("Regimen", r.phases))
    console.print("[bold]Why[/bold]")
    for line in r.rationale:
        console.print(f"  • {line}", markup=False)
    console.print("  sources: " + "; ".join(str(s) for s in r.sources), markup=False)
    for o in r.alternatives:
        _option(o)
    if r.schedule:
        t = _table("Day-by-day schedule", "day", "date", "phase", "doses", "daily dose")
        for d in r.schedule[:_SCHEDULE_ROWS]:
            doses = ", ".join(f"{x.clock} {x.dose_mg:.0f} mg" for x in d.doses)
            t.add_row(str(d.day), d.date.isoformat(), escape(d.phase), doses,
                      _num(d.daily_dose_mg, "mg"))
        if len(r.schedule) > _SCHEDULE_ROWS:
            t.add_row("…", "", f"{len(r.schedule) - _SCHEDULE_ROWS} more days (see --json)",
                      "", "")
        console.print(t)
        if r.schedule_note:
            console.print(f"  {r.schedule_note}", markup=False)


def _monitoring(a: Assessment) -> Table:
    t = _table("Monitoring plan", "what", "when", "why", "sources", show_lines=True)
    for m in a.monitoring:
        t.add_row(escape(m.what), escape(m.when), escape(m.why),
                  escape("\n".join(str(s) for s in m.sources)))
    return t


def _breastfeeding(a: Assessment) -> None:
    b = a.breastfeeding
    if b is None:
        return
    t = Table(title="Breastfeeding: infant exposure estimate", show_header=False,
              title_justify="left")
    t.add_column("item", style="bold", overflow="fold")
    t.add_column("value", overflow="fold")
    t.add_row("maternal dose", f"{b.maternal_dose_mg_day:.0f} mg/day "
                               f"({b.maternal_dose_mg_kg_day:.1f} mg/kg/day), from {b.dose_basis}")
    t.add_row("milk concentration", f"{b.milk_conc_mg_l[0]:.1f}–{b.milk_conc_mg_l[1]:.1f} mg/L")
    t.add_row("infant dose", f"{b.infant_dose_mg_kg_day[0]:.2f}–{b.infant_dose_mg_kg_day[1]:.2f} "
                             "mg/kg/day")
    t.add_row("relative infant dose", f"{b.relative_infant_dose_pct[0]:.1f}–"
                                      f"{b.relative_infant_dose_pct[1]:.1f} %")
    t.add_row("assumptions", escape("\n".join(b.assumptions)))
    t.add_row("statement", escape(b.statement))
    t.add_row("sources", escape("\n".join(str(s) for s in b.sources)))
    console.print(t)


def _unrecognised(a: Assessment) -> None:
    if not a.unrecognised:
        console.print("Unrecognised items: none")
        return
    t = _table("Unrecognised items (not screened: check them yourself)", "field", "text",
               "reason")
    for u in a.unrecognised:
        t.add_row(escape(u.field), escape(u.text), escape(u.reason))
    console.print(t)


def render(a: Assessment) -> None:
    console.print(f"[bold]cyclodose {a.cyclodose_version}[/bold] assessment "
                  f"(PK model setting: {escape(a.model)})")
    print_lead(a)
    console.print(_patient(a))
    console.print(_findings(a) if a.findings else "Findings: none")
    for section in a.lead.sections:  # the lead first, then the references (workflows.lead)
        if section.name == "guideline":
            _recommendation(a, section.title, section.role == "reference")
        elif section.name == "model_informed":
            render_prediction(a, section.title)
        elif a.tdm is not None:
            from cyclodose.render.tdm_text import summary

            console.print(f"\n[bold]{escape(section.title)}[/bold]")
            for part in summary(a.tdm):
                console.print(part, highlight=False)
        else:
            console.print(f"\n[bold]{escape(section.title)}[/bold]: {escape(a.lead.headline)}")
    console.print(_monitoring(a))
    _breastfeeding(a)
    _unrecognised(a)
