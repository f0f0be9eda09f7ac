"""Screening rules: every finding code fires on its trigger and not on a matching control.

The base case (adult, normal renal function, on a multidrug regimen) has no
findings at all; each trigger changes one thing, each control changes the same
thing in a way that must not fire the rule.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from cyclodose import knowledge
from cyclodose.clinical.patient import renal_function
from cyclodose.clinical.screening import PREDICATES, Context, Finding, evaluate, rules, screen
from cyclodose.clinical.vocabulary import recognise
from cyclodose.intake.case import parse_case
from cyclodose.workflows.assessment import assess

# The stable codes listed in issue 2, plus the ones this module adds.
ISSUE_CODES = {
    "contraindication.epilepsy", "contraindication.depression", "contraindication.psychosis",
    "contraindication.severe_anxiety", "contraindication.severe_renal_impairment",
    "contraindication.alcohol_misuse", "avoid.porphyria", "interaction.alcohol",
    "interaction.ethionamide", "interaction.isoniazid", "precaution.renal_impairment",
    "precaution.liver_disease", "precaution.heart_failure_high_dose", "precaution.neurotoxicity",
    "precaution.skin_reaction", "monitoring.weekly_levels", "info.pregnancy", "info.breastfeeding",
    "info.haemodialysis", "warning.monotherapy", "dose.above_maximum", "level.above_ceiling",
}
EXTRA_CODES = {"caution.anxiety", "caution.heart_failure", "caution.neuropsychiatric_comedication",
               "info.renal_function_unknown", "duplicate.cycloserine",
               # issue #9
               "contraindication.bipolar_disorder", "contraindication.self_harm_history",
               "caution.febrile_convulsions_history", "caution.psychiatric_history",
               "info.renal_mildly_reduced", "caution.acute_kidney_injury",
               "contraindication.severe_neurotoxicity", "caution.heart_failure_symptoms",
               "caution.liver_symptoms", "interaction.prothionamide", "caution.efavirenz",
               "caution.possible_cns_effect", "level.below_target", "level.unit_suspect",
               "level.absorption_unresolved"}

BASE: dict[str, Any] = {
    "patient": {"age_years": 40, "sex": "female", "weight_kg": 70, "height_cm": 170,
                "serum_creatinine": {"value": 0.7, "unit": "mg/dL"}},  # CG 118 mL/min
    "comedications": ["bedaquiline", "linezolid"],
}


def _q12(amount: float, count: int = 10, interval_h: float = 12) -> dict[str, Any]:
    return {"regimen": {"amount_mg": amount, "interval_h": interval_h,
                        "start": "2026-03-01T08:00:00", "count": count}}


def _level(value: float) -> dict[str, Any]:
    level = {"time": "2026-03-03T10:00:00", "value": value, "unit": "mg/L"}
    return {**_q12(250), "levels": [level]}


def _p(**fields: Any) -> dict[str, Any]:
    return {"patient": fields}


def _build(change: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for key, value in change.items():
        if key == "patient":
            doc["patient"].update(value)
        else:
            doc[key] = value
    return doc


def findings(change: dict[str, Any]) -> tuple[Finding, ...]:
    # screen() directly: screening must not depend on the PK/TDM sections of assess().
    case = parse_case(_build(change))
    p = case.patient
    return screen(case, renal_function(p), recognise(p.conditions, case.comedications,
                                                     p.symptoms))


def codes(change: dict[str, Any]) -> set[str]:
    return {f.code for f in findings(change)}


# code -> (trigger change, control change)
CASES: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {
    "contraindication.epilepsy": [(_p(conditions=["epilepsy"]), _p(conditions=["diabetes"])),
                                  (_p(conditions=["ICD10:G40.9"]), _p(conditions=["ICD10:G43"]))],
    "contraindication.depression": [(_p(conditions=["ICD10:F32.1"]), _p(conditions=["F31"])),
                                    (_p(conditions=["history of depression"]), {}),
                                    (_p(conditions=["F33.0"]), {}),
                                    # issue #9: a history in remission, postnatal depression
                                    (_p(conditions=["depression in remission"]), {}),
                                    (_p(conditions=["F33.4"]), _p(conditions=["F33.3"])),
                                    (_p(conditions=["postnatal depression"]), {}),
                                    (_p(conditions=["F53"]), {})],
    "contraindication.bipolar_disorder": [(_p(conditions=["bipolar disorder"]), {}),
                                          (_p(conditions=["F31.4"]), _p(conditions=["F30"])),
                                          (_p(conditions=["bipolar affective disorder"]), {})],
    "contraindication.self_harm_history": [
        (_p(conditions=["previous suicide attempt"]), {}),
        (_p(conditions=["self-harm"]), {}),
        (_p(conditions=["Z91.5"]), _p(conditions=["Z91.8"])),
        (_p(conditions=["X64"]), _p(conditions=["X85"])),
        (_p(conditions=["X60"]), _p(conditions=["X59"]))],
    "caution.febrile_convulsions_history": [
        (_p(conditions=["febrile convulsions in childhood"]), _p(conditions=["epilepsy"]))],
    "caution.psychiatric_history": [(_p(conditions=["PTSD"]), {})],
    "contraindication.psychosis": [(_p(conditions=["schizophrenia"]), {}),
                                   (_p(conditions=["ICD10:F29"]), _p(conditions=["ICD10:F30"])),
                                   # issue #9: psychotic depression, drug-induced psychosis
                                   (_p(conditions=["psychotic depression"]), {}),
                                   (_p(conditions=["F32.3"]), _p(conditions=["F32.2"])),
                                   (_p(conditions=["drug-induced psychosis"]), {}),
                                   (_p(conditions=["F12.5"]), _p(conditions=["F12.2"]))],
    "contraindication.severe_anxiety": [(_p(conditions=["severe anxiety"]),
                                         _p(conditions=["anxiety"])),
                                        (_p(conditions=["ICD10:F41.1 severe"]),
                                         _p(conditions=["ICD10:F41.1"])),
                                        # regression: a qualifier before the code was unread
                                        (_p(conditions=["severe F41.1"]),
                                         _p(conditions=["history of F41.1"]))],
    "caution.anxiety": [(_p(conditions=["ICD10:F41.1"]), _p(conditions=["severe anxiety"]))],
    "contraindication.severe_renal_impairment": [
        (_p(age_years=80, weight_kg=50, serum_creatinine={"value": 3.0, "unit": "mg/dL"}),
         _p(age_years=80, weight_kg=50, serum_creatinine={"value": 1.0, "unit": "mg/dL"})),
        (_p(dialysis="haemodialysis"), {}),
        (_p(dialysis="peritoneal"), {}),
        (_p(crcl_ml_min=20), _p(crcl_ml_min=35)),
        (_p(conditions=["ICD10:Z99.2"], dialysis="haemodialysis"),
         _p(conditions=["ICD10:Z99.2"])),  # the dialysis field decides (#8)
        # issue #9: recorded kidney failure, whatever the creatinine says
        (_p(conditions=["ESRD"]), {}),
        (_p(conditions=["history of ESRD"]), {}),  # counted: kidney failure does not go away
        (_p(conditions=["N18.5"]), _p(conditions=["N18.3"])),
        (_p(conditions=["N18.6"]), {}),
        (_p(conditions=["CKD stage 5"]), _p(conditions=["CKD stage 3b"])),
        (_p(conditions=["end-stage renal disease"]), {}),
    ],
    "contraindication.alcohol_misuse": [(_p(alcohol="misuse"), _p(alcohol="moderate")),
                                        (_p(conditions=["F10.2"]), {}),
                                        (_p(conditions=["EtOH abuse"]), {}),
                                        (_p(conditions=["heavy drinker"]), {})],
    "avoid.porphyria": [(_p(conditions=["E80.2"]), _p(conditions=["E80.4"])),
                        (_p(conditions=["acute intermittent porphyria"]), {})],
    "interaction.alcohol": [(_p(alcohol="moderate"), _p(alcohol="none")),
                            ({"comedications": ["bedaquiline", "ethanol"]}, {})],
    "interaction.ethionamide": [
        ({"comedications": ["bedaquiline", "ethionamide"]},
         {"comedications": ["bedaquiline", "prothionamide"]}),
        ({"comedications": ["bedaquiline", "J04AD03"]}, {}),
        ({"comedications": ["bedaquiline", "Trecator"]}, {}),
    ],
    "interaction.isoniazid": [({"comedications": ["bedaquiline", "INH"]},
                               {"comedications": ["bedaquiline", "rifampicin"]}),
                              ({"comedications": ["bedaquiline", "high-dose INH"]}, {}),
                              ({"comedications": ["bedaquiline", "Hh"]}, {}),
                              ({"comedications": ["bedaquiline", "isoniazid high dose"]}, {})],
    "interaction.prothionamide": [({"comedications": ["bedaquiline", "prothionamide"]},
                                   {"comedications": ["bedaquiline", "ethionamide"]})],
    "caution.efavirenz": [({"comedications": ["bedaquiline", "efavirenz"]},
                           {"comedications": ["bedaquiline", "dolutegravir"]})],
    "precaution.renal_impairment": [
        (_p(age_years=60, serum_creatinine={"value": 1.5, "unit": "mg/dL"}), {}),  # CG 44
        (_p(crcl_ml_min=59.9), _p(crcl_ml_min=60)),
        (_p(crcl_ml_min=30), _p(crcl_ml_min=29.9)),
    ],
    "info.renal_mildly_reduced": [(_p(crcl_ml_min=89.9), _p(crcl_ml_min=90)),
                                  (_p(crcl_ml_min=60), _p(crcl_ml_min=59.9))],
    "caution.acute_kidney_injury": [(_p(conditions=["AKI"]), _p(conditions=["CKD"]))],
    "precaution.liver_disease": [(_p(conditions=["K74.6"]), _p(conditions=["K80"])),
                                 (_p(conditions=["cirrhosis"]), {})],
    "precaution.heart_failure_high_dose": [(_q12(500), _q12(375)), (_q12(250, interval_h=6), {})],
    "caution.neuropsychiatric_comedication": [
        ({"comedications": ["bedaquiline", "sertraline"]}, {"comedications": ["bedaquiline"]}),
        ({"comedications": ["bedaquiline", "Keppra"]},
         {"comedications": ["bedaquiline", "N02BE01"]}),
        ({"comedications": ["bedaquiline", "N05AX12"]}, {}),
    ],
    "caution.heart_failure": [(_p(conditions=["I50.9"]), _p(conditions=["I49"])),
                              (_p(conditions=["congestive heart failure"]), _q12(500))],
    "precaution.neurotoxicity": [(_p(symptoms=["tremor"]), _p(symptoms=["rash"])),
                                 (_p(symptoms=["Confusion"]), {}),
                                 (_p(symptoms=["paranoid thoughts"]), _p(symptoms=["insomnia"]))],
    "caution.possible_cns_effect": [(_p(symptoms=["insomnia"]), _p(symptoms=["tremor"])),
                                    (_p(symptoms=["memory loss"]), {})],
    "contraindication.severe_neurotoxicity": [
        (_p(symptoms=["seizure"]), _p(symptoms=["tremor"])),
        (_p(symptoms=["fits"]), {}), (_p(symptoms=["feeling suicidal"]), {}),
        (_p(symptoms=["hearing voices"]), _p(symptoms=["paranoid thoughts"])),
        (_p(symptoms=["hallucinations"]), _p(symptoms=["headache"]))],
    "caution.heart_failure_symptoms": [(_p(symptoms=["ankle swelling"]), {}),
                                       (_p(symptoms=["breathlessness"]), {})],
    "caution.liver_symptoms": [(_p(symptoms=["jaundice"]), _p(symptoms=["rash"]))],
    "precaution.skin_reaction": [(_p(symptoms=["rash"]), _p(symptoms=["tremor"])),
                                 (_p(symptoms=["photosensitivity"]), {}),
                                 (_p(symptoms=["itching"]), _p(symptoms=["agitation"]))],
    "monitoring.weekly_levels": [
        (_q12(250, interval_h=8), _q12(250)),  # 750 mg/day vs 500 mg/day
        (_p(crcl_ml_min=50), _p(crcl_ml_min=95)),
        (_p(symptoms=["dizziness"]), _p(symptoms=["rash"])),
        # regression: a dialysis code with normal creatinine still needs weekly levels
        (_p(conditions=["ICD10:Z99.2"], dialysis="haemodialysis"),
         _p(conditions=["ICD10:Z99.2"]))  # the dialysis field decides (#8),
    ],
    "info.pregnancy": [(_p(pregnant=True), _p(pregnant=False)),
                       (_p(conditions=["pregnant 24 weeks"]), _p(conditions=["diabetes"]))],
    "info.breastfeeding": [(_p(breastfeeding=True), _p(breastfeeding=False))],
    "info.haemodialysis": [(_p(dialysis="haemodialysis"), _p(dialysis="peritoneal"))],
    "warning.monotherapy": [({"comedications": []}, {"comedications": ["levofloxacin"]}),
                            ({"comedications": ["pyridoxine", "ethanol"]},
                             {"comedications": ["Sirturo"]}),
                            # regression: terizidone is cycloserine, not another TB drug
                            ({"comedications": ["terizidone"]},
                             {"comedications": ["ofloxacin"]})],
    # Terizidone (two cycloserine molecules) or cycloserine itself listed as a co-medication.
    "duplicate.cycloserine": [
        ({"comedications": ["bedaquiline", "Terizidone"]}, {"comedications": ["bedaquiline"]}),
        ({"comedications": ["bedaquiline", "Seromycin"]},
         {"comedications": ["bedaquiline", "Serzone"]}),
        ({"comedications": ["bedaquiline", "J04AB01"]},
         {"comedications": ["bedaquiline", "J04AB02"]}),
        ({"comedications": ["bedaquiline", "cyclosérine"]}, {}),
    ],
    "dose.above_maximum": [
        (_q12(750), _q12(500)),  # 1500 vs exactly 1000 mg in 24 h
        ({"regimen": {"doses": [{"time": "2026-03-01T08:00:00", "amount_mg": 500},
                                {"time": "2026-03-01T16:00:00", "amount_mg": 250},
                                {"time": "2026-03-02T07:00:00", "amount_mg": 500}]}},
         {"regimen": {"doses": [{"time": "2026-03-01T08:00:00", "amount_mg": 500},
                                {"time": "2026-03-01T16:00:00", "amount_mg": 250},
                                {"time": "2026-03-02T08:00:00", "amount_mg": 500}]}}),
    ],
    "level.above_ceiling": [(_level(32.0), _level(30.0)), (_level(45.5), _level(12.0))],
    # issue #9 Misleading 3: a low peak-time level (or BLQ) is a finding of its own
    # 2.5 mmol/L = 255 mg/L: only plausible as 2.5 mg/L; 0.2 mmol/L (20.4 mg/L) is plausible
    # and 2.5 mg/L as entered was not converted.
    "level.unit_suspect": [
        ({**_q12(250), "levels": [{"time": "2026-03-03T10:00:00", "value": 2.5,
                                   "unit": "mmol/L"}]},
         {**_q12(250), "levels": [{"time": "2026-03-03T10:00:00", "value": 0.2,
                                   "unit": "mmol/L"}]}),
        ({**_q12(250), "levels": [{"time": "2026-03-03T10:00:00", "value": 1.5,
                                   "unit": "mmol/L"}]}, _level(153.0)),
    ],
    "level.below_target": [(_level(8.0), _level(24.0)),
                           ({**_q12(250), "levels": [{"time": "2026-03-03T10:00:00",
                                                      "value": None, "unit": "mg/L",
                                                      "blq": True, "lloq": 2.0}]}, {}),
                           # 11 h after the dose: a trough-time value, not a low peak
                           ({**_q12(250), "levels": [{"time": "2026-03-03T12:00:00",
                                                      "value": 8.0, "unit": "mg/L"}]},
                            {**_q12(250), "levels": [{"time": "2026-03-03T07:00:00",
                                                      "value": 8.0, "unit": "mg/L"}]})],
    # only early levels: a low 2 h level cannot tell fast elimination from delayed absorption;
    # with a 6 h level (or a low level that is not peak-time) it is not said
    "level.absorption_unresolved": [
        (_level(8.0), {**_q12(250), "levels": [
            {"time": "2026-03-03T10:00:00", "value": 8.0, "unit": "mg/L"},
            {"time": "2026-03-03T14:00:00", "value": 7.0, "unit": "mg/L"}]}),
        (_level(8.0), _level(24.0))],
    "info.renal_function_unknown": [(_p(serum_creatinine=None), {}),
                                    (_p(age_years=8, weight_kg=25, height_cm=None), {})],
}

PAIRS = [(code, i, t, c) for code, pairs in CASES.items() for i, (t, c) in enumerate(pairs)]


def test_base_case_has_no_findings() -> None:
    assert codes({}) == set()


@pytest.mark.parametrize(("code", "i", "trigger", "control"), PAIRS,
                         ids=[f"{c}-{i}" for c, i, _, _ in PAIRS])
def test_code_fires_on_trigger_and_not_on_control(code: str, i: int, trigger: dict[str, Any],
                                                  control: dict[str, Any]) -> None:
    assert code in codes(trigger)
    assert code not in codes(control)


def test_every_rule_and_every_issue_code_is_tested() -> None:
    table = {r.code for r in rules()}
    assert table >= ISSUE_CODES
    assert table == ISSUE_CODES | EXTRA_CODES
    assert set(CASES) == table


def test_findings_carry_severity_message_and_resolved_sources() -> None:
    case = parse_case(_build(_p(conditions=["epilepsy"], alcohol="moderate")))
    found = {f.code: f for f in assess(case).findings}
    f = found["contraindication.epilepsy"]
    assert f.severity == "contraindicated"
    assert "epilepsy" in f.message and "{" not in f.message
    assert f.sources and all(s.reference for s in f.sources)
    assert f.sources[0].id == "precaution.contraindications"
    assert found["interaction.alcohol"].severity == "warning"


def test_findings_are_sorted_most_severe_first() -> None:
    order = ["contraindicated", "avoid", "warning", "caution", "info"]
    fs = assess(parse_case(_build(_p(conditions=["epilepsy", "E80.2"], breastfeeding=True,
                                     symptoms=["tremor"])))).findings
    ranks = [order.index(f.severity) for f in fs]
    assert ranks == sorted(ranks) and len(fs) >= 4


def test_dose_and_level_messages_quote_the_numbers() -> None:
    found = {f.code: f for f in findings(_q12(750))}
    assert "1500 mg" in found["dose.above_maximum"].message
    found = {f.code: f for f in findings(_level(41.25))}
    assert "41.2 mg/L" in found["level.above_ceiling"].message or \
        "41.3 mg/L" in found["level.above_ceiling"].message


def test_unrecognised_items_are_returned_not_dropped() -> None:
    a = assess(parse_case(_build({"patient": {"conditions": ["epilepsy", "frobnication"],
                                              "symptoms": ["itchy feet"]},
                                  "comedications": ["bedaquiline", "zzzmab"]})))
    texts = {(u.field, u.text) for u in a.unrecognised}
    assert texts == {("patient.conditions[1]", "frobnication"),
                     ("patient.symptoms[0]", "itchy feet"), ("comedications[1]", "zzzmab")}
    assert "contraindication.epilepsy" in a.codes()


def test_rules_are_data_a_new_rule_needs_no_code() -> None:
    # A hypothetical rule built only from existing predicates evaluates as expected.
    case = parse_case(_build(_p(conditions=["epilepsy"], pregnant=True)))
    p = case.patient
    ctx = Context(case=case, renal=renal_function(p),
                  vocabulary=recognise(p.conditions, case.comedications, p.symptoms))
    when = {"all": [{"condition": ["epilepsy"]}, {"flag": "pregnant"}]}
    assert evaluate(when, ctx) is not None
    assert evaluate({"not": when}, ctx) is None
    with pytest.raises(ValueError, match="unknown predicate"):
        evaluate({"no_such_predicate": 1}, ctx)


def test_rule_table_is_valid() -> None:
    path = Path(__file__).parents[2] / "src/cyclodose/knowledge/data/rules.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert len(raw["rules"]) == len(rules())
    for r in rules():
        assert r.sources, r.code

    def names(node: dict[str, Any]) -> set[str]:
        (k, v), = node.items()
        if k in ("any", "all"):
            return set().union(*(names(n) for n in v))
        return names(v) if k == "not" else {k}

    used = set().union(*(names(r.when) for r in rules()))
    assert used <= set(PREDICATES)


def _cited_ids() -> set[str]:
    ids = {s for r in rules() for s in r.sources}
    src = Path(__file__).parents[2] / "src/cyclodose/clinical"
    pattern = re.compile(r'"((?:adverse|precaution|breastfeeding|pregnancy|interaction|action|pk|'
                         r'dose|ext)\.[a-z0-9_]+)"')
    for name in ("dosing.py", "monitoring.py", "breastfeeding.py", "patient.py", "screening.py"):
        ids |= set(pattern.findall((src / name).read_text(encoding="utf-8")))
    return ids


def test_every_cited_knowledge_id_exists() -> None:
    ids = _cited_ids()
    assert len(ids) > 25
    missing = []
    for i in sorted(ids):
        try:
            knowledge.fact(i)
        except KeyError:
            missing.append(i)
    assert missing == []


def test_screen_is_pure_and_repeatable() -> None:
    case = parse_case(_build(_p(conditions=["epilepsy"], symptoms=["rash"])))
    p = case.patient
    renal = renal_function(p)
    vocab = recognise(p.conditions, case.comedications, p.symptoms)
    assert screen(case, renal, vocab) == screen(case, renal, vocab)
