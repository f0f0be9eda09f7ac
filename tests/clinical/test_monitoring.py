"""Monitoring plan: levels, haematological, renal and hepatic function, each with a reason."""

from __future__ import annotations

from typing import Any

from cyclodose.clinical.monitoring import MonitoringItem, plan
from cyclodose.clinical.patient import renal_function
from cyclodose.clinical.vocabulary import recognise
from cyclodose.intake.case import parse_case


def _plan(regimen: dict[str, Any] | None = None, **patient: Any) -> tuple[MonitoringItem, ...]:
    p: dict[str, Any] = {"age_years": 40, "sex": "male", "weight_kg": 70,
                         "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}}
    p.update(patient)
    doc: dict[str, Any] = {"patient": p, "comedications": ["bedaquiline"]}
    if regimen:
        doc["regimen"] = regimen
    case = parse_case(doc)
    pt = case.patient
    return plan(case, renal_function(pt), recognise(pt.conditions, case.comedications,
                                                    pt.symptoms))


def _item(items: tuple[MonitoringItem, ...], word: str) -> MonitoringItem:
    return next(i for i in items if word in i.what)


def test_core_items_each_with_reason_and_source() -> None:
    items = _plan()
    for word in ("plasma level", "haematological", "renal function", "hepatic", "CNS"):
        it = _item(items, word)
        assert it.when and it.why and it.sources
    assert {s.id for s in _item(items, "haematological").sources} >= {"adverse.haematological"}
    assert not any("heart failure" in i.what for i in items)


def test_levels_not_weekly_by_default() -> None:
    levels = _item(_plan(), "plasma level")
    assert not levels.when.startswith("at least weekly")
    assert "30 mg/L" in levels.why


def test_levels_weekly_with_renal_impairment_high_dose_or_neurotoxicity() -> None:
    assert "renal impairment" in _item(_plan(crcl_ml_min=50), "plasma level").when
    q8 = {"amount_mg": 250, "interval_h": 8, "start": "2026-03-01T08:00:00", "count": 9}
    assert "more than 500 mg/day" in _item(_plan(q8), "plasma level").when
    assert "neurotoxicity" in _item(_plan(symptoms=["tremor"]), "plasma level").when


def test_heart_failure_item_at_1_g() -> None:
    q12 = {"amount_mg": 500, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 6}
    assert any("heart failure" in i.what for i in _plan(q12))


def test_haemodialysis_item() -> None:
    assert any("dialysis" in i.what for i in _plan(dialysis="haemodialysis"))
    assert not any("dialysis" in i.what for i in _plan())
