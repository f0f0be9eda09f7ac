"""The current regimen and the usual dose times from a real dose chart (#14 item 3)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from cyclodose import parse_case
from cyclodose.workflows.tdm.current import new_regimen_start_h, usual_schedule

PATIENT = {"age_years": 41, "sex": "male", "weight_kg": 58, "height_cm": 170,
           "serum_creatinine": {"value": 80, "unit": "umol/L"}}


def _doses(times: list[str], amount: float = 250) -> dict[str, Any]:
    return {"patient": PATIENT,
            "regimen": {"doses": [{"time": t, "amount_mg": amount} for t in times]}}


def _q12h(days: int, late: dict[int, float] | None = None) -> list[str]:
    start = datetime(2026, 3, 1, 8, 0)
    out = []
    for i in range(2 * days):
        t = start + timedelta(hours=12 * i + (late or {}).get(i, 0.0))
        out.append(t.isoformat())
    return out


def _clock(case: Any, time_h: float) -> str:
    return str(case.clock(time_h).strftime("%H:%M"))


def test_one_late_dose_keeps_q12h_and_the_usual_times() -> None:
    # the last dose, due 20:00, taken at 23:00: still 250 mg q12h; the new schedule at 08:00
    case = parse_case(_doses(_q12h(10, late={19: 3.0})))
    usual = usual_schedule(case)
    assert usual is not None and usual.regimen.label == "250 mg q12h"
    start = new_regimen_start_h(usual, max(d.time_h for d in case.doses), None)
    assert _clock(case, start) == "08:00"


def test_irregular_history_gives_q12h_anchored_on_the_morning_time() -> None:
    times = ["2026-03-01T08:15", "2026-03-01T21:40", "2026-03-02T07:50", "2026-03-02T20:10",
             "2026-03-03T08:30", "2026-03-03T21:10", "2026-03-04T07:55", "2026-03-04T21:20"]
    case = parse_case(_doses(times))
    usual = usual_schedule(case)
    assert usual is not None and usual.regimen.label == "250 mg q12h"
    start = new_regimen_start_h(usual, max(d.time_h for d in case.doses), None)
    # the usual morning time (median of 07:50, 08:30, 07:55 in the last 3 days), never 21:10
    assert _clock(case, start) == "07:55"
    assert "07:55" in usual.source and "21:" in usual.source


def test_stated_regimen_wins_over_dose_times() -> None:
    doc = {"patient": PATIENT,
           "regimen": {"amounts_mg": [250, 500], "interval_h": 12, "start": "2026-03-01T08:00",
                       "count": 20, "missed": ["2026-03-05T20:00"]}}
    case = parse_case(doc)
    usual = usual_schedule(case)
    assert usual is not None and usual.source == "the stated repeating regimen"
    assert usual.regimen.amounts_mg == (250.0, 500.0) and usual.regimen.period_h == 24.0
    start = new_regimen_start_h(usual, max(d.time_h for d in case.doses), None)
    assert _clock(case, start) == "08:00"


def test_an_extra_dose_is_not_a_usual_time() -> None:
    times = _q12h(4) + ["2026-03-04T14:00"]
    case = parse_case(_doses(sorted(times)))
    usual = usual_schedule(case)
    assert usual is not None and usual.regimen.label == "250 mg q12h"


def test_once_daily_and_long_intervals() -> None:
    daily = parse_case(_doses([f"2026-03-0{d}T09:00" for d in range(1, 6)], amount=500))
    usual = usual_schedule(daily)
    assert usual is not None and usual.regimen.label == "500 mg q24h"
    thrice_weekly = parse_case(_doses(["2026-03-02T09:00", "2026-03-04T09:00",
                                       "2026-03-06T09:00"], amount=500))
    usual = usual_schedule(thrice_weekly)
    assert usual is not None and usual.regimen.period_h == pytest.approx(48.0)


def test_new_schedule_is_not_before_the_last_level() -> None:
    case = parse_case(_doses(_q12h(3)))
    usual = usual_schedule(case)
    last = max(d.time_h for d in case.doses)
    assert new_regimen_start_h(usual, last, last + 30.0) >= last + 30.0
