"""Who is looking at a page: the service's own session and CSRF checks, with a redirect to
/login (or to the forced password change) instead of a 401 for a person in a browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request

from cyclodose.service.deps import OptionalUser, Principal, SignedInUser

PageUser = Principal


def _redirect(request: Request, to: str) -> HTTPException:
    # htmx follows a 303 inside the XHR; HX-Redirect makes it load the page instead.
    headers = {"Location": to}
    if request.headers.get("HX-Request") == "true":
        headers["HX-Redirect"] = to
    return HTTPException(303, "sign in first", headers=headers)


def _remember(request: Request, principal: Principal) -> Principal:
    request.state.page_user = principal
    request.state.page_csrf = principal.csrf_token or ""
    return principal


def page_user(request: Request, principal: OptionalUser) -> Principal:
    """A signed-in user who has no one-time password left to change."""
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise _redirect(request, "/login?next=" + quote(target, safe=""))
    if principal.must_change_password:
        raise _redirect(request, "/password")
    return _remember(request, principal)


def signed_in_page_user(request: Request, principal: OptionalUser) -> Principal:
    """Signed in, even with a one-time password still to change (the password page)."""
    if principal is None:
        raise _redirect(request, "/login")
    return _remember(request, principal)


def role_page_user(*roles: str) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(page_user)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"this page needs the role {' or '.join(roles)}")
        return principal

    return check


__all__ = ["PageUser", "SignedInUser", "page_user", "role_page_user", "signed_in_page_user"]
