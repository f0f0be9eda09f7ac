"""FHIR pregnancy status, gestational age and pregnancy Conditions → the Case's pregnancy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import cyclodose
from cyclodose.errors import CaseError
from cyclodose.interop.fhir import read_fhir
from interop.fhir_builders import (
    basic,
    bundle,
    condition,
    creatinine,
    gestational_age,
    listed_reasons,
    patient,
    pregnancy_status,
    weight,
)

AT = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "fixtures"


def female(*extra: dict[str, Any]) -> dict[str, Any]:
    return bundle(patient(gender="female", birth="1994-05-10"), weight(), creatinine(), *extra)


def fields(exc: pytest.ExceptionInfo[CaseError]) -> dict[str, str]:
    return {p.field: p.reason for p in exc.value.problems}


def refused(*resources: dict[str, Any], doc: dict[str, Any] | None = None) -> dict[str, str]:
    with pytest.raises(CaseError) as exc:
        read_fhir(doc or female(*resources), at=AT)
    return fields(exc)


def pregnancy_finding(reading: Any) -> str:
    a = cyclodose.assess(reading.parse())
    return next(f.message for f in a.findings if f.code == "info.pregnancy")


def test_ips_shaped_bundle_gives_the_pregnancy_finding_with_the_week_carried_forward() -> None:
    b = json.loads((FIXTURES / "pregnant_bundle.json").read_text())
    reading = read_fhir(b, at=datetime(2026, 11, 1, 9, tzinfo=UTC))
    p = reading.document.patient
    # 25 weeks on 2026-10-20, 12 days later: 187 days, 26 completed weeks
    assert p.pregnant is True and p.gestational_week == 26
    src = {s.field: s for s in reading.sources}
    assert src["patient.pregnant"].resource == "Observation/preg-status"
    assert "77386006" in src["patient.pregnant"].value
    assert src["patient.gestational_week"].resource == "Observation/preg-ga"
    assert src["patient.gestational_week"].value == (
        "25 wk on 2026-10-20: 26 completed weeks on 2026-11-01")
    assert "week 26, second trimester" in pregnancy_finding(reading)
    not_read = next(f.message for f in reading.flags if f.code == "not_read")
    assert "Pregnancy" not in not_read  # it was read


@pytest.mark.parametrize("loinc", ["11884-4", "49051-6", "18185-9"])
def test_gestational_age_in_days_under_each_loinc_code(loinc: str) -> None:
    reading = read_fhir(female(pregnancy_status(), gestational_age(
        170, "d", when="2026-03-03", loinc=loinc)), at=AT)
    assert reading.document.patient.gestational_week == 24  # 170 d = 24 weeks 2 days


def test_not_pregnant_status_is_read_and_no_status_says_so() -> None:
    reading = read_fhir(female(pregnancy_status(snomed="60001007")), at=AT)
    assert reading.document.patient.pregnant is False
    assert any(s.field == "patient.pregnant" and "60001007" in s.value for s in reading.sources)
    assert "info.pregnancy" not in cyclodose.assess(reading.parse()).codes()
    unknown = read_fhir(female(), at=AT)
    not_read = next(f.message for f in unknown.flags if f.code == "not_read")
    assert not_read.startswith("Pregnancy (no current pregnancy status, LOINC 82810-3")


def test_latest_status_wins_and_the_older_one_is_listed() -> None:
    reading = read_fhir(female(pregnancy_status("ps0", "60001007", when="2025-12-01"),
                               pregnancy_status("ps1", when="2026-02-20")), at=AT)
    assert reading.document.patient.pregnant is True
    assert "older pregnancy status than Observation/ps1" in listed_reasons(reading)[
        "Observation/ps0"]


def test_a_preliminary_status_does_not_count() -> None:
    reading = read_fhir(female(pregnancy_status(status="preliminary")), at=AT)
    assert reading.document.patient.pregnant is False
    assert "status preliminary" in listed_reasons(reading)[
        "Observation/ps1"]


def test_pregnant_on_a_male_patient_is_an_error_naming_the_observation() -> None:
    got = refused(doc=basic(pregnancy_status()))
    assert got == {"Observation/ps1.valueCodeableConcept":
                   "pregnant, but Patient/p1.gender is male: check which is wrong"}


@pytest.mark.parametrize(("value", "code", "element", "reason"), [
    (46, "wk", "valueQuantity.value", "46 wk is more than the 44 weeks a gestation lasts"),
    (320, "d", "valueQuantity.value", "320 d is more than the 44 weeks a gestation lasts"),
    (5, "d", "valueQuantity.value", "5 d is less than 1 completed week of gestation"),
    (6, "mo", "valueQuantity.code",
     "'mo' is not a UCUM unit read for a gestational age (wk, d)"),
    (24, "kg", "valueQuantity.code", "'kg' is not a gestational age unit"),
])
def test_unusable_gestational_ages_are_errors(value: float, code: str, element: str,
                                              reason: str) -> None:
    got = refused(pregnancy_status(), gestational_age(value, code))
    assert got == {f"Observation/ga1.{element}": reason}


def test_a_gestational_age_needs_a_ucum_code() -> None:
    ga = gestational_age()
    del ga["valueQuantity"]["code"]
    assert "Observation/ga1.valueQuantity.code" in refused(pregnancy_status(), ga)


@pytest.mark.parametrize(("value", "reason"), [
    ({"coding": [{"system": "http://snomed.info/sct", "code": "152231000119106"}]},
     "http://snomed.info/sct 152231000119106 is not a pregnancy status cyclodose reads"),
    ({"text": "possibly"}, "possibly is not a pregnancy status cyclodose reads"),
    ({"coding": [{"system": "http://snomed.info/sct", "code": "77386006"},
                 {"system": "http://snomed.info/sct", "code": "60001007"}]},
     "codes both pregnant and not pregnant"),
])
def test_unclear_pregnancy_status_is_an_error(value: dict[str, Any], reason: str) -> None:
    ps = pregnancy_status()
    ps["valueCodeableConcept"] = value
    assert refused(ps)["Observation/ps1.valueCodeableConcept"].startswith(reason)


def test_a_status_without_value_is_an_error() -> None:
    ps = pregnancy_status()
    del ps["valueCodeableConcept"]
    assert refused(ps)["Observation/ps1.valueCodeableConcept"].startswith("missing")


@pytest.mark.parametrize("coded", [{"icd10": "Z34.0"}, {"snomed": "77386006"},
                                   {"text": "Pregnancy"}])
def test_an_active_pregnancy_condition_makes_the_patient_pregnant(coded: dict[str, str]) -> None:
    reading = read_fhir(female(condition("c1", **coded), gestational_age(when="2026-03-03")),
                        at=AT)
    p = reading.document.patient
    assert p.pregnant is True and p.gestational_week == 24
    src = {s.field: s for s in reading.sources}
    assert src["patient.pregnant"].resource == "Condition/c1"
    assert "week 24, second trimester" in pregnancy_finding(reading)


def test_a_past_or_resolved_pregnancy_condition_does_not() -> None:
    reading = read_fhir(female(condition("c1", text="history of pregnancy"),
                               condition("c2", icd10="Z34.0", clinical="resolved")), at=AT)
    assert reading.document.patient.pregnant is False


def test_pregnancy_condition_against_a_not_pregnant_status_is_an_error() -> None:
    got = refused(condition("c1", icd10="Z34.0"), pregnancy_status(snomed="60001007"))
    assert got["Condition/c1.code"].startswith(
        "an active pregnancy, but Observation/ps1 records not pregnant on 2026-02-20")


def test_pregnancy_condition_on_a_male_patient_is_an_error() -> None:
    got = refused(doc=basic(condition("c1", icd10="Z34.0")))
    assert got == {"Condition/c1.code":
                   "pregnant, but Patient/p1.gender is male: check which is wrong"}


def test_a_pregnant_status_older_than_any_gestation_is_listed_not_used() -> None:
    reading = read_fhir(female(pregnancy_status(when="2024-12-01")), at=AT)
    assert reading.document.patient.pregnant is False
    assert "that pregnancy has ended" in listed_reasons(reading)[
        "Observation/ps1"]


def test_a_current_gestational_age_without_a_pregnancy_record_is_an_error() -> None:
    got = refused(gestational_age(20, when="2026-02-01"))
    assert got["Observation/ga1"].startswith("20 wk on 2026-02-01: 24 completed weeks on "
                                             "2026-03-03, but no pregnancy status")


def test_an_old_gestational_age_of_an_ended_pregnancy_is_listed() -> None:
    reading = read_fhir(female(gestational_age(30, when="2025-01-10")), at=AT)
    assert reading.document.patient.pregnant is False
    assert "of a pregnancy that has ended" in listed_reasons(reading)[
        "Observation/ga1"]


def test_pregnant_now_but_the_gestational_age_has_run_past_any_gestation() -> None:
    got = refused(pregnancy_status(), gestational_age(30, when="2025-10-01"))
    assert got["Observation/ga1.effective[x]"].startswith(
        "30 wk on 2025-10-01: 51 completed weeks on 2026-03-03, more than 44, yet "
        "Observation/ps1 records a current pregnancy")


def test_gestational_age_before_a_not_pregnant_status_is_listed_after_it_an_error() -> None:
    before = read_fhir(female(gestational_age(12, when="2026-01-05"),
                              pregnancy_status(snomed="60001007", when="2026-02-20")), at=AT)
    assert before.document.patient.pregnant is False
    assert "before Observation/ps1 recorded not pregnant" in listed_reasons(before)[
        "Observation/ga1"]
    got = refused(gestational_age(12, when="2026-02-25"),
                  pregnancy_status(snomed="60001007", when="2026-02-20"))
    assert got["Observation/ga1.effective[x]"].startswith(
        "a gestational age on 2026-02-25, after Observation/ps1 recorded not pregnant")


def test_a_gestational_age_after_the_assessment_is_an_error() -> None:
    got = refused(pregnancy_status(), gestational_age(20, when="2026-04-01"))
    assert got == {"Observation/ga1.effective[x]": "2026-04-01 is after the assessment date"}
