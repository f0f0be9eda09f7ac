"""/ (patient search, recent assessments) and /patients/…: the record, its doses and levels,
the stored assessment with the TDM fit, the consult report, the history.

Every change goes through the API's own route functions (same validation, versions, audit);
these routes only translate forms to their request models and back.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from cyclodose.errors import CaseError, Problem
from cyclodose.intake.case import DoseIn, LevelIn, RegimenIn
from cyclodose.service import auth
from cyclodose.service.deps import AppSettings, Audit, Clock, DbSession, Principal
from cyclodose.service.pages import casedoc, vocab
from cyclodose.service.pages.forms import text, validated
from cyclodose.service.pages.plotdata import field, fit_plot
from cyclodose.service.pages.render import page
from cyclodose.service.pages.session import page_user, role_page_user
from cyclodose.service.pagination import PageParams
from cyclodose.service.records import EnteredInError, PatientCreate, PatientPatch
from cyclodose.service.routes import patients as api
from cyclodose.service.storage import AssessmentRow, AuditEntry, PatientRow

router = APIRouter()
Reader = Annotated[Principal, Depends(page_user)]
Writer = Annotated[Principal, Depends(role_page_user(*auth.WRITE_ROLES))]
KINDS = ("dose", "level")


def _first(items: list[Any]) -> Any:
    return items[0] if items else None


# ---- home -----------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: Reader, s: DbSession, audit: Audit, settings: AppSettings,
         q: str = "") -> HTMLResponse:
    found = api.search_patients(user, s, audit, PageParams(limit=50, offset=0), settings,
                                q[:200]) if q.strip() else None
    rows = s.execute(select(AssessmentRow, PatientRow).join(
        PatientRow, PatientRow.id == AssessmentRow.patient_id)
        .order_by(AssessmentRow.id.desc()).limit(10)).all()
    recent = [{"id": a.id, "at": a.created_at.astimezone(settings.zone), "by": a.created_by,
               "patient_id": p.id, "mrn": p.mrn, "name": p.name} for a, p in rows]
    if recent:
        audit.record("assessment.list", detail={"ids": [r["id"] for r in recent]})
    return page(request, "home.html", active="home", q=q, found=found, recent=recent,
                can_write=user.role in auth.WRITE_ROLES)


# ---- a new patient --------------------------------------------------------------------------

@router.get("/patients/new", response_class=HTMLResponse)
def new_patient_form(request: Request, user: Writer) -> HTMLResponse:
    return page(request, "patient_new.html", active="home", form={}, errors={},
                problems=[], vocabulary=vocab.suggestions(), conditions=[], comedications=[])


@router.post("/patients", response_class=HTMLResponse)
async def create_patient(request: Request, user: Writer, s: DbSession, audit: Audit,
                         clock: Clock, settings: AppSettings) -> Response:
    form = await request.form()
    doc = casedoc.case_document(form)
    body = {"mrn": text(form, "mrn"), "name": text(form, "name"), "patient": doc["patient"],
            "comedications": doc["comedications"]}
    try:
        create = validated(PatientCreate, body)
        created = api.create_patient(create, Response(), user, s, audit, clock, settings)
    except (CaseError, HTTPException) as exc:
        s.rollback()
        problems = (exc.problems if isinstance(exc, CaseError)
                    else [Problem("mrn", str(exc.detail))])
        from cyclodose.service.pages.assess import SLOTS, beside

        return page(request, "patient_new.html", status_code=422, active="home", form=form,
                    problems=problems, errors=beside(problems, (*SLOTS, "mrn", "name")),
                    vocabulary=vocab.suggestions(),
                    conditions=casedoc.entries(form, "patient.conditions"),
                    comedications=casedoc.entries(form, "comedications"))
    return RedirectResponse(f"/patients/{created.id}", status_code=303)


# ---- the record -----------------------------------------------------------------------------

def _assessment(s: Any, p: PatientRow, user: Principal, audit: Any, clock: Any,
                settings: Any) -> Any:
    """The stored assessment of this version of the record, made now if there is none."""
    latest = s.scalar(select(AssessmentRow).where(AssessmentRow.patient_id == p.id)
                      .order_by(AssessmentRow.id.desc()).limit(1))
    if latest is not None and latest.patient_version == p.version:
        audit.record("assessment.read", patient_id=p.id, detail={"ids": [latest.id]})
        return api._stored(latest, settings)
    return api.assess_patient(p.id, user, s, audit, clock, settings)


def _record_context(request: Request, user: Principal, s: Any, audit: Any, clock: Any,
                    settings: Any, patient_id: int) -> dict[str, Any]:
    rec = api.read_patient(patient_id, Response(), user, s, audit, settings)
    p = s.get(PatientRow, patient_id)
    stored = error = None
    try:
        stored = _assessment(s, p, user, audit, clock, settings)
    except CaseError as exc:
        error = exc.problems
    r: dict[str, Any] = {"problems": error or [], "curve": None, "curve_note": None,
                         "a": stored.assessment if stored else None,
                         "model_ref": None, "fit": None}
    if stored is not None:
        from cyclodose.service.pages.assess import _model_ref

        a = stored.assessment
        r["model_ref"] = _model_ref(a)
        if field(a.tdm, "predictions") is not None:  # a fit, not an unavailable section
            import cyclodose

            r["fit"] = fit_plot(a.tdm, cyclodose.parse_case(stored.input))
    return {"rec": rec, "stored": stored, "r": r, "can_write": user.role in auth.WRITE_ROLES,
            "etag": api.etag(p), "record_form": _record_form(rec),
            "vocabulary": vocab.suggestions()}


def _record_form(rec: Any) -> dict[str, str]:
    """The stored record as the correction form's fields (the same names as /assess)."""
    pt = rec.patient
    out = {f"patient.{k}": "" if getattr(pt, k) is None else str(getattr(pt, k))
           for k in casedoc.PATIENT_FIELDS}
    for flag in casedoc.FLAGS:
        out[f"patient.{flag}"] = "on" if getattr(pt, flag) else ""
    if pt.serum_creatinine is not None:
        out["patient.serum_creatinine.value"] = f"{pt.serum_creatinine.value:g}"
        out["patient.serum_creatinine.unit"] = pt.serum_creatinine.unit
    return out


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(request: Request, patient_id: int, user: Reader, s: DbSession, audit: Audit,
                 clock: Clock, settings: AppSettings) -> HTMLResponse:
    ctx = _record_context(request, user, s, audit, clock, settings, patient_id)
    return page(request, "patient.html", active="home", errors={}, problems=[],
                open_form=None, **ctx)


