"""`cyclodose export`: the case as a NONMEM or mapbayr/mrgsolve dataset (CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cyclodose.cli.app import app, console, user_errors
from cyclodose.errors import CaseError
from cyclodose.intake.case import load_case

LAYOUTS = ("nonmem", "mrgsolve")


@app.command()
@user_errors
def export(
    case_file: Annotated[Path, typer.Argument(help="Case file (YAML or JSON).")],
    layout: Annotated[str, typer.Option(
        "--format", help="nonmem (ID TIME AMT DV MDV EVID CMT BLQ ...) or mrgsolve "
        "(the mapbayr/mrgsolve data layout).")] = "nonmem",
    out: Annotated[Path | None, typer.Option("--out", help="Write the CSV here "
                                             "(default: standard output).")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model whose covariates must "
                                              "be available.")] = None,
) -> None:
    """The dose history and levels as a pharmacometric dataset, one row per event."""
    from cyclodose.render.dataset import to_csv
    from cyclodose.workflows.dataset import dataset

    if layout not in LAYOUTS:
        raise CaseError.single("--format", f"unknown format {layout!r}; valid: nonmem, mrgsolve")
    text = to_csv(dataset(load_case(case_file), layout, model=model))  # type: ignore[arg-type]
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CaseError.single("--out", f"cannot write {out}: {exc.strerror}") from None
    console.print(f"dataset written to {out}")
