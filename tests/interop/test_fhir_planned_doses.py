"""Doses after now are planned, not given: an active order read up to `open_order_days`
ahead, or a draft order, is checked (1 g/day, breastfeeding, predicted exposure) but the TDM
fits only the doses given before the assessment time, starts the new regimen at the next
dose from now, and simulates the hold advice without the planned doses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import cyclodose
from cyclodose.errors import CaseError
from cyclodose.interop.fhir import read_fhir
from cyclodose.workflows.tdm import estimate
from cyclodose.workflows.tdm.advice import Action
from interop.fhir_builders import (
    administration,
    bundle,
    creatinine,
    dosage,
    listed_reasons,
    mg,
    obs,
    patient,
    request,
    weight,
)

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
START = "2026-03-01T08:00:00Z"  # 250 mg q12h at 08:00 and 20:00, no end date


def _level(oid: str, value: float, when: str) -> dict[str, object]:
    return obs(oid, None, value, "mg/L", when, text="cycloserine level")


def _levels(first: float = 24.5, second: float = 16.1) -> list[dict[str, object]]:
    # yesterday, 2 h and 6 h after the 08:00 dose
    return [_level("lv1", first, "2026-03-09T10:00:00Z"),
            _level("lv2", second, "2026-03-09T14:00:00Z")]


def _bundle(*extra: dict[str, object]) -> dict[str, object]:
    return bundle(patient(), weight(60), creatinine(0.9, when="2026-03-05T08:00:00Z"), *extra)


def _on_order(*extra: dict[str, object], dose: float = 250) -> dict[str, object]:
    return _bundle(request("mr1", [dosage(mg(dose), start=START)]), *extra)


def _given(n_days: int) -> int:
    return 2 * n_days + 1  # 08:00 and 20:00 from 1 March, up to the 08:00 dose of 10 March


def test_an_open_order_is_read_ahead_but_only_the_doses_before_now_are_given() -> None:
    reading = read_fhir(_on_order(*_levels()), at=NOW)
    assert reading.document.assessed_at == NOW
    case = reading.parse()
    assert len(case.doses) == _given(9) + 14  # 7 days ahead, 20:00 today to 08:00 on 17 March
    assert len(case.given_doses) == _given(9)
    assert all(case.clock(d.time_h) < NOW for d in case.given_doses)  # type: ignore[operator]
    (src,) = [s for s in reading.sources if s.field == "regimen"]
    assert src.value.startswith(f"{_given(9) + 14} doses: {_given(9)} given before the "
                                "assessment time, 14 planned from 2026-03-10T20:00")
    assert "not counted as given" in src.value


def test_the_tdm_fits_the_doses_given_and_starts_at_the_next_dose_from_now() -> None:
    case = read_fhir(_on_order(*_levels()), at=NOW).parse()
    est = estimate(case)
    assert est.doses.n == _given(9)  # not the 14 planned doses of the next week
    assert case.clock(est.start_h) == datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
    assert est.usual is not None and est.usual.regimen.label == "250 mg q12h"


def test_the_hold_advice_sees_no_planned_dose() -> None:
    # 45 and 40 mg/L yesterday: hold now. With the next week's doses counted as given, the fit
    # never fell below 30 mg/L ("seek specialist advice") and the restart came a week later.
    case = read_fhir(_on_order(*_levels(45.0, 40.0)), at=NOW).parse()
    est = estimate(case)
    advice = est.advice
    assert advice.action is Action.HOLD
    assert advice.below_ceiling_h is not None and advice.below_ceiling_upper_h is not None
    assert "Without further doses the fit predicts" in advice.text
    fall = case.clock(advice.below_ceiling_h)
    assert fall is not None and NOW < fall < NOW + timedelta(days=2)
    assert est.start_h >= advice.below_ceiling_upper_h  # the restart waits for the fall
    assert case.clock(est.start_h) < NOW + timedelta(days=3)  # type: ignore[operator]


def test_a_draft_is_not_given_but_its_dose_is_checked() -> None:
    # order-select with levels: 750 mg q12h drafted; the patient is on 250 mg q12h
    draft = request("d1", [dosage(mg(750), start=None)], status="draft")
    reading = read_fhir(_on_order(draft, *_levels()), at=NOW)
    case = reading.parse()
    assert reading.draft_orders == ("MedicationRequest/d1",)
    assert {d.amount_mg for d in case.given_doses} == {250}  # only the active order, until now
    assert len(case.given_doses) == _given(9)
    assert {d.amount_mg for d in case.doses if d not in case.given_doses} == {750}
    est = estimate(case)
    assert est.doses.n == _given(9)
    assert est.current is not None and est.current.regimen.label == "250 mg q12h"
    a = cyclodose.assess(case)
    assert "dose.above_maximum" in a.codes()  # 1.5 g/day drafted: still refused


def test_a_draft_starting_before_now_gives_no_dose_before_now() -> None:
    # a draft dated this morning replaces the active order from now, not from its start
    draft = request("d1", [dosage(mg(500), start="2026-03-10T06:00:00Z")], status="draft")
    reading = read_fhir(_on_order(draft, *_levels()), at=NOW)
    case = reading.parse()
    assert len(case.given_doses) == _given(9)  # the 08:00 dose of the active order stays
    assert {d.amount_mg for d in case.given_doses} == {250}
    listed = listed_reasons(reading)
    assert "1 doses before the assessment time" in listed["MedicationRequest/d1"]
    assert "a draft order has not been given" in listed["MedicationRequest/d1"]


def test_an_order_starting_later_today_is_planned_and_checked() -> None:
    # the old order ended this morning; the new one, 750 mg q12h, starts tonight
    old = request("mr0", [dosage(mg(250), start=START, end="2026-03-10T08:00:00Z")],
                  status="completed")
    new = request("mr1", [dosage(mg(750), start="2026-03-10T20:00:00Z")])
    case = read_fhir(_bundle(old, new, *_levels()), at=NOW).parse()
    assert {d.amount_mg for d in case.given_doses} == {250}
    assert len(case.given_doses) == _given(9)
    assert "dose.above_maximum" in cyclodose.assess(case).codes()
    est = estimate(case)
    assert est.doses.n == _given(9)
    assert case.clock(est.start_h) == datetime(2026, 3, 10, 20, 0, tzinfo=UTC)


def test_administrations_are_given_and_cannot_be_later_than_now() -> None:
    given = [administration(f"ma{i}", f"2026-03-0{d}T{h}:00:00Z", mg(250))
             for i, (d, h) in enumerate([(8, "08"), (8, "20"), (9, "08"), (9, "20")])]
    case = read_fhir(_on_order(*given, *_levels()), at=NOW).parse()
    # the administrations, then the order's 08:00 dose of today; the rest of the order planned
    assert len(case.given_doses) == 5
    assert estimate(case).doses.n == 5
    later = administration("ma9", "2026-03-10T09:30:00Z", mg(250))
    with pytest.raises(CaseError) as exc:
        read_fhir(_on_order(later), at=NOW)
    (p,) = exc.value.problems
    assert p.field == "MedicationAdministration/ma9.effective[x]"
    assert "not before the assessment time" in p.reason


def test_a_level_after_now_is_refused_naming_the_observation() -> None:
    reading = read_fhir(_on_order(_level("lv9", 20.0, "2026-03-10T10:00:00Z")), at=NOW)
    with pytest.raises(CaseError) as exc:
        reading.parse()
    (p,) = exc.value.problems
    assert p.field == "Observation/lv9 (levels[0].time)" and "after assessed_at" in p.reason


def test_without_levels_the_planned_regimen_is_assessed() -> None:
    # the 7-day expansion is what the dose checks and the predicted exposure read
    case = read_fhir(_on_order(dose=750), at=NOW).parse()
    a = cyclodose.assess(case)
    assert "dose.above_maximum" in a.codes()
    assert a.tdm is None
