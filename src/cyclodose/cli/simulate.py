"""`cyclodose simulate`: concentration-time curve of a case's dose history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cyclodose.cli.app import Table, app, console, print_json, user_errors
from cyclodose.errors import CaseError
from cyclodose.intake.case import load_case
from cyclodose.intake.units import sig3


@app.command()
@user_errors
def simulate(
    case_file: Annotated[Path, typer.Argument(help="Case file (YAML or JSON) with a regimen.")],
    model: Annotated[str | None, typer.Option("--model", help="Population PK model name.")] = None,
    days: Annotated[
        float | None, typer.Option("--days", help="Simulate this many days from the first dose.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the curve (.png or .svg).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Predicted concentrations (typical patient and 90 % band) with metrics per interval."""
    from cyclodose.workflows.simulation import simulate as run

    if plot is not None and plot.suffix.lower() not in (".png", ".svg"):
        raise CaseError.single("--plot", "the plot file must end in .png or .svg")
    case = load_case(case_file)
    sim = run(case, model=model, days=days)
    if plot is not None:
        from cyclodose.render.plots import simulation_figure_spec, write_concentration_plot

        write_concentration_plot(simulation_figure_spec(sim), plot)
    if as_json:
        print_json({"simulation": sim.summary()})
        return
    m = sim.model
    console.print(f"[bold]Simulation[/bold] — model {m.name} v{m.version}", highlight=False)
    console.print(m.citation, highlight=False)
    if sim.covariate_rule:
        console.print(f"covariates: {sim.covariate_rule}", highlight=False)
    for reason in sim.extrapolation:
        console.print(f"[yellow]extrapolation:[/yellow] {reason}", highlight=False)
    lo, hi = sim.target_window_mg_l
    table = Table(title=f"Typical patient, per dosing interval (target peak {lo:g}–{hi:g} mg/L, "
                        f"ceiling {sim.ceiling_mg_l:g} mg/L)")
    cols = ["#", "start", "dose", "peak", "peak at", "lowest", "AUC", f">{sim.ceiling_mg_l:g}"]
    if sim.mic_mg_l is not None:
        cols.append(f"%T>MIC {sim.mic_mg_l:g}")
    for col in cols:
        table.add_column(col)
    for iv in sim.intervals:
        row = [str(iv.index), iv.clock or f"{iv.start_h:g} h", f"{iv.dose_mg:g} mg",
               f"{iv.cmax_mg_l:.1f} mg/L", f"+{iv.tmax_after_dose_h:.1f} h",
               f"{iv.cmin_mg_l:.1f} mg/L", f"{iv.auc_mg_h_l:.0f} mg·h/L",
               f"{iv.time_above_ceiling_h:.1f} h"]
        if sim.mic_mg_l is not None:
            row.append(f"{iv.tmic_pct:.0f} %")
        table.add_row(*row)
    console.print(table)
    for lv in sim.levels:
        obs = (f"< {lv.lloq_mg_l:g} mg/L" if lv.blq or lv.observed_mg_l is None
               else f"{sig3(lv.observed_mg_l)} mg/L")
        console.print(f"level {lv.clock or f'{lv.time_h:g} h'}: observed {obs}; typical "
                      f"prediction {lv.typical_mg_l:.1f} mg/L (90 % band {lv.band_p05_mg_l:.1f}–"
                      f"{lv.band_p95_mg_l:.1f})", highlight=False)
    for note in sim.notes:
        console.print(f"note: {note}", highlight=False)
    if plot is not None:
        console.print(f"plot written to {plot}")
