"""The Case parser's input checks: each bad input is a Problem naming its field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cyclodose.errors import CaseError
from cyclodose.intake.case import parse_case

BASE: dict[str, Any] = {
    "patient": {"age_years": 40, "sex": "male", "weight_kg": 70,
                "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}},
    "comedications": ["bedaquiline"],
    "regimen": {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 4},
    "levels": [{"time": "2026-03-01T10:00:00", "value": 12.0, "unit": "mg/L"}],
}


def _with(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    node: Any = doc
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return doc


_DELETE = object()


def _fields(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(CaseError) as exc:
        parse_case(doc)
    return [p.field for p in exc.value.problems]


def test_base_case_is_valid() -> None:
    case = parse_case(BASE)
    assert case.patient.serum_creatinine_mg_dl == pytest.approx(0.9)
    assert len(case.doses) == 4 and case.levels[0].time_h == pytest.approx(2.0)


@pytest.mark.parametrize(("path", "value", "field"), [
    # missing unit
    ("patient.serum_creatinine", {"value": 80}, "patient.serum_creatinine.unit"),
    ("levels.0", {"time": "2026-03-01T10:00:00", "value": 12.0}, "levels[0].unit"),
    # unknown unit
    ("patient.serum_creatinine.unit", "furlongs", "patient.serum_creatinine.unit"),
    ("levels.0.unit", "bananas/L", "levels[0].unit"),
    # weight <= 0 or > 350 kg
    ("patient.weight_kg", 0, "patient.weight_kg"),
    ("patient.weight_kg", -5, "patient.weight_kg"),
    ("patient.weight_kg", 351, "patient.weight_kg"),
    # age < 0 or > 120
    ("patient.age_years", -1, "patient.age_years"),
    ("patient.age_years", 121, "patient.age_years"),
    # creatinine outside 0.1–20 mg/dL (also in µmol/L: 1800 µmol/L = 20.4 mg/dL)
    ("patient.serum_creatinine.value", 0.05, "patient.serum_creatinine.value"),
    ("patient.serum_creatinine.value", 25, "patient.serum_creatinine.value"),
    ("patient.serum_creatinine", {"value": 1800, "unit": "umol/L"},
     "patient.serum_creatinine.value"),
    # level before the first dose
    ("levels.0.time", "2026-03-01T07:00:00", "levels[0].time"),
    # negative amounts
    ("regimen.amount_mg", -250, "regimen.amount_mg"),
    ("regimen", {"doses": [{"time": "2026-03-01T08:00:00", "amount_mg": -1}]},
     "regimen.doses[0].amount_mg"),
    ("levels.0.value", -3.0, "levels[0].value"),
    # regression: NaN / infinity passed as a level and fired level.above_ceiling ("nan mg/L")
    ("levels.0.value", float("nan"), "levels[0].value"),
    ("levels.0.value", "nan", "levels[0].value"),
    ("levels.0.value", float("inf"), "levels[0].value"),
    # regression: a NaN capsule strength crashed with a traceback
    ("settings", {"capsule_strengths_mg": [float("nan")]}, "settings.capsule_strengths_mg"),
    ("settings", {"capsule_strengths_mg": [250, 2000]}, "settings.capsule_strengths_mg"),
    # regression: 40 strengths made the capsule-combination search run for minutes
    ("settings", {"capsule_strengths_mg": list(range(10, 410, 10))},
     "settings.capsule_strengths_mg"),
    ("patient.weight_kg", float("nan"), "patient.weight_kg"),
    ("patient.serum_creatinine.value", float("nan"), "patient.serum_creatinine.value"),
    # regression: end before start silently gave a regimen without doses
    ("regimen", {"amount_mg": 250, "interval_h": 12, "start": "2026-03-10T08:00:00",
                 "end": "2026-03-01T08:00:00"}, "regimen"),
    # regression: a missed time matching no scheduled dose was ignored (dose counted as taken)
    ("regimen", {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00",
                 "count": 4, "missed": ["2026-03-01T09:00:00"]}, "regimen.missed[0]"),
    # required fields
    ("patient.sex", _DELETE, "patient.sex"),
    ("patient.age_years", _DELETE, "patient.age_years"),
    ("patient.weight_kg", _DELETE, "patient.weight_kg"),
])
def test_bad_input_names_the_field(path: str, value: Any, field: str) -> None:
    assert field in _fields(_with(path, value))


def test_unit_values_at_the_limits_are_accepted() -> None:
    parse_case(_with("patient.weight_kg", 350))
    parse_case(_with("patient.age_years", 120))
    parse_case(_with("patient.age_years", 0))
    parse_case(_with("patient.serum_creatinine.value", 20))
    parse_case(_with("patient.serum_creatinine.value", 0.1))


def test_several_problems_are_all_reported() -> None:
    doc = _with("patient.weight_kg", -1)
    doc["patient"]["age_years"] = 200
    fields = _fields(doc)
    assert "patient.weight_kg" in fields and "patient.age_years" in fields


def test_level_without_regimen_is_refused() -> None:
    doc = copy.deepcopy(BASE)
    del doc["regimen"]
    assert "levels" in _fields(doc)


def test_creatinine_units_convert() -> None:
    case = parse_case(_with("patient.serum_creatinine", {"value": 88.4, "unit": "umol/L"}))
    assert case.patient.serum_creatinine_mg_dl == pytest.approx(1.0)


def test_negative_cycling_amount_names_its_index() -> None:
    doc = copy.deepcopy(BASE)
    doc["regimen"] = {"amounts_mg": [250, -5], "interval_h": 12, "start": "2026-03-01T08:00:00",
                      "count": 4}
    assert "regimen.amounts_mg[1]" in _fields(doc)


def test_pregnancy_recorded_for_male_is_refused_naming_the_field():
    with pytest.raises(CaseError) as exc:
        parse_case({"patient": {"age_years": 30, "sex": "male", "weight_kg": 70, "pregnant": True}})
    assert [p.field for p in exc.value.problems] == ["patient.pregnant"]


def test_missed_dose_at_a_scheduled_time_is_removed() -> None:
    doc = _with("regimen", {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00",
                            "count": 4, "missed": ["2026-03-01T20:00:00"]})
    case = parse_case(doc)
    assert [d.time_h for d in case.doses] == [0.0, 24.0, 36.0]
