"""Stateless use cases: a Case document in, a typed result out (audited with hashes)."""

from __future__ import annotations

from fastapi import APIRouter

from cyclodose.assessment import Assessment
from cyclodose.case import CaseDocument
from cyclodose.service.deps import Audit, Reader
from cyclodose.service.problems import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["use cases"], responses=ERROR_RESPONSES)


def _doc(doc: CaseDocument) -> dict[str, object]:
    return doc.model_dump(mode="json")


@router.post("/assess")
def assess(doc: CaseDocument, principal: Reader, audit: Audit) -> Assessment:
    """Screen, recommend and plan monitoring for a case (as `cyclodose assess --json`)."""
    import cyclodose

    result = cyclodose.assess(cyclodose.parse_case(doc))
    audit.record("assess", input=_doc(doc), output=result.model_dump(mode="json"))
    return result
