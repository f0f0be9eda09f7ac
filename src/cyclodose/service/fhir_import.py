"""Create or refresh a patient record from a FHIR server (import and SMART launch).

The FHIR data is read into a Case document (interop), then stored through the patient
routes' own functions, so that validation, versions and audit are the same as for a
record typed in. Doses are those before now (the record holds what was given; the later
doses of an order are planned); an update
adds doses and levels not yet stored and corrects the record's fields with a reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cyclodose.errors import CaseError
from cyclodose.interop.fhir import FhirReading, read_fhir
from cyclodose.interop.fhir.resources import model_class
from cyclodose.service.audit import AuditWriter
from cyclodose.service.ehr_settings import EhrSettings
from cyclodose.service.fhir_client import FhirClient
from cyclodose.service.records import PatientCreate, PatientPatch, PatientRecord
from cyclodose.service.settings import Settings
from cyclodose.service.storage import EntryRow, PatientRow

MRN_TYPE = "MR"  # HL7 v2 table 0203 identifier type "Medical record number"


def _identity(patient: dict[str, Any], name: str) -> tuple[str, str]:
    p = model_class("Patient").model_validate(patient)
    ids = [i for i in (p.identifier or []) if i.value]
    mr = [i for i in ids if i.type and any(c.code == MRN_TYPE for c in (i.type.coding or []))]
    chosen = (mr or ids or [None])[0]
    if chosen is None:
        raise CaseError.single(f"{name}.identifier", "no identifier to use as the record's MRN")
    names = p.name or []
    official = next((n for n in names if n.use == "official"), names[0] if names else None)
    if official is None:
        raise CaseError.single(f"{name}.name", "missing: a record needs the patient's name")
    text = official.text or " ".join([*(official.given or []), official.family or ""]).strip()
    if not text:
        raise CaseError.single(f"{name}.name", "empty")
    return str(chosen.value), text


def fetch(server: str, patient_id: str, token: str | None, ehr: EhrSettings,
          transport: Any = None) -> dict[str, list[Any]]:
    if not ehr.allowed_server(server):
        raise HTTPException(403, "this FHIR server is not on CYCLODOSE_FHIR_SERVERS")
    with FhirClient(server, token, ehr.fhir_timeout_s, transport=transport) as client:
        return client.patient_data(patient_id, ehr.fhir_level_code)


def import_patient(server: str, patient_id: str, token: str | None, *, principal: Any,
                   s: Session, audit: AuditWriter, clock: Any, settings: Settings,
                   ehr: EhrSettings, response: Response,
                   transport: Any = None) -> tuple[bool, PatientRecord, FhirReading]:
    from cyclodose.service.routes import patients

    data = fetch(server, patient_id, token, ehr, transport)
    now: datetime = clock()
    reading = read_fhir(*data.values(), at=now, patient_id=patient_id,
                        options=ehr.reader_options(settings.timezone))
    reading.parse()  # refuse what the core cannot use before anything is stored
    patient_raw = data["patient"][0]
    mrn, name = _identity(patient_raw, f"Patient/{patient_id}")
    doc = reading.document
    existing = s.scalar(select(PatientRow).where(PatientRow.mrn == mrn))
    created = existing is None
    if existing is None:
        rec = patients.create_patient(
            PatientCreate(mrn=mrn, name=name, patient=doc.patient, comedications=doc.comedications,
                          target=doc.target, settings=doc.settings),
            response, principal, s, audit, clock, settings)
        pid = rec.id
    else:
        pid = existing.id
        patients.correct_patient(
            pid, PatientPatch(reason=f"refreshed from FHIR {server}/Patient/{patient_id}", mrn=mrn,
                              name=name, patient=doc.patient, comedications=doc.comedications),
            response, principal, s, audit, clock, settings, if_match="*")
    stored = {(e.kind, _key(e.data)) for e in s.scalars(
        select(EntryRow).where(EntryRow.patient_id == pid, EntryRow.in_error.is_(False)))}
    for dose in doc.regimen.doses if doc.regimen else []:
        # given: before the assessment time (doc.assessed_at), as the TDM counts them
        if dose.time < reading.at and ("dose", _key(dose.model_dump(mode="json"))) not in stored:
            patients.add_dose(pid, dose, response, principal, s, audit, clock, settings)
    for level in doc.levels:
        if ("level", _key(level.model_dump(mode="json"))) not in stored:
            patients.add_level(pid, level, response, principal, s, audit, clock, settings)
    audit.record("patient.import", patient_id=pid, detail={
        "fhir_server": server, "fhir_patient": patient_id, "created": created,
        "sources": [x.resource for x in reading.sources]}, input=data)
    record = patients.read_patient(pid, response, principal, s, audit, settings)
    return created, record, reading


def _key(data: dict[str, Any]) -> tuple[str, str]:
    """Entries are compared by time (as UTC) and value: the same dose is not stored twice."""
    t = datetime.fromisoformat(str(data["time"]))
    when = t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
    value = data.get("amount_mg", data.get("value"))
    return when.isoformat(), str(value)

