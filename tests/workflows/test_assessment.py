"""assess(case) -> Assessment: one object with patient facts, findings, regimen, monitoring."""

from __future__ import annotations

from typing import Any

import pytest

from cyclodose.errors import CaseError
from cyclodose.intake.case import parse_case
from cyclodose.workflows.assessment import Assessment, assess


def _assess(comedications: list[str] | None = None, regimen: dict[str, Any] | None = None,
            **patient: Any) -> Assessment:
    p: dict[str, Any] = {"age_years": 34, "sex": "female", "weight_kg": 52, "height_cm": 160,
                         "serum_creatinine": {"value": 60, "unit": "umol/L"}}
    p.update(patient)
    doc: dict[str, Any] = {"patient": p,
                           "comedications": comedications or ["bedaquiline", "linezolid"]}
    if regimen:
        doc["regimen"] = regimen
    return assess(parse_case(doc))


def test_patient_summary_flat_renal_keys() -> None:
    a = _assess()
    # CG: (140-34) * 52 / (72 * 60/88.4) * 0.85 = 95.9 mL/min (derived check)
    assert abs(a.patient.crcl_ml_min - 95.9) < 0.1  # type: ignore[operator]
    assert a.patient.crcl_method == "cockcroft_gault"
    assert a.patient.renal_category == "G1"
    assert a.patient.age_group == "adult"
    assert a.patient.bmi_kg_m2 == 20.3


def test_contraindication_marks_the_regimen_but_keeps_it_for_the_prescriber() -> None:
    a = _assess(conditions=["epilepsy"])
    rec = a.recommendation
    assert rec.status == "contraindicated" and rec.phases
    assert "contraindication.epilepsy" in rec.rationale[0]


def test_avoid_also_marks_the_regimen() -> None:
    assert _assess(conditions=["E80.2"]).recommendation.status == "contraindicated"


def test_a_case_regimen_above_1_g_does_not_mark_the_guideline_regimen() -> None:
    # Regression: 750 mg q12h (dose.above_maximum) made the 500 mg/day guideline regimen
    # "not recommended"; the guideline regimen is the remedy for that finding.
    q12 = {"amount_mg": 750, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 4}
    a = _assess(regimen=q12)
    assert "dose.above_maximum" in a.codes()
    assert a.recommendation.status == "recommended"
    assert max(ph.daily_dose_mg for ph in a.recommendation.phases) <= 1000
    # ...while a patient contraindication alongside it still marks the regimen.
    b = _assess(regimen=q12, conditions=["epilepsy"])
    assert b.recommendation.status == "contraindicated"
    assert "dose.above_maximum" not in b.recommendation.rationale[0]


def test_caution_does_not_mark_the_regimen() -> None:
    assert _assess(conditions=["anxiety"]).recommendation.status == "recommended"


def test_dialysis_condition_code_counts_as_severe_renal() -> None:
    a = _assess(conditions=["ICD10:Z99.2"], dialysis="haemodialysis")
    assert a.recommendation.status == "contraindicated" and a.recommendation.phases == ()
    with pytest.raises(CaseError):  # without the dialysis field: refused (#8)
        _assess(conditions=["ICD10:Z99.2"])


def test_breastfeeding_estimate_uses_the_case_regimen_when_given() -> None:
    q8 = {"amount_mg": 250, "interval_h": 8, "start": "2026-03-01T08:00:00", "count": 6}
    a = _assess(breastfeeding=True, regimen=q8)
    assert a.breastfeeding is not None
    assert a.breastfeeding.maternal_dose_mg_day == 750
    b = _assess(breastfeeding=True)
    assert b.breastfeeding is not None and b.breastfeeding.maternal_dose_mg_day == 500
    assert _assess().breastfeeding is None


def test_json_document_is_stable_and_serialisable() -> None:
    doc = _assess(conditions=["foo"], symptoms=["tremor"]).model_dump(mode="json")
    assert {"patient", "findings", "recommendation", "monitoring", "unrecognised",
            "recognised", "model", "cyclodose_version"} <= set(doc)
    assert doc["unrecognised"][0]["text"] == "foo"
    assert doc["recommendation"]["phases"][0]["daily_dose_mg"] == 500


def test_assess_is_deterministic() -> None:
    assert _assess(conditions=["epilepsy"]) == _assess(conditions=["epilepsy"])
