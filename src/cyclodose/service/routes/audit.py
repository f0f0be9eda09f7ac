"""The audit trail for administrators, filterable by patient, user and time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import func, select

from cyclodose.service.deps import Admin, AppSettings, DbSession
from cyclodose.service.pagination import Page, Paging
from cyclodose.service.problems import ERROR_RESPONSES
from cyclodose.service.storage import AuditEntry

router = APIRouter(prefix="/api/v1", tags=["audit"], responses=ERROR_RESPONSES)


class AuditItem(BaseModel):
    seq: int
    at: datetime
    actor: str | None
    action: str
    patient_id: int | None
    detail: dict[str, Any]
    input_hash: str | None
    output_hash: str | None
    versions: dict[str, Any]
    prev_hash: str
    hash: str


@router.get("/audit")
def audit_log(principal: Admin, s: DbSession, page: Paging, settings: AppSettings,
              patient_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
              user: Annotated[str | None, Query(max_length=64)] = None,
              since: Annotated[AwareDatetime | None, Query()] = None,
              until: Annotated[AwareDatetime | None, Query()] = None) -> Page[AuditItem]:
    """Entries newest first; times shown in the clinic's time zone."""
    q = select(AuditEntry)
    if patient_id is not None:
        q = q.where(AuditEntry.patient_id == patient_id)
    if user is not None:
        q = q.where(AuditEntry.actor == user)
    if since is not None:
        q = q.where(AuditEntry.at >= since)
    if until is not None:
        q = q.where(AuditEntry.at < until)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = s.scalars(q.order_by(AuditEntry.seq.desc()).limit(page.limit).offset(page.offset))
    items = [AuditItem(seq=r.seq, at=r.at.astimezone(settings.zone), actor=r.actor,
                       action=r.action, patient_id=r.patient_id, detail=r.detail,
                       input_hash=r.input_hash, output_hash=r.output_hash, versions=r.versions,
                       prev_hash=r.prev_hash, hash=r.hash) for r in rows]
    return Page[AuditItem](items=items, total=total, limit=page.limit, offset=page.offset)