@router.post("/patients/{patient_id}/correct")
async def correct_record(request: Request, patient_id: int, user: Writer, s: DbSession,
                         audit: Audit, clock: Clock, settings: AppSettings) -> Response:
    """A correction of the record itself: the API keeps the old value with the reason, and
    the form's ETag makes a correction of a record changed meanwhile fail (412), not win."""
    def act(form: Any) -> None:
        doc = casedoc.case_document(form)
        body = validated(PatientPatch, {"reason": text(form, "reason"), "patient": doc["patient"],
                                        "comedications": doc["comedications"]})
        api.correct_patient(patient_id, body, Response(), user, s, audit, clock, settings,
                            if_match=text(form, "etag") or None)
    return await _change(request, patient_id, user, s, audit, clock, settings, "record", act)


def _dose_body(form: Any, prefix: str) -> Any:
    """One dose (time, amount) or a repeating regimen, as the API's DoseEntry."""
    fields = {k: v for k in ("time", "amount_mg", "interval_h", "start", "count")
              if (v := text(form, f"{prefix}.{k}"))}
    if "interval_h" in fields or "start" in fields or "count" in fields:
        return validated(RegimenIn, fields, f"{prefix}.")
    return validated(DoseIn, fields, f"{prefix}.")


def _level_body(form: Any, prefix: str) -> LevelIn:
    fields: dict[str, Any] = {k: v for k in ("time", "value", "unit")
                              if (v := text(form, f"{prefix}.{k}"))}
    with contextlib.suppress(KeyError, ValueError):  # a number stays a number; "<2" text
        fields["value"] = float(fields["value"])
    level: LevelIn = validated(LevelIn, fields, f"{prefix}.")
    return level


def _reason(form: Any, field: str) -> EnteredInError:
    reason: EnteredInError = validated(EnteredInError, {"reason": text(form, field)},
                                       field.removesuffix("reason"))
    return reason


async def _change(request: Request, patient_id: int, user: Principal, s: Any, audit: Any,
                  clock: Any, settings: Any, which: str, act: Any) -> Response:
    form = await request.form()
    try:
        await run_in_threadpool(act, form)
    except (CaseError, HTTPException) as exc:
        s.rollback()
        problems = (exc.problems if isinstance(exc, CaseError)
                    else [Problem(which, str(exc.detail))])
        ctx = _record_context(request, user, s, audit, clock, settings, patient_id)
        return page(request, "patient.html", status_code=422, active="home", problems=problems,
                    errors={p.field: p.reason for p in problems}, open_form=which, **ctx)
    anchor = {"record": "demographics"}.get(which, which.rstrip("0123456789") + "s")
    return RedirectResponse(f"/patients/{patient_id}#{anchor}", status_code=303)


@router.post("/patients/{patient_id}/doses")
async def add_dose(request: Request, patient_id: int, user: Writer, s: DbSession, audit: Audit,
                   clock: Clock, settings: AppSettings) -> Response:
    def act(form: Any) -> None:
        api.add_dose(patient_id, _dose_body(form, "dose"), Response(), user, s, audit, clock,
                     settings)
    return await _change(request, patient_id, user, s, audit, clock, settings, "dose", act)


