from __future__ import annotations

import copy
from typing import Any

import pytest

from cyclodose.intake.case import Case, parse_case

BASE: dict[str, Any] = {
    "patient": {"age_years": 41, "sex": "male", "weight_kg": 58, "height_cm": 170,
                "serum_creatinine": {"value": 80, "unit": "umol/L"}},
    "comedications": ["bedaquiline", "linezolid", "levofloxacin"],
    "regimen": {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 20},
    "levels": [
        {"time": "2026-03-10T10:00:00", "value": 16.2, "unit": "mg/L"},
        {"time": "2026-03-10T14:00:00", "value": 14.1, "unit": "mg/L"},
    ],
}


def make_case(**changes: Any) -> Case:
    doc = copy.deepcopy(BASE)
    for key, value in changes.items():
        doc[key] = value
    return parse_case(doc)


@pytest.fixture
def two_levels() -> Case:
    return make_case()
