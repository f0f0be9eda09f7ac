"""Issue #9 Misleading 4: `patient.trimester` (1-3) when the gestational week is unknown;
checked against the week when both are given, refused when not pregnant."""

from __future__ import annotations

from typing import Any

import pytest

from cyclodose.errors import CaseError
from cyclodose.intake.case import parse_case


def _doc(**patient: Any) -> dict[str, Any]:
    return {"patient": {"age_years": 27, "sex": "female", "weight_kg": 60,
                        "serum_creatinine": {"value": 0.7, "unit": "mg/dL"}, **patient}}


def _problems(**patient: Any) -> list[tuple[str, str]]:
    with pytest.raises(CaseError) as err:
        parse_case(_doc(**patient))
    return [(p.field, p.reason) for p in err.value.problems]


def test_trimester_inconsistent_with_week_refused() -> None:
    (field, reason), = _problems(pregnant=True, gestational_week=20, trimester=3)
    assert field == "patient.trimester"
    assert "does not match gestational week 20" in reason and "weeks 14-27" in reason


def test_trimester_refused_when_not_pregnant_or_male() -> None:
    assert [f for f, _ in _problems(trimester=2)] == ["patient.trimester"]
    assert "needs pregnant: true" in _problems(trimester=2)[0][1]
    male = _problems(sex="male", trimester=2)
    assert ("patient.trimester", "a trimester is recorded for a male patient; check sex") in male
    assert [f for f, _ in _problems(pregnant=True, trimester=4)] == ["patient.trimester"]


def test_trimester_is_kept_or_derived_from_the_week() -> None:
    from cyclodose.intake.case import trimester_of_week

    assert parse_case(_doc(pregnant=True, trimester=2)).patient.trimester == 2
    p = parse_case(_doc(pregnant=True, gestational_week=28, trimester=3)).patient
    assert (p.gestational_week, p.trimester) == (28, 3)
    assert parse_case(_doc(pregnant=True, gestational_week=13)).patient.trimester == 1
    assert [trimester_of_week(w) for w in (1, 13, 14, 27, 28, 44)] == [1, 1, 2, 2, 3, 3]
