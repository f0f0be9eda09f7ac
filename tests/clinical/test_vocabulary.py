"""Recognising conditions (terms, ICD-10 prefixes), co-medications (name, brand, ATC), symptoms."""

from __future__ import annotations

import pytest

from cyclodose.clinical.vocabulary import (
    Recognised,
    Unrecognised,
    fold,
    recognise,
    recognise_comedication,
    recognise_condition,
    recognise_symptom,
)


def _concept(result: Recognised | Unrecognised) -> str | None:
    return result.concept if isinstance(result, Recognised) else None


def test_fold() -> None:
    assert fold("  Épilepsie_Partielle!! ") == "epilepsie partielle"


# ICD-10 ranges from issue 2: epilepsy G40; depression F32–F33; psychosis F20–F29;
# anxiety F41; alcohol misuse F10; porphyria E80.0–E80.2; liver disease K70–K77;
# heart failure I50; dialysis Z99.2
@pytest.mark.parametrize(("text", "concept"), [
    ("ICD10:G40.3", "epilepsy"), ("G40", "epilepsy"), ("icd-10: F32.1", "depression"),
    ("F33.9", "depression"), ("F20.0", "psychosis"), ("F29", "psychosis"), ("F41.1", "anxiety"),
    ("F10.20", "alcohol_misuse"), ("E80.0", "porphyria"), ("E80.2", "porphyria"),
    ("K70.3", "liver_disease"), ("K77.8", "liver_disease"), ("I50.9", "heart_failure"),
    ("Z99.2", "dialysis"), ("ICD10:F41.1 severe", "severe_anxiety"),
])
def test_icd10_prefixes(text: str, concept: str) -> None:
    assert _concept(recognise_condition(text, "c")) == concept


@pytest.mark.parametrize("text", ["E80.3", "E80.4", "K78", "F19", "F34", "I49", "Z99.1", "G39"])
def test_icd10_outside_the_ranges_is_unrecognised(text: str) -> None:
    r = recognise_condition(text, "patient.conditions[0]")
    assert isinstance(r, Unrecognised) and r.field == "patient.conditions[0]"


@pytest.mark.parametrize(("text", "concept", "qualifiers"), [
    ("Epilepsy", "epilepsy", ()), ("major depressive disorder", "depression", ()),
    ("history of depression", "depression", ("history",)), ("Schizophrenia", "psychosis", ()),
    ("anxiety", "anxiety", ()), ("severe anxiety", "severe_anxiety", ()),
    ("Severe generalised anxiety disorder", "severe_anxiety", ("severe",)),
    ("alcoholism", "alcohol_misuse", ()), ("cirrhosis", "liver_disease", ()),
    ("congestive heart failure", "heart_failure", ()),
])
def test_terms_and_qualifiers(text: str, concept: str, qualifiers: tuple[str, ...]) -> None:
    r = recognise_condition(text, "c")
    assert isinstance(r, Recognised)
    assert (r.concept, r.qualifiers) == (concept, qualifiers)


@pytest.mark.parametrize(("text", "concept", "by", "tb"), [
    ("Isoniazid", "isoniazid", "name", True), ("INH", "isoniazid", "name", True),
    ("J04AC01", "isoniazid", "atc", True), ("Trecator", "ethionamide", "brand", True),
    ("SIRTURO", "bedaquiline", "brand", True), ("rifampin", "rifampicin", "name", True),
    ("Zyvox", "linezolid", "brand", True), ("pyridoxine", "pyridoxine", "name", False),
    ("ethanol", "alcohol", "name", False),
])
def test_comedications(text: str, concept: str, by: str, tb: bool) -> None:
    r = recognise_comedication(text, "m")
    assert isinstance(r, Recognised)
    assert (r.concept, r.matched_by, r.antituberculous) == (concept, by, tb)


@pytest.mark.parametrize(("text", "category"), [
    ("tremor", "cns"), ("Seizure", "cns"), ("dizziness", "cns"), ("suicidal ideation", "cns"),
    ("rash", "skin"), ("photosensitivity", "skin"), ("severe headache", "cns"),
])
def test_symptoms(text: str, category: str) -> None:
    r = recognise_symptom(text, "s")
    assert isinstance(r, Recognised) and r.category == category


def test_recognise_splits_and_names_fields() -> None:
    v = recognise(["epilepsy", "xyz"], ["isoniazid", "abc"], ["insomnia"])
    assert [r.concept for r in v.recognised] == ["epilepsy", "isoniazid"]
    assert [(u.kind, u.field) for u in v.unrecognised] == [
        ("condition", "patient.conditions[1]"), ("comedication", "comedications[1]"),
        ("symptom", "patient.symptoms[0]")]


@pytest.mark.parametrize(("text", "cls"), [
    ("sertraline", "antidepressant"), ("Zoloft", "antidepressant"), ("N06AB08", "antidepressant"),
    ("olanzapine", "antipsychotic"), ("N05AX12", "antipsychotic"), ("Tegretol", "antiepileptic"),
])
def test_neuropsychiatric_classes(text: str, cls: str) -> None:
    r = recognise_comedication(text, "m")
    assert isinstance(r, Recognised) and r.drug_class == cls and not r.antituberculous


def test_other_atc_codes_stay_unrecognised() -> None:
    assert isinstance(recognise_comedication("N02BE01", "m"), Unrecognised)


@pytest.mark.parametrize(("text", "by"), [
    ("Seromycin", "brand"), ("cyclosérine", "name"), ("Циклосерин", "name"), ("J04AB01", "atc"),
])
def test_cycloserine_itself_as_a_comedication_is_recognised(text: str, by: str) -> None:
    # Regression: cycloserine under its own names was "unrecognised" as a co-medication.
    r = recognise_comedication(text, "comedications[0]")
    assert isinstance(r, Recognised)
    assert (r.concept, r.matched_by, r.drug_class, r.antituberculous) == (
        "cycloserine", by, "cycloserine", False)


def test_terizidone_is_a_cycloserine_source_not_another_tb_drug() -> None:
    # Terizidone = two cycloserine molecules (WHO Group B: cycloserine *or* terizidone).
    r = recognise_comedication("Terivalidin", "comedications[0]")
    assert isinstance(r, Recognised)
    assert (r.concept, r.drug_class, r.antituberculous) == ("terizidone", "cycloserine", False)


def test_a_one_typo_brand_is_not_taken_for_cycloserine() -> None:
    # `info` would read "Seromycine" as Seromycin (one typo); a co-medication list must not
    # guess: another drug can be one edit from a cycloserine brand. It is shown as unrecognised.
    assert isinstance(recognise_comedication("Seromycine", "m"), Unrecognised)


@pytest.mark.parametrize(("text", "concept"), [
    ("isoniazid 300 mg daily", "isoniazid"), ("Levofloxacin 750mg", "levofloxacin"),
    ("vitamin B6 50 mg", "pyridoxine"), ("J04AC01 300 mg", "isoniazid"),
])
def test_a_comedication_written_with_its_strength_is_recognised(text: str, concept: str) -> None:
    # Regression: "isoniazid 300 mg" was unrecognised, so interaction.isoniazid was missed.
    r = recognise_comedication(text, "comedications[0]")
    assert isinstance(r, Recognised) and r.concept == concept and r.text == text


@pytest.mark.parametrize("text", ["isoniazid 300", "high-dose isoniazid", "alcohol 3 units"])
def test_only_a_strength_in_mass_units_is_stripped(text: str) -> None:
    assert isinstance(recognise_comedication(text, "m"), Unrecognised)
