"""The knowledge files load, validate and hang together; the accessors behave."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from cyclodose import knowledge
from cyclodose.knowledge import loader

# Ids other modules cite (screening, dosing, reports): fixed by the issue brief.
_FIXED_IDS_TEXT = """
identity.names identity.chemistry identity.codes identity.origin pharmacopoeia.usp_description
adverse.cns adverse.frequency adverse.dose_related adverse.pyridoxine adverse.hypersensitivity
adverse.liver adverse.haematological adverse.heart_failure precaution.contraindications
precaution.stop_or_reduce precaution.level_monitoring precaution.plasma_ceiling
precaution.organ_monitoring precaution.renal_lower_doses precaution.porphyria breastfeeding.aap
pregnancy.transfer pregnancy.milk_concentrations interaction.alcohol interaction.ethionamide
interaction.isoniazid action.mechanism action.spectrum action.resistance pk.absorption pk.peak
pk.half_life pk.distribution pk.excretion pk.metabolism pk.dialysis uses.tuberculosis uses.uti
uses.schizophrenia uses.gaucher dose.adult dose.renal dose.children_licensing dose.children_aap
dose.children_bnfc_2_12 dose.children_bnfc_12_18 preparation.usp_capsules
preparation.proprietary pk.model_vs_monograph
ext.us_label ext.ats_2003 ext.ats_renal_2018 ext.who_children ext.peloquin_tdm
ext.uk_tb_monographs ext.alghamdi2019 ext.resendiz_galvan2025 ext.deshpande2018 ext.kdigo_2012
ext.cockcroft_gault_1976 ext.ckd_epi_2021 ext.schwartz_2009 ext.janmahasatian_2005 ext.kang_2012
ext.who_critical_conc_2024 ext.yu_2018_ecoff ext.atc_ddd ext.rxnorm ext.pubchem
"""
FIXED_IDS = _FIXED_IDS_TEXT.split()

# Files in knowledge/data owned by screening; the loader must leave them alone.
OTHER_OWNERS = {"rules.yaml", "regimen_policy.yaml"}  # screening, clinical.regimen_policy


def _data_dir():
    return resources.files("cyclodose.knowledge").joinpath("data")


@pytest.mark.parametrize("name", loader.FACT_FILES)
def test_every_fact_file_validates(name: str) -> None:
    raw = yaml.safe_load(_data_dir().joinpath(name).read_text("utf-8"))
    parsed = loader.parse_fact_file(name, raw)
    assert len(parsed) == len(raw["facts"]) > 0


def test_every_yaml_file_is_read_or_owned_elsewhere() -> None:
    # A new fact file that is not listed in FACT_FILES would be silently ignored.
    on_disk = {p.name for p in _data_dir().iterdir() if p.name.endswith(".yaml")}
    expected = set(loader.FACT_FILES) | {loader.SECTIONS_FILE}
    assert on_disk - OTHER_OWNERS == expected, "list new fact files in loader.FACT_FILES"


def test_ids_are_unique_across_files() -> None:
    ids: list[str] = []
    for name in loader.FACT_FILES:
        raw = yaml.safe_load(_data_dir().joinpath(name).read_text("utf-8"))
        ids += [f["id"] for f in raw["facts"]]
    assert len(ids) == len(set(ids))
    assert {f.id for f in knowledge.facts()} == set(ids)


def test_fixed_ids_exist() -> None:
    missing = [i for i in FIXED_IDS if i not in {f.id for f in knowledge.facts()}]
    assert missing == []


def test_every_fact_has_a_known_section_and_a_source() -> None:
    valid = set(knowledge.sections())
    for f in knowledge.facts():
        assert f.section in valid
        assert f.sources or f.citation
        assert knowledge.source_ref(f.id)


def test_monograph_facts_cite_the_monograph() -> None:
    for f in knowledge.facts():
        if f.section not in {"external", "references"}:
            assert any(s.monograph for s in f.sources), f.id


def test_external_facts_carry_a_citation_and_never_the_reference_sheet() -> None:
    ext = knowledge.facts_in_section("external")
    assert {f.id for f in ext} >= {i for i in FIXED_IDS if i.startswith("ext.")}
    for f in ext:
        assert f.citation and f.short
        assert "pharmacology.md" not in f.citation


def test_sections_in_monograph_order() -> None:
    names = knowledge.sections()
    assert names[:3] == ["identity", "pharmacopoeias", "adverse_effects"]
    assert names.index("precautions") < names.index("pharmacokinetics") < names.index("uses")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("pharmacokinetics", "pharmacokinetics"), ("PK", "pharmacokinetics"),
     ("Adverse Effects and Treatment", "adverse_effects"), ("adverse-effects", "adverse_effects"),
     ("doses", "uses"), ("external", "external")],
)
def test_section_lookup_by_name_heading_or_alias(typed: str, expected: str) -> None:
    assert knowledge.section(typed).name == expected


def test_unknown_section_names_valid_ones() -> None:
    with pytest.raises(knowledge.UnknownSectionError) as exc:
        knowledge.facts_in_section("dosing tables")
    assert "pharmacokinetics" in str(exc.value)


def test_unknown_fact_gives_a_readable_error() -> None:
    with pytest.raises(knowledge.UnknownFactError) as exc:
        knowledge.fact("precaution.nonexistent")
    message = str(exc.value)
    assert message.startswith("no knowledge fact with id 'precaution.nonexistent'")
    assert "precaution.contraindications" in message  # similar ids offered


def test_source_ref_for_monograph_fact_paper_and_mixed() -> None:
    assert knowledge.source_ref("precaution.contraindications") == "Monograph §Precautions"
    assert knowledge.source_ref("breastfeeding.aap") == (
        "Monograph §Precautions (Breast feeding); Morton 1955-56; AAP 2001"
    )
    assert "Antimicrob Agents Chemother 2019" in knowledge.source_ref("ext.alghamdi2019")


def test_brands_by_country() -> None:
    # Monograph, Proprietary Preparations.
    assert knowledge.brands() == {
        "Closina": ["Australia"],
        "D-cycloserin": ["Greece"],
        "Seromycin": ["Greece", "Hong Kong", "USA"],
        "Cyclorine": ["India"],
        "Proserine": ["Thailand"],
        "Siklocap": ["Turkey"],
        "Cycloserine": ["UK"],
    }


def _fact_dict(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "pk.test", "section": "pharmacokinetics", "title": "t", "text": "x",
        "sources": [{"monograph": "Pharmacokinetics"}],
    }
    base.update(over)
    return base


@pytest.mark.parametrize(
    "bad",
    [
        _fact_dict(data={"half_life": 10}),  # number without its unit
        _fact_dict(data={"recovery": [{"within": 12}]}),  # nested number without unit
        _fact_dict(sources=[]),  # no source
        _fact_dict(sources=[{"monograph": "Pharmacokinetics", "ref": "ref.aap_2001"}]),
        _fact_dict(sources=[{"part": "Breast feeding"}]),
        _fact_dict(id="NoDots"),
        _fact_dict(citation="A paper"),  # citation without a short label
        _fact_dict(colour="red"),  # unknown field
    ],
)
def test_malformed_facts_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(knowledge.KnowledgeError):
        loader.parse_fact_file("test.yaml", {"facts": [bad]})


def test_number_with_unit_key_is_accepted() -> None:
    (f,) = loader.parse_fact_file("t.yaml", {"facts": [_fact_dict(data={"half_life_h": 10})]})
    assert f.data["half_life_h"] == 10


def test_cross_checks_catch_duplicates_bad_sections_headings_and_refs() -> None:
    secs = loader.knowledge_base().sections
    good = loader.parse_fact_file("t.yaml", {"facts": [_fact_dict()]})[0]
    dup = [good, good]
    bad_section = loader.parse_fact_file("t.yaml", {"facts": [_fact_dict(section="nowhere")]})
    bad_heading = loader.parse_fact_file(
        "t.yaml", {"facts": [_fact_dict(sources=[{"monograph": "Dosage"}])]}
    )
    bad_ref = loader.parse_fact_file("t.yaml", {"facts": [_fact_dict(sources=[{"ref": "x.y"}])]})
    for facts, needle in [(dup, "duplicate"), (list(bad_section), "unknown section"),
                          (list(bad_heading), "monograph heading"), (list(bad_ref), "ref")]:
        with pytest.raises(knowledge.KnowledgeError, match=needle):
            loader.build(secs, facts)
