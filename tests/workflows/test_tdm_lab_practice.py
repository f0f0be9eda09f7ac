"""Bayesian TDM as a laboratory runs it (#14): each item of the issue, through the consult."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from cyclodose import CaseError, parse_case
from cyclodose.workflows.tdm.consult import tdm_consult

PATIENT = {"age_years": 41, "sex": "male", "weight_kg": 58, "height_cm": 170,
           "serum_creatinine": {"value": 80, "unit": "umol/L"}}
BASE: dict[str, Any] = {
    "patient": PATIENT,
    "regimen": {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 20},
    "levels": [{"time": "2026-03-10T10:00:00", "value": 16.2, "unit": "mg/L"},
               {"time": "2026-03-10T14:00:00", "value": 14.1, "unit": "mg/L"}],
}


def _doc(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc.update(changes)
    return doc


def _tdm(doc: dict[str, Any], **kw: Any) -> Any:
    return tdm_consult(parse_case(doc), **kw).tdm


@pytest.fixture(scope="module")
def example() -> Any:
    return _tdm(_doc(), predict_at_h=(230.0, 234.0))


def test_offset_levels_read_in_the_case_zone_give_the_same_advice(example: Any) -> None:
    doc = _doc(levels=[{"time": "2026-03-10T10:00:00+03:00", "value": 16.2, "unit": "mg/L"},
                       {"time": "2026-03-10T14:00:00+03:00", "value": 14.1, "unit": "mg/L"}],
               settings={"timezone": "Europe/Moscow"})
    zoned = _tdm(doc)
    assert zoned.recommendation.regimen == example.recommendation.regimen
    assert [lv.time_after_dose_h for lv in zoned.predictions.levels] == [2.0, 6.0]
    assert zoned.predictions.levels[0].clock.startswith("2026-03-10T10:00:00+03:00")
    with pytest.raises(CaseError):
        parse_case({**doc, "settings": {}})


def test_one_late_dose_neither_changes_the_current_regimen_nor_the_schedule() -> None:
    doses = [{"time": f"2026-03-{1 + i // 2:02d}T{'08' if i % 2 == 0 else '20'}:00",
              "amount_mg": 250} for i in range(20)]
    doses[-1]["time"] = "2026-03-10T23:00"  # the last evening dose 3 h late
    s = _tdm(_doc(regimen={"doses": doses}))
    assert s.current_regimen.regimen == "250 mg q12h"
    assert "usual dose times" in s.current_regimen_source
    assert s.new_regimen_start_clock.endswith("T08:00")


def test_a_trough_at_the_dose_time_is_pre_dose() -> None:
    s = _tdm(_doc(levels=[{"time": "2026-03-10T08:00:00", "value": 9.0, "unit": "mg/L"},
                          {"time": "2026-03-10T10:00:00", "value": 16.2, "unit": "mg/L"}]))
    trough = s.predictions.levels[0]
    assert trough.pre_dose and trough.time_after_dose_h == pytest.approx(12.0)
    assert not s.predictions.levels[1].pre_dose


def test_misfit_of_the_transit_model_is_said_and_marked_verify() -> None:
    doc = _doc(levels=[{"time": "2026-03-10T10:00:00", "value": 4.0, "unit": "mg/L"},
                       {"time": "2026-03-10T14:00:00", "value": 28.0, "unit": "mg/L"}],
               settings={"model": "resendiz2025"})
    s = _tdm(doc)
    assert not s.fit.adequate and "alghamdi2019" in s.fit.misfit
    assert s.recommendation.status == "verify before use"
    assert any("cannot fit" in w for w in s.recommendation.warnings)
    assert not any("the fit allows slow absorption" in f for f in s.diagnostics.flags)


def test_a_level_above_the_ceiling_means_hold_now_and_an_early_level() -> None:
    doc = _doc(regimen={"amount_mg": 500, "interval_h": 12, "start": "2026-03-01T08:00:00",
                        "count": 20},
               levels=[{"time": "2026-03-10T10:00:00", "value": 38.0, "unit": "mg/L"},
                       {"time": "2026-03-10T14:00:00", "value": 33.0, "unit": "mg/L"}])
    s = _tdm(doc)
    advice = s.recommendation.advice
    assert advice.action == "hold the next dose now, then reduce"
    assert "35 mg/L" in advice.text and "early level" in advice.text
    assert advice.below_ceiling_h is not None and advice.below_ceiling_h > 218.0
    # the reduced regimen starts only after the concentration is predicted below 30 mg/L
    assert s.new_regimen_start_h >= (advice.below_ceiling_upper_h or advice.below_ceiling_h)


def test_a_level_the_history_cannot_produce_is_a_possible_error() -> None:
    doc = _doc(levels=[{"time": "2026-03-10T10:00:00", "value": 55.0, "unit": "mg/L"}])
    s = _tdm(doc)
    assert s.recommendation.advice.possible_dosing_or_sampling_error
    assert s.recommendation.status == "verify before use"
    assert "dosing or sampling error" in s.recommendation.reason


def test_each_advised_sample_has_its_prediction_with_residual_error(example: Any) -> None:
    for smp in example.next_samples:
        p = smp.predicted
        assert p.time_h == smp.time_h
        assert p.lower_mg_l <= p.map_mg_l <= p.upper_mg_l
        assert p.measured_lower_mg_l < p.lower_mg_l and p.measured_upper_mg_l > p.upper_mg_l
    assert example.predictions.residual_error_included is False


def test_predictions_at_requested_times_and_the_forecast_curve(example: Any) -> None:
    at = example.predictions.predicted_at
    assert [p.time_h for p in at] == [230.0, 234.0]
    assert all(p.measured_lower_mg_l <= p.map_mg_l <= p.measured_upper_mg_l for p in at)
    fc = example.predictions.forecast
    assert fc[0].time_h == example.new_regimen_start_h and len(fc) > 48
    assert all(np.isfinite(p.map_mg_l) for p in fc)


def test_posterior_correlation_is_a_correlation_matrix(example: Any) -> None:
    c = example.fit.posterior_correlation
    m = np.array(c.matrix, dtype=float)
    assert m.shape == (len(c.names), len(c.names)) and set(c.names) <= {"cl", "v", "ka", "tlag"}
    assert np.allclose(np.diag(m), 1.0) and np.allclose(m, m.T)
    assert np.all(np.abs(m) <= 1.0 + 1e-9)


def test_occasions_start_at_a_dose_change_and_report_clearance_each() -> None:
    doc = _doc(regimen={"doses": (
        [{"time": f"2026-03-{1 + i // 2:02d}T{'08' if i % 2 == 0 else '20'}:00",
          "amount_mg": 250} for i in range(12)]
        + [{"time": f"2026-03-{7 + i // 2:02d}T{'08' if i % 2 == 0 else '20'}:00",
            "amount_mg": 500} for i in range(12)])},
        levels=[{"time": "2026-03-04T10:00:00", "value": 15.0, "unit": "mg/L"},
                {"time": "2026-03-12T10:00:00", "value": 30.0, "unit": "mg/L"}])
    s = _tdm(doc)
    occ = s.occasions
    assert occ.n == 2 and occ.iov_estimated
    assert occ.starts_h[1] == pytest.approx(144.0)  # the first 500 mg dose, 2026-03-07 08:00
    assert len(occ.cl_l_h_map) == 2 and occ.cl_l_h_forecast is not None
    assert "change of dose" in occ.rule
    # an explicit boundary wins over the rule
    doc["settings"] = {"occasion_starts": ["2026-03-11T20:00:00"]}
    given = _tdm(doc).occasions
    assert given.starts_h[1] == pytest.approx(252.0) and "as given" in given.rule


def test_near_the_models_renal_limit_is_said() -> None:
    doc = _doc(patient={**PATIENT, "crcl_ml_min": 33})
    s = _tdm(doc)
    assert not s.model.extrapolation
    assert any("near the model's lower limit of 30 mL/min" in n for n in s.model.near_edge)


def test_seed_candidates_and_sampling_times() -> None:
    case = parse_case(_doc())
    a = tdm_consult(case, seed=1).tdm
    b = tdm_consult(case, seed=1, regimens=["250mg q12h", "375mg q12h"],
                    sample_after_h=(1.0, 4.0)).tdm
    assert a.parameters["cl_l_h"].median == tdm_consult(case, seed=1).tdm.parameters[
        "cl_l_h"].median
    assert {r.regimen for r in b.ranked} == {"250 mg q12h", "375 mg q12h"}
    assert [smp.label for smp in b.next_samples] == ["C1h", "C4h"]
    with pytest.raises(CaseError) as err:
        tdm_consult(case, regimens=["750mg q12h"])
    assert err.value.problems[0].field == "--regimens"
    with pytest.raises(CaseError) as err:
        tdm_consult(case, predict_at_h=(-5.0,))
    assert err.value.problems[0].field == "--predict-at"
