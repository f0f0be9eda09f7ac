"""CDS Hooks 2.0.1 service: discovery, order-select, order-sign, patient-view, feedback.

Routes translate only: verify the EHR's JWT (service.cds_auth), gather the prefetch (and
fetch what is missing), read it (interop.cds), assess (the core), render cards
(render.cards), audit. Discovery is public; every other call is authenticated.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from cyclodose.errors import CaseError
from cyclodose.interop import cds
from cyclodose.interop.fhir import FhirReading
from cyclodose.render.cards import CardLinks, DraftOrder, cards, problem_card
from cyclodose.service import cds_auth
from cyclodose.service.audit import AuditWriter
from cyclodose.service.deps import AppSettings, Clock, DbSession
from cyclodose.service.ehr_settings import Ehr, EhrSettings
from cyclodose.service.fhir_client import EHR_RESPONSES, FhirClient
from cyclodose.service.storage import PatientRow

log = logging.getLogger("cyclodose.service.cds")


class Service(BaseModel):
    model_config = ConfigDict(frozen=True)

    hook: cds.Hook
    id: str
    title: str
    description: str
    prefetch: dict[str, str]


SERVICES: dict[str, tuple[cds.Hook, str, str]] = {
    "cyclodose-order-select": (
        "order-select", "cyclodose: cycloserine order check",
        "Checks a selected cycloserine order against contraindications, interactions, renal "
        "function and the 1 g/day limit, and suggests the recommended regimen."),
    "cyclodose-order-sign": (
        "order-sign", "cyclodose: cycloserine order check before signing",
        "The same checks as at selection, on the orders about to be signed."),
    "cyclodose-patient-view": (
        "patient-view", "cyclodose: cycloserine therapy review",
        "For a patient on cycloserine: contraindications, interactions, stale creatinine, "
        "levels due, and the recommended regimen."),
}


class CorsRoute(APIRoute):
    """Adds CORS headers for the configured origins (browser-based CDS clients)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            response = await handler(request)
            _cors_headers(request, response)
            return response

        return with_cors


def _settings(request: Request) -> EhrSettings:
    from cyclodose.service.ehr_settings import ehr_settings

    return ehr_settings(request)


def _cors_headers(request: Request, response: Response) -> None:
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") in _settings(request).cors_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"


@asynccontextmanager
async def _warn_if_insecure(app: FastAPI) -> AsyncIterator[None]:
    settings = getattr(app.state, "ehr_settings", None) or EhrSettings()
    app.state.ehr_settings = settings
    if settings.cds_insecure:
        log.warning(cds_auth.INSECURE_WARNING)
    elif not settings.public_url:
        log.warning("CYCLODOSE_PUBLIC_URL is not set: every CDS Hooks call will be refused")
    yield


router = APIRouter(prefix="/cds-services", tags=["CDS Hooks"], route_class=CorsRoute,
                   lifespan=_warn_if_insecure, responses=EHR_RESPONSES)


def services(ehr: EhrSettings) -> list[Service]:
    templates = cds.prefetch_templates(ehr.fhir_level_code)
    return [Service(hook=hook, id=sid, title=title, description=desc, prefetch=templates)
            for sid, (hook, title, desc) in SERVICES.items()]


class Discovery(BaseModel):
    services: list[Service]


@router.get("")
def discovery(ehr: Ehr) -> Discovery:
    """The CDS Services offered (public, as CDS Hooks requires)."""
    return Discovery(services=services(ehr))


@router.options("/{path:path}", include_in_schema=False)
def preflight(path: str) -> Response:
    return Response(status_code=204)


def _base(request: Request, ehr: EhrSettings) -> str:
    return (ehr.public_url or str(request.base_url)).rstrip("/")


def _service_id(service_id: str) -> str:
    if service_id not in SERVICES:
        raise HTTPException(404, "no such CDS service")
    return service_id


class Caller(BaseModel):
    iss: str | None  # None when verification is off (CYCLODOSE_CDS_INSECURE=1)


def authenticated(request: Request, ehr: Ehr, s: DbSession, clock: Clock) -> Caller:
    if ehr.cds_insecure:
        log.warning(cds_auth.INSECURE_WARNING)
        return Caller(iss=None)
    if not ehr.public_url:  # the audience cannot be checked: no caller can be trusted
        raise HTTPException(401, "CDS client authentication failed: CYCLODOSE_PUBLIC_URL "
                            "is not set, so the JWT audience cannot be checked",
                            headers={"WWW-Authenticate": 'Bearer realm="cds-services"'})
    service_id = _service_id(request.path_params["service_id"])
    service_url = f"{ehr.public_url.rstrip('/')}/cds-services/{service_id}"
    audiences = {service_url}
    if request.url.path.endswith("/feedback"):
        audiences.add(service_url + "/feedback")
    claims = cds_auth.verify(cds_auth.bearer(request), audiences=audiences,
                             clients=_clients(request, ehr), now=clock(), session=s)
    # The jti is kept from here on: a token is used once even if the call then fails, and
    # SQLite's write lock is not held while the hook computes (concurrent calls would queue).
    s.commit()
    return Caller(iss=str(claims["iss"]))


def _clients(request: Request, ehr: EhrSettings) -> dict[str, cds_auth.Client]:
    cached = getattr(request.app.state, "cds_clients", None)
    if cached is None or cached[0] != ehr.cds_clients:
        cached = (ehr.cds_clients, cds_auth.load_clients(ehr.cds_clients))
        request.app.state.cds_clients = cached
    clients: dict[str, cds_auth.Client] = cached[1]
    return clients


