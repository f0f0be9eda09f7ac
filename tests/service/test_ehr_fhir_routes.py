"""POST /api/v1/fhir/assess, /fhir/recommendation and /patients/import (mock FHIR server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cyclodose.interop.fhir.resources import model_class
from cyclodose.service.ehr_settings import EhrSettings
from fhir_mock import MockFhir, start, stop
from interop.fhir_builders import (
    administration,
    condition,
    creatinine,
    dosage,
    mg,
    obs,
    patient,
    request,
    weight,
)

HL7 = Path(__file__).parents[1] / "interop" / "fixtures" / "hl7_bundle.json"


def _hl7() -> dict[str, Any]:
    return json.loads(HL7.read_text())


def test_fhir_assess_needs_a_signed_in_user(service: Any) -> None:
    assert service.client.post("/api/v1/fhir/assess", json=_hl7()).status_code == 401


def test_fhir_assess_returns_the_assessment_and_what_was_read(service: Any) -> None:
    r = service.client.post("/api/v1/fhir/assess", json=_hl7(),
                            headers=service.token("v", "viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["assessment"]["patient"]["weight_kg"] == pytest.approx(83.9, abs=0.1)
    assert body["fhir_input"]["patient_id"] == "example"
    # the clock is 2026-11-02: the 2016 creatinine is flagged, never silently used as fresh
    assert "creatinine.stale" in [f["code"] for f in body["fhir_input"]["flags"]]


def test_fhir_assess_reads_the_pregnancy(service: Any) -> None:
    b = json.loads((HL7.parent / "pregnant_bundle.json").read_text())
    r = service.client.post("/api/v1/fhir/assess", json=b, headers=service.token("v", "viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    # the clock is 2026-11-02: 25 weeks on 2026-10-20 are 26 completed weeks
    assert body["assessment"]["patient"]["gestation"]["text"] == "week 26, second trimester"
    finding = next(f for f in body["assessment"]["findings"] if f["code"] == "info.pregnancy")
    assert finding["message"].startswith("Pregnancy (week 26, second trimester)")
    read = {s["field"]: s["resource"] for s in body["fhir_input"]["sources"]}
    assert read["patient.pregnant"] == "Observation/preg-status"
    assert read["patient.gestational_week"] == "Observation/preg-ga"


def test_fhir_assess_bad_unit_is_422_naming_resource_and_element(service: Any) -> None:
    b = _hl7()
    b["entry"][1]["resource"]["valueQuantity"]["code"] = "cm"
    r = service.client.post("/api/v1/fhir/assess", json=b, headers=service.token("v", "viewer"))
    assert r.status_code == 422
    assert {"field": "Observation/example.valueQuantity.code",
            "reason": "'cm' is not a mass unit"} in r.json()["problems"]


def test_fhir_assess_refuses_a_non_bundle(service: Any) -> None:
    r = service.client.post("/api/v1/fhir/assess", json={"resourceType": "Patient"},
                            headers=service.token("v", "viewer"))
    assert r.status_code == 422


def test_recommendation_is_a_valid_fhir_bundle(service: Any) -> None:
    r = service.client.post("/api/v1/fhir/recommendation", json=_hl7(),
                            headers=service.token("v", "viewer"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    b = r.json()
    model_class("Bundle").model_validate(b)
    types = [e["resource"]["resourceType"] for e in b["entry"]]
    assert types[0] == "MedicationRequest" and "CarePlan" in types
    stale = [e["resource"] for e in b["entry"]
             if e["resource"].get("code", {}).get("text") == "creatinine.stale"]
    assert stale and stale[0]["severity"] == "moderate"


# ---- import from a FHIR server ------------------------------------------------------

TOKEN = "ehr-access-token"


def _patient_resources() -> list[dict[str, Any]]:
    p = patient("p1")
    p["identifier"] = [{"type": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
        "value": "MRN-4711"}]
    p["name"] = [{"use": "official", "family": "Okafor", "given": ["Ngozi"]}]
    return [p, weight(61, when="2026-10-30"), weight(63, oid="wt0", when="2026-09-01"),
            obs("ht1", "8302-2", 170, "cm", "2026-01-05"),
            creatinine(80, "umol/L", loinc="14682-9", when="2026-10-28T08:00:00Z"),
            condition("c1", snomed="197480006"),
            administration("ma1", "2026-11-01T08:00:00Z", mg(250)),
            administration("ma2", "2026-11-01T20:00:00Z", mg(250)),
            request("mr1", [dosage(mg(250), start="2026-11-01T08:00:00Z")]),
            request("inh", [dosage(mg(300), frequency=1, start="2026-10-01T08:00:00Z")],
                    concept={"text": "isoniazid 300 mg"}),
            obs("lv1", None, 21.5, "mg/L", "2026-11-01T10:00:00Z", text="Cycloserine level")]


@pytest.fixture
def fhir_server() -> Iterator[MockFhir]:
    mock = start(MockFhir(_patient_resources(), token=TOKEN))
    yield mock
    stop(mock)


def _allow(service: Any, mock: MockFhir) -> None:
    service.app.state.ehr_settings = EhrSettings(fhir_servers=[mock.base])


def _import(service: Any, mock: MockFhir, headers: dict[str, str]) -> Any:
    return service.client.post(
        "/api/v1/patients/import", json={"fhirServer": mock.base, "patientId": "p1"},
        headers={**headers, "X-FHIR-Authorization": f"Bearer {TOKEN}"})


def test_import_creates_then_refreshes_a_record(service: Any, fhir_server: MockFhir) -> None:
    _allow(service, fhir_server)
    headers = service.token("rx", "prescriber")
    r = _import(service, fhir_server, headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] is True
    rec = body["record"]
    assert (rec["mrn"], rec["name"]) == ("MRN-4711", "Ngozi Okafor")
    assert rec["patient"]["weight_kg"] == 61  # the most recent of two weights
    assert rec["patient"]["conditions"] == ["anxiety disorder"]
    assert rec["comedications"] == ["isoniazid 300 mg"]
    # two administrations, then the order's 08:00 dose; none after now (09:00)
    assert [d["dose"]["time"][:16] for d in rec["doses"]] == [
        "2026-11-01T08:00", "2026-11-01T20:00", "2026-11-02T08:00"]
    assert len(rec["levels"]) == 1
    # every request carried the EHR's token; paging was followed (two weights on one page)
    assert all(auth == f"Bearer {TOKEN}" for _, auth in fhir_server.requests)
    # refresh: a newer weight arrives; nothing is stored twice
    fhir_server.resources.append(weight(59, oid="wt2", when="2026-11-01"))
    again = _import(service, fhir_server, headers).json()
    assert again["created"] is False
    assert again["record"]["patient"]["weight_kg"] == 59
    assert len(again["record"]["doses"]) == 3 and len(again["record"]["levels"]) == 1
    assert again["record"]["revisions"][0]["reason"].startswith("refreshed from FHIR")
    audit = service.client.get("/api/v1/audit", headers=service.token("adm", "admin")).json()
    actions = [e["action"] for e in audit["items"]]
    assert actions.count("patient.import") == 2


def test_import_needs_a_writer(service: Any, fhir_server: MockFhir) -> None:
    _allow(service, fhir_server)
    assert _import(service, fhir_server, service.token("v", "viewer")).status_code == 403
    assert _import(service, fhir_server, {}).status_code == 401


def test_import_refuses_a_server_not_on_the_allow_list(service: Any,
                                                       fhir_server: MockFhir) -> None:
    r = _import(service, fhir_server, service.token("rx", "prescriber"))
    assert r.status_code == 403
    assert fhir_server.requests == []  # no request to a server nobody allowed (SSRF)


def test_import_with_a_wrong_token_is_a_gateway_error(service: Any,
                                                      fhir_server: MockFhir) -> None:
    _allow(service, fhir_server)
    r = service.client.post(
        "/api/v1/patients/import", json={"fhirServer": fhir_server.base, "patientId": "p1"},
        headers={**service.token("rx", "prescriber"), "X-FHIR-Authorization": "Bearer wrong"})
    assert r.status_code == 502


def test_import_refuses_a_patient_id_that_is_not_a_fhir_id(service: Any,
                                                           fhir_server: MockFhir) -> None:
    _allow(service, fhir_server)
    r = service.client.post(
        "/api/v1/patients/import",
        json={"fhirServer": fhir_server.base, "patientId": "p1&_include=*"},
        headers=service.token("rx", "prescriber"))
    assert r.status_code == 422


def test_paging_is_bounded_and_never_cut_silently(service: Any, fhir_server: MockFhir,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from cyclodose.service import fhir_client

    monkeypatch.setattr(fhir_client, "MAX_PAGES", 1)  # five weights: three pages of two
    fhir_server.resources += [weight(60 + i, oid=f"w{i}", when=f"2026-10-0{i + 1}")
                              for i in range(3)]
    _allow(service, fhir_server)
    r = _import(service, fhir_server, service.token("rx", "prescriber"))
    assert r.status_code == 502 and "more than 1 pages" in r.json()["detail"]


def test_fhir_assess_names_the_condition_the_core_refuses(service: Any) -> None:
    b = _hl7()
    b["entry"].append({"resource": condition("ckd5d", snomed="714152005")})
    r = service.client.post("/api/v1/fhir/assess", json=b, headers=service.token("v", "viewer"))
    assert r.status_code == 422
    assert any(p["field"] == "Condition/ckd5d (patient.conditions[0])"
               for p in r.json()["problems"])
