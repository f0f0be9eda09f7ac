"""Liveness and readiness probes (public)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from cyclodose.service.deps import get_database
from cyclodose.service.storage import Database

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    schema_revision: str | None
    expected_revision: str | None


@router.get("/healthz")
def healthz() -> Health:
    """The process is alive."""
    return Health()


@router.get("/readyz", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "database unreachable or "
                                                                "migrations not current"}})
def readyz(db: Annotated[Database, Depends(get_database)]) -> Readiness | JSONResponse:
    """The database answers and its schema is at the newest migration."""
    expected = db.head()
    try:
        current = db.current()
    except Exception:  # unreachable: the probe says so instead of failing
        current = None
    body = Readiness(status="ready" if current == expected else "not ready",
                     schema_revision=current, expected_revision=expected)
    if body.status == "ready":
        return body
    return JSONResponse(body.model_dump(), status_code=503)
