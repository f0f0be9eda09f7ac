"""Times with a UTC offset (#14 item 2): compared as instants, never silently shifted."""

from __future__ import annotations

from typing import Any

import pytest

from cyclodose import CaseError, parse_case


def _doc(level_time: str, start: str = "2026-03-01T08:00:00", **settings: Any) -> dict[str, Any]:
    return {
        "patient": {"age_years": 41, "sex": "male", "weight_kg": 58, "height_cm": 170,
                    "serum_creatinine": {"value": 80, "unit": "umol/L"}},
        "regimen": {"amount_mg": 250, "interval_h": 12, "start": start, "count": 20},
        "levels": [{"time": level_time, "value": 16.2, "unit": "mg/L"}],
        "settings": settings,
    }


def test_mixed_offsets_without_timezone_are_refused_naming_the_field() -> None:
    with pytest.raises(CaseError) as err:
        parse_case(_doc("2026-03-10T10:00:00+03:00"))
    (problem,) = err.value.problems
    assert problem.field == "regimen.start"
    assert "levels[0].time" in problem.reason and "settings.timezone" in problem.reason


def test_timezone_reads_local_times_and_offsets_as_instants() -> None:
    # 10:00+03:00 is 10:00 in Moscow: the 2 h peak after the 08:00 dose, not a 07:00 trough.
    case = parse_case(_doc("2026-03-10T10:00:00+03:00", timezone="Europe/Moscow"))
    assert case.levels[0].time_h == pytest.approx(9 * 24 + 2.0)
    clock = case.clock(case.levels[0].time_h)
    assert clock is not None and clock.hour == 10 and clock.utcoffset() is not None
    # The same level sent in UTC is the same instant.
    utc = parse_case(_doc("2026-03-10T07:00:00Z", timezone="Europe/Moscow"))
    assert utc.levels[0].time_h == pytest.approx(case.levels[0].time_h)


def test_offsets_everywhere_need_no_timezone_and_clock_keeps_the_offset() -> None:
    case = parse_case(_doc("2026-03-10T10:00:00+03:00", start="2026-03-01T05:00:00Z"))
    assert case.levels[0].time_h == pytest.approx(9 * 24 + 2.0)
    clock = case.clock(0.0)
    assert clock is not None and clock.isoformat() == "2026-03-01T05:00:00+00:00"


def test_all_naive_times_stay_wall_clock() -> None:
    case = parse_case(_doc("2026-03-10T10:00:00"))
    assert case.t0 is not None and case.t0.tzinfo is None
    assert case.levels[0].time_h == pytest.approx(9 * 24 + 2.0)


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(CaseError) as err:
        parse_case(_doc("2026-03-10T10:00:00", timezone="Mars/Olympus"))
    assert err.value.problems[0].field == "settings.timezone"


def test_daylight_saving_change_counts_real_hours() -> None:
    # Europe/Berlin moves the clock forward at 02:00 on 2026-03-29: 08:00 to 08:00 is 23 h.
    doc = _doc("2026-03-29T08:00:00", start="2026-03-28T08:00:00", timezone="Europe/Berlin")
    doc["regimen"] = {"doses": [{"time": "2026-03-28T08:00:00", "amount_mg": 250}]}
    case = parse_case(doc)
    assert case.levels[0].time_h == pytest.approx(23.0)
    clock = case.clock(23.0)
    assert clock is not None and clock.hour == 8
