"""A knowledge id with its readable reference, for findings and recommendations."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SourceRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str  # knowledge id, e.g. "precaution.contraindications"
    reference: str  # readable: monograph section or publication

    def __str__(self) -> str:
        return f"{self.reference} [{self.id}]"


def cite(knowledge_id: str) -> SourceRef:
    """Resolve a knowledge id; an unknown id is a programming error (KeyError)."""
    from cyclodose import knowledge  # imported late: the knowledge base loads its data lazily

    return SourceRef(id=knowledge_id, reference=str(knowledge.source_ref(knowledge_id)))


def cite_all(ids: tuple[str, ...] | list[str]) -> tuple[SourceRef, ...]:
    return tuple(cite(i) for i in dict.fromkeys(ids))
