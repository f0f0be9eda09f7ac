"""Property: whatever the measured levels, the optimised regimen stays within 1 g/day and
its probabilities and intervals are coherent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cyclodose.limits import MAX_DAILY_DOSE_MG
from cyclodose.workflows.tdm import estimate, to_dict

from .conftest import make_case

level = st.one_of(st.floats(0.05, 200.0), st.just("<2"))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c2=level, c6=level, weight_kg=st.floats(35.0, 110.0))
def test_any_levels_give_a_bounded_coherent_recommendation(c2, c6, weight_kg):
    patient = {"age_years": 41, "sex": "male", "weight_kg": weight_kg, "height_cm": 170,
               "serum_creatinine": {"value": 80, "unit": "umol/L"}}
    case = make_case(patient=patient, levels=[
        {"time": "2026-03-10T10:00:00", "value": c2, "unit": "mg/L"},
        {"time": "2026-03-10T14:00:00", "value": c6, "unit": "mg/L"},
    ])
    doc = to_dict(estimate(case, n_draws=300))  # bounds, not accuracy
    for r in [doc["recommendation"], *doc["ranked"]]:
        assert r["daily_dose_mg"] <= MAX_DAILY_DOSE_MG
        assert 0.0 <= r["p_in_target"] <= 1.0 and 0.0 <= r["p_above_ceiling"] <= 1.0
        assert r["p_in_target"] + r["p_above_ceiling"] <= 1.0 + 1e-9  # disjoint events
        for key in ("peak_mg_l", "trough_mg_l", "auc24_mg_h_l"):
            assert 0.0 <= r[key]["lower"] <= r[key]["median"] <= r[key]["upper"]
    for p in doc["parameters"].values():
        assert 0.0 <= p["lower"] <= p["median"] <= p["upper"]
    # #9 M7: the ranked table's first row is the recommendation; #9 Unsafe 2: a regimen more
    # likely than not above 30 mg/L is never presented as recommended
    rec = doc["recommendation"]
    assert doc["ranked"][0]["regimen"] == rec["regimen"]
    if rec["p_above_ceiling"] > 0.5:
        assert rec["status"] != "recommended"
