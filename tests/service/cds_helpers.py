"""CDS Hooks requests and a checker of the CDS Hooks 2.0 card rules (written for these tests)."""

from __future__ import annotations

import uuid
from typing import Any

from interop.fhir_builders import (
    bundle,
    condition,
    creatinine,
    cycloserine_concept,
    dosage,
    mg,
    patient,
    weight,
)


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": r} for r in resources]}


def prefetch(**overrides: Any) -> dict[str, Any]:
    p = patient("p1")
    p["identifier"] = [{"type": {"coding": [{"code": "MR"}]}, "value": "MRN-77"}]
    data: dict[str, Any] = {
        "patient": p, "weight": searchset(weight(60, when="2026-10-30")), "height": None,
        "creatinine": searchset(creatinine(0.9, when="2026-10-30T08:00:00Z")),
        "conditions": searchset(), "medications": searchset(), "levels": None,
        "pregnancy": None, "gestational_age": None}
    data.update(overrides)
    return data


def draft_order(dose_mg: float = 250, frequency: int = 2, rid: str = "draft-1",
                concept: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": rid, "status": "draft",
            "intent": "order", "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": concept or cycloserine_concept(),
            "dosageInstruction": [dosage(mg(dose_mg), frequency=frequency, start=None)]}


def hook_request(hook: str, *orders: dict[str, Any], **kw: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"userId": "Practitioner/dr1", "patientId": "p1",
                               "encounterId": "e1"}
    if hook != "patient-view":
        context["draftOrders"] = bundle(*orders)
        context["selections"] = [f"MedicationRequest/{o['id']}" for o in orders]
    req = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context,
           "prefetch": kw.pop("prefetch", prefetch())}
    req.update(kw)
    return req


def epilepsy() -> dict[str, Any]:
    return condition("c1", snomed="84757009")


def check_card(card: dict[str, Any]) -> None:
    """The CDS Hooks 2.0 rules for a card, as the issue lists them."""
    uuid.UUID(card["uuid"])
    assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140
    assert card["indicator"] in ("info", "warning", "critical")
    assert card["source"]["label"] and card["source"]["url"].startswith("http")
    assert card["source"]["topic"]["code"] and card["source"]["topic"]["system"]
    assert isinstance(card.get("detail", ""), str)
    if card.get("suggestions"):
        assert card["selectionBehavior"] in ("at-most-one", "any")
        for sug in card["suggestions"]:
            assert sug["label"]
            for action in sug["actions"]:
                assert action["type"] in ("create", "update", "delete")
                assert action["description"]
    for reason in card.get("overrideReasons", []):
        assert reason["code"] and reason["system"] and reason["display"]
    assert card["links"], "every card links to the patient page and the SMART launch"
    for link in card["links"]:
        assert link["label"] and link["type"] in ("absolute", "smart")
        assert link["url"].startswith("http")
    assert {link["type"] for link in card["links"]} == {"absolute", "smart"}


def call_service(svc: Any, service_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """POST a hook request to one service; every card it returns follows the card rules."""
    r = svc.client.post(f"/cds-services/{service_id}", json=body)
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()["cards"]
    for card in out:
        check_card(card)
    return out