@router.post("/patients/{patient_id}/levels")
async def add_level(request: Request, patient_id: int, user: Writer, s: DbSession,
                    audit: Audit, clock: Clock, settings: AppSettings) -> Response:
    def act(form: Any) -> None:
        api.add_level(patient_id, _level_body(form, "level"), Response(), user, s, audit, clock,
                      settings)
    return await _change(request, patient_id, user, s, audit, clock, settings, "level", act)


@router.post("/patients/{patient_id}/{kind}s/{entry_id}/entered-in-error")
async def entered_in_error(request: Request, patient_id: int, kind: str, entry_id: int,
                           user: Writer, s: DbSession, audit: Audit, clock: Clock,
                           settings: AppSettings) -> Response:
    if kind not in KINDS:
        raise HTTPException(404, "not found")
    mark = api.dose_in_error if kind == "dose" else api.level_in_error

    def act(form: Any) -> None:
        mark(patient_id, entry_id, _reason(form, f"{kind}{entry_id}.reason"), Response(), user,
             s, audit, clock, settings)
    return await _change(request, patient_id, user, s, audit, clock, settings,
                         f"{kind}{entry_id}", act)


@router.post("/patients/{patient_id}/{kind}s/{entry_id}/correct")
async def correct_entry(request: Request, patient_id: int, kind: str, entry_id: int,
                        user: Writer, s: DbSession, audit: Audit, clock: Clock,
                        settings: AppSettings) -> Response:
    """A correction keeps the old entry, marked entered-in-error with the reason, and adds the
    corrected one: both in one transaction, so neither is stored alone."""
    if kind not in KINDS:
        raise HTTPException(404, "not found")
    prefix = f"{kind}{entry_id}"

    def act(form: Any) -> None:
        reason = _reason(form, f"{prefix}.reason")
        why = EnteredInError(reason=f"corrected: {reason.reason}"[:1000])
        if kind == "dose":
            dose = _dose_body(form, prefix)  # validated before anything is marked
            api.dose_in_error(patient_id, entry_id, why, Response(), user, s, audit, clock,
                              settings)
            api.add_dose(patient_id, dose, Response(), user, s, audit, clock, settings)
        else:
            level = _level_body(form, prefix)
            api.level_in_error(patient_id, entry_id, why, Response(), user, s, audit, clock,
                               settings)
            api.add_level(patient_id, level, Response(), user, s, audit, clock, settings)
    return await _change(request, patient_id, user, s, audit, clock, settings, prefix, act)


# ---- the consult report and the history -----------------------------------------------------

@router.get("/patients/{patient_id}/consult.pdf")
def consult_pdf(patient_id: int, user: Reader, s: DbSession, audit: Audit, clock: Clock,
                settings: AppSettings) -> Response:
    """The consult report (the existing renderer) for the stored assessment of this version."""
    import cyclodose
    from cyclodose.render.consult import consult_html

    p = s.get(PatientRow, patient_id)
    if p is None:
        raise HTTPException(404, "no such patient")
    stored = _assessment(s, p, user, audit, clock, settings)
    # the consult of the stored input; a CaseError (422) without levels: the report needs a fit
    consult = cyclodose.tdm_consult(cyclodose.parse_case(stored.input))
    from weasyprint import HTML

    pdf = HTML(string=consult_html(consult)).write_pdf()
    audit.record("consult.report", patient_id=p.id,
                 detail={"assessment_id": stored.id, "format": "pdf",
                         "sha256": hashlib.sha256(pdf).hexdigest()})
    name = f"consult-{p.mrn}-v{p.version}.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/patients/{patient_id}/history", response_class=HTMLResponse)
def history(request: Request, patient_id: int, user: Reader, s: DbSession, audit: Audit,
            settings: AppSettings) -> HTMLResponse:
    rec = api.read_patient(patient_id, Response(), user, s, audit, settings)
    assessments = api.assessment_history(patient_id, user, s, audit,
                                         PageParams(limit=50, offset=0), settings)
    trail = None
    if user.role in auth.ADMIN_ROLES:  # the audit trail is the administrators' (as the API)
        trail = [{"seq": e.seq, "at": e.at.astimezone(settings.zone), "actor": e.actor,
                  "action": e.action, "detail": e.detail} for e in s.scalars(
                      select(AuditEntry).where(AuditEntry.patient_id == patient_id)
                      .order_by(AuditEntry.seq.desc()).limit(200))]
    return page(request, "patient_history.html", active="home", rec=rec,
                assessments=assessments.items, trail=trail)


def entry_time(entry: Any) -> datetime | None:
    return getattr(entry, "time", None) or getattr(entry, "start", None)
