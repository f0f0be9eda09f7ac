"""Recognise a case's free-text conditions, co-medications and symptoms.

Terms live in `knowledge/data/vocabulary/*.yaml`. Matching folds case, accents
and punctuation; conditions also match ICD-10 codes by prefix ("ICD10:F32.1",
"F32.1"). Qualifiers such as "severe" or "history of" are stripped and kept.
Whatever is not recognised is returned as `Unrecognised`, never dropped.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

Kind = Literal["condition", "comedication", "symptom"]

_ICD = re.compile(r"^(?:icd-?10(?:-cm)?\s*[:=]?\s*)?([a-z]\d\d(?:\.?\w{0,4})?)(?:\s+(.*))?$")


class Recognised(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    text: str  # as written in the case
    field: str  # e.g. "patient.conditions[1]"
    concept: str  # vocabulary id, e.g. "depression", "isoniazid", "tremor"
    matched_by: Literal["term", "icd10", "name", "brand", "atc"]
    qualifiers: tuple[str, ...] = ()  # e.g. ("severe",), ("history",)
    category: str | None = None  # symptoms: "cns" | "skin"
    antituberculous: bool = False  # co-medications
    drug_class: str | None = None  # co-medications: antidepressant | antipsychotic | antiepileptic


class Unrecognised(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    text: str
    field: str
    reason: str


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation to spaces, whitespace collapsed."""
    nfkd = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in nfkd if not unicodedata.combining(c))
    plain = re.sub(r"[^\w\s./-]", " ", plain).replace("_", " ")
    return re.sub(r"\s+", " ", plain).strip()


def _icd_key(code: str) -> str:
    return code.upper().replace(".", "")


