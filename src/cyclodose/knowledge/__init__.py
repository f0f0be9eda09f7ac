"""The monograph made computable: facts with ids and sources, and name search."""

from cyclodose.knowledge.loader import (
    Fact,
    KnowledgeError,
    Section,
    Source,
    UnknownFactError,
    UnknownSectionError,
    brands,
    fact,
    facts,
    facts_in_section,
    section,
    sections,
    source_ref,
)
from cyclodose.knowledge.search import (
    Match,
    NameEntry,
    NoMatch,
    all_names,
    find,
    name_entries,
    normalise,
)

__all__ = [
    "Fact",
    "KnowledgeError",
    "Match",
    "NameEntry",
    "NoMatch",
    "Section",
    "Source",
    "UnknownFactError",
    "UnknownSectionError",
    "all_names",
    "brands",
    "fact",
    "facts",
    "facts_in_section",
    "find",
    "name_entries",
    "normalise",
    "section",
    "sections",
    "source_ref",
]
