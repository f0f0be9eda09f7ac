"""`cyclodose user create|disable` and `cyclodose token create|revoke`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cyclodose.cli.app import app, console, user_errors
from cyclodose.cli.service_common import CLI_ACTOR, now, open_storage
from cyclodose.errors import CaseError

user_app = typer.Typer(help="Manage users (roles: admin, prescriber, pharmacist, viewer).",
                       no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens (Authorization: Bearer …).",
                        no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("create")
@user_errors
def user_create(
    name: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option("--role", help="admin, prescriber, pharmacist or viewer")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                 help="read the password from stdin")] = False,
) -> None:
    """Create a user; the password is asked for (or read from stdin)."""
    from cyclodose.service import auth
    from cyclodose.service.audit import AuditWriter

    if role not in auth.ROLES:
        raise CaseError.single("--role", f"unknown role {role!r}; roles: {', '.join(auth.ROLES)}")
    if not (1 <= len(name) <= 64) or not name.isprintable() or name.strip() != name:
        raise CaseError.single("NAME", "a name needs 1–64 printable characters, no outer spaces")
    password = _read_password(password_stdin)
    why = auth.password_problem(password, name)
    if why:
        raise CaseError.single("password", why)
    _, db = open_storage()
    with db.session() as s:
        if auth.user_by_name(s, name) is not None:
            raise CaseError.single("NAME", f"user {name!r} exists")
        auth.create_user(s, name, role, password, now())
        AuditWriter(s, CLI_ACTOR, now).record("user.create", detail={"name": name,
                                                                     "role": role})
    console.print(f"created user {name} ({role})", highlight=False)


@user_app.command("disable")
@user_errors
def user_disable(name: Annotated[str, typer.Argument(help="login name")]) -> None:
    """Disable a user: their sessions and tokens stop working."""
    from cyclodose.service import auth
    from cyclodose.service.audit import AuditWriter

    _, db = open_storage()
    with db.session() as s:
        user = auth.user_by_name(s, name)
        if user is None:
            raise CaseError.single("NAME", f"no user {name!r}")
        user.disabled = True
        AuditWriter(s, CLI_ACTOR, now).record("user.disable", detail={"name": name})
    console.print(f"disabled user {name}", highlight=False)


@token_app.command("create")
@user_errors
def token_create(
    name: Annotated[str, typer.Argument(help="the user the token acts as")],
    expires_days: Annotated[float | None, typer.Option("--expires-days", min=0.001,
                                                       help="expiry (default: never)")] = None,
) -> None:
    """Create an API token; it is printed once, alone on the last line."""
    from cyclodose.service import auth
    from cyclodose.service.audit import AuditWriter

    _, db = open_storage()
    with db.session() as s:
        user = auth.user_by_name(s, name)
        if user is None or user.disabled:
            raise CaseError.single("NAME", f"no active user {name!r}")
        token, row = auth.create_token(s, user, now(), expires_days)
        AuditWriter(s, CLI_ACTOR, now).record("token.create",
                                              detail={"token_id": row.id, "user": name})
        expires = row.expires_at.isoformat() if row.expires_at else "never"
        token_id = row.id
    console.print(f"token {token_id} for {name} (expires {expires}); it is shown only once:",
                  highlight=False)
    sys.stdout.write(token + "\n")


@token_app.command("revoke")
@user_errors
def token_revoke(token_id: Annotated[int, typer.Argument(help="the id token create printed")]
                 ) -> None:
    """Revoke an API token."""
    from cyclodose.service.audit import AuditWriter
    from cyclodose.service.storage import ApiToken

    _, db = open_storage()
    with db.session() as s:
        row = s.get(ApiToken, token_id)
        if row is None:
            raise CaseError.single("ID", f"no token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = now()
        AuditWriter(s, CLI_ACTOR, now).record("token.revoke", detail={"token_id": token_id})
    console.print(f"revoked token {token_id}", highlight=False)
