"""Stages that need no PK model: check, preprocess, diagnostics, sampling advice."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pytest

from cyclodose.errors import CaseError
from cyclodose.intake.case import Level, parse_case
from cyclodose.tdm.diagnostics import diagnose
from cyclodose.tdm.sampling import half_life_h, next_samples, regimen_start_h
from cyclodose.workflows.adapters import dose_history, observations
from cyclodose.workflows.tdm.check import check_case


def _doc(levels):
    return {
        "patient": {"age_years": 40, "sex": "male", "weight_kg": 60,
                    "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}},
        "regimen": {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00",
                    "count": 20},
        "levels": levels,
    }


def test_preprocess_units_and_blq():
    case = parse_case(_doc([
        {"time": "2026-03-10T14:00:00", "value": 98.0, "unit": "umol/L"},
        {"time": "2026-03-10T10:00:00", "value": 22.0, "unit": "ug/mL"},
        {"time": "2026-03-10T19:00:00", "value": "<2", "unit": "mg/L"},
    ]))
    obs = observations(case)
    np.testing.assert_allclose(obs.time_h, [218.0, 222.0, 227.0])
    # µmol/L → mg/L with MW 102.09 g/mol (PubChem CID 6234): 98 × 102.09 / 1000
    assert obs.conc_mg_l[0] == pytest.approx(22.0)
    assert obs.conc_mg_l[1] == pytest.approx(98.0 * 102.09 / 1000)
    assert obs.blq.tolist() == [False, False, True]
    assert math.isnan(obs.conc_mg_l[2]) and obs.lloq_mg_l[2] == pytest.approx(2.0)
    doses = dose_history(case)
    assert doses.n == 20 and doses.time_h[-1] == pytest.approx(228.0)


def test_check_refuses_levels_without_doses_and_before_first_dose():
    case = parse_case(_doc([{"time": "2026-03-10T10:00:00", "value": 22.0, "unit": "mg/L"}]))
    bad = case.model_copy(update={"doses": ()})
    with pytest.raises(CaseError) as exc:
        check_case(bad)
    assert exc.value.problems[0].field == "levels"
    early = case.model_copy(update={"levels": (Level(time_h=-1.0, conc_mg_l=5.0),)})
    with pytest.raises(CaseError) as exc:
        check_case(early)
    assert exc.value.problems[0].field == "levels[0].time"
    neg = case.model_copy(update={"levels": (Level(time_h=3.0, conc_mg_l=-5.0),)})
    with pytest.raises(CaseError) as exc:
        check_case(neg)
    assert exc.value.problems[0].field == "levels[0].value"


def test_diagnostics_flags_outlier_and_delayed_absorption():
    case = parse_case(_doc([
        {"time": "2026-03-10T10:00:00", "value": 12.0, "unit": "mg/L"},
        {"time": "2026-03-10T14:00:00", "value": 19.0, "unit": "mg/L"},
    ]))
    obs, doses = observations(case), dose_history(case)
    ipred = np.array([12.5, 18.0])
    d = diagnose(obs, doses, pred=ipred, ipred=ipred, ipred_sd=0.19 * ipred)
    assert d.delayed_absorption
    assert d.levels[0].time_after_dose_h == pytest.approx(2.0)
    assert d.levels[1].iwres == pytest.approx((19.0 - 18.0) / (0.19 * 18.0))
    assert all(lv.flag is None for lv in d.levels)
    # A level 4 residual SDs from its fit is implausible: flagged.
    far = np.array([12.5, 19.0 / (1 + 4 * 0.19)])
    d2 = diagnose(obs, doses, pred=far, ipred=far, ipred_sd=0.19 * far)
    assert d2.levels[1].flag is not None and "wrong sample time" in d2.levels[1].flag
    # 2 h above 6 h is the usual pattern: no delayed-absorption flag.
    case3 = parse_case(_doc([
        {"time": "2026-03-10T10:00:00", "value": 24.0, "unit": "mg/L"},
        {"time": "2026-03-10T14:00:00", "value": 19.0, "unit": "mg/L"},
    ]))
    d3 = diagnose(observations(case3), doses, pred=ipred, ipred=ipred, ipred_sd=0.19 * ipred)
    assert not d3.delayed_absorption


def test_next_samples_wait_five_half_lives_and_give_dates():
    # Alghamdi 2019 typical patient: V 24.9 L, CL 1.03 L/h → t½ 16.8 h (pharmacology.md §1, derived)
    t_half = half_life_h(1.03, 24.9)
    assert t_half == pytest.approx(16.76, abs=0.01)
    start = regimen_start_h([0.0, 12.0, 24.0], last_level_h=26.0)
    assert start == 36.0
    advice = next_samples(start, 24.0, [0.0, 12.0], [250.0, 500.0], t_half,
                          datetime(2026, 3, 1, 8, 0))
    assert [a.after_dose_h for a in advice] == [2.0, 6.0]
    dose_h = advice[0].dose_time_h
    assert dose_h >= start + 5 * t_half
    assert dose_h - (start + 5 * t_half) < 24.0  # the first such dose, not later
    assert (dose_h - start) % 24.0 == pytest.approx(12.0)  # after the larger (500 mg) dose
    assert advice[0].clock is not None
    assert (advice[0].clock - datetime(2026, 3, 1, 8, 0)).total_seconds() / 3600 == pytest.approx(
        advice[0].time_h)
    assert advice[1].time_h - advice[0].time_h == pytest.approx(4.0)


def test_next_sample_stays_before_the_next_dose_for_short_intervals():
    # doses at 0 h (500 mg) and 5 h (250 mg) each day: the "6 h" sample must precede the 5 h dose
    advice = next_samples(0.0, 24.0, [0.0, 5.0], [500.0, 250.0], 10.0, None)
    assert advice[0].after_dose_h == 2.0
    assert advice[1].after_dose_h == pytest.approx(4.75) and advice[1].label == "pre-dose"
    assert advice[0].clock is None
