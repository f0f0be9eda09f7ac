"""/admin: users, roles and API tokens; the audit trail with its verification status.
The same operations as `cyclodose user|token …`, audited the same way."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from cyclodose.service import auth
from cyclodose.service.audit import verify
from cyclodose.service.deps import AppSettings, Audit, Clock, DbSession, Principal
from cyclodose.service.pages.render import page
from cyclodose.service.pages.session import role_page_user
from cyclodose.service.storage import ApiToken, AuditEntry, User

router = APIRouter(prefix="/admin")
Admin = Annotated[Principal, Depends(role_page_user(*auth.ADMIN_ROLES))]


def _view(request: Request, s: Any, settings: Any, *, status_code: int = 200,
          errors: dict[str, str] | None = None, new_token: str | None = None,
          notice: str | None = None) -> HTMLResponse:
    users = list(s.scalars(select(User).order_by(User.name)))
    names = {u.id: u.name for u in users}
    tokens = [{"id": t.id, "user": names.get(t.user_id, "?"),
               "created": t.created_at.astimezone(settings.zone),
               "expires": t.expires_at.astimezone(settings.zone) if t.expires_at else None,
               "revoked": t.revoked_at.astimezone(settings.zone) if t.revoked_at else None}
              for t in s.scalars(select(ApiToken).order_by(ApiToken.id.desc()))]
    trail = [{"seq": e.seq, "at": e.at.astimezone(settings.zone), "actor": e.actor,
              "action": e.action, "patient_id": e.patient_id, "detail": e.detail}
             for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(100))]
    check = verify(s)
    return page(request, "admin.html", status_code=status_code, active="admin", users=users,
                tokens=tokens, trail=trail, check=check, roles=auth.ROLES,
                errors=errors or {}, new_token=new_token, notice=notice)


@router.get("", response_class=HTMLResponse)
def admin_page(request: Request, user: Admin, s: DbSession, settings: AppSettings
               ) -> HTMLResponse:
    return _view(request, s, settings)


@router.post("/users", response_class=HTMLResponse)
def create_user(request: Request, user: Admin, s: DbSession, audit: Audit, clock: Clock,
                settings: AppSettings, name: Annotated[str, Form()] = "",
                role: Annotated[str, Form()] = "", password: Annotated[str, Form()] = ""
                ) -> Response:
    """A new user with a one-time password they must change at first sign-in."""
    errors: dict[str, str] = {}
    if not (1 <= len(name) <= 64) or not name.isprintable() or name.strip() != name:
        errors["new.name"] = "a name needs 1–64 printable characters, no outer spaces"
    elif auth.user_by_name(s, name) is not None:
        errors["new.name"] = f"user {name!r} exists"
    if role not in auth.ROLES:
        errors["new.role"] = f"unknown role {role!r}; roles: {', '.join(auth.ROLES)}"
    if why := auth.password_problem(password, name):
        errors["new.password"] = why
    if errors:
        return _view(request, s, settings, status_code=422, errors=errors)
    auth.create_user(s, name, role, password, clock(), must_change_password=True)  # type: ignore[arg-type]
    audit.record("user.create", detail={"name": name, "role": role})
    return RedirectResponse("/admin#users", status_code=303)


@router.post("/users/{user_id}/disable", response_class=HTMLResponse)
def disable_user(request: Request, user_id: int, user: Admin, s: DbSession, audit: Audit
                 ) -> Response:
    target = s.get(User, user_id)
    if target is not None and target.id != user.user_id:
        target.disabled = True
        audit.record("user.disable", detail={"name": target.name})
    return RedirectResponse("/admin#users", status_code=303)


@router.post("/tokens", response_class=HTMLResponse)
def create_token(request: Request, user: Admin, s: DbSession, audit: Audit, clock: Clock,
                 settings: AppSettings, name: Annotated[str, Form()] = "",
                 expires_days: Annotated[str, Form()] = "") -> Response:
    target = auth.user_by_name(s, name)
    days: float | None = None
    errors: dict[str, str] = {}
    if target is None or target.disabled:
        errors["token.name"] = f"no active user {name!r}"
    try:
        days = float(expires_days) if expires_days.strip() else None
        if days is not None and not 0.001 <= days <= 3650:
            raise ValueError
    except ValueError:
        errors["token.expires_days"] = "days must be a number from 0.001 to 3650, or empty"
    if errors or target is None:
        return _view(request, s, settings, status_code=422, errors=errors)
    token, row = auth.create_token(s, target, clock(), days)
    audit.record("token.create", detail={"token_id": row.id, "user": name})
    s.flush()
    return _view(request, s, settings, new_token=token,
                 notice=f"Token {row.id} for {name}: copy it now, it is shown only once.")


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(token_id: int, user: Admin, s: DbSession, audit: Audit, clock: Clock
                 ) -> Response:
    row = s.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock()
        audit.record("token.revoke", detail={"token_id": token_id})
    return RedirectResponse("/admin#tokens", status_code=303)
