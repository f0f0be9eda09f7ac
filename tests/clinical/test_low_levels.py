"""Issue #9 Misleading 3: a level below the target window (or below quantification) asks for
the checks a pharmacist makes before an increase, and says "cannot tell fast elimination from
delayed absorption" only when the levels really cannot (no level 4-8 h after a dose)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cyclodose.clinical.screening import Finding
from cyclodose.intake.case import load_case, parse_case
from cyclodose.workflows.assessment import assess

EXAMPLES = Path(__file__).parents[2] / "examples"
ADULT = {"age_years": 40, "sex": "male", "weight_kg": 65, "height_cm": 172,
         "serum_creatinine": {"value": 80, "unit": "umol/L"}}
ON_500 = {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 20}
CANNOT_TELL = "cannot tell fast elimination from delayed absorption"


def _findings(*levels: dict[str, Any]) -> dict[str, Finding]:
    doc = {"patient": ADULT, "comedications": ["bedaquiline", "linezolid", "levofloxacin"],
           "regimen": ON_500, "levels": list(levels)}
    return {f.code: f for f in assess(parse_case(doc), with_tdm=False).findings}


def _at(clock: str, value: float | None, **extra: Any) -> dict[str, Any]:
    return {"time": f"2026-03-10T{clock}:00", "value": value, "unit": "mg/L", **extra}


def _all_text(found: dict[str, Finding]) -> str:
    return " ".join(f.message for f in found.values())


def test_two_levels_do_not_claim_cannot_tell_absorption() -> None:
    # examples/tdm_two_levels.yaml: 16.2 mg/L at 2 h and 14.1 mg/L at 6 h after the dose
    found = {f.code: f for f in assess(load_case(EXAMPLES / "tdm_two_levels.yaml"),
                                       with_tdm=False).findings}
    low = found["level.below_target"]
    assert "16.2 mg/L 2 h after a dose; 14.1 mg/L 6 h after a dose" in low.message
    for asked in ("adherence", "sample and dose times", "food"):
        assert asked in low.message
    assert "6 h level" not in low.message  # it exists
    assert "level.absorption_unresolved" not in found
    assert "cannot tell" not in _all_text(found)


def test_only_2h_level_asks_for_6h_level() -> None:
    found = _findings(_at("10:00", 8.0))  # 2 h after the 08:00 dose
    low = found["level.below_target"]
    assert "take a 6 h level as well" in low.message
    early = found["level.absorption_unresolved"]
    assert early.severity == "caution"
    assert CANNOT_TELL in early.message and "8.00 mg/L 2 h after a dose" in early.message
    assert {s.id for s in early.sources} >= {"ext.peloquin_tdm", "ext.zhu_2001"}


def test_a_4h_level_is_late_enough_and_a_trough_is_not() -> None:
    # a level 4 h after the dose sees a delayed peak: no request, no "cannot tell"
    found = _findings(_at("10:00", 8.0), _at("12:00", 9.0))
    assert "6 h level" not in found["level.below_target"].message
    assert "level.absorption_unresolved" not in found
    # a trough (12 h after the dose, just before the next) does not replace the 6 h sample
    found = _findings(_at("10:00", 8.0), _at("19:55", 6.0))
    assert "take a 6 h level as well" in found["level.below_target"].message
    assert CANNOT_TELL in found["level.absorption_unresolved"].message


def test_blq_level_asks_pre_increase_checks() -> None:
    found = _findings(_at("10:00", None, blq=True, lloq=2.0))
    low = found["level.below_target"]
    assert "below the limit of quantification, < 2.00 mg/L, 2 h after a dose" in low.message
    for asked in ("before any dose increase", "adherence", "sample and dose times", "food",
                  "take a 6 h level as well"):
        assert asked in low.message
    assert CANNOT_TELL in found["level.absorption_unresolved"].message
    # a BLQ level 6 h after the dose is a late sample: the checks stay, the 6 h request goes
    found = _findings(_at("10:00", 12.0), _at("14:00", None, blq=True, lloq=2.0))
    low = found["level.below_target"]
    assert "12.0 mg/L 2 h after a dose" in low.message
    assert ", < 2.00 mg/L, 6 h after a dose" in low.message and "adherence" in low.message
    assert "6 h level" not in low.message and "level.absorption_unresolved" not in found
