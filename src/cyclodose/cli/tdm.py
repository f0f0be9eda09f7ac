"""`cyclodose tdm`: Bayesian estimate from measured levels and the optimised regimen."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cyclodose.cli.app import Table, app, console, print_json, user_errors
from cyclodose.errors import CaseError
from cyclodose.intake.case import load_case
from cyclodose.intake.units import sig3


def _fmt_band(d: dict[str, float], nd: int = 1, sep: str = " ") -> str:
    return f"{d['median']:.{nd}f}{sep}({d['lower']:.{nd}f}–{d['upper']:.{nd}f})"


def _averaging(doc: dict[str, Any]) -> None:
    """The model-averaging weights and why (settings.model auto)."""
    av = doc.get("model_averaging")
    if av:
        console.print("  model averaging: " + "; ".join(
            f"{w['name']} weight {w['weight']:.2f}"
            + (" [yellow](extrapolates)[/yellow]" if w["extrapolation"] else "")
            + (f" (not used: {w['unavailable']})" if w.get("unavailable") else "")
            for w in av["weights"]) + f" — {av['why']}", highlight=False)


def _render(doc: dict[str, Any]) -> None:
    m = doc["model"]
    console.print(f"[bold]Bayesian TDM[/bold] — model {m['name']} v{m['version']}")
    console.print(f"  {m['citation']}", markup=False, highlight=False)
    if not m["extrapolation"]:
        console.print("  the patient lies inside the model's validity domain", highlight=False)
    for reason in m["extrapolation"]:
        console.print(f"[yellow]extrapolation:[/yellow] {reason}", highlight=False)
    _averaging(doc)
    t = Table(title="Individual parameters (MAP and 90 % interval)")
    for col in ("parameter", "MAP", "90 % interval"):
        t.add_column(col)
    units = {"cl_l_h": "L/h", "v_l": "L", "ka_per_h": "1/h", "tlag_h": "h", "mtt_h": "h"}
    for name, p in doc["parameters"].items():
        t.add_row(name, f"{p['map']:.3g} {units.get(name, '')}",
                  f"{p['lower']:.3g}–{p['upper']:.3g} {units.get(name, '')}")
    h = doc["half_life_h"]
    t.add_row("half-life", f"{h['map']:.1f} h", f"{h['lower']:.1f}–{h['upper']:.1f} h")
    console.print(t)
    lv = Table(title="Levels: observed against fitted")
    for col in ("time", "after dose", "observed", "fitted (90 % interval)", "IWRES"):
        lv.add_column(col)
    for row in doc["predictions"]["levels"]:
        obs = f"< {row['lloq_mg_l']:g} mg/L" if row["blq"] else f"{sig3(row['observed_mg_l'])} mg/L"
        iw = "" if row["iwres"] is None else f"{row['iwres']:+.2f}"
        lv.add_row(row["clock"] or f"{row['time_h']:.1f} h",
                   f"{row['time_after_dose_h']:.1f} h", obs,
                   f"{row['ipred_mg_l']:.1f} ({row['ipred_lower_mg_l']:.1f}–"
                   f"{row['ipred_upper_mg_l']:.1f}) mg/L", iw)
    console.print(lv)
    for flag in doc["diagnostics"]["flags"]:
        console.print(f"[red]flag:[/red] {flag}", markup=True, highlight=False)
    rec = doc["recommendation"]
    style = "bold green" if rec["status"] == "recommended" else "bold red"
    console.print(f"[{style}]TDM regimen — {rec['status']}:[/{style}] {rec['regimen']} "
                  f"({rec['daily_dose_mg']:g} mg/day; per administration "
                  f"{' / '.join(rec['capsules'])})", highlight=False)
    from cyclodose.workflows.tdm.result import schedule_text

    console.print("  " + schedule_text(rec), highlight=False)
    console.print(rec["reason"], highlight=False)
    for warning in rec["warnings"]:
        console.print(f"[yellow]caution:[/yellow] {warning}", highlight=False)
    cur = doc.get("current_regimen")
    if cur:
        console.print(f"Current regimen {cur['regimen']}: steady-state peak "
                      f"{_fmt_band(cur['peak_mg_l'])} mg/L, P(target) "
                      f"{100 * cur['p_in_target']:.0f} %, P(>30 mg/L) "
                      f"{100 * cur['p_above_ceiling']:.0f} %", highlight=False)
    # With an MIC the ranking key is P(%T>MIC goal and peak <= 30 mg/L): show that column.
    mic = "p_tmic_goal_and_below_ceiling" in rec
    goal_txt = ("P(goal): probability of %T>MIC reaching the goal with the peak ≤ 30 mg/L" if mic
                else "P(goal): probability of a steady-state peak inside the target window")
    rk = Table(title="Ranked regimens (steady state; median and 90 % interval)",
               caption=goal_txt + "; P(>30): probability of a peak above 30 mg/L")
    rk.add_column("regimen", overflow="fold")
    # numbers never fold: the median sits over its interval instead
    for col in ("peak mg/L", "trough mg/L", "AUC24 mg·h/L"):
        rk.add_column(col, no_wrap=True, min_width=11)
    for col in ("P(goal)", "P(>30)"):
        rk.add_column(col, no_wrap=True)
    for r in doc["ranked"]:
        goal = r["p_tmic_goal_and_below_ceiling"] if mic else r["p_in_target"]
        rk.add_row(f"{r['regimen']}\n{r['daily_dose_mg']:g} mg/day",
                   _fmt_band(r["peak_mg_l"], sep="\n"), _fmt_band(r["trough_mg_l"], sep="\n"),
                   _fmt_band(r["auc24_mg_h_l"], 0, sep="\n"),
                   f"{100 * goal:.0f} %", f"{100 * r['p_above_ceiling']:.0f} %")
    console.print(rk)
    start = doc.get("new_regimen_start_clock") or f"{doc['new_regimen_start_h']:.1f} h"
    console.print(f"[bold]Next levels[/bold] (new regimen from its first dose at {start})",
                  highlight=False)
    for s in doc["next_samples"]:
        when = s["clock"] or f"{s['time_h']:.1f} h from the first dose"
        console.print(f"  {s['label']}: {when} — {s['why']}", highlight=False)


@app.command()
@user_errors
def tdm(
    case_file: Annotated[
        Path, typer.Argument(help="Case file (YAML or JSON) with doses and levels.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the fit plot (.png/.svg).")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the consult report (.pdf or .html).")
    ] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="Population PK model name, or auto: average the models weighted by "
        "their fit to the levels.")] = None,
) -> None:
    """Individual PK estimate from measured levels (MAP, Laplace, SIR) and the best regimen."""
    from cyclodose.workflows.tdm.consult import tdm_consult

    if report is not None and report.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise CaseError.single("--report", "the report file must end in .pdf or .html")
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise CaseError.single("--plot", "the plot file must end in .png, .svg or .pdf")
    consult = tdm_consult(load_case(case_file), model=model)
    doc = consult.tdm.model_dump(mode="json")
    if plot is not None:
        from cyclodose.render.consult import write_fit_plot

        write_fit_plot(consult, plot)
    if report is not None:
        from cyclodose.render.consult import write_report

        write_report(consult, report)
    if as_json:
        print_json(consult.model_dump(mode="json"))
    else:
        _render(doc)
        if plot is not None:
            console.print(f"plot written to {plot}")
        if report is not None:
            console.print(f"report written to {report}")


def render_summary(doc: dict[str, Any]) -> None:
    """The concise TDM section of `cyclodose assess` (the full view is `cyclodose tdm`)."""
    from cyclodose.workflows.tdm.result import schedule_text

    if "unavailable" in doc:
        console.print("[bold]Bayesian TDM[/bold]: not available — " + "; ".join(doc["unavailable"]),
                      highlight=False)
        return
    m = doc["model"]
    console.print(f"\n[bold]Bayesian TDM from {doc['n_levels']} level(s)[/bold] — model "
                  f"{m['name']} v{m['version']}"
                  + ("" if m["extrapolation"] else " (patient inside its validity domain)"),
                  highlight=False)
    for reason in m["extrapolation"]:
        console.print(f"  [yellow]extrapolation:[/yellow] {reason}", highlight=False)
    _averaging(doc)
    units = {"cl_l_h": "L/h", "v_l": "L", "ka_per_h": "1/h", "tlag_h": "h", "mtt_h": "h"}
    params = [f"{name} {p['map']:.3g} {units.get(name, '')} (90 % {p['lower']:.3g}–"
              f"{p['upper']:.3g})" for name, p in doc["parameters"].items()]
    h = doc["half_life_h"]
    params.append(f"half-life {h['map']:.1f} h (90 % {h['lower']:.1f}–{h['upper']:.1f})")
    console.print("  MAP: " + "; ".join(params), highlight=False)
    for flag in doc["diagnostics"]["flags"]:
        console.print(f"  [red]flag:[/red] {flag}", highlight=False)
    rec = doc["recommendation"]
    style = "bold green" if rec["status"] == "recommended" else "bold red"
    console.print(f"  [{style}]TDM regimen — {rec['status']}:[/{style}] {rec['regimen']} "
                  f"({rec['daily_dose_mg']:g} mg/day; {' / '.join(rec['capsules'])}): "
                  f"steady-state peak {_fmt_band(rec['peak_mg_l'])} mg/L; P(peak in target) "
                  f"{100 * rec['p_in_target']:.0f} %; P(peak > {rec['ceiling_mg_l']:g} mg/L) "
                  f"{100 * rec['p_above_ceiling']:.0f} %; {schedule_text(rec)}", highlight=False)
    if "p_tmic_goal_and_below_ceiling" in rec:
        console.print(f"  P(%T>MIC goal with peak ≤ {rec['ceiling_mg_l']:g} mg/L) "
                      f"{100 * rec['p_tmic_goal_and_below_ceiling']:.0f} %", highlight=False)
    for warning in rec["warnings"]:
        console.print(f"  [yellow]caution:[/yellow] {warning}", highlight=False)
    for s in doc["next_samples"]:
        when = s["clock"] or f"{s['time_h']:.1f} h from the first dose"
        console.print(f"  next level {s['label']}: {when} — {s['why']}", highlight=False)
    console.print("  (full detail, ranked alternatives and the reason: cyclodose tdm CASE)",
                  highlight=False)
