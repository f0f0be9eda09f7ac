"""Annotated dependencies for routes: database session, clock, current user, roles, audit.

    @router.get("/thing")
    def thing(s: DbSession, user: CurrentUser, audit: Audit) -> Thing: ...

    @router.post("/thing", dependencies=[Depends(require_role(*WRITE_ROLES))])

The session commits when the route returns (before the response is sent, so a 2xx means
the write is stored) and rolls back if it raises.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from cyclodose.service import auth
from cyclodose.service.audit import AuditWriter
from cyclodose.service.settings import Settings
from cyclodose.service.storage import Database

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# The three below only read app.state: `async` so that FastAPI calls them on the event loop
# instead of sending each to the thread pool (a hand-off per dependency per request).
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_clock(request: Request) -> Callable[[], datetime]:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock


async def db_session(db: Annotated[Database, Depends(get_database)]
                     ) -> AsyncIterator[Session]:
    """Async on purpose: the commit runs on the event loop right after the route returns. A
    sync teardown would wait for a free worker thread while holding SQLite's write lock, and
    the threads could all be waiting for that lock (a deadlock until the busy timeout).
    Committing a transaction that already holds the lock never waits, so this is brief."""
    s = db.new_session()
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise
    finally:
        s.close()


AppSettings = Annotated[Settings, Depends(get_settings)]
Clock = Annotated[Callable[[], datetime], Depends(get_clock)]
DbSession = Annotated[Session, Depends(db_session, scope="function")]


@dataclass(frozen=True)
class Principal:
    user_id: int
    name: str
    role: auth.Role
    via: Literal["token", "session"]
    must_change_password: bool
    csrf_token: str | None = None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authenticate(request: Request, s: DbSession, clock: Clock) -> Principal | None:
    """The caller, from a bearer token or a session cookie, or None."""
    now = clock()
    token = _bearer(request)
    if token is not None:
        user = auth.user_for_token(s, token, now)
        if user is None:
            raise HTTPException(401, "invalid, expired or revoked token",
                                headers={"WWW-Authenticate": "Bearer"})
        principal = Principal(user.id, user.name, user.role, "token",  # type: ignore[arg-type]
                              user.must_change_password)
    else:
        sid = request.cookies.get(auth.SESSION_COOKIE)
        row = auth.session_for(s, sid, now) if sid else None
        user = s.get(auth.User, row.user_id) if row else None
        if row is None or user is None or user.disabled:
            s.commit()
            return None
        principal = Principal(user.id, user.name, user.role, "session",  # type: ignore[arg-type]
                              user.must_change_password, row.csrf_token)
    request.scope["cyclodose_user"] = principal.name  # for the access log
    s.commit()  # end this read: no lock is held while the route computes
    return principal


async def csrf_checked(request: Request,
                       principal: Annotated[Principal | None, Depends(authenticate)]
                       ) -> Principal | None:
    """A cookie-authenticated unsafe request must carry the session's CSRF token, in the
    X-CSRF-Token header (htmx, fetch) or a csrf_token form field (plain forms)."""
    if principal is None or principal.via != "session" or request.method not in UNSAFE_METHODS:
        return principal
    sent = request.headers.get(auth.CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(auth.CSRF_FORM_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not principal.csrf_token or not auth.same(sent, principal.csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token")
    return principal


def _signed_in(principal: Annotated[Principal | None, Depends(csrf_checked)]) -> Principal:
    if principal is None:
        raise HTTPException(401, "sign in or send Authorization: Bearer <token>",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


def _current(principal: Annotated[Principal, Depends(_signed_in)]) -> Principal:
    if principal.must_change_password:
        raise HTTPException(403, "change the one-time password first (POST /api/v1/auth/password)")
    return principal


# Any signed-in user, even one who still has to change a one-time password.
SignedInUser = Annotated[Principal, Depends(_signed_in)]
CurrentUser = Annotated[Principal, Depends(_current)]
OptionalUser = Annotated[Principal | None, Depends(csrf_checked)]


def require_role(*roles: auth.Role) -> Callable[[Principal], Principal]:
    """`Depends(require_role("admin"))`: 403 for any other role."""

    def check(principal: CurrentUser) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"this needs the role {' or '.join(roles)}")
        return principal

    return check


Reader = Annotated[Principal, Depends(require_role(*auth.READ_ROLES))]
Writer = Annotated[Principal, Depends(require_role(*auth.WRITE_ROLES))]
Admin = Annotated[Principal, Depends(require_role(*auth.ADMIN_ROLES))]


def audit_writer(s: DbSession, clock: Clock,
                 principal: Annotated[Principal | None, Depends(csrf_checked)]) -> AuditWriter:
    return AuditWriter(s, principal.name if principal else None, clock)


Audit = Annotated[AuditWriter, Depends(audit_writer)]


def knowledge_access(settings: AppSettings, principal: OptionalUser) -> None:
    """The drug search and model list are public unless CYCLODOSE_PUBLIC_KNOWLEDGE=false."""
    if not settings.public_knowledge and principal is None:
        raise HTTPException(401, "sign in to use the knowledge base",
                            headers={"WWW-Authenticate": "Bearer"})


def docs_access(settings: AppSettings, principal: OptionalUser) -> None:
    if not settings.public_docs and principal is None:
        raise HTTPException(401, "sign in to read the API documentation",
                            headers={"WWW-Authenticate": "Bearer"})
