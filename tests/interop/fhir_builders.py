"""Builders for FHIR R4 test resources (written for these tests, shaped like HL7 examples),
and `listed_reasons` to read back what a reading listed as not used."""

from __future__ import annotations

from typing import Any

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"


def patient(pid: str = "p1", gender: str = "male", birth: str = "1980-06-15") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": birth}


def obs(oid: str, loinc: str | None, value: float, code: str | None, when: str,
        status: str = "final", text: str | None = None, comparator: str | None = None,
        system: str = UCUM) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": LOINC, "code": loinc}]} if loinc else {}
    if text:
        concept["text"] = text
    q: dict[str, Any] = {"value": value, "system": system}
    if code is not None:
        q["code"] = code
        q["unit"] = code
    if comparator:
        q["comparator"] = comparator
    return {"resourceType": "Observation", "id": oid, "status": status, "code": concept,
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": when,
            "valueQuantity": q}


def weight(value: float = 60, code: str = "kg", when: str = "2026-03-01", oid: str = "wt1",
           **kw: Any) -> dict[str, Any]:
    return obs(oid, "29463-7", value, code, when, **kw)


def creatinine(value: float = 0.9, code: str = "mg/dL", when: str = "2026-02-25T08:00:00Z",
               oid: str = "cr1", loinc: str = "2160-0", **kw: Any) -> dict[str, Any]:
    return obs(oid, loinc, value, code, when, **kw)


def condition(cid: str, *, snomed: str | None = None, icd10: str | None = None,
              text: str | None = None, clinical: str | None = "active",
              verification: str | None = None) -> dict[str, Any]:
    coding = []
    if snomed:
        coding.append({"system": SNOMED, "code": snomed})
    if icd10:
        coding.append({"system": "http://hl7.org/fhir/sid/icd-10", "code": icd10})
    code: dict[str, Any] = {"coding": coding} if coding else {}
    if text:
        code["text"] = text
    r: dict[str, Any] = {"resourceType": "Condition", "id": cid, "code": code,
                         "subject": {"reference": "Patient/p1"}}
    if clinical:
        r["clinicalStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
            "code": clinical}]}
    if verification:
        r["verificationStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            "code": verification}]}
    return r


def cycloserine_concept(code: str = "197551") -> dict[str, Any]:
    return {"coding": [{"system": RXNORM, "code": code,
                        "display": "cycloserine 250 MG Oral Capsule"}]}


def dosage(dose: dict[str, Any] | None = None, *, frequency: int | None = 2, period: float = 1,
           unit: str = "d", start: str | None = "2026-03-01T08:00:00Z", end: str | None = None,
           time_of_day: list[str] | None = None, count: int | None = None) -> dict[str, Any]:
    rep: dict[str, Any] = {"period": period, "periodUnit": unit}
    if frequency is not None:
        rep["frequency"] = frequency
    if start or end:
        rep["boundsPeriod"] = {k: v for k, v in (("start", start), ("end", end)) if v}
    if time_of_day:
        rep["timeOfDay"] = time_of_day
    if count:
        rep["count"] = count
    d: dict[str, Any] = {"timing": {"repeat": rep}}
    if dose is not None:
        d["doseAndRate"] = [{"doseQuantity": dose}]
    return d


def mg(value: float, code: str = "mg") -> dict[str, Any]:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def request(rid: str, dosages: list[dict[str, Any]], status: str = "active",
            concept: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": rid, "status": status,
            "intent": "order", "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": concept or cycloserine_concept(),
            "dosageInstruction": dosages}


def administration(aid: str, when: str, dose: dict[str, Any], status: str = "completed",
                   concept: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"resourceType": "MedicationAdministration", "id": aid, "status": status,
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": concept or cycloserine_concept(),
            "effectiveDateTime": when, "dosage": {"dose": dose}}


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in resources]}


def basic(*extra: dict[str, Any]) -> dict[str, Any]:
    return bundle(patient(), weight(), creatinine(), *extra)


def pregnancy_status(oid: str = "ps1", snomed: str = "77386006", when: str = "2026-02-20",
                     status: str = "final") -> dict[str, Any]:
    """Shaped like the HL7 IPS pregnancy status example (LOINC 82810-3, a SNOMED CT value)."""
    display = {"77386006": "Pregnant", "60001007": "Not pregnant"}.get(snomed, "Other")
    return {"resourceType": "Observation", "id": oid, "status": status,
            "code": {"coding": [{"system": LOINC, "code": "82810-3",
                                 "display": "Pregnancy status"}]},
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": when,
            "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": snomed,
                                                 "display": display}]}}


def gestational_age(value: float = 24, code: str = "wk", when: str = "2026-02-20",
                    oid: str = "ga1", loinc: str = "49051-6", **kw: Any) -> dict[str, Any]:
    return obs(oid, loinc, value, code, when, **kw)


def listed_reasons(reading: Any) -> dict[str, str]:
    """What a FhirReading listed as not used: resource -> reason."""
    return {x.resource: x.reason for x in reading.listed}
