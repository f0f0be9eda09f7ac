"""FHIR R4 in and out: a Bundle assessed, a Bundle recommended, a patient imported.

Routes translate only: read the Bundle (interop), assess (the core), render (FHIR writer),
store and audit. Everything needs a signed-in user with the right role.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

from cyclodose import Assessment
from cyclodose.errors import CaseError
from cyclodose.interop.fhir import FhirReading, read_fhir
from cyclodose.interop.fhir.reader import Flag, Listed, SourceOf
from cyclodose.render.fhir_bundle import assessment_bundle
from cyclodose.service import fhir_import
from cyclodose.service.deps import AppSettings, Audit, Clock, DbSession, Reader, Writer
from cyclodose.service.ehr_settings import Ehr
from cyclodose.service.fhir_client import EHR_RESPONSES
from cyclodose.service.records import PatientRecord

router = APIRouter(prefix="/api/v1", tags=["FHIR"], responses=EHR_RESPONSES)

FhirBundle = Annotated[dict[str, Any], Body(description="a FHIR R4 Bundle (JSON)")]


class FhirInput(BaseModel):
    """What was read from FHIR: the resource behind each field, what was not used, flags."""

    model_config = ConfigDict(frozen=True)

    patient_id: str | None
    sources: tuple[SourceOf, ...]
    listed: tuple[Listed, ...]
    flags: tuple[Flag, ...]

    @classmethod
    def of(cls, r: FhirReading) -> FhirInput:
        return cls(patient_id=r.patient_id, sources=r.sources, listed=r.listed, flags=r.flags)


class FhirAssessment(BaseModel):
    assessment: Assessment
    fhir_input: FhirInput


def _read(bundle: dict[str, Any], clock: Any, ehr: Any, settings: Any) -> FhirReading:
    if bundle.get("resourceType") != "Bundle":
        raise HTTPException(422, "the body must be a FHIR Bundle (resourceType Bundle)")
    return read_fhir(bundle, at=clock(), options=ehr.reader_options(settings.timezone))


def _assess(reading: FhirReading) -> Assessment:
    from cyclodose import workflows

    try:
        return workflows.assess(reading.parse())
    except CaseError as exc:
        raise reading.named(exc) from None


@router.post("/fhir/assess")
def fhir_assess(bundle: FhirBundle, principal: Reader, audit: Audit, clock: Clock, ehr: Ehr,
                settings: AppSettings) -> FhirAssessment:
    """Assess the patient in a FHIR R4 Bundle (Patient, Observations, Conditions, medications)."""
    reading = _read(bundle, clock, ehr, settings)
    result = _assess(reading)
    audit.record("fhir.assess", detail={"fhir_patient": reading.patient_id}, input=bundle,
                 output=result.model_dump(mode="json"))
    return FhirAssessment(assessment=result, fhir_input=FhirInput.of(reading))


@router.post("/fhir/recommendation", response_class=Response,
             responses={200: {"content": {"application/fhir+json": {}}}})
def fhir_recommendation(bundle: FhirBundle, principal: Reader, audit: Audit, clock: Clock,
                        ehr: Ehr, settings: AppSettings) -> Response:
    """The assessment as a FHIR Bundle: draft MedicationRequest, DetectedIssues, CarePlan."""
    import json

    reading = _read(bundle, clock, ehr, settings)
    result = _assess(reading)
    subject = f"Patient/{reading.patient_id}" if reading.patient_id else None
    out = assessment_bundle(result, now=clock(), subject=subject,
                            input_flags=[(f.code, f.message) for f in reading.flags])
    audit.record("fhir.recommendation", detail={"fhir_patient": reading.patient_id},
                 input=bundle, output=out)
    return Response(json.dumps(out), media_type="application/fhir+json")


class ImportRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    fhir_server: str = Field(alias="fhirServer", min_length=1, max_length=500)
    patient_id: str = Field(alias="patientId", min_length=1, max_length=64)


class ImportResult(BaseModel):
    created: bool
    record: PatientRecord
    fhir_input: FhirInput


@router.post("/patients/import")
def import_patient(body: ImportRequest, response: Response, principal: Writer, s: DbSession,
                   audit: Audit, clock: Clock, settings: AppSettings, ehr: Ehr,
                   fhir_authorization: Annotated[str | None, Header(
                       alias="X-FHIR-Authorization", max_length=8000,
                       description="Bearer token for the FHIR server")] = None,
                   ) -> ImportResult:
    """Create or update a patient record from a FHIR server (on the allow-list)."""
    token = None
    if fhir_authorization:
        scheme, _, token = fhir_authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(422, "X-FHIR-Authorization must be 'Bearer <token>'")
    created, record, reading = fhir_import.import_patient(
        body.fhir_server, body.patient_id, token, principal=principal, s=s, audit=audit,
        clock=clock, settings=settings, ehr=ehr, response=response)
    return ImportResult(created=created, record=record, fhir_input=FhirInput.of(reading))
