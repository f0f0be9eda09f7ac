"""Find cycloserine by any name it goes by: INN, synonym, brand, code or chemical name.

Matching is tried in order of certainty: exact text; the same after
normalisation (case, accents, punctuation and script ignored: Cyrillic and Greek
are transliterated); a spelling variant (c/k, y/i, ts/c, ph/f); one typo
(Damerau-Levenshtein distance 1). Codes (CAS, ATC, research codes) are never
matched by typo: a one-character slip in J04AB01 is another drug.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cache

from cyclodose.knowledge import loader

DRUG = "Cycloserine"
MIN_TYPO_LENGTH = 5  # shorter queries are too easily one edit from a wrong name
SUGGESTIONS = 5

# Kinds, in the order a tie is resolved.
KIND_ORDER = (
    "INN", "synonym", "Cyrillic synonym", "brand", "IUPAC name", "research code",
    "CAS number", "ATC code", "ATCvet code",
)
_CODE_KINDS = {"research code", "CAS number", "ATC code", "ATCvet code"}

_CYRILLIC = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p",
     "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya",
     "i", "i", "ye", "g", "u"],
    strict=True,
))
_GREEK = dict(zip(
    "αβγδεζηθικλμνξοπρσςτυφχψω",
    ["a", "v", "g", "d", "e", "z", "i", "th", "i", "k", "l", "m", "n", "x", "o", "p", "r",
     "s", "s", "t", "y", "f", "ch", "ps", "o"],
    strict=True,
))
# Letter groups that spell the same sound across languages; applied after normalising.
_VARIANTS = (("ts", "c"), ("ph", "f"), ("ck", "k"), ("k", "c"), ("y", "i"))


@dataclass(frozen=True)
class NameEntry:
    name: str
    kind: str
    fact_id: str
    countries: tuple[str, ...] = ()

    @property
    def typo_tolerant(self) -> bool:
        return self.kind not in _CODE_KINDS


@dataclass(frozen=True)
class Match:
    query: str
    name: str  # the name as the knowledge base spells it
    kinds: tuple[str, ...]  # every kind of name this spelling is (e.g. INN and UK brand)
    method: str  # exact | normalised | spelling variant | one typo
    distance: int  # edits between normalised query and name (0 unless a typo)
    countries: tuple[str, ...] = ()  # where it is a brand
    fact_ids: tuple[str, ...] = ()
    drug: str = DRUG

    @property
    def is_brand(self) -> bool:
        return "brand" in self.kinds


@dataclass(frozen=True)
class NoMatch:
    query: str
    suggestions: tuple[str, ...] = field(default_factory=tuple)


def normalise(text: str) -> str:
    """Case-, accent-, punctuation- and script-insensitive form: lower-case a-z and 0-9."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    out: list[str] = []
    for ch in decomposed:
        if unicodedata.combining(ch):
            continue
        ch = _CYRILLIC.get(ch, _GREEK.get(ch, ch))
        out.append("".join(c for c in ch if c.isascii() and c.isalnum()))
    return "".join(out)


def variant_key(text: str) -> str:
    """Normalised form with cross-language spelling variants folded together."""
    key = normalise(text)
    for old, new in _VARIANTS:
        key = key.replace(old, new)
    return key


def osa_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment: adjacent swaps count 1)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


@cache
def name_entries() -> tuple[NameEntry, ...]:
    """Every searchable name with its kind and the fact it comes from."""
    names = loader.fact("identity.names").data
    chem = loader.fact("identity.chemistry").data
    codes = loader.fact("identity.codes").data
    entries = [NameEntry(names["inn"], "INN", "identity.names")]
    entries += [NameEntry(n, "synonym", "identity.names") for n in names["synonyms"]]
    entries += [NameEntry(n, "research code", "identity.names") for n in names["research_codes"]]
    entries += [
        NameEntry(n, "Cyrillic synonym", "identity.names") for n in names["cyrillic_synonyms"]
    ]
    entries += [
        NameEntry(chem["iupac_name"], "IUPAC name", "identity.chemistry"),
        NameEntry(chem["iupac_name_as_printed"], "IUPAC name", "identity.chemistry"),
        NameEntry(codes["cas"], "CAS number", "identity.codes"),
        NameEntry(codes["atc"], "ATC code", "identity.codes"),
        NameEntry(codes["atcvet"], "ATCvet code", "identity.codes"),
    ]
    entries += [
        NameEntry(brand, "brand", "preparation.proprietary", tuple(countries))
        for brand, countries in loader.brands().items()
    ]
    return tuple(entries)


def all_names() -> list[str]:
    """Every name the drug is known by in the knowledge base (names, codes, brands)."""
    seen: dict[str, None] = {}
    for entry in name_entries():
        seen.setdefault(entry.name, None)
    return list(seen)


def _rank(entry: NameEntry) -> int:
    return KIND_ORDER.index(entry.kind)


def _match(query: str, chosen: NameEntry, method: str, distance: int) -> Match:
    """Merge every entry spelled like the chosen one (e.g. INN 'Cycloserine' is a UK brand)."""
    key = normalise(chosen.name)
    same = [e for e in name_entries() if normalise(e.name) == key]
    kinds = tuple(dict.fromkeys(e.kind for e in sorted(same, key=_rank)))
    countries = tuple(dict.fromkeys(c for e in same for c in e.countries))
    fact_ids = tuple(dict.fromkeys(e.fact_id for e in same))
    return Match(query, chosen.name, kinds, method, distance, countries, fact_ids)


def find(query: str) -> Match | NoMatch:
    """Look a name up; a miss carries the closest names (at most 5)."""
    entries = name_entries()
    stripped = query.strip()
    q_norm = normalise(stripped)
    if not q_norm:
        return NoMatch(query, suggestions(query))

    exact = [e for e in entries if e.name == stripped]
    if exact:
        return _match(query, min(exact, key=_rank), "exact", 0)
    same = [e for e in entries if normalise(e.name) == q_norm]
    if same:
        return _match(query, min(same, key=_rank), "normalised", 0)

    tolerant = [e for e in entries if e.typo_tolerant]
    q_var = variant_key(stripped)
    variants = [e for e in tolerant if variant_key(e.name) == q_var]
    if variants:
        return _match(query, min(variants, key=_rank), "spelling variant", 0)

    if len(q_norm) >= MIN_TYPO_LENGTH:
        typos = [
            e for e in tolerant
            if min(osa_distance(q_norm, normalise(e.name)),
                   osa_distance(q_var, variant_key(e.name))) == 1
        ]
        if typos:
            return _match(query, min(typos, key=_rank), "one typo", 1)
    return NoMatch(query, suggestions(query))


def suggestions(query: str, limit: int = SUGGESTIONS) -> tuple[str, ...]:
    """The closest distinct names to a query, nearest first."""
    q_norm, q_var = normalise(query), variant_key(query)
    scored: dict[str, tuple[int, int, str]] = {}
    for order, e in enumerate(name_entries()):
        key = normalise(e.name)
        if key in scored:
            continue
        dist = min(osa_distance(q_norm, key), osa_distance(q_var, variant_key(e.name)))
        scored[key] = (dist, order, e.name)
    return tuple(name for _, _, name in sorted(scored.values())[:limit])
