"""SMART App Launch 2.0, EHR launch: open the patient page from the EHR.

GET /smart/launch?iss=…&launch=… (from the EHR, for a signed-in cyclodose user):
discover the EHR's endpoints from `{iss}/.well-known/smart-configuration`, and send the
browser to authorize with PKCE (S256, authlib). GET /smart/callback?code=…&state=…:
exchange the code, read the patient's data from the FHIR server with the access token,
create or refresh the record, and redirect to the patient page `/patients/{id}`.

Only EHRs on CYCLODOSE_FHIR_SERVERS are followed. The state and PKCE verifier travel in
an HttpOnly cookie bound to this browser; endpoints are discovered again on the callback
(never taken from the browser).
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Annotated, Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse

from cyclodose.service import fhir_import
from cyclodose.service.deps import AppSettings, Audit, Clock, DbSession, Writer
from cyclodose.service.ehr_settings import Ehr, EhrSettings
from cyclodose.service.fhir_client import EHR_RESPONSES

router = APIRouter(prefix="/smart", tags=["SMART on FHIR"], responses=EHR_RESPONSES)

COOKIE = "cyclodose_smart"
COOKIE_MINUTES = 10


def _pack(data: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def _unpack(value: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(value.encode()))


def _discover(iss: str, ehr: EhrSettings) -> dict[str, Any]:
    if not ehr.allowed_server(iss):
        raise HTTPException(403, "this EHR (iss) is not on CYCLODOSE_FHIR_SERVERS")
    url = iss.rstrip("/") + "/.well-known/smart-configuration"
    try:
        r = httpx.get(url, timeout=ehr.fhir_timeout_s, headers={"Accept": "application/json"})
        config: dict[str, Any] = r.json() if r.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        config = {}
    if not config.get("authorization_endpoint") or not config.get("token_endpoint"):
        raise HTTPException(502, f"no usable SMART configuration at {url}")
    if "S256" not in (config.get("code_challenge_methods_supported") or []):
        raise HTTPException(502, "the EHR does not support PKCE with S256")
    return config


def _client(request: Request, ehr: EhrSettings) -> OAuth2Client:
    base = (ehr.public_url or str(request.base_url)).rstrip("/")
    return OAuth2Client(client_id=ehr.smart_client_id, redirect_uri=f"{base}/smart/callback",
                        scope=ehr.smart_scope, code_challenge_method="S256",
                        token_endpoint_auth_method="none", timeout=ehr.fhir_timeout_s)


@router.get("/launch", status_code=302)
def launch(request: Request, principal: Writer, ehr: Ehr,
           iss: Annotated[str, Query(min_length=1, max_length=500)],
           launch: Annotated[str, Query(min_length=1, max_length=2000)]) -> Response:
    """EHR launch: redirect to the EHR's authorization endpoint (PKCE S256)."""
    config = _discover(iss, ehr)
    state, verifier = secrets.token_urlsafe(24), generate_token(64)
    with _client(request, ehr) as client:
        url, _ = client.create_authorization_url(
            config["authorization_endpoint"], state=state, code_verifier=verifier,
            launch=launch, aud=iss)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(COOKIE, _pack({"state": state, "verifier": verifier, "iss": iss,
                                       "user": principal.name}),
                        max_age=COOKIE_MINUTES * 60, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/smart")
    return response


@router.get("/callback", status_code=303)
def callback(request: Request, response: Response, principal: Writer, s: DbSession,
             audit: Audit, clock: Clock, settings: AppSettings, ehr: Ehr,
             code: Annotated[str, Query(min_length=1, max_length=4000)],
             state: Annotated[str, Query(min_length=1, max_length=200)]) -> Response:
    """Exchange the code, refresh the record from the EHR, open the patient page."""
    try:
        saved = _unpack(request.cookies.get(COOKIE, ""))
    except ValueError:
        raise HTTPException(400, "no SMART launch in progress in this browser") from None
    if not isinstance(saved, dict) or not secrets.compare_digest(str(saved.get("state")),
                                                                 state):
        raise HTTPException(400, "state does not match the launch")
    if saved.get("user") != principal.name:
        raise HTTPException(400, "the launch was started by another user")
    iss = str(saved["iss"])
    config = _discover(iss, ehr)
    with _client(request, ehr) as client:
        try:
            token = client.fetch_token(config["token_endpoint"], code=code,
                                       code_verifier=str(saved["verifier"]))
        except Exception as exc:  # authlib raises OAuthError or httpx errors
            raise HTTPException(502, f"the EHR refused the code exchange ({type(exc).__name__})"
                                ) from None
    patient_id = token.get("patient")
    if not isinstance(patient_id, str) or not patient_id:
        raise HTTPException(502, "the EHR's token response names no patient (launch context)")
    created, record, _ = fhir_import.import_patient(
        iss, patient_id, str(token["access_token"]), principal=principal, s=s, audit=audit,
        clock=clock, settings=settings, ehr=ehr, response=response)
    audit.record("smart.launch", patient_id=record.id,
                 detail={"iss": iss, "fhir_patient": patient_id, "created": created,
                         "scope": token.get("scope")})
    done = RedirectResponse(f"/patients/{record.id}", status_code=303)
    done.delete_cookie(COOKIE, path="/smart")
    return done
