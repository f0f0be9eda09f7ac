"""Patient records: create, read, correct (never overwrite), doses, levels, assessments.

Every route needs a signed-in user with the right role, and every read is audited.
Changes need `If-Match` with the record's `ETag` when editing the record itself; adding a
dose or level accepts it too. A stale ETag gets 412; a write that lost a race gets 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Response
from pydantic import BaseModel
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cyclodose import workflows
from cyclodose.intake.case import CaseDocument, LevelIn, parse_case
from cyclodose.service import records
from cyclodose.service.audit import AuditWriter, digest
from cyclodose.service.clock_zone import from_wall, to_utc
from cyclodose.service.deps import AppSettings, Audit, Clock, DbSession, Reader, Writer
from cyclodose.service.pagination import Page, Paging
from cyclodose.service.problems import ERROR_RESPONSES
from cyclodose.service.records import (
    CaseFields,
    DoseEntry,
    DoseRecord,
    EnteredInError,
    LevelRecord,
    PatientCreate,
    PatientPatch,
    PatientRecord,
    PatientSummary,
)
from cyclodose.service.settings import Settings
from cyclodose.service.storage import AssessmentRow, EntryRow, PatientRevision, PatientRow
from cyclodose.service.versions import versions
from cyclodose.workflows.assessment import Assessment

router = APIRouter(prefix="/api/v1/patients", tags=["patients"], responses=ERROR_RESPONSES)

PatientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
EntryId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=100)]


class StoredAssessment(BaseModel):
    id: int
    patient_id: int
    patient_version: int
    created_at: datetime
    created_by: str
    versions: dict[str, Any]
    input: CaseDocument
    assessment: Assessment


def etag(p: PatientRow) -> str:
    return f'"p{p.id}v{p.version}"'


def _patient(s: Session, patient_id: int) -> PatientRow:
    row = s.get(PatientRow, patient_id)
    if row is None:
        raise HTTPException(404, "no such patient")
    return row


def _check_etag(p: PatientRow, if_match: str | None, *, required: bool) -> None:
    if if_match is None:
        if required:
            raise HTTPException(428, "send If-Match with the record's ETag")
        return
    sent = [t.strip().removeprefix("W/") for t in if_match.split(",")]
    if "*" not in sent and etag(p) not in sent:
        raise HTTPException(412, "the record changed since you read it; read it again")


def _bump(s: Session, p: PatientRow, now: datetime, who: str) -> None:
    """Move to the next version only if nobody else did first (409 otherwise)."""
    done = s.execute(update(PatientRow)
                     .where(PatientRow.id == p.id, PatientRow.version == p.version)
                     .values(version=p.version + 1, updated_at=now, updated_by=who))
    if getattr(done, "rowcount", 0) != 1:
        raise HTTPException(409, "another change to this record was saved first; read it again")
    s.refresh(p)


def _entries(s: Session, patient_id: int) -> list[EntryRow]:
    return list(s.scalars(select(EntryRow).where(EntryRow.patient_id == patient_id)
                          .order_by(EntryRow.id)))


def _case(p: PatientRow, entries: list[EntryRow], settings: Settings,
          fields: CaseFields | None = None) -> CaseDocument:
    active = [e for e in entries if not e.in_error]
    return records.case_document(
        fields or CaseFields.model_validate(p.record),
        [records.dose_of(e) for e in active if e.kind == "dose"],
        [records.level_of(e) for e in active if e.kind == "level"], settings.zone)


def _validate(doc: CaseDocument) -> None:
    """The core decides what a usable record is; nothing unusable is stored."""
    parse_case(doc)


def _full(s: Session, p: PatientRow, response: Response, settings: Settings) -> PatientRecord:
    revisions = list(s.scalars(select(PatientRevision)
                               .where(PatientRevision.patient_id == p.id)
                               .order_by(PatientRevision.id)))
    response.headers["ETag"] = etag(p)
    return records.record(p, _entries(s, p.id), revisions, settings.zone)


@router.post("", status_code=201)
def create_patient(body: PatientCreate, response: Response, principal: Writer, s: DbSession,
                   audit: Audit, clock: Clock, settings: AppSettings) -> PatientRecord:
    """A new patient record (201, with Location and ETag)."""
    fields = to_utc(CaseFields.model_validate(records.case_fields(body)), settings.zone)
    _validate(records.case_document(fields, [], [], settings.zone))
    if s.scalar(select(PatientRow.id).where(PatientRow.mrn == body.mrn)) is not None:
        raise HTTPException(409, "a patient with this MRN exists")
    now = clock()
    p = PatientRow(mrn=body.mrn, name=body.name, name_folded=body.name.casefold(),
                   record=fields.model_dump(mode="json"), version=1, created_at=now,
                   created_by=principal.name, updated_at=now, updated_by=principal.name)
    s.add(p)
    try:
        s.flush()
    except IntegrityError:
        raise HTTPException(409, "a patient with this MRN exists") from None
    audit.record("patient.create", patient_id=p.id, input=body.model_dump(mode="json"))
    response.headers["Location"] = f"/api/v1/patients/{p.id}"
    return _full(s, p, response, settings)


@router.get("")
def search_patients(principal: Reader, s: DbSession, audit: Audit, page: Paging,
                    settings: AppSettings,
                    q: Annotated[str, Query(max_length=200,
                                            description="MRN (start) or name (any part)")] = ""
                    ) -> Page[PatientSummary]:
    """Search by MRN or name; an empty query lists every record (paginated)."""
    stmt = select(PatientRow)
    if q.strip():
        def literal(text: str) -> str:  # the user's % and _ are characters, not wildcards
            return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

        stmt = stmt.where(or_(
            PatientRow.mrn.like(f"{literal(q.strip())}%", escape="\\"),
            PatientRow.name_folded.like(f"%{literal(q.strip().casefold())}%", escape="\\")))
    total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(s.scalars(stmt.order_by(PatientRow.name_folded, PatientRow.id)
                          .limit(page.limit).offset(page.offset)))
    audit.record("patient.search", detail={"q": q, "found": [r.id for r in rows]})
    return Page[PatientSummary](items=[records.summary(r, settings.zone) for r in rows],
                                total=total, limit=page.limit, offset=page.offset)


@router.get("/{patient_id}")
def read_patient(patient_id: PatientId, response: Response, principal: Reader, s: DbSession,
                 audit: Audit, settings: AppSettings) -> PatientRecord:
    """The record with its doses, levels (entered-in-error ones marked) and corrections."""
    p = _patient(s, patient_id)
    audit.record("patient.read", patient_id=p.id, detail={"version": p.version})
    return _full(s, p, response, settings)


@router.patch("/{patient_id}", responses={428: {"description": "If-Match missing"}})
def correct_patient(patient_id: PatientId, body: PatientPatch, response: Response,
                    principal: Writer, s: DbSession, audit: Audit, clock: Clock,
                    settings: AppSettings, if_match: IfMatch = None) -> PatientRecord:
    """Correct the record: the old value is kept with who, when and why (`reason`)."""
    p = _patient(s, patient_id)
    _check_etag(p, if_match, required=True)
    old = CaseFields.model_validate(p.record)
    given = body.model_dump(exclude_unset=True, exclude={"reason"})
    if not given:
        from cyclodose.errors import CaseError

        raise CaseError.single("body", "nothing to correct: give at least one field")
    new_fields = to_utc(CaseFields.model_validate(
        {**old.model_dump(), **{k: v for k, v in body.model_dump().items()
                                if k in given and k not in ("mrn", "name")}}), settings.zone)
    _validate(_case(p, _entries(s, p.id), settings, new_fields))
    if body.mrn is not None and body.mrn != p.mrn and s.scalar(
            select(PatientRow.id).where(PatientRow.mrn == body.mrn)) is not None:
        raise HTTPException(409, "a patient with this MRN exists")
    now = clock()
    s.add(PatientRevision(patient_id=p.id, version=p.version, mrn=p.mrn, name=p.name,
                          record=p.record, replaced_at=now, replaced_by=principal.name,
                          reason=body.reason))
    _bump(s, p, now, principal.name)
    p.record = new_fields.model_dump(mode="json")
    if body.mrn is not None:
        p.mrn = body.mrn
    if body.name is not None:
        p.name, p.name_folded = body.name, body.name.casefold()
    s.flush()
    audit.record("patient.correct", patient_id=p.id,
                 detail={"fields": sorted(given), "reason": body.reason,
                         "version": p.version}, input=body.model_dump(mode="json"))
    return _full(s, p, response, settings)


def _add_entry(kind: str, data: DoseEntry | LevelIn, patient_id: int, response: Response,
               principal: Any, s: Session, audit: AuditWriter, clock: Any, settings: Settings,
               if_match: str | None) -> EntryRow:
    p = _patient(s, patient_id)
    _check_etag(p, if_match, required=False)
    stored = to_utc(data, settings.zone)
    now = clock()
    row = EntryRow(patient_id=p.id, kind=kind, data=stored.model_dump(mode="json"),
                   entered_at=now, entered_by=principal.name, version=1, in_error=False)
    s.add(row)
    s.flush()
    _validate(_case(p, _entries(s, p.id), settings))
    _bump(s, p, now, principal.name)
    audit.record(f"{kind}.add", patient_id=p.id, detail={"entry_id": row.id},
                 input=row.data)
    response.headers["ETag"] = etag(p)
    response.headers["Location"] = f"/api/v1/patients/{p.id}/{kind}s/{row.id}"
    return row


@router.post("/{patient_id}/doses", status_code=201)
def add_dose(patient_id: PatientId, body: DoseEntry, response: Response, principal: Writer,
             s: DbSession, audit: Audit, clock: Clock, settings: AppSettings,
             if_match: IfMatch = None) -> DoseRecord:
    """A dose given (`time`, `amount_mg`) or a repeating regimen, as in the Case document."""
    row = _add_entry("dose", body, patient_id, response, principal, s, audit, clock,
                     settings, if_match)
    return records.record(_patient(s, patient_id), [row], [], settings.zone).doses[0]


@router.post("/{patient_id}/levels", status_code=201)
def add_level(patient_id: PatientId, body: LevelIn, response: Response, principal: Writer,
              s: DbSession, audit: Audit, clock: Clock, settings: AppSettings,
              if_match: IfMatch = None) -> LevelRecord:
    """A measured level, as in the Case document (needs a dose history)."""
    row = _add_entry("level", body, patient_id, response, principal, s, audit, clock,
                     settings, if_match)
    return records.record(_patient(s, patient_id), [row], [], settings.zone).levels[0]


def _mark_error(kind: str, patient_id: int, entry_id: int, body: EnteredInError,
                response: Response, principal: Any, s: Session, audit: AuditWriter,
                clock: Any, settings: Settings, if_match: str | None) -> PatientRecord:
    p = _patient(s, patient_id)
    _check_etag(p, if_match, required=False)
    row = s.get(EntryRow, entry_id)
    if row is None or row.patient_id != p.id or row.kind != kind:
        raise HTTPException(404, f"no such {kind}")
    if row.in_error:
        raise HTTPException(409, f"this {kind} is already marked entered-in-error")
    now = clock()
    row.in_error, row.error_reason, row.error_at, row.error_by = (
        True, body.reason, now, principal.name)
    s.flush()
    _validate(_case(p, _entries(s, p.id), settings))
    _bump(s, p, now, principal.name)
    audit.record(f"{kind}.entered_in_error", patient_id=p.id,
                 detail={"entry_id": row.id, "reason": body.reason})
    return _full(s, p, response, settings)


@router.post("/{patient_id}/doses/{entry_id}/entered-in-error")
def dose_in_error(patient_id: PatientId, entry_id: EntryId, body: EnteredInError,
                  response: Response, principal: Writer, s: DbSession, audit: Audit,
                  clock: Clock, settings: AppSettings, if_match: IfMatch = None
                  ) -> PatientRecord:
    """Mark a dose entered-in-error: it stays visible, and drops out of calculations."""
    return _mark_error("dose", patient_id, entry_id, body, response, principal, s, audit,
                       clock, settings, if_match)


@router.post("/{patient_id}/levels/{entry_id}/entered-in-error")
def level_in_error(patient_id: PatientId, entry_id: EntryId, body: EnteredInError,
                   response: Response, principal: Writer, s: DbSession, audit: Audit,
                   clock: Clock, settings: AppSettings, if_match: IfMatch = None
                   ) -> PatientRecord:
    """Mark a level entered-in-error: it stays visible, and drops out of calculations."""
    return _mark_error("level", patient_id, entry_id, body, response, principal, s, audit,
                       clock, settings, if_match)


def _stored(row: AssessmentRow, settings: Settings) -> StoredAssessment:
    return StoredAssessment(
        id=row.id, patient_id=row.patient_id, patient_version=row.patient_version,
        created_at=row.created_at.astimezone(settings.zone), created_by=row.created_by,
        versions=row.versions, input=from_wall(CaseDocument.model_validate(row.input),
                                               settings.zone),
        assessment=Assessment.model_validate(row.output))


@router.get("/{patient_id}/assessment")
def assess_patient(patient_id: PatientId, principal: Reader, s: DbSession, audit: Audit,
                   clock: Clock, settings: AppSettings) -> StoredAssessment:
    """Assess the stored record now; the result is stored with its input and versions."""
    p = _patient(s, patient_id)
    doc = _case(p, _entries(s, p.id), settings)
    version = p.version
    s.commit()  # the input is read: compute without holding the database's write lock
    result = workflows.assess(parse_case(doc))
    doc_json, out_json = doc.model_dump(mode="json"), result.model_dump(mode="json")
    row = AssessmentRow(patient_id=p.id, created_at=clock(), created_by=principal.name,
                        patient_version=version, input=doc_json, output=out_json,
                        input_hash=digest(doc_json), output_hash=digest(out_json),
                        versions=versions())
    s.add(row)
    s.flush()
    audit.record("assessment.create", patient_id=p.id,
                 detail={"assessment_id": row.id, "patient_version": version,
                         "stored_in": "assessments"}, input=doc_json, output=out_json)
    return _stored(row, settings)


@router.get("/{patient_id}/assessments")
def assessment_history(patient_id: PatientId, principal: Reader, s: DbSession, audit: Audit,
                       page: Paging, settings: AppSettings) -> Page[StoredAssessment]:
    """Stored assessments, newest first."""
    p = _patient(s, patient_id)
    q = select(AssessmentRow).where(AssessmentRow.patient_id == p.id)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = s.scalars(q.order_by(AssessmentRow.id.desc()).limit(page.limit).offset(page.offset))
    items = [_stored(r, settings) for r in rows]
    audit.record("assessment.read", patient_id=p.id, detail={"ids": [i.id for i in items]})
    return Page[StoredAssessment](items=items, total=total, limit=page.limit,
                                  offset=page.offset)
