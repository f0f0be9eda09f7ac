"""Name search: every monograph name, case/accents/script, one typo, and misses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyclodose.knowledge import Match, NoMatch, find, name_entries, normalise
from cyclodose.knowledge.search import osa_distance, suggestions, variant_key

# Transcribed from the monograph: title, Synonyms, Cyrillic synonym, chemical name,
# Chemical information codes, and Proprietary Preparations.
MONOGRAPH_NAMES = [
    "Cycloserine", "Cicloserina", "D-Cycloserin", "Cyclosérine", "D-Cycloserine",
    "Cycloserinum", "Cykloserin", "SC-49088", "Sikloserin", "Sykloseriini",
    "(+)-(R)-4Aminoisoxazolidin-3-one", "Циклосерин", "68-41-7", "J04AB01", "QJ04AB01",
    "Closina", "D-cycloserin", "Seromycin", "Cyclorine", "Proserine", "Siklocap",
]


@pytest.mark.parametrize("name", MONOGRAPH_NAMES)
def test_every_monograph_name_is_found_exactly(name: str) -> None:
    found = find(name)
    assert isinstance(found, Match)
    assert found.method == "exact"
    assert found.drug == "Cycloserine"


@pytest.mark.parametrize(
    ("query", "kind", "method"),
    [
        ("Циклосерин", "Cyrillic synonym", "exact"),
        ("ЦИКЛОСЕРИН", "Cyrillic synonym", "normalised"),
        ("Tsikloserin", "Cyrillic synonym", "normalised"),  # Latin spelling of the Cyrillic
        ("cyclosérine", "INN", "normalised"),
        ("CYCLOSERINE", "INN", "normalised"),
        ("SEROMYCIN", "brand", "normalised"),
        ("siklocap", "brand", "normalised"),
        ("sikloserin", "synonym", "normalised"),
        ("68 41 7", "CAS number", "normalised"),
        ("j04ab01", "ATC code", "normalised"),
        ("qj04ab01", "ATCvet code", "normalised"),
        ("sc49088", "research code", "normalised"),
        ("(+)-(R)-4-aminoisoxazolidin-3-one", "IUPAC name", "normalised"),
        ("cycloserin", "synonym", "spelling variant"),  # = Cykloserin with c for k
        ("Sermoycin", "brand", "one typo"),  # adjacent transposition
        ("Closna", "brand", "one typo"),  # deletion
        ("Cyclorinne", "brand", "one typo"),  # insertion
        ("Sykloseriinx", "synonym", "one typo"),  # substitution
    ],
)
def test_insensitive_and_typo_tolerant_matching(query: str, kind: str, method: str) -> None:
    found = find(query)
    assert isinstance(found, Match), found
    assert kind in found.kinds
    assert found.method == method
    assert found.distance == (1 if method == "one typo" else 0)


def test_brand_answer_carries_its_countries() -> None:
    found = find("seromycin")
    assert isinstance(found, Match) and found.is_brand
    assert found.countries == ("Greece", "Hong Kong", "USA")  # monograph, Proprietary Preps
    inn = find("Cycloserine")
    assert isinstance(inn, Match)
    assert inn.kinds[0] == "INN" and "brand" in inn.kinds and inn.countries == ("UK",)


@pytest.mark.parametrize("code", ["J04AB02", "68-41-8", "QJ04AB0", "SC-49089"])
def test_codes_are_never_matched_by_typo(code: str) -> None:
    # J04AB02 is another drug's ATC code: one edit on a code is not a typo to forgive.
    found = find(code)
    assert isinstance(found, NoMatch)


def test_short_queries_are_not_typo_matched() -> None:
    assert isinstance(find("Clos"), NoMatch)


def test_miss_returns_five_closest_names() -> None:
    found = find("Cyclomycin")
    assert isinstance(found, NoMatch)
    assert len(found.suggestions) == 5
    assert len({normalise(s) for s in found.suggestions}) == 5
    # Derived: with spelling variants folded, "ciclomicin" is 3 edits from "cicloserin".
    assert found.suggestions[0] == "Cykloserin"
    assert isinstance(find("   "), NoMatch)


def test_normalise_and_variants() -> None:
    assert normalise("Cyclosérine") == "cycloserine"
    assert normalise("Циклосерин") == "tsikloserin"
    assert normalise("(+)-(R)-4Aminoisoxazolidin-3-one") == normalise(
        "(+)-(R)-4-Aminoisoxazolidin-3-one")
    assert variant_key("Циклосерин") == variant_key("Cykloserin") == variant_key("cycloserin")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3), ("ab", "ba", 1), ("ca", "abc", 3),
     ("seromycin", "sermoycin", 1), ("seromycin", "seromicyn", 2),
     ("cycloserine", "cycloserine", 0)],
)
def test_osa_distance_vectors(a: str, b: str, expected: int) -> None:
    # Textbook values for the optimal-string-alignment variant ("ca"→"abc" is 3, not 2).
    assert osa_distance(a, b) == expected
    assert osa_distance(b, a) == expected


_TOLERANT = [e.name for e in name_entries() if e.typo_tolerant and len(normalise(e.name)) >= 6]


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(_TOLERANT),
    position=st.integers(min_value=0, max_value=40),
    edit=st.sampled_from(["delete", "insert", "substitute", "swap"]),
    letter=st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
)
def test_any_single_edit_of_a_name_still_finds_the_drug(
    name: str, position: int, edit: str, letter: str
) -> None:
    base = normalise(name)
    i = position % len(base)
    if edit == "delete":
        typo = base[:i] + base[i + 1:]
    elif edit == "insert":
        typo = base[:i] + letter + base[i:]
    elif edit == "substitute":
        typo = base[:i] + letter + base[i + 1:]
    else:
        j = min(i, len(base) - 2)
        typo = base[:j] + base[j + 1] + base[j] + base[j + 2:]
    found = find(typo)
    assert isinstance(found, Match), (name, typo)
    assert found.drug == "Cycloserine"


def test_suggestions_are_distinct_and_ordered_by_distance() -> None:
    got = suggestions("Seromycine")
    assert got[0] == "Seromycin"
    dists = [osa_distance(normalise("Seromycine"), normalise(s)) for s in got]
    assert dists == sorted(dists)
