"""/login, /logout and the forced first-login password change: HTML forms over the
service's own auth routes (the same lockout, slow-down, session and audit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from cyclodose.errors import CaseError
from cyclodose.service.deps import AppSettings, Audit, Clock, DbSession, Principal
from cyclodose.service.pages.render import page
from cyclodose.service.pages.session import signed_in_page_user
from cyclodose.service.routes import auth as auth_routes

router = APIRouter()


def _safe_next(value: str | None) -> str:
    # Only a path on this server: never "//evil.example" or "https://…" (open redirect).
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


def _with_cookies(to: str, source: Response) -> RedirectResponse:
    out = RedirectResponse(to, status_code=303)
    for name, value in source.raw_headers:
        if name == b"set-cookie":
            out.raw_headers.append((name, value))
    return out


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return page(request, "login.html", next=_safe_next(next), error=None, name="")


@router.post("/login", response_class=HTMLResponse)
def login_submit(request: Request, s: DbSession, clock: Clock, settings: AppSettings,
                 name: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                 next: Annotated[str, Form()] = "/") -> Response:
    # A plain def: the auth route sleeps after a failure, which must not block the loop.
    name, target = name.strip(), _safe_next(next)
    cookies = Response()
    try:
        body = auth_routes.LoginRequest(name=name, password=password)
        me = auth_routes.login(body, request, cookies, s, clock, settings)
    except (ValidationError, HTTPException) as exc:
        reason = (exc.detail if isinstance(exc, HTTPException)
                  else "enter your user name and password")
        return page(request, "login.html", status_code=401, next=target, error=reason,
                    name=name)
    return _with_cookies("/password" if me.must_change_password else target, cookies)


@router.post("/logout")
def logout_submit(request: Request, s: DbSession, audit: Audit, clock: Clock,
                  principal: Annotated[Principal, Depends(signed_in_page_user)]) -> Response:
    cookies = Response()
    auth_routes.logout(request, cookies, principal, s, audit, clock)
    return _with_cookies("/login", cookies)


@router.get("/password", response_class=HTMLResponse)
def password_form(request: Request,
                  principal: Annotated[Principal, Depends(signed_in_page_user)]) -> HTMLResponse:
    return page(request, "password.html", errors={}, forced=principal.must_change_password)


@router.post("/password", response_class=HTMLResponse)
async def password_submit(request: Request, s: DbSession, audit: Audit,
                          principal: Annotated[Principal, Depends(signed_in_page_user)]
                          ) -> Response:
    form = await request.form()
    current, new = str(form.get("current_password", "")), str(form.get("new_password", ""))
    errors: dict[str, str] = {}
    if new != str(form.get("confirm_password", "")):
        errors["confirm_password"] = "the two new passwords differ"
    else:
        try:
            body = auth_routes.PasswordChange(current_password=current, new_password=new)
            auth_routes.change_password(body, principal, s, audit)
        except ValidationError:
            errors["current_password"] = "enter the current and the new password"
        except HTTPException as exc:
            errors["current_password"] = str(exc.detail)
        except CaseError as exc:
            errors.update({p.field: p.reason for p in exc.problems})
    if errors:
        s.rollback()
        return page(request, "password.html", status_code=422, errors=errors,
                    forced=principal.must_change_password)
    return RedirectResponse("/", status_code=303)
