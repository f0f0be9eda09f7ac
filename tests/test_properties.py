"""Property tests (Hypothesis): never above 1 g/day; invalid input exits 2 naming a field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cyclodose.cli import app
from cyclodose.clinical.dose_policy import dose_policy
from cyclodose.clinical.dosing import max_24h_dose_mg
from cyclodose.clinical.status import RegimenStatus
from cyclodose.intake.case import Dose, parse_case
from cyclodose.limits import MAX_DAILY_DOSE_MG
from cyclodose.workflows.assessment import assess

runner = CliRunner()

valid_patient = st.fixed_dictionaries(
    {
        "age_years": st.floats(0, 120),
        "sex": st.sampled_from(["male", "female"]),
        "weight_kg": st.floats(0.5, 350),
        "height_cm": st.one_of(st.none(), st.floats(31, 250)),
        "dialysis": st.sampled_from(["none", "none", "haemodialysis", "peritoneal"]),
        "conditions": st.lists(st.sampled_from(["epilepsy", "anxiety", "F32.1", "cirrhosis",
                                                "zzz"]), max_size=2),
    },
    optional={
        "serum_creatinine": st.builds(lambda v: {"value": v, "unit": "mg/dL"}, st.floats(0.1, 20)),
        "crcl_ml_min": st.floats(1, 300),
    },
)
valid_settings = st.fixed_dictionaries({
    "paediatric_guideline": st.sampled_from(["AAP", "BNFC"]),
    "capsule_strengths_mg": st.lists(st.sampled_from([125.0, 250.0, 500.0, 1000.0]),
                                     min_size=1, max_size=3, unique=True),
})


@settings(max_examples=50, deadline=None)
@given(patient=valid_patient, case_settings=valid_settings)
def test_valid_patients_never_get_more_than_1_g_per_day(patient: dict[str, Any],
                                                        case_settings: dict[str, Any]) -> None:
    a = assess(parse_case({"patient": patient, "settings": case_settings}))
    rec = a.recommendation
    phases = list(rec.phases) + [p for o in rec.alternatives for p in o.phases]
    for ph in phases:
        assert ph.daily_dose_mg <= MAX_DAILY_DOSE_MG
        assert ph.dose_mg * ph.doses_per_day <= MAX_DAILY_DOSE_MG
        if ph.daily_dose_range_mg is not None:
            assert ph.daily_dose_range_mg[1] <= MAX_DAILY_DOSE_MG
    assert all(d.daily_dose_mg <= MAX_DAILY_DOSE_MG for d in rec.schedule)


@settings(max_examples=50, deadline=None)
@given(patient=valid_patient, case_settings=valid_settings)
def test_children_never_get_more_than_the_paediatric_maximum_in_mg_per_kg(
        patient: dict[str, Any], case_settings: dict[str, Any]) -> None:
    """Issue #9: no paediatric regimen above AAP 10 mg/kg twice daily / WHO 20 mg/kg/day,
    and no model-informed regimen offered to a child as one to give."""
    patient = {**patient, "age_years": patient["age_years"] % 18}
    a = assess(parse_case({"patient": patient, "settings": case_settings}))
    rec = a.recommendation
    w = patient["weight_kg"]
    limit = dose_policy().paediatric.max_mg_kg_day * w + 1e-6
    for ph in list(rec.phases) + [p for o in rec.alternatives for p in o.phases]:
        assert ph.dose_mg * ph.doses_per_day <= limit
        if ph.daily_dose_range_mg is not None:
            assert ph.daily_dose_range_mg[1] <= limit
    assert a.prediction is None or a.prediction.status in (
        "extrapolation, for information only", "unavailable", "contraindicated")


@settings(max_examples=25, deadline=None)
@given(patient=valid_patient, case_settings=valid_settings)
def test_model_informed_recommendation_is_row1_safe_and_within_1_g(
        patient: dict[str, Any], case_settings: dict[str, Any]) -> None:
    """Issue #9 M6/M7: the model-informed regimen is the first row of its ranked table, never
    above 1 g/day, and never presented as predicted with P(peak > 30 mg/L) above 50 %."""
    a = assess(parse_case({"patient": patient, "settings": case_settings}))
    p = a.prediction
    if p is None or not a.candidates:
        return
    assert a.candidates[0].regimen == p.regimen and a.candidates[0].rank == 1
    assert p.daily_dose_mg is not None and p.daily_dose_mg <= MAX_DAILY_DOSE_MG
    if p.status == RegimenStatus.PREDICTED:
        assert p.p_peak_above_ceiling is not None and p.p_peak_above_ceiling <= 0.5


# Each invalid mutation and the field its error must name.
INVALID = st.one_of(
    st.floats(max_value=0, allow_nan=False).map(lambda w: ({"weight_kg": w}, "patient.weight_kg")),
    st.floats(min_value=350.01, max_value=1e6).map(lambda w: ({"weight_kg": w},
                                                              "patient.weight_kg")),
    st.floats(max_value=-0.01, min_value=-1e6).map(lambda a: ({"age_years": a},
                                                              "patient.age_years")),
    st.floats(min_value=120.01, max_value=1e6).map(lambda a: ({"age_years": a},
                                                              "patient.age_years")),
    st.floats(min_value=20.01, max_value=1e4).map(
        lambda c: ({"serum_creatinine": {"value": c, "unit": "mg/dL"}},
                   "patient.serum_creatinine.value")),
    st.floats(min_value=0, max_value=0.099).map(
        lambda c: ({"serum_creatinine": {"value": c, "unit": "mg/dL"}},
                   "patient.serum_creatinine.value")),
    st.text(alphabet="qxzjk", min_size=2, max_size=6).map(
        lambda u: ({"serum_creatinine": {"value": 1.0, "unit": u}},
                   "patient.serum_creatinine.unit")),
    st.just(({"serum_creatinine": {"value": 1.0}}, "patient.serum_creatinine.unit")),
    st.sampled_from(["other", "M", ""]).map(lambda s: ({"sex": s}, "patient.sex")),
)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=INVALID)
def test_invalid_input_exits_2_naming_the_field(tmp_path: Path,
                                                bad: tuple[dict[str, Any], str]) -> None:
    change, field = bad
    patient: dict[str, Any] = {"age_years": 40, "sex": "male", "weight_kg": 70}
    patient.update(change)
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"patient": patient}), encoding="utf-8")
    res = runner.invoke(app, ["assess", str(path), "--json"])
    assert res.exit_code == 2
    assert f"error: {field}:" in res.stderr
    assert res.stdout == ""


def _brute_max_24h(doses: list[Dose]) -> float:
    return max((sum(d.amount_mg for d in doses if s.time_h <= d.time_h < s.time_h + 24)
                for s in doses), default=0.0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.builds(Dose, time_h=st.sampled_from([0.0, 6.0, 8.0, 12.0, 23.9, 24.0, 30.0,
                                                        47.5, 48.0]),
                          amount_mg=st.sampled_from([125.0, 250.0, 500.0])), max_size=10))
def test_max_24h_window_matches_brute_force(doses: list[Dose]) -> None:
    assert max_24h_dose_mg(doses) == _brute_max_24h(doses)
