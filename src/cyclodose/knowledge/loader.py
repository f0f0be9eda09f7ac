"""Load and validate the knowledge base: the monograph as data files.

Each fact has a stable id, the section it belongs to, text in our own words,
optional structured `data` (numbers carry their unit in the key name) and the
sources it comes from (a monograph heading, or the id of a reference fact).
Loading is cached: the data files are package data and never change at run time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# The fact files this module owns. `rules.yaml` and `vocabulary/` in the same
# folder belong to screening and are deliberately not read here.
FACT_FILES: tuple[str, ...] = (
    "identity.yaml",
    "adverse_effects.yaml",
    "precautions.yaml",
    "interactions.yaml",
    "antimicrobial_action.yaml",
    "pharmacokinetics.yaml",
    "uses.yaml",
    "preparations.yaml",
    "references.yaml",
    "external.yaml",
)
SECTIONS_FILE = "sections.yaml"

ID_PATTERN = r"^[a-z]+(\.[a-z0-9_]+)+$"

# A number in `data` must say what it measures: its key ends with a unit, or
# with a marker of a dimensionless quantity.
UNIT_SUFFIXES: tuple[str, ...] = (
    "_mg", "_g", "_mg_kg", "_ug_ml", "_mg_l", "_mg_dl", "_dl_mg", "_kg", "_l", "_l_h",
    "_h", "_per_h", "_days", "_weeks", "_years", "_year", "_per_day", "_per_week",
    "_ml_min", "_ml_min_1_73m2", "_g_mol", "_percent", "_fraction", "_fold", "_ph",
    "_count", "_exponent", "_coefficient",
)


class KnowledgeError(RuntimeError):
    """The bundled knowledge files are inconsistent (a packaging bug, not a user error)."""


class UnknownFactError(KeyError):
    """A fact id the knowledge base does not hold (a KeyError with a readable message)."""

    def __init__(self, fact_id: str, close: list[str]):
        hint = f"; similar ids: {', '.join(close)}" if close else ""
        self.message = f"no knowledge fact with id {fact_id!r}{hint}"
        super().__init__(self.message)
        self.fact_id = fact_id

    def __str__(self) -> str:  # KeyError would otherwise print the message in quotes
        return self.message


class UnknownSectionError(LookupError):
    def __init__(self, name: str, valid: list[str]):
        super().__init__(f"unknown section {name!r}; valid sections: {', '.join(valid)}")
        self.name = name
        self.valid = valid


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(_Frozen):
    """Either a monograph heading (with an optional sub-heading) or a reference fact id."""

    monograph: str | None = None
    part: str | None = None
    ref: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Source:
        if (self.monograph is None) == (self.ref is None):
            raise ValueError("a source names either a monograph heading or a ref, not both")
        if self.part is not None and self.monograph is None:
            raise ValueError("part is a sub-heading of a monograph heading")
        return self


class Section(_Frozen):
    name: str = Field(pattern=r"^[a-z_]+$")
    title: str = Field(min_length=1)
    monograph_headings: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other words a person may type for --section


class Fact(_Frozen):
    id: str = Field(pattern=ID_PATTERN)
    section: str
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    data: dict[str, Any] = Field(default_factory=dict)
    sources: tuple[Source, ...] = ()
    short: str | None = None  # short label of a citable document, e.g. "AAP 2001"
    citation: str | None = None  # bibliographic reference when the fact is a document
    caveat: str | None = None

    @model_validator(mode="after")
    def _well_formed(self) -> Fact:
        if self.citation is None and not self.sources:
            raise ValueError("a fact needs sources unless it is itself a cited document")
        if (self.citation is None) != (self.short is None):
            raise ValueError("a cited document needs both `citation` and `short`")
        _check_units(self.data, f"{self.id}.data")
        return self

    @property
    def is_document(self) -> bool:
        return self.citation is not None


class _FactFile(_Frozen):
    facts: tuple[Fact, ...] = Field(min_length=1)


class _SectionsFile(_Frozen):
    sections: tuple[Section, ...] = Field(min_length=1)


def _check_units(value: Any, path: str, key: str | None = None) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _check_units(v, f"{path}.{k}", str(k))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_units(item, f"{path}[{i}]", key)
    elif (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (key is None or not key.endswith(UNIT_SUFFIXES))
    ):
        raise ValueError(f"{path}: a number needs its unit in the key name")


@dataclass(frozen=True)
class KnowledgeBase:
    sections: tuple[Section, ...]
    facts: Mapping[str, Fact]  # insertion order = file order


def _read_yaml(name: str) -> Any:
    text = resources.files("cyclodose.knowledge").joinpath("data", name).read_text("utf-8")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"knowledge/data/{name}: {exc}") from exc


def parse_fact_file(name: str, raw: Any) -> tuple[Fact, ...]:
    """Validate one fact file's content (used by the loader and by tests)."""
    try:
        return _FactFile.model_validate(raw).facts
    except ValidationError as exc:
        raise KnowledgeError(f"knowledge/data/{name}: {exc}") from exc


