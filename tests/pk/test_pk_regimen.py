"""Dose patterns and their text form."""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose.errors import CaseError
from cyclodose.pk import DosePattern, parse_regimen, repeat_doses


@pytest.mark.parametrize("text,period,offsets,amounts", [
    ("250mg q12h", 12.0, (0.0,), (250.0,)),
    ("250 mg q12h", 12.0, (0.0,), (250.0,)),
    ("250/500mg q12h", 24.0, (0.0, 12.0), (250.0, 500.0)),
    ("1 g q24h", 24.0, (0.0,), (1000.0,)),
    ("250mg bid", 12.0, (0.0,), (250.0,)),
    ("125/250/250mg q8h", 24.0, (0.0, 8.0, 16.0), (125.0, 250.0, 250.0)),
    ("500MG Q24H", 24.0, (0.0,), (500.0,)),
])
def test_parse(text: str, period: float, offsets: tuple[float, ...],
               amounts: tuple[float, ...]) -> None:
    pat = parse_regimen(text)
    assert pat == DosePattern(period, offsets, amounts)


@pytest.mark.parametrize("text", ["", "250", "q12h", "250mg q0h", "-250mg q12h", "250mg every day",
                                  "0mg q12h"])
def test_bad_text_is_a_case_error_naming_the_field(text: str) -> None:
    with pytest.raises(CaseError) as exc:
        parse_regimen(text, field="regimens[2]")
    assert exc.value.problems[0].field == "regimens[2]"


def test_labels_and_daily_dose() -> None:
    assert parse_regimen("250mg q12h").label == "250 mg q12h"
    assert parse_regimen("250/500mg q12h").label == "250/500 mg q12h"
    assert parse_regimen("250/500mg q12h").daily_dose_mg == 750.0
    assert parse_regimen("250mg q8h").doses_per_day == 3.0
    odd = DosePattern(24.0, (0.0, 10.0), (250.0, 250.0))
    assert odd.label == "250/250 mg at 0,10 h every 24 h"


def test_invalid_pattern() -> None:
    with pytest.raises(ValueError):
        DosePattern(24.0, (0.0, 30.0), (250.0, 250.0))
    with pytest.raises(ValueError):
        DosePattern(24.0, (12.0, 0.0), (250.0, 250.0))


def test_pattern_doses_expand() -> None:
    t, a = parse_regimen("250/500mg q12h").doses(2, start_h=8.0)
    assert list(t) == [8.0, 20.0, 32.0, 44.0]
    assert list(a) == [250.0, 500.0, 250.0, 500.0]


def test_repeat_doses_end_missed_extra() -> None:
    t, a = repeat_doses([250.0, 500.0], 12.0, start_h=0.0, end_h=48.0, missed_h=[12.0],
                        extra=[(6.0, 125.0)])
    assert list(t) == [0.0, 6.0, 24.0, 36.0, 48.0]
    assert list(a) == [250.0, 125.0, 250.0, 500.0, 250.0]
    with pytest.raises(ValueError):
        repeat_doses(250.0, 12.0)
    assert np.all(np.diff(repeat_doses(250.0, 8.0, count=4)[0]) == 8.0)