@cache
def _data(name: str) -> dict[str, Any]:
    path = resources.files("cyclodose").joinpath(f"knowledge/data/vocabulary/{name}.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise RuntimeError(f"vocabulary/{name}.yaml must be a mapping")
    return data


@lru_cache(maxsize=1)
def _condition_index() -> tuple[dict[str, str], list[tuple[str, str]], dict[str, list[str]],
                                dict[str, str]]:
    data = _data("conditions")
    terms: dict[str, str] = {}
    icd: list[tuple[str, str]] = []
    variants: dict[str, str] = {}
    for c in data["conditions"]:
        for t in c["terms"]:
            terms[fold(t)] = c["id"]
        icd += [(_icd_key(code), c["id"]) for code in c.get("icd10", [])]
        if c.get("severe_variant"):
            variants[c["id"]] = c["severe_variant"]
    # Longest prefix first so that E80.2 wins over a shorter prefix.
    icd.sort(key=lambda kv: -len(kv[0]))
    qualifiers = {k: [fold(q) for q in v] for k, v in data["qualifiers"].items()}
    return terms, icd, qualifiers, variants


def condition_ids() -> set[str]:
    return {c["id"] for c in _data("conditions")["conditions"]}


def _strip_qualifiers(text: str, qualifiers: dict[str, list[str]]) -> tuple[str, list[str]]:
    found: list[str] = []
    changed = True
    while changed:
        changed = False
        for name, words in qualifiers.items():
            for w in sorted(words, key=len, reverse=True):
                if text.startswith(w + " "):
                    text = text[len(w) + 1:].strip()
                    found.append(name)
                    changed = True
                    break
    return text, found


def recognise_condition(text: str, field: str) -> Recognised | Unrecognised:
    terms, icd, qualifiers, variants = _condition_index()
    folded = fold(text)
    concept: str | None = None
    matched_by: Literal["term", "icd10"] = "term"
    quals: list[str] = []
    m = _ICD.match(folded)
    if m is None and folded not in terms:
        # A qualifier may come before the code too: "severe F41.1".
        rest, quals = _strip_qualifiers(folded, qualifiers)
        m = _ICD.match(rest) if quals else None
    if m and not terms.get(folded):
        key = _icd_key(m.group(1))
        concept = next((cid for prefix, cid in icd if key.startswith(prefix)), None)
        matched_by = "icd10"
        if m.group(2):
            _, after = _strip_qualifiers(m.group(2) + " ", qualifiers)
            quals += after
        if concept is None:
            return Unrecognised(kind="condition", text=text, field=field,
                                reason=f"ICD-10 code {m.group(1).upper()} is not in the vocabulary")
    else:
        if folded in terms:
            concept = terms[folded]
        else:
            rest, quals = _strip_qualifiers(folded, qualifiers)
            concept = terms.get(rest)
        if concept is None:
            return Unrecognised(kind="condition", text=text, field=field,
                                reason="not a known condition term or ICD-10 code")
    if "severe" in quals and concept in variants:
        concept = variants[concept]
    return Recognised(kind="condition", text=text, field=field, concept=concept,
                      matched_by=matched_by, qualifiers=tuple(dict.fromkeys(quals)))


_DrugHit = tuple[str, Literal["name", "brand", "atc"], bool, str | None]


@lru_cache(maxsize=1)
def _drug_index() -> dict[str, _DrugHit]:
    index: dict[str, _DrugHit] = {}
    for d in _data("comedications")["drugs"]:
        tb = bool(d.get("antituberculous", False))
        cls = d.get("class")
        for n in d["names"]:
            index[fold(n)] = (d["id"], "name", tb, cls)
        for b in d.get("brands", []):
            index.setdefault(fold(b), (d["id"], "brand", tb, cls))
        for a in d.get("atc", []):
            index[fold(a)] = (d["id"], "atc", tb, cls)
    return index


def _cycloserine_name(text: str) -> Literal["name", "brand", "atc"] | None:
    """Cycloserine itself listed as a co-medication (any name, brand or code; no typo match)."""
    from cyclodose import knowledge  # late: the name index is built on first use

    m = knowledge.find(text)
    if not isinstance(m, knowledge.Match) or m.method == "one typo":
        return None
    if "ATC code" in m.kinds or "ATCvet code" in m.kinds:
        return "atc"
    return "brand" if m.kinds == ("brand",) else "name"


# "isoniazid 300 mg daily", "Levofloxacin 750mg": the name before a strength in mass units.
_STRENGTH = re.compile(r"^(?P<name>.+?)\s+\d+(?:[.,]\d+)?\s*(?:mg|g|mcg|µg|ug)\b.*$")


def recognise_comedication(text: str, field: str) -> Recognised | Unrecognised:
    folded = fold(text)
    hit = _drug_index().get(folded)
    if hit is None and (m := _STRENGTH.match(folded)):
        hit = _drug_index().get(m.group("name"))
    if hit is None:
        # An ATC code of a flagged class (e.g. any N06A antidepressant) is recognised by prefix.
        code = folded.upper()
        if re.fullmatch(r"[A-Z]\d\d[A-Z]{2}\d\d", code):
            for prefix, cls in _data("comedications").get("atc_classes", {}).items():
                if code.startswith(prefix):
                    return Recognised(kind="comedication", text=text, field=field,
                                      concept=f"atc:{code}", matched_by="atc", drug_class=cls)
        same = _cycloserine_name(text)
        if same is not None:
            return Recognised(kind="comedication", text=text, field=field, concept="cycloserine",
                              matched_by=same, drug_class="cycloserine")
        return Unrecognised(kind="comedication", text=text, field=field,
                            reason="not a known generic name, brand or ATC code")
    concept, by, tb, cls = hit
    return Recognised(kind="comedication", text=text, field=field, concept=concept,
                      matched_by=by, antituberculous=tb, drug_class=cls)


@lru_cache(maxsize=1)
def _symptom_index() -> dict[str, tuple[str, str]]:
    return {fold(t): (s["id"], s["category"]) for s in _data("symptoms")["symptoms"]
            for t in s["terms"]}


def recognise_symptom(text: str, field: str) -> Recognised | Unrecognised:
    index = _symptom_index()
    folded = fold(text)
    hit = index.get(folded)
    if hit is None:
        _, _, qualifiers, _ = _condition_index()
        rest, _ = _strip_qualifiers(folded, qualifiers)
        hit = index.get(rest)
    if hit is None:
        return Unrecognised(kind="symptom", text=text, field=field,
                            reason="not a known adverse-effect symptom")
    return Recognised(kind="symptom", text=text, field=field, concept=hit[0],
                      matched_by="term", category=hit[1])


class Vocabulary(BaseModel):
    """Everything recognised in a case, and everything that was not."""

    model_config = ConfigDict(frozen=True)

    recognised: tuple[Recognised, ...]
    unrecognised: tuple[Unrecognised, ...]

    def of(self, kind: Kind) -> tuple[Recognised, ...]:
        return tuple(r for r in self.recognised if r.kind == kind)


def recognise(conditions: tuple[str, ...] | list[str], comedications: tuple[str, ...] | list[str],
              symptoms: tuple[str, ...] | list[str]) -> Vocabulary:
    found: list[Recognised | Unrecognised] = []
    found += [recognise_condition(t, f"patient.conditions[{i}]") for i, t in enumerate(conditions)]
    found += [recognise_comedication(t, f"comedications[{i}]") for i, t in enumerate(comedications)]
    found += [recognise_symptom(t, f"patient.symptoms[{i}]") for i, t in enumerate(symptoms)]
    return Vocabulary(
        recognised=tuple(x for x in found if isinstance(x, Recognised)),
        unrecognised=tuple(x for x in found if isinstance(x, Unrecognised)),
    )
