"""Assessment → FHIR Bundle: draft MedicationRequest, DetectedIssues, CarePlan; all validate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import cyclodose
from cyclodose.interop.fhir import ReaderOptions, read_fhir
from cyclodose.interop.fhir.resources import model_class
from cyclodose.render.fhir_bundle import assessment_bundle
from interop.fhir_builders import creatinine, patient, weight

EXAMPLES = Path(__file__).parents[2] / "examples"
NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def _bundle(example: str) -> tuple[cyclodose.Assessment, dict]:
    a = cyclodose.assess(cyclodose.load_case(EXAMPLES / f"{example}.yaml"))
    return a, assessment_bundle(a, now=NOW, subject="Patient/p1")


def _of(bundle: dict, rtype: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


@pytest.mark.parametrize("example", ["adult_start", "child_8y", "adult_crcl45",
                                     "adult_haemodialysis", "breastfeeding_isoniazid_depression"])
def test_every_resource_validates_with_fhir_resources(example: str) -> None:
    _, b = _bundle(example)
    model_class("Bundle").model_validate(b)
    for e in b["entry"]:
        assert e["fullUrl"].startswith("urn:uuid:")
        model_class(e["resource"]["resourceType"]).model_validate(e["resource"])


def test_recommended_regimen_is_a_structured_draft_proposal() -> None:
    a, b = _bundle("adult_start")
    (mr,) = _of(b, "MedicationRequest")
    assert (mr["status"], mr["intent"]) == ("draft", "proposal")
    assert mr["medicationCodeableConcept"]["coding"][0] == {
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197551",
        "display": "cycloserine 250 MG Oral Capsule"}
    phases = a.recommendation.phases
    assert len(mr["dosageInstruction"]) == len(phases)
    for di, ph in zip(mr["dosageInstruction"], phases, strict=True):
        assert di["doseAndRate"][0]["doseQuantity"] == {
            "value": ph.dose_mg, "unit": "mg", "system": "http://unitsofmeasure.org",
            "code": "mg"}
        assert di["timing"]["repeat"]["frequency"] == ph.doses_per_day
    assert mr["dosageInstruction"][0]["timing"]["repeat"]["boundsDuration"]["value"] == 14
    assert any("never exceed 1 g/day" in n["text"] for n in mr["note"])


def test_each_finding_is_a_detected_issue_implicating_the_draft() -> None:
    a, b = _bundle("breastfeeding_isoniazid_depression")
    issues = _of(b, "DetectedIssue")
    assert [i["code"]["text"] for i in issues] == [f.code for f in a.findings]
    mr_url = next(e["fullUrl"] for e in b["entry"]
                  if e["resource"]["resourceType"] == "MedicationRequest")
    expected = {"contraindicated": "high", "avoid": "high", "warning": "moderate",
                "caution": "low", "info": "low"}
    for issue, f in zip(issues, a.findings, strict=True):
        assert issue["severity"] == expected[f.severity]
        assert issue["detail"] == f.message
        assert issue["implicated"] == [{"reference": mr_url}]


def test_no_regimen_means_no_medication_request_and_monitoring_is_a_care_plan() -> None:
    a, b = _bundle("adult_haemodialysis")
    assert _of(b, "MedicationRequest") == []
    assert all("implicated" not in i for i in _of(b, "DetectedIssue"))
    (plan,) = _of(b, "CarePlan")
    assert len(plan["activity"]) == len(a.monitoring)
    assert plan["activity"][0]["detail"]["description"].startswith(a.monitoring[0].what)


def test_our_draft_reads_back_as_the_same_regimen() -> None:
    """The writer's timing means what the reader reads: titration then maintenance."""
    a, b = _bundle("adult_start")
    (mr,) = _of(b, "MedicationRequest")
    mr["id"] = "draft1"
    back = read_fhir({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": r} for r in (patient(), weight(62), creatinine(0.9), mr)]},
        at=NOW, options=ReaderOptions(open_order_days=21))
    reg = back.document.regimen
    assert reg is not None
    titration, maintenance = a.recommendation.phases
    first14 = [d for d in reg.doses if d.time < NOW + timedelta(days=14)]
    assert len(first14) == 14 * titration.doses_per_day
    assert {d.amount_mg for d in first14} == {titration.dose_mg}
    assert len(reg.doses) == 21 * 2 + 1  # maintenance runs on to the 21-day horizon, inclusive
    assert back.draft_orders == ("MedicationRequest/draft1",)
