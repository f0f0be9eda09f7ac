"""`cyclodose backup FILE` and `cyclodose restore FILE` (while the service runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cyclodose.cli.app import app, console, user_errors
from cyclodose.cli.service_common import open_storage


@app.command()
@user_errors
def backup(file: Annotated[Path, typer.Argument(help="where to write the copy")]) -> None:
    """A consistent copy of the database (SQLite online backup, pg_dump for PostgreSQL)."""
    from cyclodose.service.backup import backup as take

    _, db = open_storage()
    take(db, file)
    console.print(f"backup written to {file}", highlight=False)


@app.command()
@user_errors
def restore(file: Annotated[Path, typer.Argument(help="a file `cyclodose backup` wrote")]
            ) -> None:
    """Replace the database's content with a backup, then migrate it to this version."""
    from cyclodose.service.backup import restore as put_back

    _, db = open_storage()
    put_back(db, file)
    db.migrate()
    console.print(f"restored from {file}", highlight=False)
