"""The structured data carries the monograph's figures and lists.

Expected values are transcribed from the monograph (section named in each
test) or from the cited paper; derived values say how they were derived.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from cyclodose import knowledge


def data(fact_id: str) -> dict[str, Any]:
    return knowledge.fact(fact_id).data


def test_names_synonyms_and_cyrillic() -> None:
    # Monograph, Synonyms and Cyrillic synonym.
    d = data("identity.names")
    assert d["inn"] == "Cycloserine"
    assert d["synonyms"] == ["Cicloserina", "D-Cycloserin", "Cyclosérine", "D-Cycloserine",
                             "Cycloserinum", "Cykloserin", "Sikloserin", "Sykloseriini"]
    assert d["research_codes"] == ["SC-49088"]
    assert d["cyrillic_synonyms"] == ["Циклосерин"]


def test_chemistry_and_codes() -> None:
    # Monograph, Chemical information: C3H6N2O2 = 102.1; CAS 68-41-7; ATC J04AB01; QJ04AB01.
    chem, codes = data("identity.chemistry"), data("identity.codes")
    assert chem["formula"] == "C3H6N2O2"
    assert chem["molecular_weight_g_mol"] == 102.1
    assert chem["iupac_name"] == "(+)-(R)-4-Aminoisoxazolidin-3-one"
    assert codes == {"cas": "68-41-7", "atc": "J04AB01", "atcvet": "QJ04AB01"}
    # Derived check: C3H6N2O2 from standard atomic weights is 102.09 g/mol.
    mw = 3 * 12.011 + 6 * 1.008 + 2 * 14.007 + 2 * 15.999
    assert mw == pytest.approx(chem["molecular_weight_g_mol"], abs=0.05)
    assert mw == pytest.approx(data("ext.pubchem")["molecular_weight_g_mol"], abs=0.005)


def test_origin_pharmacopoeias_and_usp() -> None:
    # Monograph: S. orchidaceus or S. garyphalus, or synthesis; Jpn and US; USP 31.
    assert data("identity.origin")["producing_organisms"] == [
        "Streptomyces orchidaceus", "Streptomyces garyphalus"]
    assert data("identity.origin")["synthetic_route_exists"] is True
    assert data("pharmacopoeia.listing") == {"pharmacopoeias": ["Jpn", "US"],
                                             "usp_edition": "USP 31"}
    usp = data("pharmacopoeia.usp_description")
    assert (usp["solution_strength_percent"], usp["solution_min_ph"], usp["solution_max_ph"]) == (
        10, 5.5, 6.5)
    assert usp["hygroscopic"] and usp["water_solubility"] == "freely soluble"
    assert data("pharmacopoeia.usp_storage")["container"] == "airtight"


def test_adverse_effects() -> None:
    # Monograph, Adverse Effects and Treatment.
    cns = data("adverse.cns")
    listed = " ".join(cns["psychiatric"] + cns["neurological"])
    for symptom in ["anxiety", "confusion", "disorientation", "depression", "psychosis",
                    "suicidal", "aggression", "irritability", "paranoia", "vertigo", "headache",
                    "drowsiness", "speech difficulties", "tremor", "paresis", "hyperreflexia",
                    "dysarthria", "paraesthesia", "coma", "convulsions"]:
        assert symptom in listed, symptom
    assert data("adverse.frequency")["patients_affected_up_to_percent"] == 30
    assert data("adverse.dose_related")["plasma_conc_keep_below_ug_ml"] == 30
    assert data("adverse.pyridoxine")["benefit_established"] is False
    assert data("adverse.hypersensitivity")["reactions"] == ["skin reactions", "photosensitivity"]
    assert "liver disease" in data("adverse.liver")["higher_risk_in"]
    assert data("adverse.haematological")["effects"] == [
        "folate deficiency", "vitamin B12 deficiency", "megaloblastic anaemia",
        "sideroblastic anaemia"]
    assert "antituberculous" in data("adverse.haematological")["context"]
    assert data("adverse.heart_failure")["daily_dose_at_least_mg"] == 1000


def test_precautions() -> None:
    # Monograph, Precautions.
    assert data("precaution.contraindications")["conditions"] == [
        "epilepsy", "depression", "psychosis", "severe anxiety", "severe renal impairment",
        "alcohol misuse"]
    assert data("precaution.stop_or_reduce")["triggers"] == ["skin reactions",
                                                            "CNS toxicity symptoms"]
    mon = data("precaution.level_monitoring")
    assert (mon["interval_at_most_days"], mon["daily_dose_above_mg"]) == (7, 500)
    assert data("precaution.plasma_ceiling")["plasma_conc_below_ug_ml"] == 30
    assert data("precaution.plasma_ceiling")["plasma_conc_below_mg_l"] == 30  # 1 µg/mL = 1 mg/L
    assert data("precaution.organ_monitoring")["monitor"] == [
        "haematological function", "renal function", "hepatic function"]
    assert data("precaution.renal_lower_doses")["renal_impairment"] == "mild to moderate"
    assert data("precaution.porphyria")["safe_in_porphyria"] is False
    aap = data("breastfeeding.aap")["aap_classification"]
    assert aap == "usually compatible with breastfeeding"


def test_interactions_and_action() -> None:
    # Monograph, Interactions and Antimicrobial Action.
    assert data("interaction.alcohol")["effect"] == "increased risk of convulsions"
    assert data("interaction.ethionamide")["effect"] == "potentiated neurotoxicity"
    assert data("interaction.isoniazid")["examples"] == ["dizziness", "drowsiness"]
    assert data("action.mechanism")["competes_with"] == "D-alanine"
    assert "Mycobacterium tuberculosis" in data("action.spectrum")["active_against"]
    assert data("action.resistance")["resistance_if_used_alone"] is True


def test_pharmacokinetics() -> None:
    # Monograph, Pharmacokinetics: 10 µg/mL 3-4 h after 250 mg; 20-30 on q12h; t½ ~10 h;
    # 50 % in urine by 12 h, 70 % by 72 h; removed by haemodialysis.
    peak = data("pk.peak")
    assert (peak["single_dose_mg"], peak["single_dose_peak_conc_ug_ml"]) == (250, 10)
    assert (peak["time_to_peak_min_h"], peak["time_to_peak_max_h"]) == (3, 4)
    assert (peak["repeated_peak_conc_min_ug_ml"], peak["repeated_peak_conc_max_ug_ml"]) == (20, 30)
    assert peak["repeated_dose_interval_h"] == 12
    assert data("pk.half_life")["half_life_h"] == 10
    recovery = {r["within_h"]: r["unchanged_dose_percent"]
                for r in data("pk.excretion")["urinary_recovery"]}
    assert recovery == {12: 50, 72: 70}
    assert data("pk.excretion")["single_dose_mg"] == 250
    assert "CSF" in data("pk.distribution")["reaches"]
    assert data("pk.dialysis")["removed_by_haemodialysis"] is True
    assert data("pregnancy.transfer")["crosses_to"] == ["fetus", "amniotic fluid", "breast milk"]
    milk = data("pregnancy.milk_concentrations")
    assert (milk["maternal_dose_mg"], milk["maternal_doses_per_day"]) == (250, 4)
    assert (milk["milk_conc_min_ug_ml"], milk["milk_conc_max_ug_ml"]) == (6, 19)


def test_model_vs_monograph_figures_follow_from_the_model_parameters() -> None:
    # Derived check from Alghamdi 2019 typical values (1-compartment, lag, first order):
    # CL = 2.00 x exp(-0.660) L/h; t½ = ln2 V/CL; tmax = Tlag + ln(ka/ke)/(ka - ke).
    p = data("ext.alghamdi2019")
    cmp = data("pk.model_vs_monograph")
    cl_l_h = p["cl_healthy_l_h"] * math.exp(p["cl_patient_log_effect_coefficient"])
    assert cl_l_h == pytest.approx(p["cl_typical_patient_l_h"], abs=0.01)
    ke_per_h = cl_l_h / p["v_l"]
    assert math.log(2) / ke_per_h == pytest.approx(cmp["model_half_life_h"], abs=0.15)
    tmax_h = p["lag_time_h"] + math.log(p["ka_per_h"] / ke_per_h) / (p["ka_per_h"] - ke_per_h)
    assert tmax_h == pytest.approx(cmp["model_time_to_peak_h"], abs=0.05)
    healthy_half_life_h = math.log(2) * p["v_l"] / p["cl_healthy_l_h"]
    assert healthy_half_life_h == pytest.approx(cmp["derived_healthy_volunteer_half_life_h"],
                                                abs=0.05)
    assert cmp["monograph_half_life_h"] == data("pk.half_life")["half_life_h"]
    assert cmp["monograph_time_to_peak_min_h"] == data("pk.peak")["time_to_peak_min_h"]
    assert knowledge.fact("pk.model_vs_monograph").section == "pharmacokinetics"


def test_uses() -> None:
    # Monograph, Uses and Administration.
    assert data("uses.tuberculosis")["line"] == "second-line"
    assert data("uses.uti")["indication"] == "urinary-tract infection"
    assert data("uses.schizophrenia")["indication"] == "schizophrenia"
    assert data("uses.gaucher")["substance"] == "L-cycloserine"


def test_doses() -> None:
    # Monograph: 250 mg twice daily for 2 weeks, then 0.5-1 g daily in divided doses;
    # AAP 5-10 mg/kg twice daily, max 1 g/day; BNFC 2-12 y 5 mg/kg twice daily;
    # BNFC 12-18 y 250 mg twice daily for 2 weeks then adjusted, max 1 g/day.
    adult = data("dose.adult")
    assert (adult["initial_dose_mg"], adult["initial_doses_per_day"],
            adult["initial_duration_weeks"], adult["initial_duration_days"]) == (250, 2, 2, 14)
    assert (adult["maintenance_daily_dose_min_g"], adult["maintenance_daily_dose_max_g"]) == (
        0.5, 1)
    assert (adult["maintenance_daily_dose_min_mg"], adult["maintenance_daily_dose_max_mg"]) == (
        500, 1000)
    aap = data("dose.children_aap")
    assert (aap["dose_min_mg_kg"], aap["dose_max_mg_kg"], aap["doses_per_day"],
            aap["max_daily_dose_mg"]) == (5, 10, 2, 1000)
    young = data("dose.children_bnfc_2_12")
    assert (young["age_min_years"], young["age_max_years"], young["dose_mg_kg"],
            young["doses_per_day"]) == (2, 12, 5, 2)
    teen = data("dose.children_bnfc_12_18")
    assert (teen["age_min_years"], teen["age_max_years"], teen["initial_dose_mg"],
            teen["initial_doses_per_day"], teen["initial_duration_weeks"],
            teen["max_daily_dose_mg"]) == (12, 18, 250, 2, 2, 1000)
    assert data("dose.children_licensing") == {"licensed_in": ["UK", "USA"],
                                               "age_ranges_specified": False}


def test_no_dose_fact_exceeds_one_gram_a_day() -> None:
    # Safety invariant: every maximum daily dose in the data is at most 1 g (1000 mg).
    for f in knowledge.facts():
        for key, value in f.data.items():
            if key.startswith("max_daily_dose_mg") or key.endswith("daily_dose_max_mg"):
                assert value <= 1000, f.id


def test_preparations_and_publication() -> None:
    assert data("preparation.usp_capsules")["preparations"] == ["Cycloserine Capsules"]
    abbreviations = [p["monograph_abbreviation"]
                     for p in data("preparation.proprietary")["products"]]
    # Monograph order: Austral., Gr. (2), Hong Kong, India, Thai., Turk., UK, USA.
    assert abbreviations == ["Austral.", "Gr.", "Gr.", "Hong Kong", "India", "Thai.", "Turk.",
                             "UK", "USA"]
    assert data("publication.date")["published"] == "2019-01-30"


def test_references_cited_by_the_monograph() -> None:
    assert "Antibiot Annu 1955-56; 3: 169-72" in knowledge.source_ref("ref.morton_1955")
    assert "Pediatrics 2001; 108: 776-89" in knowledge.source_ref("ref.aap_2001")
    assert "Clin Pharmacokinet 1987; 13: 125-9" in knowledge.source_ref("ref.holdiness_1987")
    assert "ref.holdiness_1987" in [s.ref for s in knowledge.fact("pregnancy.transfer").sources]


def test_external_figures() -> None:
    # pharmacology.md sections 4, 5 and 7 (figures from the cited sources).
    assert data("ext.atc_ddd")["ddd_g"] == 0.75
    assert data("ext.pubchem") == {"pubchem_cid": "6234", "molecular_weight_g_mol": 102.09,
                                   "drugbank": "DB00260"}
    assert data("ext.rxnorm")["ingredient_rxcui"] == "3007"
    assert data("ext.uk_tb_monographs")["cns_risk_peak_above_mg_l"] == 35
    renal = data("ext.ats_renal_2018")
    assert (renal["reduced_crcl_below_ml_min"], renal["reduced_daily_dose_mg"],
            renal["reduced_intermittent_dose_mg"]) == (30, 250, 500)
    assert data("ext.who_critical_conc_2024")["mgit_critical_conc_ug_ml"] == 16
    assert data("ext.yu_2018_ecoff")["ecoff_ug_ml"] == 32
    assert data("ext.peloquin_tdm")["peak_target_max_ug_ml"] == 35
