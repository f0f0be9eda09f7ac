"""Sign in and out (session cookie + CSRF token), who am I, change password."""

from __future__ import annotations

import time
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cyclodose.errors import CaseError
from cyclodose.service import auth
from cyclodose.service.audit import AuditWriter
from cyclodose.service.deps import AppSettings, Audit, Clock, DbSession, SignedInUser
from cyclodose.service.problems import ERROR_RESPONSES
from cyclodose.service.settings import Settings
from cyclodose.service.storage import SessionRow, User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=ERROR_RESPONSES)


class LoginRequest(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    name: str
    role: auth.Role
    must_change_password: bool
    csrf_token: str | None = Field(
        default=None, description="send as X-CSRF-Token (or form field csrf_token) on every "
        "cookie-authenticated POST/PATCH")


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


@router.post("/login")
def login(body: LoginRequest, request: Request, response: Response, s: DbSession,
          clock: Clock, settings: AppSettings) -> Me:
    """Open a browser session: sets an HttpOnly SameSite cookie, returns the CSRF token.
    Failed logins slow down; after several the account is locked for a while."""
    now = clock()
    audit = AuditWriter(s, None, clock)  # no caller yet: a stale cookie must not stop a login
    outcome = auth.login(s, body.name, body.password, now, settings)
    if outcome.user is None or outcome.reason is not None:
        audit.actor = body.name if outcome.user is not None else None
        audit.record("login.failed", detail={"name": body.name[:64], "reason": outcome.reason})
        s.commit()  # the failure counts even though the request fails
        time.sleep(outcome.delay_s)
        raise HTTPException(401, outcome.reason or "login failed")
    user = outcome.user
    csrf = start_session(s, request, response, user, now, settings)
    audit.actor = user.name
    audit.record("login", detail={"via": "password"})
    return Me(name=user.name, role=user.role, must_change_password=user.must_change_password,
              csrf_token=csrf)


def start_session(s: Session, request: Request, response: Response, user: User,
                  now: datetime, settings: Settings) -> str:
    """Open a browser session for `user` on `response` (for any sign-in route, the pages'
    login form included); returns the session's CSRF token. A session id the client already
    had is revoked, never promoted (no session fixation)."""
    old = request.cookies.get(auth.SESSION_COOKIE)
    if old:
        row = s.get(SessionRow, auth.secret_hash(old))
        if row is not None and row.revoked_at is None:
            row.revoked_at = now
    sid, session_row = auth.open_session(s, user, now, settings)
    response.set_cookie(auth.SESSION_COOKIE, sid, httponly=True, samesite="lax",
                        secure=settings.secure_cookies, path="/",
                        max_age=int(settings.session_hours * 3600))
    return session_row.csrf_token


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response, principal: SignedInUser, s: DbSession,
           audit: Audit, clock: Clock) -> None:
    """End this browser session."""
    sid = request.cookies.get(auth.SESSION_COOKIE)
    if sid:
        row = s.get(SessionRow, auth.secret_hash(sid))
        if row is not None:
            row.revoked_at = clock()
    audit.record("logout")
    response.delete_cookie(auth.SESSION_COOKIE, path="/")


@router.get("/me")
def me(principal: SignedInUser) -> Me:
    """The signed-in user; `must_change_password` tells the pages to ask for a new one."""
    return Me(name=principal.name, role=principal.role,
              must_change_password=principal.must_change_password,
              csrf_token=principal.csrf_token)


@router.post("/password")
def change_password(body: PasswordChange, principal: SignedInUser, s: DbSession, audit: Audit
                    ) -> Me:
    """Change the signed-in user's password (required after a one-time password)."""
    user = s.get(User, principal.user_id)
    assert user is not None
    if not auth.check_password(user.password_hash, body.current_password):
        raise HTTPException(403, "the current password is wrong")
    why = auth.password_problem(body.new_password, user.name)
    if why is None and body.new_password == body.current_password:
        why = "the new password must differ from the current one"
    if why is not None:
        raise CaseError.single("new_password", why)
    user.password_hash = auth.hash_password(body.new_password)
    user.must_change_password = False
    audit.record("password.change")
    return Me(name=user.name, role=user.role, must_change_password=False,
              csrf_token=principal.csrf_token)
