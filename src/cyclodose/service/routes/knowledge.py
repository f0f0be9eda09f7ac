"""The monograph search, its sections and the population PK models (public by default)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from cyclodose import knowledge
from cyclodose.errors import CaseError
from cyclodose.knowledge import Fact
from cyclodose.service.deps import knowledge_access
from cyclodose.service.problems import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["knowledge"], responses=ERROR_RESPONSES,
                   dependencies=[Depends(knowledge_access)])


class DrugMatch(BaseModel):
    drug: str
    name: str
    kinds: list[str]
    method: str
    distance: int
    countries: list[str]


class DrugIdentity(BaseModel):
    inn: str
    iupac_name: str
    formula: str
    molecular_weight_g_mol: float
    cas: str
    atc: str
    atcvet: str


class FactOut(Fact):
    source_ref: str


class DrugInfo(BaseModel):
    """As `cyclodose info --json`."""

    query: str
    match: DrugMatch
    identity: DrugIdentity
    brands: Any
    sections: list[str]
    facts: list[FactOut]


class SectionFacts(BaseModel):
    name: str
    title: str
    facts: list[FactOut]


class ModelList(BaseModel):
    default: str
    models: list[dict[str, Any]]


def _section(name: str) -> knowledge.Section:
    try:
        return knowledge.section(name)
    except knowledge.UnknownSectionError as exc:
        raise CaseError.single("name", f"unknown section {name!r}; valid sections: "
                                       f"{', '.join(exc.valid)}") from None


@router.get("/drug", response_model_exclude_none=True)  # as info --json: absent, not null
def drug(q: str = Query(min_length=1, max_length=200, description="any name, brand, CAS or ATC")
         ) -> DrugInfo:
    """Find the drug by any name and return what the knowledge base says."""
    from cyclodose.render.info import info_document

    found = knowledge.find(q)
    if not isinstance(found, knowledge.Match):
        raise CaseError.single("q", f"no drug or brand named {q!r} in the knowledge base; "
                                    f"closest names: {', '.join(found.suggestions)}")
    names = knowledge.sections()
    shown = [f for name in names for f in knowledge.facts_in_section(name)]
    return DrugInfo.model_validate(info_document(found, names, shown))


@router.get("/drug/sections/{name}", response_model_exclude_none=True)
def drug_section(name: str) -> SectionFacts:
    """One section of the monograph (pharmacokinetics, adverse_effects, …)."""
    sec = _section(name)
    facts = [FactOut(**f.model_dump(), source_ref=knowledge.source_ref(f.id))
             for f in knowledge.facts_in_section(sec.name)]
    return SectionFacts(name=sec.name, title=sec.title, facts=facts)


@router.get("/models")
def models() -> ModelList:
    """The bundled population PK models (as `cyclodose models --json`)."""
    from cyclodose.pk import DEFAULT_MODEL, list_models

    return ModelList(default=DEFAULT_MODEL, models=[s.summary() for s in list_models()])
