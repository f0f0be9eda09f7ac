"""`cyclodose serve`: the web service under uvicorn."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Annotated

import typer

from cyclodose.cli.app import app, console, user_errors
from cyclodose.cli.service_common import now, open_storage

if TYPE_CHECKING:
    from cyclodose.service.storage import Database


def bootstrap_admin(db: Database) -> str | None:
    """On the first start (no users) create `admin` with a one-time password; return it."""
    from sqlalchemy import func, select

    from cyclodose.service import auth
    from cyclodose.service.audit import AuditWriter
    from cyclodose.service.storage import User

    with db.session() as s:
        if (s.scalar(select(func.count()).select_from(User)) or 0) > 0:
            return None
        password = secrets.token_urlsafe(12)
        auth.create_user(s, "admin", "admin", password, now(), must_change_password=True)
        AuditWriter(s, "cli", now).record("user.create",
                                          detail={"name": "admin", "role": "admin",
                                                  "first_start": True})
        return password


@app.command()
@user_errors
def serve(
    workers: Annotated[int, typer.Option("--workers", min=1, max=64,
                                         help="worker processes (PostgreSQL recommended)")] = 1,
    host: Annotated[str | None, typer.Option(help="default CYCLODOSE_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default CYCLODOSE_PORT")] = None,
) -> None:
    """Run the web service (JSON API, /docs) on CYCLODOSE_HOST:CYCLODOSE_PORT."""
    import uvicorn

    from cyclodose.service.jobs import fail_interrupted
    from cyclodose.service.middleware import configure_logging

    settings, db = open_storage()
    configure_logging(settings.log_level)
    interrupted = fail_interrupted(db, now)
    password = bootstrap_admin(db)
    db.dispose()
    if password is not None:
        console.print("[bold]First start: created user 'admin'.[/bold] One-time password "
                      "(shown only now; change it at first login):", highlight=False)
        console.print(password, markup=False, highlight=False)
    if interrupted:
        console.print(f"{interrupted} job(s) cut off by the last stop were marked failed.")
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(f"cyclodose serving on http://{bind_host}:{bind_port} "
                  f"(API docs at /docs)", highlight=False)
    uvicorn.run("cyclodose.service.asgi:create", factory=True, host=bind_host, port=bind_port,
                workers=workers, log_config=None, proxy_headers=True,
                forwarded_allow_ips="127.0.0.1", server_header=False)
