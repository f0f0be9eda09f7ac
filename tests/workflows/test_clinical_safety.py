"""Issue #9, "what a TB pharmacist would refuse to sign": one regression test per situation,
through `assess` (the one result every interface renders: CLI, JSON, report, shells)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from cyclodose.clinical.dose_policy import dose_policy
from cyclodose.clinical.status import RegimenStatus
from cyclodose.errors import CaseError
from cyclodose.intake.case import parse_case
from cyclodose.limits import MAX_P_PEAK_ABOVE_CEILING
from cyclodose.workflows import tdm_consult
from cyclodose.workflows.assessment import Assessment, assess

ADULT: dict[str, Any] = {"age_years": 40, "sex": "male", "weight_kg": 65, "height_cm": 172,
                         "serum_creatinine": {"value": 80, "unit": "umol/L"}}
COMEDS = ["bedaquiline", "linezolid", "levofloxacin", "clofazimine"]
ON_750 = {"amount_mg": 375, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 20}
ON_500 = {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 20}
INFANT = {"age_years": 8 / 12, "sex": "female", "weight_kg": 7.5, "height_cm": 68,
          "serum_creatinine": {"value": 0.3, "unit": "mg/dL"}}
TODDLER = {"age_years": 3, "sex": "female", "weight_kg": 13, "height_cm": 94,
           "serum_creatinine": {"value": 0.29, "unit": "mg/dL"}}


def _doc(patient: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"patient": {**copy.deepcopy(ADULT), **(patient or {})},
                           "comedications": list(COMEDS),
                           "settings": {"start_date": "2026-03-02"}}
    for key, value in top.items():
        doc[key] = {**doc[key], **value} if key == "settings" else value
    return doc


def _assess(patient: dict[str, Any] | None = None, **top: Any) -> Assessment:
    return assess(parse_case(_doc(patient, **top)), with_tdm=False)


def _codes(a: Assessment) -> set[str]:
    return {f.code for f in a.findings}


def _text(a: Assessment) -> str:
    return json.dumps(a.model_dump(mode="json"), ensure_ascii=False)


# ---- Unsafe 1: neurotoxicity on treatment ---------------------------------------------

def test_neurotoxicity_on_treatment_is_not_recommended() -> None:
    a = _assess({"symptoms": ["tremor", "confusion"]}, regimen=ON_750)
    rec = a.recommendation
    assert rec.status == RegimenStatus.HOLD
    assert rec.rationale[0].startswith("Hold and review")
    assert "titration" not in [p.label for p in rec.phases] and rec.schedule == ()
    assert a.prediction is not None and a.prediction.status == RegimenStatus.HOLD
    # the current regimen's predicted exposure is shown (simulate: peak about 36 mg/L)
    current = a.prediction.current
    assert current is not None and current.regimen == "375 mg q12h"
    assert 25 < current.peak_mg_l.median < 45
    assert "Current regimen 375 mg q12h" in " ".join(a.prediction.rationale)
    neuro = next(f for f in a.findings if f.code == "precaution.neurotoxicity")
    assert "hold" in neuro.message and "urgently" in neuro.message


@pytest.mark.parametrize("symptom", ["seizure", "fits", "suicidal thoughts", "feeling suicidal",
                                     "hallucinations", "hearing voices", "psychosis"])
def test_seizures_suicidal_thoughts_or_psychosis_on_treatment_stop_cycloserine(
        symptom: str) -> None:
    a = _assess({"symptoms": [symptom]}, regimen=ON_750)
    first = a.findings[0]
    assert first.code == "contraindication.severe_neurotoxicity"
    assert first.severity == "contraindicated"
    assert "stop cycloserine" in first.message and "urgent review" in first.message
    assert a.recommendation.status == RegimenStatus.CONTRAINDICATED
    assert a.prediction is not None and a.prediction.status == RegimenStatus.CONTRAINDICATED


def test_severe_neurotoxicity_blocks_the_tdm_regimen() -> None:
    doc = _doc({"symptoms": ["seizure"]}, regimen=ON_500,
               levels=[{"time": "2026-03-10T10:00:00", "value": 24.0, "unit": "mg/L"}])
    res = tdm_consult(parse_case(doc))
    assert res.tdm.recommendation.status == RegimenStatus.CONTRAINDICATED
    held = tdm_consult(parse_case(_doc({"symptoms": ["tremor"]}, regimen=ON_500,
                                       levels=doc["levels"])))
    assert held.tdm.recommendation.status == RegimenStatus.HOLD


def test_a_patient_on_treatment_never_gets_a_start_schedule() -> None:
    a = _assess(regimen=ON_500)
    assert [p.label for p in a.recommendation.phases] == ["maintenance"]
    assert a.recommendation.schedule == ()
    assert any("Already on cycloserine" in r for r in a.recommendation.rationale)
    fresh = _assess()
    assert fresh.recommendation.phases[0].label == "titration" and fresh.recommendation.schedule


# ---- Unsafe 2: model-informed doses for small children ----------------------------------

@pytest.mark.parametrize(("patient", "strengths"), [(INFANT, [125, 250]), (TODDLER, [250])])
def test_model_informed_dose_for_a_small_child_is_an_extrapolation_not_a_regimen(
        patient: dict[str, Any], strengths: list[float]) -> None:
    a = _assess(patient, settings={"capsule_strengths_mg": strengths})
    assert a.prediction is not None
    assert a.prediction.status == RegimenStatus.EXTRAPOLATION
    assert "never a regimen to give" in a.prediction.rationale[0]


def test_no_regimen_is_presented_as_recommended_with_more_than_half_toxic_peaks() -> None:
    # Small, frail adults with low clearance: every shown regimen obeys the 50 % rule.
    for patient in ({"weight_kg": 38, "age_years": 70, "sex": "female",
                     "serum_creatinine": {"value": 1.6, "unit": "mg/dL"}},
                    {"weight_kg": 42, "crcl_ml_min": 35, "serum_creatinine": None}, {}):
        a = _assess(patient)
        p = a.prediction
        assert p is not None
        if p.status == RegimenStatus.PREDICTED:
            assert p.p_peak_above_ceiling is not None
            assert p.p_peak_above_ceiling <= MAX_P_PEAK_ABOVE_CEILING
        if a.recommendation.status == RegimenStatus.RECOMMENDED and p.guideline:
            assert p.guideline.p_peak_above_ceiling <= MAX_P_PEAK_ABOVE_CEILING


@pytest.mark.parametrize("patient", [INFANT, TODDLER,
                                     {**TODDLER, "age_years": 9, "weight_kg": 20}])
def test_paediatric_doses_never_exceed_the_guideline_maximum_in_mg_per_kg(
        patient: dict[str, Any]) -> None:
    for strengths in ([125, 250], [250]):
        for guideline in ("AAP", "BNFC"):
            a = _assess(patient, settings={"capsule_strengths_mg": strengths,
                                           "paediatric_guideline": guideline})
            rec = a.recommendation
            limit = dose_policy().paediatric.max_mg_kg_day * patient["weight_kg"] + 1e-6
            for ph in list(rec.phases) + [p for o in rec.alternatives for p in o.phases]:
                assert ph.dose_mg * ph.doses_per_day <= limit
                assert ph.daily_dose_range_mg is None or ph.daily_dose_range_mg[1] <= limit


# ---- Unsafe 3 and 4: rounding ----------------------------------------------------------

def _aap(a: Assessment) -> Any:
    rec = a.recommendation
    options = [rec] + list(rec.alternatives)
    return next(o for o in options if o.guideline.startswith("AAP"))


def test_aap_maximum_is_never_rounded_up_to_a_capsule() -> None:
    infant = _aap(_assess(INFANT, settings={"paediatric_guideline": "AAP"})).phases[0]
    assert "(75 mg" in (infant.note or "") and "(125 mg" not in (infant.note or "")
    toddler = _aap(_assess(TODDLER, settings={"paediatric_guideline": "AAP",
                                              "capsule_strengths_mg": [250]})).phases[0]
    assert "(130 mg" in (toddler.note or "") and "(250 mg" not in (toddler.note or "")
    assert toddler.daily_dose_range_mg is not None and toddler.daily_dose_range_mg[1] <= 260


def test_rounding_does_not_double_a_childs_dose() -> None:
    a = _assess(TODDLER, settings={"paediatric_guideline": "BNFC"})
    ph = a.recommendation.phases[0]
    assert ph.dose_mg == pytest.approx(65)  # 5 mg/kg x 13 kg, not 125 mg (+92 %)
    assert "oral liquid or capsule-content preparation" in (ph.rounding or "")
    assert "±10 %" in (ph.rounding or "")
    # within the bound, whole capsules: 5 mg/kg x 26 kg = 130 -> 125 mg (-4 %)
    ok = _assess({**TODDLER, "age_years": 8, "weight_kg": 26, "height_cm": 128}).recommendation
    assert ok.phases[0].dose_mg == 125


def test_who_15_to_20_mg_per_kg_is_shown_beside_bnfc_and_aap_for_children() -> None:
    rec = _assess({**TODDLER, "age_years": 8, "weight_kg": 26, "height_cm": 128}).recommendation
    who = next(o for o in rec.alternatives if o.guideline == "WHO")
    assert "15–20 mg/kg/day" in who.label
    assert {s.id for s in who.sources} >= {"ext.who_children"}
    assert who.phases[0].mg_per_kg_day <= 20


# ---- Unsafe 5: end-stage renal disease as text or code --------------------------------

@pytest.mark.parametrize("condition", ["ESRD", "end-stage renal disease", "N18.5", "N18.6",
                                       "CKD stage 5", "CKD5", "CKD stage 4"])
def test_end_stage_renal_disease_as_text_or_icd10_is_severe_renal_impairment(
        condition: str) -> None:
    # post-dialysis-like creatinine 2.0 mg/dL: Cockcroft-Gault about 40 mL/min
    a = _assess({"conditions": [condition], "serum_creatinine": {"value": 2.0, "unit": "mg/dL"}})
    assert "contraindication.severe_renal_impairment" in _codes(a)
    assert "precaution.renal_impairment" not in _codes(a)
    assert a.patient.renal.severe and a.patient.renal.recorded_severe
    assert a.recommendation.status == RegimenStatus.CONTRAINDICATED
    assert a.prediction is not None and a.prediction.status == RegimenStatus.CONTRAINDICATED


@pytest.mark.parametrize("condition", ["ESRD on HD", "on HD MWF", "CAPD", "CKD5D", "Z49.1",
                                       "end-stage renal disease on CAPD", "Z99.2"])
def test_dialysis_in_any_spelling_without_the_dialysis_field_is_refused(condition: str) -> None:
    with pytest.raises(CaseError) as err:
        _assess({"conditions": [condition]})
    assert "patient.dialysis" in {p.field for p in err.value.problems}
    ok = _assess({"conditions": [condition], "dialysis": "haemodialysis"})
    assert ok.recommendation.status == RegimenStatus.CONTRAINDICATED


# ---- Unsafe 6 and 7: vocabulary of contraindications and interactions ------------------

@pytest.mark.parametrize(("condition", "code"), [
    ("bipolar disorder", "contraindication.bipolar_disorder"),
    ("F31.3", "contraindication.bipolar_disorder"),
    ("psychotic depression", "contraindication.psychosis"),
    ("postnatal depression", "contraindication.depression"),
    ("F53", "contraindication.depression"),
    ("drug-induced psychosis", "contraindication.psychosis"),
    ("F15.5", "contraindication.psychosis"),
    ("depression in remission", "contraindication.depression"),
    ("previous suicide attempt", "contraindication.self_harm_history"),
    ("self-harm", "contraindication.self_harm_history"),
    ("Z91.5", "contraindication.self_harm_history"),
    ("X70", "contraindication.self_harm_history"),
])
def test_psychiatric_contraindication_is_recognised(condition: str, code: str) -> None:
    a = _assess({"conditions": [condition]})
    assert code in _codes(a) and a.unrecognised == ()
    assert a.recommendation.status == RegimenStatus.CONTRAINDICATED


def test_depression_in_remission_is_said_to_be_a_history() -> None:
    f = next(f for f in _assess({"conditions": ["depression in remission"]}).findings
             if f.code == "contraindication.depression")
    assert "in remission" in f.message and "history" in f.message


@pytest.mark.parametrize("drug", ["high-dose INH", "Hh", "isoniazid high dose"])
def test_high_dose_isoniazid_triggers_the_isoniazid_interaction(drug: str) -> None:
    a = _assess(comedications=[*COMEDS, drug])
    assert "interaction.isoniazid" in _codes(a)


def test_prothionamide_gets_the_ethionamide_warning_as_a_class_extension() -> None:
    a = _assess(comedications=[*COMEDS, "prothionamide"])
    f = next(f for f in a.findings if f.code == "interaction.prothionamide")
    assert f.severity == "warning" and "class extension beyond the monograph" in f.message
    assert {s.id for s in f.sources} >= {"interaction.ethionamide", "ext.who_drtb_2022"}


# ---- Unsafe 8 and Misleading 1: renal wording and categories -----------------------------

def test_a_child_with_normal_schwartz_egfr_reads_no_renal_impairment() -> None:
    a = _assess({**TODDLER, "serum_creatinine": {"value": 0.29, "unit": "mg/dL"}})
    assert a.patient.renal.unit == "mL/min/1.73 m²" and a.patient.renal.crcl_ml_min > 90
    text = _text(a)
    assert "mild to moderate" not in text and "while renal function is reduced" not in text
    assert not a.patient.renal.impaired


def test_an_infants_renal_state_is_the_screenings_in_its_unit() -> None:
    a = _assess(INFANT)
    text = _text(a)
    assert "mild to moderate impairment" not in text
    assert "CrCl 55 mL/min" not in text


@pytest.mark.parametrize("crcl", [60, 75, 89])
def test_mildly_reduced_clearance_is_information_only_with_no_held_dose(crcl: float) -> None:
    a = _assess({"crcl_ml_min": crcl, "serum_creatinine": None})
    codes = _codes(a)
    assert "info.renal_mildly_reduced" in codes and "precaution.renal_impairment" not in codes
    assert "monitoring.weekly_levels" not in codes
    assert a.recommendation.phases[-1].daily_dose_range_mg == (500, 1000)
    assert a.prediction is not None and not a.prediction.replaces_renal_rule


def test_moderate_renal_impairment_keeps_the_precaution() -> None:
    a = _assess({"crcl_ml_min": 45, "serum_creatinine": None})
    assert {"precaution.renal_impairment", "monitoring.weekly_levels"} <= _codes(a)
    assert a.prediction is not None and a.prediction.replaces_renal_rule
    assert "45 mL/min, 30–59" in " ".join(a.prediction.rationale)


# ---- Misleading 2, 4, 7 ----------------------------------------------------------------

def test_with_levels_the_population_regimen_is_labelled_as_ignoring_them() -> None:
    doc = _doc(regimen=ON_500,
               levels=[{"time": "2026-03-10T10:00:00", "value": 24.0, "unit": "mg/L"}])
    a = assess(parse_case(doc))
    assert a.prediction is not None and "ignores the measured levels" in a.prediction.rationale[0]
    assert a.recommendation.schedule == ()


def test_pregnancy_is_said_to_be_outside_both_models() -> None:
    a = _assess({"pregnant": True, "sex": "female"})
    assert a.prediction is not None
    assert any("Pregnancy is outside both models' data" in r for r in a.prediction.rationale)


def test_an_infants_age_reads_in_months() -> None:
    a = _assess(INFANT)
    assert a.prediction is not None
    joined = " ".join(a.prediction.extrapolation)
    assert "8 months" in joined and "1 years" not in joined


# ---- The vocabulary list of the issue: each term is recognised (nothing unknown for no reason)

VOCABULARY = {
    "condition": ["ESRD", "end-stage renal disease on CAPD", "CKD stage 3b", "CKD stage 4",
                  "CKD stage 5", "CKD5D", "renal failure", "AKI", "diabetic nephropathy",
                  "bipolar disorder", "bipolar affective disorder", "psychotic depression",
                  "postnatal depression", "depression in remission", "drug-induced psychosis",
                  "previous suicide attempt", "self-harm", "PTSD", "EtOH abuse", "ETOH abuse",
                  "heavy drinker", "febrile convulsions in childhood", "pregnant 24 weeks",
                  "pregnancy, second trimester", "rifampicin-resistant pulmonary TB",
                  "TB disease", "HIV/AIDS", "PLHIV on ART", "hepatitis C", "obesity"],
    "symptom": ["fits", "insomnia", "paranoid thoughts", "hearing voices", "feeling suicidal",
                "agitation", "memory loss", "numbness", "weakness", "breathlessness",
                "ankle swelling", "jaundice"],
    "comedication": ["high-dose isoniazid", "efavirenz", "dolutegravir", "tenofovir",
                     "lamivudine", "cotrimoxazole", "thiamine", "folic acid", "ferrous sulfate",
                     "sevelamer", "amlodipine"],
}


@pytest.mark.parametrize(("kind", "text"), [(k, t) for k, ts in VOCABULARY.items() for t in ts])
def test_issue_vocabulary_term_is_recognised(kind: str, text: str) -> None:
    from cyclodose.clinical.vocabulary import (
        Recognised,
        recognise_comedication,
        recognise_condition,
        recognise_symptom,
    )

    fn = {"condition": recognise_condition, "symptom": recognise_symptom,
          "comedication": recognise_comedication}[kind]
    assert isinstance(fn(text, "f"), Recognised)


def test_chronic_liver_disease_is_not_tagged_mild() -> None:
    from cyclodose.clinical.vocabulary import Recognised, recognise_condition

    r = recognise_condition("chronic liver disease", "f")
    assert isinstance(r, Recognised) and r.concept == "liver_disease" and r.qualifiers == ()


def test_every_vocabulary_source_is_a_known_reference() -> None:
    import yaml

    from cyclodose.knowledge.citations import cite
    from cyclodose.knowledge.loader import fact

    for name in ("conditions", "comedications"):
        raw = yaml.safe_load((__import__("pathlib").Path(__file__).parents[2] /
                              f"src/cyclodose/knowledge/data/vocabulary/{name}.yaml").read_text())
        for entry in raw.get("conditions", raw.get("drugs", [])):
            for sid in entry.get("sources", []):
                assert cite(sid).reference and fact(sid)


# ---- Misleading 3: a low level is a finding, with the questions before an increase ------

@pytest.mark.parametrize("level", [{"value": 8.0}, {"value": None, "blq": True, "lloq": 2.0}])
def test_a_low_level_asks_about_adherence_and_timing_before_an_increase(
        level: dict[str, Any]) -> None:
    doc = _doc(regimen=ON_500, levels=[{"time": "2026-03-10T10:00:00", "unit": "mg/L", **level}])
    a = assess(parse_case(doc))
    f = next(f for f in a.findings if f.code == "level.below_target")
    for asked in ("adherence", "sample and dose times", "food", "6 h level"):
        assert asked in f.message
    only_early = next(f for f in a.findings if f.code == "level.absorption_unresolved")
    assert "cannot tell fast elimination from delayed absorption" in only_early.message
    res = tdm_consult(parse_case(doc))
    assert any("level.below_target" in w for w in res.tdm.recommendation.warnings)


# ---- Misleading 7 (continued): wording, precision, unit errors, one severity --------------

def _levels(value: float, unit: str) -> list[dict[str, Any]]:
    return [{"time": "2026-03-10T10:00:00", "value": value, "unit": unit}]


def test_peritoneal_dialysis_is_written_in_full() -> None:
    a = _assess({"dialysis": "peritoneal", "serum_creatinine": None})
    text = _text(a)
    assert "on peritoneal dialysis" in text
    assert re.search(r"on peritoneal(?! dialysis)", text) is None


def test_a_converted_level_is_shown_to_3_significant_figures_beside_the_value_as_entered() -> None:
    # 400 µmol/L × 102.09 g/mol = 40.836 mg/L: above the ceiling.
    a = _assess(regimen=ON_500, levels=_levels(400, "umol/L"))
    f = next(f for f in a.findings if f.code == "level.above_ceiling")
    assert "40.8 mg/L (entered as 400 umol/L)" in f.message
    assert "40.836" not in _text(a)
    # 80 µmol/L = 8.1672 mg/L: below the target window, to 3 significant figures.
    low = _assess(regimen=ON_500, levels=_levels(80, "umol/L"))
    f = next(f for f in low.findings if f.code == "level.below_target")
    assert "8.17 mg/L (entered as 80 umol/L)" in f.message
    # A level entered in mg/L is not echoed (nothing was converted).
    plain = _assess(regimen=ON_500, levels=_levels(8, "mg/L"))
    f = next(f for f in plain.findings if f.code == "level.below_target")
    assert "8.00 mg/L 2 h after a dose" in f.message and "entered as" not in f.message


def test_a_level_only_plausible_in_another_unit_suggests_the_unit_error() -> None:
    a = _assess(regimen=ON_500, levels=_levels(2.5, "mmol/L"))  # 255 mg/L
    f = next(f for f in a.findings if f.code == "level.unit_suspect")
    assert f.severity == "warning"
    assert "255 mg/L (entered as 2.5 mmol/L)" in f.message and "2.5 mg/L" in f.message
    assert "check the unit" in f.message.lower()
    # A plausible molar entry (0.2 mmol/L = 20.4 mg/L) raises nothing.
    ok = _assess(regimen=ON_500, levels=_levels(0.2, "mmol/L"))
    assert "level.unit_suspect" not in _codes(ok)


def test_a_level_finding_has_the_same_severity_in_assess_and_tdm() -> None:
    doc = _doc(regimen=ON_500, levels=_levels(40.0, "mg/L"))
    res = tdm_consult(parse_case(doc))
    f = next(f for f in res.assessment.findings if f.code == "level.above_ceiling")
    quoted = [w for w in res.tdm.recommendation.warnings if "level.above_ceiling" in w]
    assert quoted and all(w.startswith(f"{f.severity.upper()} (level.above_ceiling)")
                          for w in quoted)


# ---- Misleading 5: obesity -------------------------------------------------------------

def test_an_obese_adult_gets_cockcroft_gault_with_adjusted_body_weight_beside_actual() -> None:
    obese = {"weight_kg": 120, "height_cm": 172, "serum_creatinine": {"value": 1.0,
                                                                        "unit": "mg/dL"}}
    a = _assess(obese)
    renal = a.patient.renal
    # IBW (Devine, male, 172 cm) = 50 + 2.3 × (172/2.54 − 60) = 67.76 kg;
    # ABW = 67.76 + 0.4 × (120 − 67.76) = 88.65 kg; CG = (140 − 40) × weight / 72.
    assert renal.crcl_ml_min == pytest.approx(100 * 120 / 72)
    assert renal.crcl_adjusted_weight_ml_min == pytest.approx(100 * 88.65 / 72, abs=0.1)
    note = next(n for n in renal.notes if "adjusted body" in n)
    assert "167 mL/min with actual weight" in note and "123 mL/min" in note
    assert "renal rules and dose use the actual-weight value" in note
    assert "not a single standard" in note
    assert {"ext.devine_1974", "ext.adjusted_body_weight"} <= set(renal.sources)
    from cyclodose.knowledge.loader import fact

    assert "not a single published standard" in fact("ext.adjusted_body_weight").text
    lean = _assess()  # BMI 22: nothing added
    assert lean.patient.renal.crcl_adjusted_weight_ml_min is None


# ---- Misleading 4: pregnancy -----------------------------------------------------------

def test_a_gestational_week_is_refused_for_a_male_or_non_pregnant_patient() -> None:
    for patient in ({"gestational_week": 20},
                    {"gestational_week": 20, "sex": "female", "pregnant": False}):
        with pytest.raises(CaseError) as err:
            parse_case(_doc(patient))
        assert [p.field for p in err.value.problems] == ["patient.gestational_week"]


def test_the_gestational_week_is_beside_the_model_informed_dose() -> None:
    a = _assess({"pregnant": True, "sex": "female", "gestational_week": 24})
    assert a.prediction is not None
    note = next(r for r in a.prediction.rationale if "Pregnancy is outside both models" in r)
    assert "week 24, second trimester" in note
    from cyclodose.intake.case import case_json_schema

    schema = json.dumps(case_json_schema())
    assert "gestational_week" in schema and "needs pregnant: true" in schema
