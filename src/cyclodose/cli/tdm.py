"""`cyclodose tdm`: Bayesian estimate from measured levels and the optimised regimen."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cyclodose.cli.app import app, console, print_json, user_errors
from cyclodose.errors import CaseError
from cyclodose.intake.case import hours_from_first_dose, load_case


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
    predict_at: Annotated[str | None, typer.Option(
        "--predict-at", help="Comma-separated times to predict the concentration at, e.g. "
        "2026-03-12T10:00,2026-03-12T14:00 (read like the case's times).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the posterior "
                                             "sampling (default fixed: reproducible).")] = None,
    regimens: Annotated[str | None, typer.Option(
        "--regimens", help="Candidate regimens to consider instead of the capsule grid, "
        "separated by ';', e.g. '250mg q12h;250/500mg q12h'.")] = None,
    sample_after: Annotated[str | None, typer.Option(
        "--sample-after", help="Sample times after a dose to advise, in hours, e.g. 2,6.")] = None,
) -> None:
    """Individual PK estimate from measured levels (MAP, Laplace, SIR) and the best regimen."""
    from cyclodose.workflows.tdm.consult import tdm_consult

    if report is not None and report.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise CaseError.single("--report", "the report file must end in .pdf or .html")
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise CaseError.single("--plot", "the plot file must end in .png, .svg or .pdf")
    case = load_case(case_file)
    options: dict[str, object] = {}
    if predict_at:
        options["predict_at_h"] = tuple(hours_from_first_dose(case, t, "--predict-at")
                                        for t in predict_at.split(",") if t.strip())
    if seed is not None:
        options["seed"] = seed
    if regimens:
        options["regimens"] = [r for r in regimens.split(";") if r.strip()]
    if sample_after:
        try:
            options["sample_after_h"] = tuple(float(x) for x in sample_after.split(","))
        except ValueError:
            raise CaseError.single("--sample-after", f"cannot read {sample_after!r}: give "
                                   "hours after a dose, e.g. 2,6") from None
    consult = tdm_consult(case, model=model, **options)  # type: ignore[arg-type]
    if plot is not None:
        from cyclodose.render.consult import write_fit_plot

        write_fit_plot(consult, plot)
    if report is not None:
        from cyclodose.render.consult import write_report

        write_report(consult, report)
    if as_json:
        print_json(consult.model_dump(mode="json"))
    else:
        from cyclodose.cli.assess import print_lead
        from cyclodose.render.tdm_text import detail

        print_lead(consult.assessment, with_reason=False)  # the lead policy of `assess`
        for part in detail(consult.tdm):
            console.print(part, highlight=False)
        if plot is not None:
            console.print(f"plot written to {plot}")
        if report is not None:
            console.print(f"report written to {report}")
