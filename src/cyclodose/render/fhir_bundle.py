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
    from cyclodose.workflows.tdm.section import TdmRecommendation

FINDING_SYSTEM = "https://cyclodose.org/fhir/CodeSystem/finding"
LEAD_SYSTEM = "https://cyclodose.org/fhir/CodeSystem/lead"
ORAL = {"coding": [{"system": "http://snomed.info/sct", "code": "26643006",
                    "display": "Oral route"}]}
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
            "route": ORAL,
            "doseAndRate": [{"doseQuantity": {"value": ph.dose_mg, "unit": "mg",
                                              "system": UCUM, "code": "mg"}}]}


def _shifted(clock: str, hours: float) -> str:
    h, m = (int(x) for x in clock.split(":"))
    minutes = (h * 60 + m + round(hours * 60)) % 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def tdm_dosage_instructions(rec: TdmRecommendation) -> list[dict[str, Any]]:
    """The TDM regimen as concurrent Dosages (one sequence), one per distinct dose amount with
    its clock times over a day: 250/375 mg q12h is 250 mg at 08:00 and 375 mg at 20:00 every
    day; 250 mg q12h is 250 mg at 08:00 and 20:00. A period longer than a day stays as is."""
    per_day = 24.0 / rec.period_h
    repeats = int(per_day) if per_day >= 1 and per_day.is_integer() else 1
    period: dict[str, Any] = ({"period": 1, "periodUnit": "d"} if repeats > 1 or per_day == 1
                              else {"period": rec.period_h, "periodUnit": "h"})
    given = [(x.dose_mg, _shifted(x.clock, k * rec.period_h) if x.clock else None,
              rec.capsules[i] if i < len(rec.capsules) else "")
             for k in range(repeats) for i, x in enumerate(rec.schedule)]
    out = []
    for dose in dict.fromkeys(d for d, _, _ in given):
        times = [(c, caps) for d, c, caps in given if d == dose]
        clocks = sorted(c for c, _ in times if c)
        repeat: dict[str, Any] = {"frequency": len(times), **period}
        if len(clocks) == len(times):
            repeat["timeOfDay"] = [f"{c}:00" for c in clocks]
        caps = times[0][1]
        every = " every day" if period["periodUnit"] == "d" else f", every {rec.period_h:g} h"
        text = (f"TDM regimen {rec.regimen}: {dose:g} mg" + (f" ({caps})" if caps else "")
                + (f" at {', '.join(clocks)}" if clocks else f", {len(times)} time(s)") + every)
        out.append({"sequence": 1, "text": text, "timing": {"repeat": repeat}, "route": ORAL,
                    "doseAndRate": [{"doseQuantity": {"value": dose, "unit": "mg",
                                                      "system": UCUM, "code": "mg"}}]})
    return out


def _reference(subject: str | None) -> dict[str, str]:
    return {"reference": subject} if subject else {"display": "the assessed patient"}


def _guideline_notes(a: Assessment) -> list[str]:
    rec = a.recommendation
    return [*rec.rationale, f"Guideline: {rec.guideline}; status: {rec.status}.",
            "Sources: " + "; ".join(s.reference for s in rec.sources)]


def medication_request(a: Assessment, subject: str | None, now: datetime) -> dict[str, Any]:
    """The draft order of the lead regimen (a.lead): the TDM regimen when levels exist and it
    could be estimated, else the guideline regimen."""
    rec = a.recommendation
    lead = a.lead
    tdm = a.lead_tdm
    if tdm is not None:
        whole = all(x % 250 == 0 for x in tdm.amounts_mg)
        dosage = tdm_dosage_instructions(tdm)
        reference = next(sec.title for sec in lead.sections if sec.name == "guideline")
        notes = [lead.headline, lead.reason, tdm.reason, *tdm.warnings,
                 f"TDM model: {tdm.model.name} v{tdm.model.version} ({tdm.model.citation}); "
                 f"status: {tdm.status}.",
                 f"{reference}: {rec.status}; " + "; then ".join(
                     f"{ph.dose_mg:g} mg {ph.frequency}" for ph in rec.phases) + "."]
    else:
        whole = all(ph.dose_mg % 250 == 0 for ph in rec.phases)
        dosage = [dosage_instruction(ph, i + 1) for i, ph in enumerate(rec.phases)]
        notes = [lead.headline, *_guideline_notes(a)]
    return {
        "resourceType": "MedicationRequest", "status": "draft", "intent": "proposal",
        "medicationCodeableConcept": medication_concept(whole),
        "subject": _reference(subject), "authoredOn": now.isoformat(),
        "dosageInstruction": dosage,
        "note": [{"text": n} for n in notes],
    }


def lead_issue(a: Assessment, subject: str | None, now: datetime) -> dict[str, Any]:
    """The lead when it has no regimen to draft (levels, but no TDM estimate): said, not
    replaced by the guideline regimen."""
    return {"resourceType": "DetectedIssue", "status": "preliminary",
            "code": {"coding": [{"system": LEAD_SYSTEM, "code": f"{a.lead.section}.unavailable"}],
                     "text": f"{a.lead.section} result unavailable"},
            "severity": "moderate", "patient": _reference(subject),
            "identifiedDateTime": now.isoformat(),
            "detail": f"{a.lead.headline} {a.lead.reason}"}


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
    """A collection Bundle: the lead regimen (if any; a.lead), each finding, the monitoring,
    and the reader's remarks about the input (`input_flags`: code, message)."""
    entries: list[tuple[str, dict[str, Any]]] = []
    mr_url = None
    if a.lead.section == "tdm" and a.lead.regimen is None:
        entries.append((_urn(), lead_issue(a, subject, now)))
    elif a.recommendation.phases or a.lead.section == "tdm":
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
