"""Relative infant dose from the monograph's milk concentrations (derived checks)."""

from __future__ import annotations

import pytest

from cyclodose.clinical.breastfeeding import estimate


def test_study_dose_60_kg_mother() -> None:
    # Monograph: milk 6–19 mg/L after 250 mg four times daily (1 g/day); infant 150 mL/kg/day.
    # Derived: infant 6*0.15 = 0.9 and 19*0.15 = 2.85 mg/kg/day; mother 1000/60 = 16.67 mg/kg/day;
    # RID 0.9/16.67 = 5.4 %, 2.85/16.67 = 17.1 %.
    e = estimate(1000, 60)
    assert e.milk_conc_mg_l == (6.0, 19.0)
    assert e.infant_dose_mg_kg_day == pytest.approx((0.9, 2.85))
    assert e.maternal_dose_mg_kg_day == pytest.approx(16.67, abs=0.01)
    assert e.relative_infant_dose_pct == pytest.approx((5.4, 17.1))


def test_lower_dose_scales_milk_linearly() -> None:
    e = estimate(500, 60)
    assert e.milk_conc_mg_l == (3.0, 9.5)
    assert e.infant_dose_mg_kg_day == pytest.approx((0.45, 1.43), abs=0.01)
    # Linear scaling: RID does not depend on the dose, only on maternal weight.
    assert e.relative_infant_dose_pct == estimate(1000, 60).relative_infant_dose_pct
    assert estimate(1000, 80).relative_infant_dose_pct[1] > 17.1


def test_assumptions_and_sources_are_stated() -> None:
    e = estimate(500, 55, "the case regimen")
    assert any("150 mL/kg/day" in a for a in e.assumptions)
    assert any("proportional" in a for a in e.assumptions)
    assert e.dose_basis == "the case regimen"
    assert {s.id for s in e.sources} == {"pregnancy.milk_concentrations", "breastfeeding.aap"}
    assert "AAP" in e.statement


@pytest.mark.parametrize(("dose", "weight"), [(0, 60), (500, 0), (-1, 60)])
def test_refuses_non_positive_inputs(dose: float, weight: float) -> None:
    with pytest.raises(ValueError):
        estimate(dose, weight)
