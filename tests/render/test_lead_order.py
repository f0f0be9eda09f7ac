"""Every interface follows the assessment's lead (issue #9, Misleading 2): with levels the TDM
result first, then the guideline regimen and the population-model regimen, each labelled as
not using the levels; without levels the guideline regimen first; an unavailable TDM result
is said first and no other regimen is drafted in its place."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cyclodose import Assessment, assess, parse_case
from cyclodose.cli import app
from cyclodose.errors import CaseError
from cyclodose.intake.case import CaseDocument
from cyclodose.interop.fhir import FhirReading
from cyclodose.render.cards import CardLinks, DraftOrder, cards
from cyclodose.render.consult import consult_html
from cyclodose.render.fhir_bundle import assessment_bundle, tdm_dosage_instructions
from cyclodose.workflows.tdm.consult import tdm_consult

EXAMPLES = Path(__file__).parents[2] / "examples"
NOW = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
LINKS = CardLinks(patient_page="https://cds.example/patients?q=p1",
                  smart_launch="https://cds.example/smart/launch")
GUIDELINE_REF = "Guideline regimen (for reference; does not use the measured levels)"
TDM_TITLE = "TDM result (uses the measured levels)"
MODEL_REF = "Model-informed regimen (population model, for reference; ignores the measured levels)"
runner = CliRunner()


def _doc(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    return doc


def _text(path: Path, *extra: str) -> str:
    res = runner.invoke(app, ["assess", str(path), *extra], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    return re.sub(r"\s+", " ", res.output)


def _in_order(text: str, *parts: str) -> None:
    at = [text.find(p) for p in parts]
    assert all(i >= 0 for i in at), [p for p, i in zip(parts, at, strict=True) if i < 0]
    assert at == sorted(at), list(zip(parts, at, strict=True))


def _reading(doc: dict[str, Any]) -> FhirReading:
    return FhirReading(document=CaseDocument.model_validate(doc), at=NOW, patient_id="p1",
                       sources=(), listed=(), flags=())


def _draft() -> DraftOrder:
    return DraftOrder(resource={
        "resourceType": "MedicationRequest", "id": "draft-1", "status": "draft",
        "intent": "order", "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "cycloserine 250 mg capsule"},
        "dosageInstruction": [{"text": "250 mg twice daily"}]})


def _of(bundle: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


@pytest.fixture(scope="module")
def with_levels() -> Assessment:
    return assess(parse_case(_doc("tdm_two_levels.yaml")))


def test_with_levels_tdm_result_leads_every_interface(with_levels: Assessment) -> None:
    a = with_levels
    tdm = a.lead_tdm
    assert tdm is not None and a.lead.section == "tdm"
    # CLI text: the headline, then the TDM result, the guideline and the population regimen
    text = _text(EXAMPLES / "tdm_two_levels.yaml")
    _in_order(text, "Recommendation (lead): TDM result — recommended", "Findings", TDM_TITLE,
              "Bayesian TDM from 2 level(s)", GUIDELINE_REF, MODEL_REF, "Monitoring plan")
    assert "Recommendation: recommended" not in text  # the guideline no longer reads as the lead
    # JSON: the stable keys stay, the lead is added
    out = json.loads(runner.invoke(app, ["assess", str(EXAMPLES / "tdm_two_levels.yaml"),
                                         "--json"]).output)
    assert {"recommendation", "tdm", "prediction", "candidates", "findings"} <= set(out)
    assert out["lead"]["section"] == "tdm"
    assert [s["name"] for s in out["lead"]["sections"]] == ["tdm", "guideline", "model_informed"]
    # FHIR: the draft order carries the TDM regimen (250 mg at 08:00, 375 mg at 20:00)
    (mr,) = _of(assessment_bundle(a, now=NOW, subject="Patient/p1"), "MedicationRequest")
    doses = [(d["doseAndRate"][0]["doseQuantity"]["value"], d["timing"]["repeat"]["timeOfDay"])
             for d in mr["dosageInstruction"]]
    assert doses == [(x.dose_mg, [f"{x.clock}:00"]) for x in tdm.schedule]
    assert {d["sequence"] for d in mr["dosageInstruction"]} == {1}  # taken together each day
    assert mr["note"][0]["text"] == a.lead.headline
    assert any(n["text"].startswith(GUIDELINE_REF) for n in mr["note"])
    # CDS Hooks: the TDM card is the first regimen card and the only suggestion
    out_cards = cards(a, _reading(_doc("tdm_two_levels.yaml")), links=LINKS,
                      source_url="https://cds.example/cds-services", draft=_draft())
    regimen_cards = [c for c in out_cards if c["source"]["topic"]["code"] in ("tdm", "dosing")]
    assert [c["source"]["topic"]["code"] for c in regimen_cards] == ["tdm", "dosing"]
    tdm_card, guideline_card = regimen_cards
    assert tdm_card["summary"].startswith("Cycloserine TDM result — recommended")
    assert [c for c in out_cards if c.get("suggestions")] == [tdm_card]
    rewritten = tdm_card["suggestions"][0]["actions"][0]["resource"]["dosageInstruction"]
    assert [d["doseAndRate"][0]["doseQuantity"]["value"] for d in rewritten] == tdm.amounts_mg
    assert guideline_card["summary"].startswith(GUIDELINE_REF)
    # consult report: the lead, the TDM recommendation, the guideline regimen for reference
    html = re.sub(r"\s+", " ", consult_html(tdm_consult(parse_case(_doc("tdm_two_levels.yaml")))))
    _in_order(html, "TDM result — recommended", "Patient and renal function",
              f"Recommendation — {TDM_TITLE}", "Alternatives (ranked)", GUIDELINE_REF,
              "Monitoring plan")


def test_without_levels_guideline_leads_every_interface() -> None:
    text = _text(EXAMPLES / "adult_start.yaml")
    _in_order(text, "Recommendation (lead): Guideline regimen — recommended", "Findings",
              "Guideline regimen: recommended", "Day-by-day schedule",
              "Model-informed regimen (beside the guideline regimen)")
    assert TDM_TITLE not in text and "Bayesian TDM" not in text and GUIDELINE_REF not in text
    a = assess(parse_case(_doc("adult_start.yaml")))
    out_cards = cards(a, _reading(_doc("adult_start.yaml")), links=LINKS,
                      source_url="https://cds.example/cds-services", draft=_draft())
    (suggesting,) = [c for c in out_cards if c.get("suggestions")]
    assert suggesting["summary"].startswith("Recommended cycloserine")
    (mr,) = _of(assessment_bundle(a, now=NOW), "MedicationRequest")
    assert [d["doseAndRate"][0]["doseQuantity"]["value"] for d in mr["dosageInstruction"]] == [
        ph.dose_mg for ph in a.recommendation.phases]


def test_tdm_unavailable_lead_says_so_in_every_interface(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise CaseError.single("levels", "no Bayesian estimate can be made from these levels "
                               "and this dose history: the fit did not converge")
    monkeypatch.setattr("cyclodose.workflows.tdm.estimate", fail)
    a = assess(parse_case(_doc("tdm_two_levels.yaml")))
    assert a.lead.regimen is None
    text = _text(EXAMPLES / "tdm_two_levels.yaml")
    _in_order(text, "Recommendation (lead): TDM result — unavailable", TDM_TITLE,
              "Bayesian TDM: not available", GUIDELINE_REF, MODEL_REF)
    # FHIR: no draft order of a regimen that ignores the levels; the lead is an issue instead
    bundle = assessment_bundle(a, now=NOW)
    assert _of(bundle, "MedicationRequest") == []
    lead_issues = [i for i in _of(bundle, "DetectedIssue")
                   if i["code"]["coding"][0]["code"] == "tdm.unavailable"]
    assert len(lead_issues) == 1 and lead_issues[0]["detail"].startswith(a.lead.headline)
    # CDS Hooks: a warning card says so; nothing suggests a change of the order
    out_cards = cards(a, _reading(_doc("tdm_two_levels.yaml")), links=LINKS,
                      source_url="https://cds.example/cds-services", draft=_draft())
    tdm_cards = [c for c in out_cards if c["source"]["topic"]["code"] == "tdm"]
    assert len(tdm_cards) == 1 and tdm_cards[0]["indicator"] == "warning"
    assert "unavailable" in tdm_cards[0]["summary"]
    assert not any(c.get("suggestions") for c in out_cards)


def test_tdm_verify_no_suggestion_and_guideline_not_offered(with_levels: Assessment) -> None:
    doc = _doc("tdm_two_levels.yaml")
    doc["levels"][0]["value"], doc["levels"][1]["value"] = 8.0, 5.5
    a = assess(parse_case(doc))
    assert a.lead.status == "verify before use"
    out_cards = cards(a, _reading(doc), links=LINKS,
                      source_url="https://cds.example/cds-services", draft=_draft())
    assert not any(c.get("suggestions") for c in out_cards)
    (tdm_card,) = [c for c in out_cards if c["source"]["topic"]["code"] == "tdm"]
    assert tdm_card["indicator"] == "warning" and "verify" in tdm_card["summary"]


def test_on_treatment_no_start_schedule_in_report(with_levels: Assessment) -> None:
    consult = tdm_consult(parse_case(_doc("tdm_two_levels.yaml")))
    html = re.sub(r"\s+", " ", consult_html(consult))
    assert GUIDELINE_REF in html  # the guideline regimen is there, for reference ...
    assert "maintenance: 250 mg every 12 h (500 mg/day)" in html
    assert "titration: " not in html  # ... without its start-of-treatment titration phase


def test_on_treatment_no_start_schedule_in_any_interface(with_levels: Assessment) -> None:
    a = with_levels
    assert a.recommendation.schedule == ()
    assert [ph.label for ph in a.recommendation.phases] == ["maintenance"]
    text = _text(EXAMPLES / "tdm_two_levels.yaml")
    assert "Day-by-day schedule" not in text and "titration │" not in text
    (mr,) = _of(assessment_bundle(a, now=NOW), "MedicationRequest")
    assert not any("boundsDuration" in d["timing"]["repeat"] for d in mr["dosageInstruction"])
    out_cards = cards(a, _reading(_doc("tdm_two_levels.yaml")), links=LINKS,
                      source_url="https://cds.example/cds-services")
    assert not any("titration" in c["summary"] for c in out_cards)


def test_a_symmetric_tdm_regimen_is_one_dosage_at_every_clock_time_of_the_day(
        with_levels: Assessment) -> None:
    rec = with_levels.lead_tdm
    assert rec is not None
    q12h = rec.model_copy(update={
        "regimen": "250 mg q12h", "period_h": 12.0, "offsets_h": [0.0], "amounts_mg": [250.0],
        "capsules": ["1 × 250 mg"],
        "schedule": [rec.schedule[0].model_copy(update={"clock": "21:00", "dose_mg": 250.0})]})
    (dosage,) = tdm_dosage_instructions(q12h)
    assert dosage["timing"]["repeat"] == {"frequency": 2, "period": 1, "periodUnit": "d",
                                          "timeOfDay": ["09:00:00", "21:00:00"]}
    assert dosage["text"] == ("TDM regimen 250 mg q12h: 250 mg (1 × 250 mg) at 09:00, 21:00 "
                              "every day")
