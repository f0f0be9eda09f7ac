"""FHIR R4 → Case document: every mapping rule, and its error for unusable input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import cyclodose
from cyclodose.clinical.vocabulary import recognise_condition
from cyclodose.errors import CaseError
from cyclodose.interop.fhir import ReaderOptions, read_fhir
from cyclodose.interop.fhir import codes as fhir_codes
from interop.fhir_builders import (
    administration,
    basic,
    bundle,
    condition,
    creatinine,
    cycloserine_concept,
    dosage,
    listed_reasons,
    mg,
    obs,
    patient,
    request,
    weight,
)

AT = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "fixtures"


def fields(exc: pytest.ExceptionInfo[CaseError]) -> dict[str, str]:
    return {p.field: p.reason for p in exc.value.problems}


# ---- HL7's own examples -------------------------------------------------------


def test_hl7_examples_parse_with_units_converted_and_dates_reported() -> None:
    b = json.loads((FIXTURES / "hl7_bundle.json").read_text())
    reading = read_fhir(b, at=datetime(2016, 4, 10, 9, tzinfo=UTC))
    p = reading.document.patient
    assert p.sex == "male"
    assert p.age_years == pytest.approx(41.29, abs=0.01)  # born 1974-12-25, on 2016-04-10
    assert p.weight_kg == pytest.approx(185 * 0.45359237, abs=1e-3)  # [lb_av] (NIST SP 811)
    assert p.height_cm == pytest.approx(66.9 * 2.54, abs=1e-2)  # [in_i]
    # 0.122 mmol/L = 122 µmol/L; 1 mg/dL = 88.4 µmol/L
    assert p.serum_creatinine is not None
    assert p.serum_creatinine.value == pytest.approx(122 / 88.4, rel=1e-6)
    src = {s.field: s for s in reading.sources}
    assert src["patient.weight_kg"].resource == "Observation/example"
    assert src["patient.weight_kg"].value == "185 [lb_av]"
    assert src["patient.serum_creatinine"].time == datetime(2016, 4, 4, 13, 34, tzinfo=UTC)
    assert [f.code for f in reading.flags] == ["not_read"]  # fresh creatinine: not flagged
    a = cyclodose.assess(reading.parse())
    assert a.patient.serum_creatinine_mg_dl == pytest.approx(1.38, abs=0.01)


# ---- observations ------------------------------------------------------------


def test_a_length_unit_for_weight_names_resource_and_element() -> None:
    with pytest.raises(CaseError) as exc:
        read_fhir(bundle(patient(), weight(60, "cm", oid="wt1"), creatinine()), at=AT)
    assert fields(exc)["Observation/wt1.valueQuantity.code"] == "'cm' is not a mass unit"


@pytest.mark.parametrize(("q", "field", "reason"), [
    ({"value": 60, "unit": "kg"}, "valueQuantity.code", "a UCUM unit code is required"),
    ({"value": 60, "system": "http://example.org/units", "code": "kg"}, "valueQuantity.system",
     "is not UCUM"),
    ({"value": 60, "system": "http://unitsofmeasure.org", "code": "stone"}, "valueQuantity.code",
     "'stone' is not a UCUM unit read for a mass"),
    ({"system": "http://unitsofmeasure.org", "code": "kg"}, "valueQuantity.value", "missing"),
])
def test_unusable_weight_quantities_are_errors(q: dict, field: str, reason: str) -> None:
    w = weight(oid="wt9")
    w["valueQuantity"] = q
    with pytest.raises(CaseError) as exc:
        read_fhir(bundle(patient(), w), at=AT)
    assert reason in fields(exc)[f"Observation/wt9.{field}"]


def test_most_recent_final_value_wins_and_others_are_listed() -> None:
    b = bundle(patient(), weight(70, oid="old", when="2025-12-01"),
               weight(64, oid="new", when="2026-03-01"),
               weight(99, oid="prelim", when="2026-03-02", status="preliminary"),
               obs("g1", "8302-2", 1.75, "m", "2026-01-01"))
    reading = read_fhir(b, at=AT)
    assert reading.document.patient.weight_kg == 64
    assert reading.document.patient.height_cm == pytest.approx(175)
    reasons = listed_reasons(reading)
    assert "status preliminary" in reasons["Observation/prelim"]
    assert "older weight" in reasons["Observation/old"]


def test_missing_weight_is_an_error_not_a_default() -> None:
    with pytest.raises(CaseError) as exc:
        read_fhir(bundle(patient(), creatinine()), at=AT)
    assert "no usable body weight" in fields(exc)["Observation"]


@pytest.mark.parametrize(("value", "code", "mg_dl"), [
    (80, "umol/L", 80 / 88.4), (0.08, "mmol/L", 80 / 88.4)])
def test_molar_creatinine_under_14682_9(value: float, code: str, mg_dl: float) -> None:
    b = bundle(patient(), weight(), creatinine(value, code, loinc="14682-9"))
    doc = read_fhir(b, at=AT).document
    assert doc.patient.serum_creatinine is not None
    assert doc.patient.serum_creatinine.value == pytest.approx(mg_dl)


def test_a_mass_creatinine_in_a_length_unit_is_refused() -> None:
    with pytest.raises(CaseError) as exc:
        read_fhir(bundle(patient(), weight(), creatinine(1, "cm")), at=AT)
    assert fields(exc)["Observation/cr1.valueQuantity.code"] == (
        "'cm' is not a creatinine concentration unit")


def test_stale_creatinine_is_flagged_with_its_date_and_the_limit_is_a_setting() -> None:
    b = bundle(patient(), weight(), creatinine(when="2026-01-10T08:00:00Z"))
    flags = {f.code: f for f in read_fhir(b, at=AT).flags}
    assert "52 days old" in flags["creatinine.stale"].message
    assert "2026-01-10" in flags["creatinine.stale"].message
    relaxed = read_fhir(b, at=AT, options=ReaderOptions(creatinine_max_age_days=60))
    assert "creatinine.stale" not in {f.code for f in relaxed.flags}


def test_missing_creatinine_is_flagged() -> None:
    reading = read_fhir(bundle(patient(), weight()), at=AT)
    assert "creatinine.missing" in {f.code for f in reading.flags}


@pytest.mark.parametrize(("gender", "birth", "field"), [
    ("unknown", "1980-01-01", "Patient/p1.gender"),
    ("male", "1980", "Patient/p1.birthDate"),
    ("female", "2027-01-01", "Patient/p1.birthDate"),
])
def test_unusable_patient_elements(gender: str, birth: str, field: str) -> None:
    with pytest.raises(CaseError) as exc:
        read_fhir(bundle(patient(gender=gender, birth=birth), weight(), creatinine()), at=AT)
    assert field in fields(exc)


def test_age_is_at_the_assessment_date() -> None:
    b = bundle(patient(birth="2016-03-04"), weight(25), creatinine(0.4))
    assert read_fhir(b, at=AT).document.patient.age_years == pytest.approx(9.997, abs=1e-3)


def test_fhir_validation_errors_name_the_resource() -> None:
    bad = weight(oid="wt5")
    bad["effectiveDateTime"] = "2026-03-01T10:00:00"  # a time without a zone is not FHIR
    with pytest.raises(CaseError) as exc:
        read_fhir(bundle(patient(), bad), at=AT)
    assert any(f.startswith("Observation/wt5.effectiveDateTime") for f in fields(exc))


# ---- levels ------------------------------------------------------------------


def _regimen() -> dict:
    return request("mr1", [dosage(mg(250), start="2026-03-01T08:00:00Z",
                                  end="2026-03-03T08:00:00Z")])


def test_levels_by_text_match_and_below_quantification() -> None:
    b = basic(_regimen(),
              obs("lv1", None, 24, "ug/mL", "2026-03-02T11:00:00Z", text="Cycloserine [Mass/vol]"),
              obs("lv2", None, 2, "mg/L", "2026-03-02T19:00:00Z", text="cycloserine trough",
                  comparator="<"))
    reading = read_fhir(b, at=AT)
    assert [(lv.value, lv.unit) for lv in reading.document.levels] == [(24.0, "mg/L"),
                                                                        ("<2", "mg/L")]
    case = reading.parse()
    assert case.levels[0].conc_mg_l == 24 and case.levels[1].blq


def test_level_under_a_configured_code() -> None:
    lv = obs("lv1", None, 20, "mg/L", "2026-03-02T11:00:00Z")
    lv["code"] = {"coding": [{"system": "http://lab.example.org", "code": "CYCS"}]}
    b = basic(_regimen(), lv)
    assert read_fhir(b, at=AT).document.levels == []  # not recognised without the setting
    opts = ReaderOptions(level_code="http://lab.example.org|CYCS")
    assert len(read_fhir(b, at=AT, options=opts).document.levels) == 1


def test_level_without_dose_history_names_the_observation() -> None:
    b = basic(obs("lv1", None, 20, "mg/L", "2026-03-02T11:00:00Z", text="cycloserine"))
    with pytest.raises(CaseError) as exc:
        read_fhir(b, at=AT)
    assert "needs the dose history" in fields(exc)["Observation/lv1"]


def test_level_needs_a_time_of_day() -> None:
    b = basic(_regimen(), obs("lv1", None, 20, "mg/L", "2026-03-02", text="cycloserine"))
    with pytest.raises(CaseError) as exc:
        read_fhir(b, at=AT)
    assert "no time of day" in fields(exc)["Observation/lv1.effectiveDateTime"]


def test_level_in_a_mass_unit_is_refused() -> None:
    b = basic(_regimen(), obs("lv1", None, 20, "mg", "2026-03-02T10:00:00Z", text="cycloserine"))
    with pytest.raises(CaseError) as exc:
        read_fhir(b, at=AT)
    assert fields(exc)["Observation/lv1.valueQuantity.code"] == (
        "'mg' is not a drug concentration unit")


# ---- conditions ----------------------------------------------------------------


@pytest.mark.parametrize("entry", fhir_codes.data()["snomed_conditions"],
                         ids=lambda e: e["code"])
def test_every_snomed_code_maps_to_its_vocabulary_concept_with_a_source(entry: dict) -> None:
    assert entry["source"]
    hit = recognise_condition(entry["term"], "x")
    assert getattr(hit, "concept", None) == entry["concept"]


def test_snomed_epilepsy_triggers_the_contraindication() -> None:
    reading = read_fhir(basic(condition("c1", snomed="84757009")), at=AT)
    assert reading.document.patient.conditions == ["epilepsy"]
    assert "contraindication.epilepsy" in cyclodose.assess(reading.parse()).codes()
    src = next(s for s in reading.sources if s.field == "patient.conditions[0]")
    assert src.resource == "Condition/c1" and "SNOMED CT 84757009" in src.value


@pytest.mark.parametrize("kw", [{"clinical": "resolved"}, {"clinical": "inactive"},
                                {"verification": "refuted"},
                                {"verification": "entered-in-error"}])
def test_inactive_or_refuted_conditions_are_listed_but_do_not_trigger(kw: dict) -> None:
    reading = read_fhir(basic(condition("c1", snomed="35489007", **kw)), at=AT)
    assert reading.document.patient.conditions == []
    listed = listed_reasons(reading)
    assert "not counted" in listed["Condition/c1"]
    assert "contraindication.depression" not in cyclodose.assess(reading.parse()).codes()


def test_icd10_and_text_conditions_go_through_the_vocabulary() -> None:
    reading = read_fhir(basic(condition("c1", icd10="F32.1"),
                              condition("c2", text="Schizophrenia"),
                              condition("c3", snomed="999999", text="Odd thing")), at=AT)
    assert reading.document.patient.conditions == ["ICD10:F32.1", "Schizophrenia", "Odd thing"]
    a = cyclodose.assess(reading.parse())
    assert {"contraindication.depression", "contraindication.psychosis"} <= a.codes()
    assert [u.text for u in a.unrecognised] == ["Odd thing"]  # listed, never dropped


# ---- medications -----------------------------------------------------------------


def test_request_expands_frequency_and_bounds_into_doses() -> None:
    b = basic(request("mr1", [dosage(mg(250), start="2026-03-01T08:00:00Z",
                                     end="2026-03-02T20:00:00Z")]))
    reg = read_fhir(b, at=AT).document.regimen
    assert reg is not None
    assert [(d.time.hour, d.amount_mg) for d in reg.doses] == [(8, 250), (20, 250), (8, 250),
                                                               (20, 250)]


def test_capsule_count_times_the_coded_strength_and_grams() -> None:
    caps = {"value": 2, "unit": "capsule", "system": "http://unitsofmeasure.org",
            "code": "{capsule}"}
    b = basic(request("mr1", [dosage(caps, frequency=1, count=1)]),
              request("mr2", [dosage(mg(0.25, "g"), frequency=1, count=1,
                                     start="2026-03-02T08:00:00Z")]))
    reg = read_fhir(b, at=AT).document.regimen
    assert reg is not None and [d.amount_mg for d in reg.doses] == [500, 250]


def test_capsules_of_an_uncoded_product_are_refused() -> None:
    caps = {"value": 2, "system": "http://unitsofmeasure.org", "code": "{capsule}"}
    b = basic(request("mr1", [dosage(caps)], concept={"text": "cycloserine capsules"}))
    with pytest.raises(CaseError) as exc:
        read_fhir(b, at=AT)
    assert "coded product" in fields(exc)[
        "MedicationRequest/mr1.dosageInstruction[0].doseAndRate[0].doseQuantity"]


def test_time_of_day_and_cyclic_doses_from_two_instructions() -> None:
    b = basic(request("mr1", [
        dosage(mg(250), frequency=1, time_of_day=["08:00:00"], start="2026-03-01T00:00:00Z",
               end="2026-03-01T23:59:00Z"),
        dosage(mg(500), frequency=1, time_of_day=["20:00:00"], start="2026-03-01T00:00:00Z",
               end="2026-03-01T23:59:00Z")]))
    reg = read_fhir(b, at=AT).document.regimen
    assert reg is not None
    assert [(d.time.hour, d.amount_mg) for d in reg.doses] == [(8, 250), (20, 500)]


@pytest.mark.parametrize(("change", "element", "reason"), [
    (lambda d: d.pop("doseAndRate"), "doseAndRate", "exactly one doseAndRate"),
    (lambda d: d["doseAndRate"][0].update(doseQuantity={"value": 250}),
     "doseAndRate[0].doseQuantity.code", "a UCUM unit code is required"),
    (lambda d: d["doseAndRate"][0].update(doseQuantity=mg(5, "mL")),
     "doseAndRate[0].doseQuantity.code", "'mL' is not a UCUM unit read for a dose mass"),
    (lambda d: d["timing"]["repeat"].update(when=["MORN"]), "timing.repeat.when", "not read"),
    (lambda d: d.update(timing={"code": {"text": "BID"}}), "timing.repeat", "missing"),
    (lambda d: d.update(asNeededBoolean=True), "asNeeded[x]", "as needed"),
])
def test_unreadable_doses_are_errors_naming_the_element(change, element: str,
                                                        reason: str) -> None:
    d = dosage(mg(250))
    change(d)
    with pytest.raises(CaseError) as exc:
        read_fhir(basic(request("mr1", [d])), at=AT)
    assert reason in fields(exc)[f"MedicationRequest/mr1.dosageInstruction[0].{element}"]


def test_active_order_without_start_is_an_error_but_a_draft_starts_now() -> None:
    with pytest.raises(CaseError) as exc:
        read_fhir(basic(request("mr1", [dosage(mg(250), start=None)])), at=AT)
    assert "no start date" in fields(exc)[
        "MedicationRequest/mr1.dosageInstruction[0].timing.repeat.boundsPeriod.start"]
    reading = read_fhir(basic(request("mr1", [dosage(mg(250), start=None)], status="draft")),
                        at=AT, options=ReaderOptions(open_order_days=1))
    reg = reading.document.regimen
    assert reg is not None and reg.doses[0].time == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert len(reg.doses) == 3  # every 12 h from now, over one day (inclusive)
    assert reading.draft_orders == ("MedicationRequest/mr1",)


def test_administrations_give_actual_times_and_orders_what_follows() -> None:
    b = basic(administration("ma1", "2026-03-01T08:10:00Z", mg(250)),
              administration("ma2", "2026-03-01T21:05:00Z", mg(250)),
              administration("ma3", "2026-03-02T08:00:00Z", mg(250), status="not-done"),
              request("mr1", [dosage(mg(250), start="2026-03-01T08:00:00Z",
                                     end="2026-03-02T20:00:00Z")]))
    reading = read_fhir(b, at=AT)
    reg = reading.document.regimen
    assert reg is not None
    assert [(d.time.day, d.time.hour, d.time.minute) for d in reg.doses] == [
        (1, 8, 10), (1, 21, 5), (2, 8, 0), (2, 20, 0)]
    listed = listed_reasons(reading)
    assert "not-done" in listed["MedicationAdministration/ma3"]
    assert "replaced by recorded administrations" in listed["MedicationRequest/mr1"]


def test_overlapping_active_orders_are_refused() -> None:
    b = basic(request("mr1", [dosage(mg(250), end="2026-03-02T20:00:00Z")]),
              request("mr2", [dosage(mg(500), end="2026-03-02T20:00:00Z")]))
    with pytest.raises(CaseError) as exc:
        read_fhir(b, at=AT)
    assert "overlaps MedicationRequest/mr1" in fields(exc)["MedicationRequest/mr2"]


def test_statement_with_effective_period_and_unknown_status() -> None:
    stmt = {"resourceType": "MedicationStatement", "id": "ms1", "status": "completed",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc",
                                                      "code": "J04AB01"}]},
            "effectivePeriod": {"start": "2026-03-01T08:00:00Z", "end": "2026-03-01T23:00:00Z"},
            "dosage": [dosage(mg(250), start=None)]}
    reg = read_fhir(basic(stmt), at=AT).document.regimen
    assert reg is not None and len(reg.doses) == 2
    stmt["status"] = "unknown"
    with pytest.raises(CaseError) as exc:
        read_fhir(basic(stmt), at=AT)
    assert "MedicationStatement/ms1.status" in fields(exc)


def test_other_drugs_become_comedications_by_rxnorm_atc_or_text() -> None:
    def other(rid: str, concept: dict) -> dict:
        return request(rid, [dosage(mg(300), frequency=1)], concept=concept)

    b = basic(other("inh", {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                        "code": "197832"}]}),
              other("eto", {"coding": [{"system": "http://www.whocc.no/atc", "code": "J04AD03"}]}),
              other("lzd", {"text": "Linezolid 600 mg tablet"}))
    reading = read_fhir(b, at=AT)
    assert reading.document.comedications == ["isoniazid", "J04AD03", "Linezolid 600 mg tablet"]
    a = cyclodose.assess(reading.parse())
    assert {r.concept for r in a.recognised if r.kind == "comedication"} == {
        "isoniazid", "ethionamide", "linezolid"}


def test_medication_reference_is_resolved_from_the_bundle() -> None:
    med = {"resourceType": "Medication", "id": "cs", "code": cycloserine_concept("212797")}
    mr = request("mr1", [dosage(mg(250), count=2)])
    del mr["medicationCodeableConcept"]
    mr["medicationReference"] = {"reference": "Medication/cs"}
    reg = read_fhir(basic(med, mr), at=AT).document.regimen
    assert reg is not None and len(reg.doses) == 2
    mr["medicationReference"] = {"reference": "Medication/missing"}
    with pytest.raises(CaseError) as exc:
        read_fhir(basic(mr), at=AT)
    assert "MedicationRequest/mr1.medicationReference" in fields(exc)


def test_resources_not_read_are_listed_and_null_prefetch_is_no_data() -> None:
    enc = {"resourceType": "Encounter", "id": "e1", "status": "finished",
           "class": {"code": "AMB"}}
    reading = read_fhir(basic(enc), None, at=AT)
    assert any(x.resource == "Encounter/e1" for x in reading.listed)


def test_no_patient_is_an_error() -> None:
    with pytest.raises(CaseError) as exc:
        read_fhir(bundle(weight()), at=AT)
    assert "Patient" in fields(exc)


def test_levels_missing_or_due_are_flagged_for_a_patient_taking_cycloserine() -> None:
    taking = request("mr1", [dosage(mg(250), start="2026-02-20T08:00:00Z")])
    flags = {f.code for f in read_fhir(basic(taking), at=AT).flags}
    assert "levels.missing" in flags
    old = obs("lv1", None, 22, "mg/L", "2026-02-22T10:00:00Z", text="cycloserine")
    flags = {f.code for f in read_fhir(basic(taking, old), at=AT).flags}
    assert "levels.due" in flags and "levels.missing" not in flags
    relaxed = read_fhir(basic(taking, old), at=AT, options=ReaderOptions(level_max_age_days=14))
    assert "levels.due" not in {f.code for f in relaxed.flags}
    plan = request("mr2", [dosage(mg(250), start=None)], status="draft")
    assert not {"levels.missing", "levels.due"} & {f.code for f in
                                                   read_fhir(basic(plan), at=AT).flags}


def test_an_implausible_value_names_the_resource_that_gave_it() -> None:
    with pytest.raises(CaseError) as exc:
        read_fhir(bundle(patient(), weight(900, oid="wt3"), creatinine()), at=AT)
    assert any(f.startswith("Observation/wt3 (patient.weight_kg") for f in fields(exc))


def test_a_later_phase_after_an_open_ended_one_is_refused() -> None:
    first, second = dosage(mg(250), start=None), dosage(mg(500), start=None)
    first["sequence"], second["sequence"] = 1, 2
    with pytest.raises(CaseError) as exc:
        read_fhir(basic(request("mr1", [first, second], status="draft")), at=AT)
    assert "follows an instruction without an end" in fields(exc)[
        "MedicationRequest/mr1.dosageInstruction[1].sequence"]
