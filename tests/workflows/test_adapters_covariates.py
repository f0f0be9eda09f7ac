"""Covariates from a Case: Cockcroft-Gault, measured CrCl, FFM, LOCF histories, missing data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cyclodose.errors import CaseError
from cyclodose.intake.case import parse_case
from cyclodose.pk import LOCF_RULE, CovariateTimeline, get_model
from cyclodose.workflows.adapters import covariates_from_case, timeline_from_case


def _case(**patient: Any) -> Any:
    base: dict[str, Any] = {"age_years": 40, "sex": "male", "weight_kg": 60}
    base.update(patient)
    doc: dict[str, Any] = {"patient": base,
                           "regimen": {"amount_mg": 250, "interval_h": 12,
                                       "start": "2026-03-01T08:00:00", "count": 20}}
    return parse_case(doc)


def test_cockcroft_gault_from_creatinine() -> None:
    # pharmacology.md §6 vector: 40 y, 60 kg, 0.9 mg/dL -> male 92.6, female 78.7 mL/min
    cov = covariates_from_case(_case(serum_creatinine={"value": 0.9, "unit": "mg/dL"}))
    assert cov.crcl_ml_min[0] == pytest.approx(92.6, abs=0.05)
    scr = {"value": 0.9, "unit": "mg/dL"}
    fem = covariates_from_case(_case(sex="female", serum_creatinine=scr))
    assert fem.crcl_ml_min[0] == pytest.approx(78.7, abs=0.05)
    assert fem.male[0] == 0.0 and cov.patient[0] == 1.0


def test_measured_clearance_overrides_estimate() -> None:
    cov = covariates_from_case(_case(serum_creatinine={"value": 0.9, "unit": "mg/dL"},
                                     crcl_ml_min=55))
    assert cov.crcl_ml_min[0] == 55


def test_missing_creatinine_names_the_field() -> None:
    with pytest.raises(CaseError) as exc:
        covariates_from_case(_case(), get_model("alghamdi2019"))
    assert exc.value.problems[0].field == "patient.serum_creatinine"


def test_resendiz_needs_height_for_fat_free_mass() -> None:
    case = _case(serum_creatinine={"value": 0.9, "unit": "mg/dL"})
    with pytest.raises(CaseError) as exc:
        covariates_from_case(case, get_model("resendiz2025"))
    assert exc.value.problems[0].field == "patient.height_cm"
    scr = {"value": 0.9, "unit": "mg/dL"}
    cov = covariates_from_case(_case(height_cm=170, serum_creatinine=scr),
                               get_model("resendiz2025"))
    # Janmahasatian 2005, male: 9270 * 60 / (6680 + 216 * BMI), BMI = 60 / 1.7^2
    bmi = 60 / 1.7**2
    assert cov.ffm_kg[0] == pytest.approx(9270 * 60 / (6680 + 216 * bmi))
    # CLcr,56M = (140 - age) * 56 / (72 * SCr)
    assert cov.crcl_56m_ml_min[0] == pytest.approx(100 * 56 / (72 * 0.9))


def test_timeline_locf() -> None:
    case = _case(serum_creatinine={"value": 0.9, "unit": "mg/dL"}, covariate_history=[
        {"time": "2026-03-04T08:00:00", "serum_creatinine": {"value": 1.8, "unit": "mg/dL"}},
        {"time": "2026-03-06T08:00:00", "weight_kg": 54},
    ])
    tl = timeline_from_case(case, get_model())
    assert isinstance(tl, CovariateTimeline)
    assert tl.start_h == (-np.inf, 72.0, 120.0)
    assert tl.rule == LOCF_RULE and "last-observation-carried-forward" in tl.rule
    assert tl.at(10.0).crcl_ml_min[0] == pytest.approx(92.59, abs=0.01)
    assert tl.at(80.0).crcl_ml_min[0] == pytest.approx(92.59 / 2, abs=0.01)
    # weight change keeps the latest creatinine (carried forward) and recomputes CrCl
    late = tl.at(200.0)
    assert late.weight_kg[0] == 54
    assert late.crcl_ml_min[0] == pytest.approx(100 * 54 / (72 * 1.8), abs=0.01)


def test_engine_names_no_document_field_and_the_use_case_maps_it() -> None:
    """pk.covariates.require raises the engine's MissingCovariate; the adapter a CaseError
    naming the field (left over from #8)."""
    import numpy as np
    import pytest

    from cyclodose import CaseError, parse_case, pk
    from cyclodose.pk.covariates import MissingCovariate, require
    from cyclodose.workflows.adapters import covariates_from_case

    spec = pk.get_model("alghamdi2019")
    cov = pk.Covariates.create(weight_kg=60.0, age_years=40.0, crcl_ml_min=np.nan)
    with pytest.raises(MissingCovariate) as engine:
        require(spec, cov)
    assert engine.value.covariate == "crcl_ml_min" and "patient." not in str(engine.value)
    assert not isinstance(engine.value, CaseError)
    case = parse_case({"patient": {"age_years": 40, "sex": "male", "weight_kg": 60}})
    with pytest.raises(CaseError) as user:
        covariates_from_case(case, spec)
    (problem,) = user.value.problems
    assert problem.field == "patient.serum_creatinine"
    assert "needs creatinine clearance" in problem.reason
