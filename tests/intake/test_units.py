"""Unit conversion at the boundary."""

import pytest

from cyclodose.errors import CaseError
from cyclodose.intake import units


def test_creatinine_umol_to_mg_dl():
    # 1 mg/dL = 88.4 µmol/L (pharmacology reference §6; creatinine MW 113.12)
    assert units.creatinine_mg_dl(88.4, "umol/L") == pytest.approx(1.0)
    assert units.creatinine_mg_dl(88.4, "µmol/L") == pytest.approx(1.0)


def test_creatinine_mass_units():
    assert units.creatinine_mg_dl(0.9, "mg/dL") == pytest.approx(0.9)
    assert units.creatinine_mg_dl(9.0, "mg/L") == pytest.approx(0.9)


def test_drug_level_ug_ml_equals_mg_l():
    assert units.drug_conc_mg_l(24.5, "ug/mL") == pytest.approx(24.5)
    assert units.drug_conc_mg_l(24.5, "mg/L") == pytest.approx(24.5)


def test_drug_level_molar_uses_cycloserine_mw():
    # MW 102.09 g/mol (PubChem CID 6234): 100 µmol/L × 102.09 g/mol = 10.209 mg/L
    assert units.drug_conc_mg_l(100, "umol/L") == pytest.approx(10.209)


def test_weight_and_height_ucum_codes():
    assert units.weight_kg(110.231, "[lb_av]") == pytest.approx(50.0, rel=1e-4)
    assert units.length_cm(63, "[in_i]") == pytest.approx(160.02)


@pytest.mark.parametrize(
    ("fn", "unit", "reason"),
    [
        (units.creatinine_mg_dl, "", "a unit is required"),
        (units.creatinine_mg_dl, "blorps", "unknown unit"),
        (units.creatinine_mg_dl, "kg", "is not a creatinine concentration"),
        (units.drug_conc_mg_l, "mL/min", "is not a concentration"),
        (units.weight_kg, "cm", "is not a mass"),
    ],
)
def test_bad_units_name_the_field(fn, unit, reason):
    with pytest.raises(CaseError) as exc:
        fn(1.0, unit, field="patient.thing.unit")
    (problem,) = exc.value.problems
    assert problem.field == "patient.thing.unit"
    assert reason in problem.reason


@pytest.mark.parametrize("unit", ["mg/(L", "mg/L)", "(((", "*", "1/0", '"', "@"])
def test_malformed_units_are_a_case_error_not_a_crash(unit):
    # found by the service's schemathesis run: pint raised TokenError, AssertionError and
    # ZeroDivisionError, which reached the API as a 500
    with pytest.raises(CaseError, match="unknown unit"):
        units.drug_conc_mg_l(1.0, unit, "levels[0].unit")


@pytest.mark.parametrize("unit", ["\x00", "umol/\x00L", "mg/L\x00", "mg\u200b/L", "mg/\tL"])
def test_control_characters_in_a_unit_are_refused(unit: str) -> None:
    """Regression (#8): a NUL in a unit raised pint's AssertionError (or was dropped)."""
    with pytest.raises(CaseError) as err:
        units.drug_conc_mg_l(10.0, unit, "levels[0].unit")
    assert err.value.problems[0].field == "levels[0].unit"
