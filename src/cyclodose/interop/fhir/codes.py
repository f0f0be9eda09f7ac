"""Code systems and the codes the reader recognises (data in codes.yaml, each with a source)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
ICD10 = ("http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cm")
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


@cache
def data() -> dict[str, Any]:
    text = resources.files("cyclodose.interop.fhir").joinpath("codes.yaml").read_text("utf-8")
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise RuntimeError("interop/fhir/codes.yaml must be a mapping")
    return loaded


def loinc(kind: str) -> frozenset[str]:
    return frozenset(data()["loinc"][kind])


@cache
def snomed_conditions() -> dict[str, dict[str, str]]:
    return {e["code"]: e for e in data()["snomed_conditions"]}


def cycloserine_products() -> dict[str, dict[str, Any]]:
    products: dict[str, dict[str, Any]] = data()["cycloserine"]["rxnorm"]["products"]
    return products


def codings(concept: Any) -> list[Any]:
    return list(getattr(concept, "coding", None) or []) if concept is not None else []


def has_code(concept: Any, system: str, codes: frozenset[str] | set[str]) -> bool:
    return any(c.system == system and c.code in codes for c in codings(concept))


def text_of(concept: Any) -> str | None:
    """The concept's text, else the first coding's display."""
    if concept is None:
        return None
    if concept.text:
        return str(concept.text)
    return next((str(c.display) for c in codings(concept) if c.display), None)
