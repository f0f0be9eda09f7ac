"""`assessed_at`: the doses at or after it are planned, not given (a FHIR reading sets it to
now); without it every dose of the document is given, as a person writing a case states."""

from __future__ import annotations

from typing import Any

import pytest

from cyclodose import CaseError, parse_case


def _doc(**extra: Any) -> dict[str, Any]:
    return {"patient": {"age_years": 41, "sex": "male", "weight_kg": 58,
                        "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}},
            "regimen": {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00Z",
                        "count": 20},
            "levels": [{"time": "2026-03-05T10:00:00Z", "value": 20.0, "unit": "mg/L"}],
            **extra}


def test_without_assessed_at_every_dose_is_given_even_after_the_levels() -> None:
    case = parse_case(_doc())
    assert case.assessed_at_h is None
    assert case.given_doses == case.doses and len(case.doses) == 20


def test_doses_from_assessed_at_on_are_planned() -> None:
    case = parse_case(_doc(assessed_at="2026-03-06T08:00:00Z"))
    assert case.assessed_at_h == pytest.approx(5 * 24.0)
    assert len(case.doses) == 20  # the dose checks still read all of them
    # 08:00 on day 6 is the assessment time itself: planned, not given
    assert [d.time_h for d in case.given_doses] == [12.0 * i for i in range(10)]


def test_assessed_at_is_an_instant_like_every_other_time() -> None:
    case = parse_case(_doc(assessed_at="2026-03-06T11:00:00+03:00"))  # 08:00 UTC
    assert case.assessed_at_h == pytest.approx(5 * 24.0)
    with pytest.raises(CaseError) as err:
        parse_case(_doc(assessed_at="2026-03-06T08:00:00"))  # no offset, the others have one
    assert err.value.problems[0].field == "assessed_at"


def test_a_level_after_the_assessment_is_refused() -> None:
    with pytest.raises(CaseError) as err:
        parse_case(_doc(assessed_at="2026-03-05T09:00:00Z"))
    (p,) = err.value.problems
    assert p.field == "levels[0].time" and "after assessed_at" in p.reason