CdsCaller = Annotated[Caller, Depends(authenticated)]


class CardsResponse(BaseModel):
    cards: list[dict[str, Any]]


def _fetch_missing(req: cds.HookRequest, ehr: EhrSettings) -> dict[str, Any]:
    templates = cds.prefetch_templates(ehr.fhir_level_code)
    missing = cds.missing_keys(req, templates)
    if not missing:
        return {}
    if not req.fhirServer:
        raise HTTPException(412, f"prefetch {', '.join(missing)} missing and no fhirServer "
                            "to fetch it from")
    if not ehr.allowed_server(req.fhirServer):
        raise HTTPException(412, "prefetch missing and fhirServer is not on "
                            "CYCLODOSE_FHIR_SERVERS")
    token = req.fhirAuthorization.access_token if req.fhirAuthorization else None
    with FhirClient(req.fhirServer, token, ehr.fhir_timeout_s) as client:
        return {k: client.search(cds.fill(templates[k], req.context.patientId))
                for k in missing}


def _links(request: Request, ehr: EhrSettings, s: Any, req: cds.HookRequest,
           reading: FhirReading | None) -> CardLinks:
    base = _base(request, ehr)
    page = f"{base}/patients?q={quote(req.context.patientId)}"
    patient = (req.prefetch or {}).get("patient")
    if isinstance(patient, dict):
        ids = [i.get("value") for i in patient.get("identifier") or [] if isinstance(i, dict)]
        mrns = [i for i in ids if i]
        # only the id is needed: no ORM row to load, and no query when there is no MRN
        row_id = s.scalar(select(PatientRow.id).where(PatientRow.mrn.in_(mrns))) if mrns else None
        page = f"{base}/patients/{row_id}" if row_id is not None else page
    return CardLinks(patient_page=page, smart_launch=f"{base}/smart/launch")


@router.post("/{service_id}")
def call_service(service_id: str, req: cds.HookRequest, request: Request, caller: CdsCaller,
                 s: DbSession, clock: Clock, ehr: Ehr, settings: AppSettings) -> CardsResponse:
    """A hook call: cards about cycloserine for this patient (or none)."""
    hook = SERVICES[_service_id(service_id)][0]
    if req.hook != hook:
        raise HTTPException(422, f"this service answers {hook}, not {req.hook}")
    audit = AuditWriter(s, f"cds:{caller.iss or 'insecure'}", clock)
    drafts = cds.cycloserine_drafts(req, hook) if hook != "patient-view" else []
    if hook != "patient-view" and not drafts:
        return _answer(audit, service_id, req, [])
    fetched = _fetch_missing(req, ehr)
    if hook == "patient-view" and not cds.mentions_cycloserine(
            [(req.prefetch or {}).get("medications"), fetched.get("medications")]):
        return _answer(audit, service_id, req, [])  # not on cycloserine: nothing to say
    source_url = f"{_base(request, ehr)}/cds-services"
    from cyclodose import workflows

    reading = None
    try:
        reading = cds.read_hook(req, fetched, at=clock(),
                                options=ehr.reader_options(settings.timezone))
        case = reading.parse()
        if hook == "patient-view" and not case.doses:
            return _answer(audit, service_id, req, [])  # not on cycloserine: nothing to say
        result = workflows.assess(case)
    except CaseError as exc:
        problems = (reading.named(exc) if reading else exc).problems
        links = _links(request, ehr, s, req, None)
        return _answer(audit, service_id, req, [problem_card(problems, links, source_url)])
    draft = DraftOrder(resource=drafts[0]) if len(drafts) == 1 else None
    out = cards(result, reading, links=_links(request, ehr, s, req, reading),
                source_url=source_url, draft=draft)
    return _answer(audit, service_id, req, out)


def _answer(audit: AuditWriter, service_id: str, req: cds.HookRequest,
            out: list[dict[str, Any]]) -> CardsResponse:
    audit.record("cds.hook", detail={
        "service": service_id, "hookInstance": req.hookInstance,
        "fhir_patient": req.context.patientId, "user": req.context.userId,
        "cards": [{"uuid": c["uuid"], "indicator": c["indicator"], "summary": c["summary"]}
                  for c in out]}, input=req.model_dump(mode="json"), output=out)
    return CardsResponse(cards=out)


class OverrideReason(BaseModel):
    model_config = ConfigDict(extra="allow")

    reason: dict[str, Any] | None = None  # a Coding from the card's overrideReasons
    userComment: str | None = Field(default=None, max_length=4000)  # noqa: N815


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    card: str = Field(min_length=1, max_length=100)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[dict[str, Any]] = Field(default_factory=list)  # noqa: N815
    overrideReason: OverrideReason | None = None  # noqa: N815
    outcomeTimestamp: str  # noqa: N815


class Feedback(BaseModel):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)


@router.post("/{service_id}/feedback", status_code=200)
def feedback(service_id: str, body: Feedback, caller: CdsCaller, s: DbSession,
             clock: Clock) -> dict[str, int]:
    """What the clinician did with the cards: accepted, or overridden with reason and comment."""
    _service_id(service_id)
    audit = AuditWriter(s, f"cds:{caller.iss or 'insecure'}", clock)
    for item in body.feedback:
        reason = item.overrideReason
        audit.record(f"cds.feedback.{item.outcome}", detail={
            "service": service_id, "card": item.card,
            "accepted_suggestions": [x.get("id") for x in item.acceptedSuggestions],
            "override_reason": reason.reason if reason else None,
            "comment": reason.userComment if reason else None,
            "at": item.outcomeTimestamp})
    return {"stored": len(body.feedback)}
