"""CDS Hooks 2.0.1: discovery, the three hooks, prefetch and fetch, feedback, CORS.

JWT verification has its own tests (test_cds_auth.py); here it is off
(CYCLODOSE_CDS_INSECURE=1), which must warn at start and on every call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from cds_helpers import (
    call_service,
    draft_order,
    epilepsy,
    hook_request,
    prefetch,
    searchset,
)

from cyclodose.service.ehr_settings import EhrSettings
from fhir_mock import MockFhir, start, stop
from interop.fhir_builders import (
    condition,
    creatinine,
    gestational_age,
    mg,
    obs,
    patient,
    pregnancy_status,
    request,
    weight,
)

PUBLIC = "https://cds.example.org"


@pytest.fixture
def cds(make_service: Any) -> Any:
    svc = make_service()
    svc.app.state.ehr_settings = EhrSettings(cds_insecure=True, public_url=PUBLIC,
                                             cors_origins=["https://ehr.example.org"])
    return svc


def test_discovery_lists_three_services_with_spec_tokens_only(service: Any) -> None:
    r = service.client.get("/cds-services")
    assert r.status_code == 200
    found = {s["id"]: s for s in r.json()["services"]}
    assert {k: v["hook"] for k, v in found.items()} == {
        "cyclodose-order-select": "order-select", "cyclodose-order-sign": "order-sign",
        "cyclodose-patient-view": "patient-view"}
    for s in found.values():
        assert s["title"] and s["description"]
        assert set(s["prefetch"]) == {"patient", "weight", "height", "creatinine",
                                      "pregnancy", "gestational_age", "conditions",
                                      "medications", "levels"}
        for template in s["prefetch"].values():
            assert set(re.findall(r"\{\{([^}]+)\}\}", template)) == {"context.patientId"}
    assert "_count=1" in found["cyclodose-patient-view"]["prefetch"]["creatinine"]
    assert "http://loinc.org|2160-0" in found["cyclodose-patient-view"]["prefetch"]["creatinine"]
    pv = found["cyclodose-patient-view"]["prefetch"]
    assert "http://loinc.org|82810-3" in pv["pregnancy"] and "_count=1" in pv["pregnancy"]
    assert {"http://loinc.org|11884-4", "http://loinc.org|49051-6",
            "http://loinc.org|18185-9"} <= set(pv["gestational_age"].split("code=")[1]
                                               .split("&")[0].split(","))


def test_order_without_cycloserine_gets_no_cards(cds: Any) -> None:
    other = draft_order(rid="inh", concept={"text": "isoniazid 300 mg"})
    assert call_service(cds, "cyclodose-order-select", hook_request("order-select", other)) == []


def test_recommended_order_gets_an_info_card_with_an_update_suggestion(cds: Any) -> None:
    order = draft_order(250, 2)
    out = call_service(cds, "cyclodose-order-select", hook_request("order-select", order))
    # Info findings (e.g. mildly reduced renal function, #9) are cards of their own;
    # exactly one info card carries the regimen suggestion.
    info = [c for c in out if c["indicator"] == "info" and c.get("suggestions")]
    assert len(info) == 1, [c["summary"] for c in out]
    assert info[0]["summary"].startswith("Recommended cycloserine")
    card = info[0]
    assert card["selectionBehavior"] == "at-most-one"
    (action,) = card["suggestions"][0]["actions"]
    assert action["type"] == "update"
    rewritten = action["resource"]
    assert rewritten["id"] == "draft-1"
    assert rewritten["medicationCodeableConcept"] == order["medicationCodeableConcept"]
    first = rewritten["dosageInstruction"][0]
    assert first["doseAndRate"][0]["doseQuantity"]["code"] == "mg"
    assert first["timing"]["repeat"]["frequency"] == 2
    assert "250 mg" in action["description"]
    assert "Sources" in card["detail"]
    assert card["links"][0]["url"] == f"{PUBLIC}/patients?q=p1"
    assert card["links"][1] == {"label": "Launch cyclodose (SMART)",
                                "url": f"{PUBLIC}/smart/launch", "type": "smart"}


def test_above_one_gram_a_day_is_critical_with_override_reasons(cds: Any) -> None:
    out = call_service(cds, "cyclodose-order-sign",
                       hook_request("order-sign", draft_order(750, 2)))
    critical = [c for c in out if c["indicator"] == "critical"]
    assert critical and any("1 g" in c["summary"] or "1000" in c["detail"] for c in critical)
    assert all(c["overrideReasons"] for c in critical)


def test_contraindication_is_critical_and_no_suggestion_is_offered(cds: Any) -> None:
    body = hook_request("order-select", draft_order(),
                        prefetch=prefetch(conditions=searchset(epilepsy())))
    out = call_service(cds, "cyclodose-order-select", body)
    assert out[0]["indicator"] == "critical" and "epilep" in out[0]["detail"].lower()
    assert not any(c.get("suggestions") for c in out)


def test_interaction_and_stale_creatinine_are_warnings(cds: Any) -> None:
    inh = request("inh", [{"timing": {"repeat": {"frequency": 1, "period": 1,
                                                 "periodUnit": "d",
                                                 "boundsPeriod": {"start": "2026-10-01"}}},
                           "doseAndRate": [{"doseQuantity": mg(300)}]}],
                  concept={"text": "ethionamide 250 mg"})
    body = hook_request("order-select", draft_order(), prefetch=prefetch(
        medications=searchset(inh),
        creatinine=searchset(creatinine(0.9, when="2026-08-01T08:00:00Z"))))
    out = call_service(cds, "cyclodose-order-select", body)
    warnings = [c["summary"] + c["detail"] for c in out if c["indicator"] == "warning"]
    assert any("ethionamide" in w.lower() for w in warnings)
    assert any("days old" in w for w in warnings)


def test_missing_creatinine_sent_as_null_is_a_warning(cds: Any) -> None:
    body = hook_request("order-select", draft_order(), prefetch=prefetch(creatinine=None))
    out = call_service(cds, "cyclodose-order-select", body)
    assert any("No serum creatinine" in c["summary"] for c in out if c["indicator"] == "warning")


def test_patient_view_on_cycloserine_warns_that_levels_are_missing(cds: Any) -> None:
    on_cs = request("mr1", [{"timing": {"repeat": {"frequency": 2, "period": 1,
                                                   "periodUnit": "d",
                                                   "boundsPeriod": {"start": "2026-10-20"}}},
                             "doseAndRate": [{"doseQuantity": mg(250)}]}])
    out = call_service(cds, "cyclodose-patient-view", hook_request(
        "patient-view", prefetch=prefetch(medications=searchset(on_cs))))
    assert any("No cycloserine level" in c["summary"] for c in out)
    assert out[-1]["indicator"] == "info" and "suggestions" not in out[-1]


def test_patient_view_without_cycloserine_gets_no_cards(cds: Any) -> None:
    assert call_service(cds, "cyclodose-patient-view", hook_request("patient-view")) == []


def test_unusable_ehr_data_is_a_card_naming_the_resource(cds: Any) -> None:
    body = hook_request("order-select", draft_order(), prefetch=prefetch(
        weight=searchset(weight(60, "cm", oid="wt1"))))
    (card,) = call_service(cds, "cyclodose-order-select", body)
    assert card["indicator"] == "warning"
    assert "`Observation/wt1.valueQuantity.code`: 'cm' is not a mass unit" in card["detail"]


def test_missing_prefetch_without_fhir_server_is_412(cds: Any) -> None:
    p = prefetch()
    del p["weight"]
    r = cds.client.post("/cds-services/cyclodose-order-select",
                        json=hook_request("order-select", draft_order(), prefetch=p))
    assert r.status_code == 412 and "weight" in r.json()["detail"]


@pytest.fixture
def ehr_fhir() -> Iterator[MockFhir]:
    p = patient("p1")
    mock = start(MockFhir([p, weight(58, when="2026-10-30"),
                           creatinine(1.0, when="2026-10-29T08:00:00Z"),
                           condition("c9", snomed="35489007"),
                           obs("x", "8302-2", 165, "cm", "2026-01-01")], token="tok"))
    yield mock
    stop(mock)


def test_missing_prefetch_is_fetched_from_fhir_server_with_its_token(cds: Any,
                                                                     ehr_fhir: MockFhir) -> None:
    cds.app.state.ehr_settings = cds.app.state.ehr_settings.model_copy(
        update={"fhir_servers": [ehr_fhir.base]})
    body = hook_request("order-select", draft_order(), prefetch={}, fhirServer=ehr_fhir.base,
                        fhirAuthorization={"access_token": "tok", "token_type": "Bearer",
                                           "expires_in": 300, "scope": "patient/*.read",
                                           "subject": "cds"})
    out = call_service(cds, "cyclodose-order-select", body)
    assert any("depress" in c["detail"].lower() for c in out if c["indicator"] == "critical")
    assert ehr_fhir.requests and all(a == "Bearer tok" for _, a in ehr_fhir.requests)


def test_fetch_from_a_server_not_on_the_allow_list_is_refused(cds: Any,
                                                              ehr_fhir: MockFhir) -> None:
    body = hook_request("order-select", draft_order(), prefetch={}, fhirServer=ehr_fhir.base)
    r = cds.client.post("/cds-services/cyclodose-order-select", json=body)
    assert r.status_code == 412 and ehr_fhir.requests == []


def test_wrong_hook_for_the_service_is_422(cds: Any) -> None:
    r = cds.client.post("/cds-services/cyclodose-order-select",
                        json=hook_request("patient-view"))
    assert r.status_code == 422


def test_feedback_is_stored_in_the_audit_trail(cds: Any) -> None:
    out = call_service(cds, "cyclodose-order-select", hook_request(
        "order-select", draft_order(), prefetch=prefetch(conditions=searchset(epilepsy()))))
    card = out[0]
    reason = card["overrideReasons"][0]
    r = cds.client.post("/cds-services/cyclodose-order-select/feedback", json={"feedback": [
        {"card": card["uuid"], "outcome": "overridden",
         "overrideReason": {"reason": reason, "userComment": "seizure-free 10 y, neuro agrees"},
         "outcomeTimestamp": "2026-11-02T09:01:00Z"},
        {"card": out[-1]["uuid"], "outcome": "accepted", "acceptedSuggestions": [],
         "outcomeTimestamp": "2026-11-02T09:01:00Z"}]})
    assert r.status_code == 200 and r.json() == {"stored": 2}
    entries = cds.client.get("/api/v1/audit", headers=cds.token("adm", "admin")).json()["items"]
    overridden = [e for e in entries if e["action"] == "cds.feedback.overridden"]
    assert overridden[0]["detail"]["card"] == card["uuid"]
    assert overridden[0]["detail"]["override_reason"]["code"] == reason["code"]
    assert overridden[0]["detail"]["comment"] == "seizure-free 10 y, neuro agrees"
    assert any(e["action"] == "cds.feedback.accepted" for e in entries)
    hooks = [e for e in entries if e["action"] == "cds.hook"]
    assert card["uuid"] in [c["uuid"] for c in hooks[-1]["detail"]["cards"]]


def test_cors_for_configured_origins_only(cds: Any) -> None:
    ok = cds.client.options("/cds-services/cyclodose-order-select",
                            headers={"Origin": "https://ehr.example.org",
                                     "Access-Control-Request-Method": "POST"})
    assert ok.headers.get("access-control-allow-origin") == "https://ehr.example.org"
    bad = cds.client.get("/cds-services", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in bad.headers


def test_insecure_mode_warns_at_start_and_on_every_call(make_service: Any,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("CYCLODOSE_CDS_INSECURE", "1")
    with caplog.at_level(logging.WARNING, logger="cyclodose.service.cds"):
        svc = make_service()
        started = [r for r in caplog.records if "NOT authenticated" in r.message]
        assert len(started) == 1
        svc.client.post("/cds-services/cyclodose-patient-view", json=hook_request("patient-view"))
        svc.client.post("/cds-services/cyclodose-patient-view", json=hook_request("patient-view"))
    assert len([r for r in caplog.records if "NOT authenticated" in r.message]) == 3


def test_patient_view_stays_silent_about_bad_data_of_a_patient_not_on_cycloserine(
        cds: Any) -> None:
    body = hook_request("patient-view", prefetch=prefetch(
        weight=searchset(weight(60, "cm", oid="wt1"))))
    assert call_service(cds, "cyclodose-patient-view", body) == []


def test_order_select_assesses_only_the_selected_orders(cds: Any) -> None:
    body = hook_request("order-select", draft_order())
    body["context"]["selections"] = ["MedicationRequest/something-else"]
    assert call_service(cds, "cyclodose-order-select", body) == []


def test_dialysis_recorded_only_as_a_condition_is_a_card_naming_the_condition(cds: Any) -> None:
    """CKD stage 5 on dialysis (SNOMED CT 714152005) says dialysis but not which kind: the
    core refuses to guess, and the card names the EHR resource."""
    body = hook_request("order-select", draft_order(), prefetch=prefetch(
        conditions=searchset(condition("ckd5d", snomed="714152005"))))
    (card,) = call_service(cds, "cyclodose-order-select", body)
    assert card["indicator"] == "warning"
    assert "`Condition/ckd5d (patient.conditions[0])`" in card["detail"]


def _pregnant_prefetch(**kw: Any) -> dict[str, Any]:
    return prefetch(patient=patient("p1", gender="female", birth="1994-05-10"),
                    pregnancy=searchset(pregnancy_status(when="2026-10-20")),
                    gestational_age=searchset(gestational_age(22, when="2026-10-20")), **kw)


def test_pregnancy_from_the_prefetch_reaches_the_cards(cds: Any) -> None:
    out = call_service(cds, "cyclodose-order-select",
                       hook_request("order-select", draft_order(), prefetch=_pregnant_prefetch()))
    text = " ".join(c["summary"] + c.get("detail", "") for c in out)
    # 22 weeks on 2026-10-20, 13 days before the service's clock (2026-11-02)
    assert "Pregnancy (week 23, second trimester)" in text


def test_pregnant_status_on_a_male_patient_is_a_card_naming_the_observation(cds: Any) -> None:
    body = hook_request("order-select", draft_order(), prefetch=prefetch(
        pregnancy=searchset(pregnancy_status(when="2026-10-20"))))
    (card,) = call_service(cds, "cyclodose-order-select", body)
    assert card["indicator"] == "warning"
    assert "`Observation/ps1.valueCodeableConcept`: pregnant, but Patient/p1.gender is male" \
        in card["detail"]


def test_missing_pregnancy_prefetch_is_fetched_by_its_loinc_code(cds: Any) -> None:
    mock = start(MockFhir([patient("p1", gender="female", birth="1994-05-10"),
                           weight(58, when="2026-10-30"),
                           creatinine(1.0, when="2026-10-29T08:00:00Z"),
                           pregnancy_status(when="2026-10-20")]))
    try:
        cds.app.state.ehr_settings = cds.app.state.ehr_settings.model_copy(
            update={"fhir_servers": [mock.base]})
        p = _pregnant_prefetch()
        del p["pregnancy"], p["gestational_age"]
        out = call_service(cds, "cyclodose-order-select", hook_request(
            "order-select", draft_order(), prefetch=p, fhirServer=mock.base))
    finally:
        stop(mock)
    assert any("82810-3" in path for path, _ in mock.requests)
    text = " ".join(c["summary"] + c.get("detail", "") for c in out)
    assert "Pregnancy (gestation not recorded)" in text


def test_cards_link_to_the_cyclodose_patient_with_the_ehr_patients_mrn(cds: Any) -> None:
    """The EHR Patient's identifier (MRN-77 in the prefetch) finds our patient: the link opens
    that patient's page; an MRN we do not hold keeps the search link."""
    from cyclodose.service.storage import PatientRow

    body = hook_request("order-select", draft_order(250, 2))
    assert call_service(cds, "cyclodose-order-select", body)[0]["links"][0]["url"] == \
        f"{PUBLIC}/patients?q=p1"
    now = cds.clock()
    with cds.db.session() as s:
        for mrn in ("MRN-1", "MRN-77"):
            s.add(PatientRow(mrn=mrn, name="A Patient", name_folded="a patient", record={},
                             created_at=now, created_by="t", updated_at=now, updated_by="t"))
        s.flush()
        (row_id,) = [r.id for r in s.query(PatientRow).filter_by(mrn="MRN-77")]
    out = call_service(cds, "cyclodose-order-select", body)
    assert {c["links"][0]["url"] for c in out} == {f"{PUBLIC}/patients/{row_id}"}
