"""Job progress and result."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from cyclodose.service.deps import DbSession, Reader
from cyclodose.service.problems import ERROR_RESPONSES
from cyclodose.service.storage import JobRow

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], responses=ERROR_RESPONSES)


class Job(BaseModel):
    id: str
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float
    created_at: datetime
    updated_at: datetime
    error: str | None
    result: dict[str, Any] | None


def job_view(row: JobRow) -> Job:
    return Job(id=row.id, kind=row.kind, status=row.status,
               progress=row.progress, created_at=row.created_at, updated_at=row.updated_at,
               error=row.error, result=row.result)


@router.get("/{job_id}")
def job(job_id: str, principal: Reader, s: DbSession) -> Job:
    """A job's status and progress (0–1); its result once done. Only its owner sees it."""
    row = s.get(JobRow, job_id)
    if row is None or row.owner != principal.name:
        raise HTTPException(404, "no such job")
    return job_view(row)
