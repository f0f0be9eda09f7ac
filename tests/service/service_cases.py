"""Case documents for service tests (written for these tests)."""

from __future__ import annotations

from typing import Any

ADULT: dict[str, Any] = {
    "patient": {"age_years": 34, "sex": "male", "weight_kg": 62, "height_cm": 172,
                "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}},
    "comedications": ["isoniazid"],
}

TWO_LEVELS: dict[str, Any] = {
    **ADULT,
    "regimen": {"amount_mg": 250, "interval_h": 12, "start": "2026-11-01T08:00:00",
                "count": 14},
    "levels": [{"time": "2026-11-07T10:00:00", "value": 24.0, "unit": "mg/L"},
               {"time": "2026-11-07T18:00:00", "value": 12.5, "unit": "mg/L"}],
}


def new_patient(mrn: str = "MRN001", name: str = "Ada Lovelace") -> dict[str, Any]:
    return {"mrn": mrn, "name": name, "patient": ADULT["patient"],
            "comedications": ADULT["comedications"]}
