"""CDS Hooks 2.0 requests → FHIR reading: prefetch, draft orders, and what is missing.

The prefetch templates are defined once here: discovery shows them, and a service
that must fetch what the EHR did not prefetch runs the same queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cyclodose.errors import CaseError
from cyclodose.interop.fhir import FhirReading, ReaderOptions, read_fhir
from cyclodose.interop.fhir.codes import LOINC, loinc
from cyclodose.interop.fhir.medications import is_cycloserine

Hook = Literal["order-select", "order-sign", "patient-view"]
PATIENT = "{{context.patientId}}"


def _codes(*kinds: str) -> str:
    return ",".join(f"{LOINC}|{c}" for k in kinds for c in sorted(loinc(k)))


def prefetch_templates(level_code: str | None) -> dict[str, str]:
    """Prefetch keys and FHIR queries, with the spec's `{{context.patientId}}` token only."""
    latest = "&_sort=-date&_count=1"
    level = f"code={level_code}" if level_code else "code:text=cycloserine"
    return {
        "patient": f"Patient/{PATIENT}",
        "weight": f"Observation?patient={PATIENT}&code={_codes('body_weight')}{latest}",
        "height": f"Observation?patient={PATIENT}&code={_codes('body_height')}{latest}",
        "creatinine": (f"Observation?patient={PATIENT}&code="
                       f"{_codes('creatinine_mass', 'creatinine_molar')}{latest}"),
        # The latest pregnancy status and gestational age (interop.fhir.pregnancy reads them)
        "pregnancy": f"Observation?patient={PATIENT}&code={_codes('pregnancy_status')}{latest}",
        "gestational_age": (f"Observation?patient={PATIENT}&code="
                            f"{_codes('gestational_age')}{latest}"),
        "conditions": f"Condition?patient={PATIENT}&clinical-status=active",
        "medications": f"MedicationRequest?patient={PATIENT}&status=active",
        "levels": f"Observation?patient={PATIENT}&{level}&_sort=-date",
    }


def fill(template: str, patient_id: str) -> str:
    return template.replace(PATIENT, patient_id)


class FhirAuthorization(BaseModel):
    model_config = ConfigDict(extra="allow")

    access_token: str = Field(min_length=1)
    token_type: Literal["Bearer"]
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None


class HookContext(BaseModel):
    model_config = ConfigDict(extra="allow")

    userId: str | None = None  # noqa: N815 (CDS Hooks names)
    patientId: str = Field(pattern=r"^[A-Za-z0-9\-.]{1,64}$")  # noqa: N815
    encounterId: str | None = None  # noqa: N815
    selections: list[str] | None = None
    draftOrders: dict[str, Any] | None = None  # noqa: N815


class HookRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    hook: str
    hookInstance: str = Field(min_length=1, max_length=100)  # noqa: N815
    fhirServer: str | None = None  # noqa: N815
    fhirAuthorization: FhirAuthorization | None = None  # noqa: N815
    context: HookContext
    prefetch: dict[str, Any] | None = None


def missing_keys(req: HookRequest, templates: dict[str, str]) -> list[str]:
    """Prefetch keys the EHR did not send (a key sent as null means: no such data)."""
    sent = req.prefetch or {}
    return [k for k in templates if k not in sent]


def cycloserine_drafts(req: HookRequest, hook: Hook) -> list[dict[str, Any]]:
    """Draft MedicationRequests for cycloserine; for order-select only the selected ones."""
    from cyclodose.interop.fhir.resources import model_class

    bundle = req.context.draftOrders or {}
    out = []
    for entry in bundle.get("entry") or []:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict) or res.get("resourceType") != "MedicationRequest":
            continue
        if hook == "order-select" and req.context.selections is not None and \
                f"MedicationRequest/{res.get('id')}" not in req.context.selections:
            continue
        concept = res.get("medicationCodeableConcept")
        if concept is None:
            continue
        try:
            parsed = model_class("CodeableConcept").model_validate(concept)
        except ValueError as exc:
            raise CaseError.single(f"MedicationRequest/{res.get('id')}.medicationCodeableConcept",
                                   str(exc).splitlines()[0]) from None
        if is_cycloserine(parsed):
            out.append(res)
    return out


def mentions_cycloserine(documents: list[Any]) -> bool:
    """Whether any medication resource in the documents is cycloserine (before reading them),
    so that patient-view stays silent for patients who are not on it."""
    from cyclodose.interop.fhir.resources import model_class

    def walk(doc: Any) -> bool:
        if isinstance(doc, list):
            return any(walk(d) for d in doc)
        if not isinstance(doc, dict):
            return False
        if doc.get("resourceType") == "Bundle":
            return any(walk(e.get("resource")) for e in doc.get("entry") or []
                       if isinstance(e, dict))
        concept = (doc.get("medicationCodeableConcept")
                   if str(doc.get("resourceType", "")).startswith("Medication") else None)
        if not isinstance(concept, dict):
            return False
        try:
            return is_cycloserine(model_class("CodeableConcept").model_validate(concept))
        except ValueError:
            return True  # unreadable: let the reader name the problem
    return walk(documents)


def read_hook(req: HookRequest, fetched: dict[str, Any], *, at: datetime,
              options: ReaderOptions) -> FhirReading:
    """Prefetch (and what was fetched for missing keys) plus the draft orders, read as one."""
    documents = [*(req.prefetch or {}).values(), *fetched.values()]
    if req.context.draftOrders:
        documents.append(req.context.draftOrders)
    return read_fhir(*documents, at=at, options=options, patient_id=req.context.patientId)
