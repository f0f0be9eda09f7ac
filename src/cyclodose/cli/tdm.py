"""`cyclodose tdm`: Bayesian estimate from measured levels and the optimised regimen."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cyclodose.case import load_case
from cyclodose.cli.app import app, console, print_json, user_errors
from cyclodose.errors import CaseError


def _fmt_band(d: dict[str, float], nd: int = 1) -> str:
    return f"{d['median']:.{nd}f} ({d['lower']:.{nd}f}–{d['upper']:.{nd}f})"


def _render(doc: dict[str, Any]) -> None:
    m = doc["model"]
    console.print(f"[bold]Bayesian TDM[/bold] — model {m['name']} v{m['version']}")
    for reason in m["extrapolation"]:
        console.print(f"[yellow]extrapolation:[/yellow] {reason}")
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
        obs = f"< {row['lloq_mg_l']:g} mg/L" if row["blq"] else f"{row['observed_mg_l']:g} mg/L"
        iw = "" if row["iwres"] is None else f"{row['iwres']:+.2f}"
        lv.add_row(row["clock"] or f"{row['time_h']:.1f} h",
                   f"{row['time_after_dose_h']:.1f} h", obs,
                   f"{row['ipred_mg_l']:.1f} ({row['ipred_lower_mg_l']:.1f}–"
                   f"{row['ipred_upper_mg_l']:.1f}) mg/L", iw)
    console.print(lv)
    for flag in doc["diagnostics"]["flags"]:
        console.print(f"[red]flag:[/red] {flag}", markup=True, highlight=False)
    rec = doc["recommendation"]
    console.print(f"[bold green]Recommended:[/bold green] {rec['regimen']} "
                  f"({rec['daily_dose_mg']:g} mg/day)")
    console.print(rec["reason"], highlight=False)
    for warning in rec["warnings"]:
        console.print(f"[yellow]caution:[/yellow] {warning}", highlight=False)
    cur = doc.get("current_regimen")
    if cur:
        console.print(f"Current regimen {cur['regimen']}: steady-state peak "
                      f"{_fmt_band(cur['peak_mg_l'])} mg/L, P(target) "
                      f"{100 * cur['p_in_target']:.0f} %, P(>30 mg/L) "
                      f"{100 * cur['p_above_ceiling']:.0f} %", highlight=False)
    rk = Table(title="Ranked regimens (steady state; median and 90 % interval)")
    for col in ("regimen", "mg/day", "peak mg/L", "trough mg/L", "AUC24 mg·h/L",
                "P(target)", "P(>30 mg/L)"):
        rk.add_column(col, overflow="fold")
    for r in doc["ranked"]:
        rk.add_row(r["regimen"], f"{r['daily_dose_mg']:g}", _fmt_band(r["peak_mg_l"]),
                   _fmt_band(r["trough_mg_l"]), _fmt_band(r["auc24_mg_h_l"], 0),
                   f"{100 * r['p_in_target']:.0f} %", f"{100 * r['p_above_ceiling']:.0f} %")
    console.print(rk)
    console.print("[bold]Next levels[/bold]")
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
    model: Annotated[str | None, typer.Option("--model", help="Population PK model name.")] = None,
) -> None:
    """Individual PK estimate from measured levels (MAP, Laplace, SIR) and the best regimen."""
    from cyclodose.tdm import estimate, to_dict

    if report is not None and report.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise CaseError.single("--report", "the report file must end in .pdf or .html")
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise CaseError.single("--plot", "the plot file must end in .png, .svg or .pdf")
    case = load_case(case_file)
    if not case.levels:
        raise CaseError.single("levels", "TDM needs at least one measured level")
    est = estimate(case, model)
    doc = to_dict(est)
    if plot is not None:
        from cyclodose.report.consult import write_fit_plot

        write_fit_plot(est, plot)
    if report is not None:
        from cyclodose.assessment import assess
        from cyclodose.report.consult import write_report

        # findings and the monitoring plan come from the screening of the same case
        write_report(est, report, assess(case))
    if as_json:
        print_json({"tdm": doc})
    else:
        _render(doc)
        if plot is not None:
            console.print(f"plot written to {plot}")
        if report is not None:
            console.print(f"report written to {report}")
