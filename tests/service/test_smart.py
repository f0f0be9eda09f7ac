"""SMART App Launch 2.0 EHR launch, end to end against a mock EHR (authorization + FHIR)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from cyclodose.service.ehr_settings import EhrSettings
from fhir_mock import MockFhir, SmartConfig, start, stop
from interop.fhir_builders import creatinine, patient, weight

ACCESS = "smart-access-token"


@pytest.fixture
def ehr() -> Iterator[MockFhir]:
    p = patient("p7")
    p["identifier"] = [{"type": {"coding": [{"code": "MR"}]}, "value": "SM-1"}]
    p["name"] = [{"family": "Mensah", "given": ["Kofi"]}]
    w, c = weight(70, when="2026-10-30"), creatinine(1.1, when="2026-10-29T08:00:00Z")
    for r in (w, c):
        r["subject"] = {"reference": "Patient/p7"}
    mock = start(MockFhir([p, w, c], token=ACCESS,
                          smart=SmartConfig(launches={"L-123": "p7"})))
    yield mock
    stop(mock)


@pytest.fixture
def app(service: Any, ehr: MockFhir) -> Any:
    service.app.state.ehr_settings = EhrSettings(fhir_servers=[ehr.base])
    service.user("rx", "prescriber")
    service.login("rx")
    return service


def _launch(app: Any, ehr: MockFhir, launch: str = "L-123") -> httpx.Response:
    r = app.client.get("/smart/launch", params={"iss": ehr.base, "launch": launch},
                       follow_redirects=False)
    assert r.status_code == 302, r.text
    return r


def test_ehr_launch_end_to_end_opens_the_patient_page(app: Any, ehr: MockFhir) -> None:
    r = _launch(app, ehr)
    authorize = r.headers["location"]
    q = {k: v[0] for k, v in parse_qs(urlparse(authorize).query).items()}
    assert authorize.startswith(ehr.base.removesuffix("/fhir") + "/auth/authorize")
    assert (q["code_challenge_method"], q["aud"], q["launch"]) == ("S256", ehr.base, "L-123")
    assert q["redirect_uri"] == "http://testserver/smart/callback"
    # the browser goes to the EHR, which redirects back with a code
    back = httpx.get(authorize, follow_redirects=False)
    assert back.status_code == 302
    callback = urlparse(back.headers["location"])
    done = app.client.get(f"{callback.path}?{callback.query}", follow_redirects=False)
    assert done.status_code == 303, done.text
    location = done.headers["location"]
    assert location.startswith("/patients/")
    record_id = int(location.rsplit("/", 1)[1])
    # the code was exchanged with the PKCE verifier, and the FHIR data read with the token
    (exchange,) = ehr.smart.token_requests  # type: ignore[union-attr]
    assert exchange["code_verifier"] and exchange["client_id"] == "cyclodose"
    assert ehr.requests and all(a == f"Bearer {ACCESS}" for _, a in ehr.requests)
    rec = app.client.get(f"/api/v1/patients/{record_id}").json()
    assert (rec["mrn"], rec["name"], rec["patient"]["weight_kg"]) == ("SM-1", "Kofi Mensah", 70)
    # a second launch refreshes the same record
    ehr.resources.append(weight(68, oid="wt9", when="2026-11-01") | {
        "subject": {"reference": "Patient/p7"}})
    again = httpx.get(_launch(app, ehr).headers["location"], follow_redirects=False)
    cb = urlparse(again.headers["location"])
    second = app.client.get(f"{cb.path}?{cb.query}", follow_redirects=False)
    assert second.headers["location"] == location
    assert app.client.get(f"/api/v1/patients/{record_id}").json()["patient"]["weight_kg"] == 68


def test_a_forged_state_is_refused(app: Any, ehr: MockFhir) -> None:
    back = httpx.get(_launch(app, ehr).headers["location"], follow_redirects=False)
    code = parse_qs(urlparse(back.headers["location"]).query)["code"][0]
    r = app.client.get("/smart/callback", params={"code": code, "state": "forged"},
                       follow_redirects=False)
    assert r.status_code == 400
    assert ehr.smart.token_requests == []  # type: ignore[union-attr]


def test_a_wrong_verifier_fails_the_exchange(app: Any, ehr: MockFhir) -> None:
    back = httpx.get(_launch(app, ehr).headers["location"], follow_redirects=False)
    cb = urlparse(back.headers["location"])
    saved = json.loads(base64.urlsafe_b64decode(
        app.client.cookies.get("cyclodose_smart", path="/smart")))
    saved["verifier"] = "x" + saved["verifier"][1:]
    app.client.cookies.set("cyclodose_smart",
                           base64.urlsafe_b64encode(json.dumps(saved).encode()).decode(),
                           path="/smart")
    r = app.client.get(f"{cb.path}?{cb.query}", follow_redirects=False)
    assert r.status_code == 502


def test_an_iss_not_on_the_allow_list_is_not_contacted(app: Any, ehr: MockFhir) -> None:
    r = app.client.get("/smart/launch", params={"iss": "http://127.0.0.1:9/fhir",
                                                "launch": "x"}, follow_redirects=False)
    assert r.status_code == 403


def test_launch_needs_a_signed_in_prescriber(service: Any, ehr: MockFhir) -> None:
    service.app.state.ehr_settings = EhrSettings(fhir_servers=[ehr.base])
    r = service.client.get("/smart/launch", params={"iss": ehr.base, "launch": "L-123"},
                           follow_redirects=False)
    assert r.status_code == 401