def build(sections: tuple[Section, ...], facts: list[Fact]) -> KnowledgeBase:
    """Cross-check the facts against each other and the sections."""
    problems: list[str] = []
    by_name = {s.name: s for s in sections}
    if len(by_name) != len(sections):
        problems.append("duplicate section names")
    headings = {h for s in sections for h in s.monograph_headings}
    by_id: dict[str, Fact] = {}
    for f in facts:
        if f.id in by_id:
            problems.append(f"duplicate fact id {f.id!r}")
        by_id[f.id] = f
        if f.section not in by_name:
            problems.append(f"{f.id}: unknown section {f.section!r}")
    for f in facts:
        for src in f.sources:
            if src.monograph is not None and src.monograph not in headings:
                problems.append(f"{f.id}: unknown monograph heading {src.monograph!r}")
            if src.ref is not None:
                target = by_id.get(src.ref)
                if target is None or not target.is_document:
                    problems.append(f"{f.id}: source ref {src.ref!r} is not a cited document")
    if problems:
        raise KnowledgeError("; ".join(problems))
    return KnowledgeBase(sections=sections, facts=by_id)


@cache
def knowledge_base() -> KnowledgeBase:
    try:
        sections = _SectionsFile.model_validate(_read_yaml(SECTIONS_FILE)).sections
    except ValidationError as exc:
        raise KnowledgeError(f"knowledge/data/{SECTIONS_FILE}: {exc}") from exc
    facts: list[Fact] = []
    for name in FACT_FILES:
        facts.extend(parse_fact_file(name, _read_yaml(name)))
    return build(sections, facts)


# ---- public accessors -------------------------------------------------------


def facts() -> list[Fact]:
    """Every fact, in section and file order."""
    return list(knowledge_base().facts.values())


def fact(fact_id: str) -> Fact:
    """The fact with this id; UnknownFactError (with similar ids) when there is none."""
    kb = knowledge_base()
    found = kb.facts.get(fact_id)
    if found is None:
        prefix = fact_id.split(".")[0]
        close = [i for i in kb.facts if i.split(".")[0] == prefix][:8]
        raise UnknownFactError(fact_id, close)
    return found


def sections() -> list[str]:
    """Section names in monograph order."""
    return [s.name for s in knowledge_base().sections]


def section(name: str) -> Section:
    """Resolve a section by name, title, monograph heading or alias (case, spacing ignored)."""
    wanted = _slug(name)
    for s in knowledge_base().sections:
        words = (s.name, s.title, *s.monograph_headings, *s.aliases)
        if wanted in {_slug(w) for w in words}:
            return s
    raise UnknownSectionError(name, sections())


def facts_in_section(name: str) -> list[Fact]:
    sec = section(name)
    return [f for f in knowledge_base().facts.values() if f.section == sec.name]


def source_ref(fact_id: str) -> str:
    """A short citation for a fact, e.g. 'Monograph §Precautions (Breast feeding); AAP 2001'.

    For a cited document (a reference or external source) it is the document's citation.
    """
    f = fact(fact_id)
    if f.citation is not None:
        return f.citation
    parts: list[str] = []
    for src in f.sources:
        if src.monograph is not None:
            label = f"Monograph §{src.monograph}" + (f" ({src.part})" if src.part else "")
        else:
            label = fact(str(src.ref)).short or str(src.ref)
        if label not in parts:
            parts.append(label)
    return "; ".join(parts)


def brands() -> dict[str, list[str]]:
    """Proprietary name → countries marketing it, in monograph order."""
    out: dict[str, list[str]] = {}
    for product in fact("preparation.proprietary").data["products"]:
        out.setdefault(product["brand"], []).append(product["country"])
    return out


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).casefold()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")
