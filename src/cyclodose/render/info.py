"""The JSON document of what the knowledge base says about the drug (`cyclodose info --json`,
GET /api/v1/drug): one writer for both interfaces."""

from __future__ import annotations

from typing import Any

from cyclodose import knowledge
from cyclodose.knowledge import Fact, Match


def identity() -> dict[str, Any]:
    chem = knowledge.fact("identity.chemistry").data
    codes = knowledge.fact("identity.codes").data
    return {
        "inn": knowledge.fact("identity.names").data["inn"],
        "iupac_name": chem["iupac_name"],
        "formula": chem["formula"],
        "molecular_weight_g_mol": chem["molecular_weight_g_mol"],
        "cas": codes["cas"],
        "atc": codes["atc"],
        "atcvet": codes["atcvet"],
    }


def fact_json(f: Fact) -> dict[str, Any]:
    doc = f.model_dump(mode="json", exclude_none=True)
    doc["sources"] = [s.model_dump(exclude_none=True) for s in f.sources]
    doc["source_ref"] = knowledge.source_ref(f.id)
    return doc


def info_document(found: Match, section_names: list[str], shown: list[Fact]) -> dict[str, Any]:
    """The stable JSON document of `info --json`."""
    return {
        "query": found.query,
        "match": {
            "drug": found.drug,
            "name": found.name,
            "kinds": list(found.kinds),
            "method": found.method,
            "distance": found.distance,
            "countries": list(found.countries),
        },
        "identity": identity(),
        "brands": knowledge.brands(),
        "sections": section_names,
        "facts": [fact_json(f) for f in shown],
    }
