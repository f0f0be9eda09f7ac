"""Errors mapped once: every error body is a `ProblemDetails`; never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from cyclodose.errors import CaseError

log = logging.getLogger("cyclodose.service")

_TITLES = {400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 409: "Conflict", 412: "Precondition failed",
           413: "Request body too large", 415: "Unsupported media type",
           422: "Invalid input", 428: "Precondition required", 500: "Internal error"}


class FieldProblem(BaseModel):
    field: str
    reason: str


class ProblemDetails(BaseModel):
    """The body of every error response (after RFC 9457)."""

    status: int
    title: str
    detail: str
    problems: list[FieldProblem] = []


# Declared on every route so the OpenAPI document describes the error bodies too.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ProblemDetails, "description": _TITLES[code]}
    for code in (401, 403, 404, 409, 412, 413, 422)
}


def problem(status: int, detail: str, problems: list[FieldProblem] | None = None,
            headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = ProblemDetails(status=status, title=_TITLES.get(status, "Error"), detail=detail,
                          problems=problems or [])
    return JSONResponse(body.model_dump(), status_code=status,
                        headers=dict(headers) if headers else None)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] if parts[0] == "body" else parts
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(CaseError)
    async def _case_error(_: Request, exc: CaseError) -> JSONResponse:
        probs = [FieldProblem(field=p.field, reason=p.reason) for p in exc.problems]
        return problem(422, str(exc), probs)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        probs = [FieldProblem(field=_field(tuple(e.get("loc", ()))),
                              reason=str(e.get("msg", "invalid")).removeprefix("Value error, "))
                 for e in exc.errors()]
        return problem(422, "; ".join(f"{p.field}: {p.reason}" for p in probs), probs)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc,
                  extra={"request_id": request.scope.get("request_id")})
        return problem(500, "internal error; the request id in the logs identifies it")
