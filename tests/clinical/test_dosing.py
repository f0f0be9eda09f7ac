"""Guideline regimens (monograph §Uses and Administration; US label; ATS) and hard limits."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cyclodose.clinical.dosing import (
    Phase,
    capsule_breakdown,
    day_by_day,
    max_24h_dose_mg,
    recommend,
    round_to_capsules,
)
from cyclodose.clinical.patient import renal_function
from cyclodose.intake.case import Dose, parse_case
from cyclodose.limits import MAX_DAILY_DOSE_MG


def _case(settings: dict[str, Any] | None = None, **patient: Any):
    p: dict[str, Any] = {"age_years": 40, "sex": "male", "weight_kg": 60,
                         "serum_creatinine": {"value": 0.8, "unit": "mg/dL"}}
    if patient.get("age_years", 40) < 18:
        p["serum_creatinine"] = {"value": 0.4, "unit": "mg/dL"}  # normal for a child
    p.update(patient)
    return parse_case({"patient": p, "comedications": ["bedaquiline"],
                       "settings": settings or {}})


def _rec(settings: dict[str, Any] | None = None, **patient: Any):
    case = _case(settings, **patient)
    return recommend(case, renal_function(case.patient))


def _tuple(ph: Phase) -> tuple[float, int, float, int | None]:
    return (ph.dose_mg, ph.doses_per_day, ph.daily_dose_mg, ph.duration_days)


def test_adult_titration() -> None:
    # Monograph: 250 mg twice daily for 2 weeks, then 0.5–1 g daily in divided doses.
    rec = _rec()
    assert rec.status == "recommended"
    assert [_tuple(p) for p in rec.phases] == [(250, 2, 500, 14), (250, 2, 500, None)]
    assert rec.phases[1].daily_dose_range_mg == (500, 1000)
    assert rec.phases[0].capsules == "1 × 250 mg"
    assert rec.phases[0].mg_per_kg_day == pytest.approx(500 / 60, abs=0.05)
    assert any("0.5–1 g" in r for r in rec.rationale)
    assert {s.id for s in rec.sources} >= {"dose.adult", "ext.us_label"}


@pytest.mark.parametrize(("crcl", "renal"), [(89, True), (45, True), (30, True), (90, False)])
def test_mild_moderate_renal_keeps_500_mg_without_escalation(crcl: float, renal: bool) -> None:
    rec = _rec(crcl_ml_min=crcl)
    assert rec.status == "recommended"
    assert all(p.daily_dose_mg == 500 for p in rec.phases)
    hi = rec.phases[-1].daily_dose_range_mg
    assert (hi == (500, 500)) is renal
    assert any("Conservative rule" in r for r in rec.rationale) is renal


@pytest.mark.parametrize("patient", [{"crcl_ml_min": 25}, {"dialysis": "haemodialysis"},
                                     {"dialysis": "peritoneal"}])
def test_severe_renal_contraindicated_with_ats_option(patient: dict[str, Any]) -> None:
    rec = _rec(**patient)
    assert rec.status == "contraindicated" and rec.phases == ()
    labels = [o.label for o in rec.alternatives]
    assert labels == ["ATS: 250 mg once daily", "ATS: 500 mg three times weekly"]
    once, tiw = (o.phases[0] for o in rec.alternatives)
    # ATS 2003 / J Thorac Dis 2018 Table 4: 250 mg once daily or 500 mg three times weekly
    assert _tuple(once) == (250, 1, 250, None)
    assert (tiw.dose_mg, tiw.days_per_week) == (500, 3)
    assert all("levels" in (o.phases[0].note or "") for o in rec.alternatives)


def test_haemodialysis_doses_after_the_session() -> None:
    rec = _rec(dialysis="haemodialysis")
    once, tiw = (o.phases[0] for o in rec.alternatives)
    # ATS: give after dialysis; haemodialysis is intermittent, so "on dialysis days".
    assert once.frequency == "once daily (on dialysis days after the session)"
    assert tiw.frequency == "three times weekly, after each dialysis session"


@pytest.mark.parametrize("patient", [{"crcl_ml_min": 25}, {"dialysis": "peritoneal"}])
def test_ats_option_without_haemodialysis_names_no_dialysis_session(
        patient: dict[str, Any]) -> None:
    # Regression: CrCl < 30 without haemodialysis was told to dose "after each dialysis session".
    rec = _rec(**patient)
    for option in rec.alternatives:
        assert "dialysis" not in option.phases[0].frequency


def test_severe_renal_in_a_child_gives_no_adult_ats_dose() -> None:
    rec = _rec(age_years=8, weight_kg=25, height_cm=128, crcl_ml_min=20)
    assert rec.status == "contraindicated" and rec.alternatives == ()
    assert any("paediatric" in r for r in rec.rationale)


def test_child_bnfc_default_with_aap_alternative_and_rounding() -> None:
    # BNFC 2–12 y: 5 mg/kg twice daily; 30 kg -> 150 mg -> nearest capsules 125 mg (tie rule: none)
    rec = _rec(age_years=8, weight_kg=30, height_cm=130)
    assert rec.guideline.startswith("BNFC 2–12")
    ph = rec.phases[0]
    assert ph.calculated_dose_mg == pytest.approx(150)
    assert _tuple(ph) == (125, 2, 250, None)
    assert ph.rounding is not None and "150 mg → 125 mg" in ph.rounding
    assert rec.alternatives[0].guideline == "AAP"
    assert any("Default paediatric guideline: BNFC" in r for r in rec.rationale)


def test_child_aap_when_configured() -> None:
    # AAP: 5–10 mg/kg twice daily; 24 kg: 120 mg -> 125 mg; upper end 240 -> 250 mg
    rec = _rec({"paediatric_guideline": "AAP"}, age_years=8, weight_kg=24, height_cm=126)
    assert rec.guideline.startswith("AAP")
    ph = rec.phases[0]
    assert _tuple(ph) == (125, 2, 250, None)
    assert ph.daily_dose_range_mg == (250, 500)
    assert rec.alternatives[0].guideline == "BNFC"


def test_adolescent_bnfc_12_18_is_fixed_titration() -> None:
    rec = _rec(age_years=15, weight_kg=48, height_cm=165)
    assert rec.guideline.startswith("BNFC 12–18")
    assert [_tuple(p) for p in rec.phases] == [(250, 2, 500, 14), (250, 2, 500, None)]


def test_under_two_bnfc_gives_no_dose() -> None:
    rec = _rec(age_years=1.5, weight_kg=10, height_cm=80)
    assert rec.status == "no_dose" and rec.phases == ()
    assert any("under 2 years" in r for r in rec.rationale)
    # AAP shown instead: 5 mg/kg x 10 kg = 50 mg, below a 125 mg capsule -> oral liquid
    aap = rec.alternatives[0].phases[0]
    assert aap.dose_mg == pytest.approx(50)
    assert "oral liquid" in (aap.rounding or "") and "oral liquid" in aap.capsules


def test_capsule_strengths_are_configurable() -> None:
    rec = _rec({"capsule_strengths_mg": [250]}, age_years=8, weight_kg=30, height_cm=130)
    # 150 mg with only 250 mg capsules: 250 is nearer than 0 -> 250 mg (+67 %)
    assert rec.phases[0].dose_mg == 250 and "+67 %" in (rec.phases[0].rounding or "")


def test_heavy_child_aap_is_capped_at_1_g_per_day() -> None:
    # AAP upper end 10 mg/kg x 70 kg = 700 mg twice daily -> capped 500 mg (1 g/day)
    rec = _rec({"paediatric_guideline": "AAP"}, age_years=11, weight_kg=70, height_cm=160)
    ph = rec.phases[0]
    assert ph.daily_dose_range_mg is not None
    assert ph.daily_dose_range_mg[1] <= MAX_DAILY_DOSE_MG


def test_cap_applies_in_phase_factory() -> None:
    # 5 mg/kg x 150 kg = 750 mg per dose, 1500 mg/day -> capped to 500 mg per dose
    rec = _rec(age_years=11, weight_kg=150, height_cm=170)
    ph = rec.phases[0]
    assert ph.dose_mg == 500 and ph.daily_dose_mg == 1000
    assert "capped" in (ph.note or "")


def test_phase_refuses_more_than_1_g() -> None:
    with pytest.raises(ValueError, match="maximum"):
        Phase(label="x", dose_mg=750, doses_per_day=2, interval_h=12, daily_dose_mg=1500,
              duration_days=None, frequency="every 12 h", mg_per_kg_day=25, capsules="3 × 250 mg")


@pytest.mark.parametrize(("dose", "strengths", "expected"), [
    (120, (125, 250), 125), (150, (125, 250), 125), (187.5, (125, 250), 125),  # tie goes down
    (190, (125, 250), 250), (375, (125, 250), 375), (50, (125, 250), 0), (62.5, (125, 250), 0),
    (63, (125, 250), 125),
])
def test_round_to_capsules(dose: float, strengths: tuple[float, ...], expected: float) -> None:
    assert round_to_capsules(dose, strengths) == expected


def test_capsule_breakdown() -> None:
    assert capsule_breakdown(375, (125, 250)) == "1 × 250 mg + 1 × 125 mg"
    assert capsule_breakdown(500, (125, 250)) == "2 × 250 mg"


def test_max_24h_window() -> None:
    doses = [Dose(time_h=0, amount_mg=500), Dose(time_h=8, amount_mg=250),
             Dose(time_h=23, amount_mg=500), Dose(time_h=47, amount_mg=500)]
    assert max_24h_dose_mg(doses) == 1250  # 0, 8 and 23 h fall in one window
    assert max_24h_dose_mg([]) == 0
    assert max_24h_dose_mg([Dose(time_h=0, amount_mg=500), Dose(time_h=24, amount_mg=500)]) == 500


def test_dated_schedule_when_start_date_given() -> None:
    rec = _rec({"start_date": "2026-03-02"})
    assert len(rec.schedule) == 14 + 14
    first, last_titration, first_maint = rec.schedule[0], rec.schedule[13], rec.schedule[14]
    assert first.date == date(2026, 3, 2) and first.day == 1
    assert [d.clock for d in first.doses] == ["08:00", "20:00"]
    assert last_titration.date == date(2026, 3, 15) and last_titration.phase == "titration"
    assert first_maint.phase == "maintenance"
    assert all(d.daily_dose_mg <= MAX_DAILY_DOSE_MG for d in rec.schedule)
    assert rec.schedule_note is not None and "continue" in rec.schedule_note


def test_no_schedule_without_start_date() -> None:
    assert _rec().schedule == ()


def test_day_by_day_once_daily() -> None:
    ph = _rec(crcl_ml_min=20).alternatives[0].phases
    days, _ = day_by_day(ph, date(2026, 1, 1))
    assert len(days) == 14 and [d.clock for d in days[0].doses] == ["08:00"]


def test_cap_with_only_large_capsules_never_gives_zero() -> None:
    # 5 mg/kg x 150 kg = 750 mg -> nearest 1000 mg capsule -> above 500 mg per dose; no capsule
    # fits under the cap, so the exact 500 mg cap is given (as a liquid), never 0 mg.
    rec = _rec({"capsule_strengths_mg": [1000]}, age_years=11, weight_kg=150, height_cm=170)
    ph = rec.phases[0]
    assert ph.dose_mg == 500 and ph.daily_dose_mg == 1000
    assert "liquid" in ph.capsules


def test_child_with_renal_impairment_gets_no_escalation() -> None:
    # Schwartz 0.413 x 126 / 1.0 = 52 mL/min/1.73 m² -> impaired, not severe
    rec = _rec({"paediatric_guideline": "AAP"}, age_years=8, weight_kg=24, height_cm=126,
               serum_creatinine={"value": 1.0, "unit": "mg/dL"})
    assert rec.status == "recommended"
    assert rec.phases[0].daily_dose_range_mg == (250, 250)
    assert any("Conservative rule" in r for r in rec.rationale)


def test_a_phase_at_1_g_per_day_warns_of_heart_failure() -> None:
    # Monograph (Adverse Effects): heart failure at daily doses of 1 g or more. A 120 kg
    # 11-year-old on AAP 5 mg/kg twice daily (600 mg) is capped at 500 mg twice daily.
    rec = _rec({"paediatric_guideline": "AAP"}, age_years=11, weight_kg=120, height_cm=150)
    ph = rec.phases[0]
    assert ph.daily_dose_mg == MAX_DAILY_DOSE_MG
    assert ph.note is not None and "heart failure" in ph.note and "capped" in ph.note
    assert all("heart failure" not in (p.note or "") for p in _rec().phases)  # 500 mg/day
