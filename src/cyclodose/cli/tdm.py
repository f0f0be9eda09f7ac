"""`cyclodose tdm`: Bayesian estimate from measured levels and the optimised regimen."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cyclodose.cli.app import app, console, print_json, user_errors
from cyclodose.errors import CaseError
from cyclodose.intake.case import load_case


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
    from cyclodose.workflows.tdm.consult import tdm_consult

    if report is not None and report.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise CaseError.single("--report", "the report file must end in .pdf or .html")
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise CaseError.single("--plot", "the plot file must end in .png, .svg or .pdf")
    consult = tdm_consult(load_case(case_file), model=model)
    if plot is not None:
        from cyclodose.render.consult import write_fit_plot

        write_fit_plot(consult, plot)
    if report is not None:
        from cyclodose.render.consult import write_report

        write_report(consult, report)
    if as_json:
        print_json(consult.model_dump(mode="json"))
    else:
        from cyclodose.render.tdm_text import detail

        for part in detail(consult.tdm):
            console.print(part, highlight=False)
        if plot is not None:
            console.print(f"plot written to {plot}")
        if report is not None:
            console.print(f"report written to {report}")
