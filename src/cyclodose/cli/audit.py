"""`cyclodose audit verify`: check the audit trail's hash chain."""

from __future__ import annotations

import typer

from cyclodose.cli.app import app, console, err_console, user_errors
from cyclodose.cli.service_common import open_storage

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

EXIT_TAMPERED = 1


@audit_app.command("verify")
@user_errors
def verify() -> None:
    """Recompute every hash and link; exit 1 and name each broken entry if any."""
    from cyclodose.service.audit import verify as verify_chain

    _, db = open_storage()
    with db.session() as s:
        result = verify_chain(s)
    if result.ok:
        console.print(f"audit trail verified: {result.checked} entries, chain intact",
                      highlight=False)
        return
    for problem in result.problems:
        err_console.print(f"audit: {problem}", markup=False, highlight=False)
    err_console.print(f"audit trail BROKEN: {len(result.problems)} problem(s) in "
                      f"{result.checked} entries", markup=False, highlight=False)
    raise typer.Exit(EXIT_TAMPERED)
