"""Assessment → FHIR R4 Bundle: a draft MedicationRequest, DetectedIssues and a CarePlan.

Each resource is validated with fhir.resources (R4B models) before it leaves.
Nothing clinical is recomputed: doses, frequencies, findings and monitoring come
from the Assessment as they are.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cyclodose.interop.fhir.codes import ATC, RXNORM, UCUM
from cyclodose.interop.fhir.resources import model_class
from cyclodose.render.severity import DETECTED_ISSUE

if TYPE_CHECKING:
    from cyclodose import Assessment
    from cyclodose.clinical.dosing import Phase

FINDING_SYSTEM = "https://cyclodose.org/fhir/CodeSystem/finding"
CAPSULE_250_RXNORM = ("197551", "cycloserine 250 MG Oral Capsule")  # RxNorm (NLM) SCD


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def medication_concept(whole_250_capsules: bool) -> dict[str, Any]:
    coding = [{"system": ATC, "code": "J04AB01", "display": "cycloserine"}]
    if whole_250_capsules:
        code, display = CAPSULE_250_RXNORM
        coding.insert(0, {"system": RXNORM, "code": code, "display": display})
    return {"coding": coding, "text": "cycloserine oral capsules"}


def dosage_instruction(ph: Phase, sequence: int) -> dict[str, Any]:
    """A structured Dosage for one phase of the recommended regimen."""
    repeat: dict[str, Any] = (
        {"frequency": ph.doses_per_day, "period": 1, "periodUnit": "d"}
        if ph.days_per_week == 7 else
        {"frequency": ph.doses_per_day * ph.days_per_week, "period": 1, "periodUnit": "wk"})
    if ph.duration_days is not None:
        repeat["boundsDuration"] = {"value": ph.duration_days, "unit": "days", "system": UCUM,
                                    "code": "d"}
    text = f"{ph.label}: {ph.dose_mg:g} mg ({ph.capsules}) {ph.frequency}" + (
        f" for {ph.duration_days} days" if ph.duration_days is not None else "")
    return {"sequence": sequence, "text": text, "timing": {"repeat": repeat},
            "route": {"coding": [{"system": "http://snomed.info/sct", "code": "26643006",
                                  "display": "Oral route"}]},
            "doseAndRate": [{"doseQuantity": {"value": ph.dose_mg, "unit": "mg",
                                              "system": UCUM, "code": "mg"}}]}


def _reference(subject: str | None) -> dict[str, str]:
    return {"reference": subject} if subject else {"display": "the assessed patient"}


def medication_request(a: Assessment, subject: str | None, now: datetime) -> dict[str, Any]:
    rec = a.recommendation
    whole = all(ph.dose_mg % 250 == 0 for ph in rec.phases)
    notes = [*rec.rationale, f"Guideline: {rec.guideline}; status: {rec.status}.",
             "Sources: " + "; ".join(s.reference for s in rec.sources)]
    return {
        "resourceType": "MedicationRequest", "status": "draft", "intent": "proposal",
        "medicationCodeableConcept": medication_concept(whole),
        "subject": _reference(subject), "authoredOn": now.isoformat(),
        "dosageInstruction": [dosage_instruction(ph, i + 1) for i, ph in enumerate(rec.phases)],
        "note": [{"text": n} for n in notes],
    }


def detected_issue(f: Any, subject: str | None, implicated: str | None,
                   now: datetime) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "resourceType": "DetectedIssue", "status": "preliminary",
        "code": {"coding": [{"system": FINDING_SYSTEM, "code": f.code}], "text": f.code},
        "severity": DETECTED_ISSUE[f.severity], "patient": _reference(subject),
        "identifiedDateTime": now.isoformat(), "detail": f.message,
        "reference": "; ".join(s.reference for s in f.sources) or None,
    }
    if implicated:
        issue["implicated"] = [{"reference": implicated}]
    return {k: v for k, v in issue.items() if v is not None}


def care_plan(a: Assessment, subject: str | None, now: datetime,
              addresses: list[str]) -> dict[str, Any]:
    return {
        "resourceType": "CarePlan", "status": "draft", "intent": "proposal",
        "title": "Cycloserine monitoring plan", "subject": _reference(subject),
        "created": now.isoformat(),
        "activity": [{"detail": {
            "status": "not-started", "code": {"text": m.what},
            "description": f"{m.what}: {m.when}. Why: {m.why}. Sources: "
                           + "; ".join(s.reference for s in m.sources)}}
            for m in a.monitoring],
        **({"supportingInfo": [{"reference": r} for r in addresses]} if addresses else {}),
    }


def _validated(resource: dict[str, Any]) -> dict[str, Any]:
    model_class(resource["resourceType"]).model_validate(resource)
    return resource


INPUT_SYSTEM = "https://cyclodose.org/fhir/CodeSystem/input"


def input_issue(code: str, message: str, subject: str | None, now: datetime) -> dict[str, Any]:
    """A remark of the reader about its input (e.g. a stale creatinine) as a DetectedIssue."""
    return {"resourceType": "DetectedIssue", "status": "preliminary",
            "code": {"coding": [{"system": INPUT_SYSTEM, "code": code}], "text": code},
            "severity": "low" if code == "not_read" else "moderate",
            "patient": _reference(subject), "identifiedDateTime": now.isoformat(),
            "detail": message}


def assessment_bundle(a: Assessment, *, now: datetime, subject: str | None = None,
                      input_flags: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """A collection Bundle: the recommended regimen (if any), each finding, the monitoring,
    and the reader's remarks about the input (`input_flags`: code, message)."""
    entries: list[tuple[str, dict[str, Any]]] = []
    mr_url = None
    if a.recommendation.phases:
        mr_url = _urn()
        entries.append((mr_url, medication_request(a, subject, now)))
    issue_urls = []
    for f in a.findings:
        url = _urn()
        issue_urls.append(url)
        entries.append((url, detected_issue(f, subject, mr_url, now)))
    for code, message in input_flags or []:
        entries.append((_urn(), input_issue(code, message, subject, now)))
    if a.monitoring:
        entries.append((_urn(), care_plan(a, subject, now, issue_urls)))
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": now.isoformat(),
              "entry": [{"fullUrl": url, "resource": _validated(r)} for url, r in entries]}
    model_class("Bundle").model_validate(bundle)
    return bundle
