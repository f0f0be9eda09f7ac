"""Issue #9 Misleading 4: the week or trimester of pregnancy in the pregnancy finding and
beside the model-informed dose (pregnancy is outside both models' data)."""

from __future__ import annotations

from typing import Any

from cyclodose.intake.case import parse_case
from cyclodose.workflows.assessment import Assessment, assess

PATIENT = {"age_years": 27, "sex": "female", "weight_kg": 60, "height_cm": 165,
           "serum_creatinine": {"value": 0.7, "unit": "mg/dL"}}


def _assess(**patient: Any) -> Assessment:
    doc = {"patient": {**PATIENT, **patient},
           "comedications": ["bedaquiline", "linezolid", "levofloxacin"]}
    return assess(parse_case(doc), with_tdm=False)


def _pregnancy(a: Assessment) -> str:
    return next(f.message for f in a.findings if f.code == "info.pregnancy")


def _model_note(a: Assessment) -> str:
    assert a.prediction is not None
    return next(r for r in a.prediction.rationale if "Pregnancy is outside both models" in r)


def test_trimester_shown_in_pregnancy_finding() -> None:
    a = _assess(pregnant=True, trimester=2)
    assert _pregnancy(a).startswith("Pregnancy (second trimester, week not recorded):")
    assert "second trimester, week not recorded" in _model_note(a)
    assert "Alghamdi 2019, Resendiz-Galvan 2025" in _model_note(a)


def test_gestational_week_shown_in_pregnancy_finding() -> None:
    a = _assess(pregnant=True, gestational_week=31)
    assert _pregnancy(a).startswith("Pregnancy (week 31, third trimester):")
    assert "week 31, third trimester" in _model_note(a)
    plain = _assess(pregnant=True)
    assert _pregnancy(plain).startswith("Pregnancy (gestation not recorded):")
    # a pregnancy recorded only as a condition is quoted as written
    cond = _assess(conditions=["pregnant 24 weeks"])
    assert _pregnancy(cond).startswith("Pregnancy (recorded as: pregnant 24 weeks):")
    both = _assess(pregnant=True, conditions=["pregnant 24 weeks"])
    assert _pregnancy(both).startswith("Pregnancy (recorded as: pregnant 24 weeks):")
    assert all("{" not in f.message and "(—)" not in f.message for f in cond.findings)


def test_tdm_regimen_for_a_pregnant_patient_says_pregnancy_is_outside_both_models() -> None:
    from cyclodose.workflows import tdm_consult

    doc = {"patient": {**PATIENT, "pregnant": True, "gestational_week": 24},
           "comedications": ["bedaquiline", "linezolid", "levofloxacin"],
           "regimen": {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00",
                       "count": 20},
           "levels": [{"time": "2026-03-10T10:00:00", "value": 22.0, "unit": "mg/L"}]}
    warnings = tdm_consult(parse_case(doc)).tdm.recommendation.warnings
    note = next(w for w in warnings if "Pregnancy is outside both models" in w)
    assert "week 24, second trimester" in note and "only the measured levels" in note


def test_patient_summary_carries_the_gestation_for_every_interface() -> None:
    g = _assess(pregnant=True, gestational_week=12).patient.gestation
    assert g is not None
    assert (g.gestational_week, g.trimester, g.text) == (12, 1, "week 12, first trimester")
    g = _assess(pregnant=True).patient.gestation
    assert g is not None and (g.gestational_week, g.trimester, g.text) == (
        None, None, "gestation not recorded")
    assert _assess().patient.gestation is None
