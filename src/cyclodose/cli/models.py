"""`cyclodose models`: the bundled population PK models."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer

from cyclodose.cli.app import Table, app, console, print_json, user_errors


@app.command()
@user_errors
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the population PK models (select one with --model NAME or settings.model)."""
    from cyclodose.pk import DEFAULT_MODEL, list_models

    specs = list_models()
    if as_json:
        print_json({"default": DEFAULT_MODEL, "models": [s.summary() for s in specs]})
        return
    table = Table(title="Population PK models")
    for col in ("name", "structure", "parameters (typical)", "variability", "valid for"):
        table.add_column(col, overflow="fold")
    for s in specs:
        params = "; ".join(
            f"{p.name} {p.typical:g} {p.unit}" + (f" ({', '.join(p.covariates)})"
                                                  if p.covariates else "")
            for p in s.parameters.values() if not (p.name == "f" and p.typical == 1.0))
        iiv = ", ".join(f"{n} {np.sqrt(s.omega[i, i]):.3g}" for i, n in enumerate(s.eta_names))
        variability = (f"IIV SD: {iiv}; residual {100 * s.prop_sd:.3g} %"
                       + (f" + {s.add_sd_mg_l:g} mg/L" if s.add_sd_mg_l else ""))
        name = s.name + (" (default)" if s.name == DEFAULT_MODEL else "") + f"\nv{s.version}"
        table.add_row(name, s.structure, params, variability,
                      f"{s.validity.population}; from {s.validity.min_age_years:g} years, "
                      f"CrCl ≥ {s.validity.min_crcl_ml_min:g} mL/min")
    console.print(table)
    for s in specs:
        console.print(f"[bold]{s.name}[/bold]: {s.citation}", highlight=False)

