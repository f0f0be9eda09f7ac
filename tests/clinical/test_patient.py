"""Renal function, body size and age group (vectors: pharmacology.md §6, derived checks)."""

from __future__ import annotations

import pytest

from cyclodose.clinical.patient import (
    age_group,
    bedside_schwartz_ml_min_173m2,
    bmi_kg_m2,
    ckd_epi_2021_ml_min_173m2,
    cockcroft_gault_ml_min,
    fat_free_mass_kg,
    kdigo_category,
    renal_function,
)
from cyclodose.intake.case import parse_case
from cyclodose.intake.units import creatinine_mg_dl


def _patient(**over: object):
    p: dict[str, object] = {"age_years": 40, "sex": "male", "weight_kg": 60}
    p.update(over)
    return parse_case({"patient": p}).patient


# Cockcroft–Gault vectors: pharmacology.md §6 (40 y, 60 kg, 0.9 mg/dL).
@pytest.mark.parametrize(("sex", "expected"), [("male", 92.6), ("female", 78.7)])
def test_cockcroft_gault_vectors(sex: str, expected: float) -> None:
    assert cockcroft_gault_ml_min(40, 60, 0.9, sex) == pytest.approx(expected, abs=0.05)  # type: ignore[arg-type]


# CKD-EPI 2021 vectors: pharmacology.md §6.
@pytest.mark.parametrize(("age", "scr", "sex", "expected"), [
    (70, 0.8, "male", 95.2), (70, 0.8, "female", 79.2), (50, 1.5, "male", 56.4),
])
def test_ckd_epi_2021_vectors(age: float, scr: float, sex: str, expected: float) -> None:
    assert ckd_epi_2021_ml_min_173m2(age, scr, sex) == pytest.approx(expected, abs=0.05)  # type: ignore[arg-type]


def test_bedside_schwartz_vector() -> None:
    # pharmacology.md §6: 100 cm, 0.5 mg/dL -> 82.6
    assert bedside_schwartz_ml_min_173m2(100, 0.5) == pytest.approx(82.6, abs=0.05)


def test_creatinine_conversion_88_4() -> None:
    # pharmacology.md §6: 1 mg/dL = 88.4 µmol/L
    assert creatinine_mg_dl(88.4, "umol/L") == pytest.approx(1.0)
    assert creatinine_mg_dl(1.0, "mg/dL") == pytest.approx(1.0)


def test_bmi_and_ffm() -> None:
    assert bmi_kg_m2(70, 175) == pytest.approx(22.857, abs=1e-3)
    # Janmahasatian 2005 by hand: male 70 kg BMI 22.857 -> 9270*70/(6680+216*22.857)
    assert fat_free_mass_kg(70, 175, "male") == pytest.approx(9270 * 70 / (6680 + 216 * 22.857),
                                                              rel=1e-4)


@pytest.mark.parametrize(("gfr", "cat"), [
    (120, "G1"), (90, "G1"), (89.9, "G2"), (60, "G2"), (59, "G3a"), (45, "G3a"), (44.9, "G3b"),
    (30, "G3b"), (29.9, "G4"), (15, "G4"), (14.9, "G5"), (0.5, "G5"),
])
def test_kdigo_boundaries(gfr: float, cat: str) -> None:
    # KDIGO 2012: >=90, 60–89, 45–59, 30–44, 15–29, <15 (pharmacology.md §6)
    assert kdigo_category(gfr) == cat


@pytest.mark.parametrize(("age", "group"), [
    (0, "infant"), (1.99, "infant"), (2, "child"), (11.9, "child"), (12, "adolescent"),
    (17.9, "adolescent"), (18, "adult"), (90, "adult"),
])
def test_age_group_bnfc_bands(age: float, group: str) -> None:
    assert age_group(age) == group


def test_adult_uses_cockcroft_gault_with_ckd_epi_alongside() -> None:
    r = renal_function(_patient(serum_creatinine={"value": 0.9, "unit": "mg/dL"}))
    assert r.method == "cockcroft_gault"
    assert r.crcl_ml_min == pytest.approx(92.6, abs=0.05)
    assert r.unit == "mL/min"
    assert r.kdigo_category == "G1"
    assert r.ckd_epi_ml_min_173m2 == pytest.approx(ckd_epi_2021_ml_min_173m2(40, 0.9, "male"),
                                                   abs=0.05)
    assert not r.impaired


def test_molar_creatinine_gives_same_cg() -> None:
    r = renal_function(_patient(serum_creatinine={"value": 0.9 * 88.4, "unit": "umol/L"}))
    assert r.crcl_ml_min == pytest.approx(92.6, abs=0.05)


def test_child_uses_bedside_schwartz() -> None:
    r = renal_function(_patient(age_years=6, weight_kg=20, height_cm=100,
                                serum_creatinine={"value": 0.5, "unit": "mg/dL"}))
    assert r.method == "bedside_schwartz"
    assert r.crcl_ml_min == pytest.approx(82.6, abs=0.05)
    assert r.unit == "mL/min/1.73 m²"
    assert r.ckd_epi_ml_min_173m2 is None


@pytest.mark.parametrize(("age", "warned"), [(0.5, True), (1.0, False), (6.0, False)])
def test_schwartz_under_1_year_is_flagged_outside_its_validity(age: float, warned: bool) -> None:
    # Schwartz 2009 derived the bedside equation in children aged 1–16 years.
    r = renal_function(_patient(age_years=age, weight_kg=7, height_cm=65,
                                serum_creatinine={"value": 0.4, "unit": "mg/dL"}))
    assert r.method == "bedside_schwartz"
    assert any("outside its validity" in n for n in r.notes) is warned


def test_child_without_height_is_unknown_not_guessed() -> None:
    r = renal_function(_patient(age_years=6, weight_kg=20,
                                serum_creatinine={"value": 0.5, "unit": "mg/dL"}))
    assert r.method == "unknown" and r.crcl_ml_min is None
    assert any("height" in n for n in r.notes)


def test_measured_clearance_overrides_estimate() -> None:
    r = renal_function(_patient(crcl_ml_min=42, serum_creatinine={"value": 0.9, "unit": "mg/dL"}))
    assert r.method == "measured" and r.crcl_ml_min == 42
    assert r.kdigo_category == "G3b"
    assert r.impaired and not r.severe


@pytest.mark.parametrize("kind", ["haemodialysis", "peritoneal"])
def test_dialysis_overrides_everything(kind: str) -> None:
    r = renal_function(_patient(dialysis=kind, crcl_ml_min=80,
                                serum_creatinine={"value": 0.9, "unit": "mg/dL"}))
    assert r.method == "dialysis" and r.kdigo_category == "G5D"
    assert r.severe and r.impaired


def test_no_creatinine_is_unknown() -> None:
    r = renal_function(_patient())
    assert r.method == "unknown" and r.crcl_ml_min is None and r.kdigo_category is None
    assert not r.impaired and not r.severe


def test_severe_threshold_is_below_30() -> None:
    # CG (140-80)*50/(72*1.39) = 29.98 -> severe; 1.38 -> 30.2 -> not severe
    assert renal_function(_patient(age_years=80, weight_kg=50,
                                   serum_creatinine={"value": 1.39, "unit": "mg/dL"})).severe
    assert not renal_function(_patient(age_years=80, weight_kg=50,
                                       serum_creatinine={"value": 1.38, "unit": "mg/dL"})).severe
