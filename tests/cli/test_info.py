"""`cyclodose info` and `cyclodose schema` through the real Typer app."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from cyclodose.cli import app

runner = CliRunner()

# Transcribed from the monograph: INN, every synonym (Latin and Cyrillic), the chemical
# name as printed, CAS, ATC, ATCvet, and every proprietary name.
MONOGRAPH_NAMES = [
    "Cycloserine", "Cicloserina", "D-Cycloserin", "Cyclosérine", "D-Cycloserine",
    "Cycloserinum", "Cykloserin", "SC-49088", "Sikloserin", "Sykloseriini", "Циклосерин",
    "(+)-(R)-4Aminoisoxazolidin-3-one", "68-41-7", "J04AB01", "QJ04AB01",
    "Closina", "D-cycloserin", "Seromycin", "Cyclorine", "Proserine", "Siklocap",
]
# Monograph, Proprietary Preparations.
BRAND_COUNTRIES = {
    "Closina": ["Australia"],
    "D-cycloserin": ["Greece"],
    "Seromycin": ["Greece", "Hong Kong", "USA"],
    "Cyclorine": ["India"],
    "Proserine": ["Thailand"],
    "Siklocap": ["Turkey"],
    "Cycloserine": ["UK"],
}
# The issue's own examples.
ISSUE_QUERIES = ["Циклосерин", "cyclosérine", "SEROMYCIN", "Siklocap", "Sikloserin", "68-41-7",
                 "J04AB01", "cycloserin"]


def _flat(text: str) -> str:
    """Rich wraps long lines; compare with whitespace collapsed."""
    return re.sub(r"\s+", " ", text)


def _json(*args: str) -> dict:
    result = runner.invoke(app, ["info", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", MONOGRAPH_NAMES + ISSUE_QUERIES)
def test_every_name_is_found(name: str) -> None:
    doc = _json(name, "--section", "identity")
    assert doc["match"]["drug"] == "Cycloserine"
    assert doc["identity"]["cas"] == "68-41-7"


@pytest.mark.parametrize(("brand", "countries"), BRAND_COUNTRIES.items())
def test_brand_reports_its_countries(brand: str, countries: list[str]) -> None:
    doc = _json(brand.upper(), "--section", "preparations")
    assert "brand" in doc["match"]["kinds"]
    assert doc["match"]["countries"] == countries
    human = runner.invoke(app, ["info", brand, "--section", "preparations"])
    assert human.exit_code == 0
    assert f"Marketed as {brand} in: {', '.join(countries)}." in _flat(human.stdout)


def test_typo_is_matched_and_flagged() -> None:
    doc = _json("Siklocapp", "--section", "identity")
    assert doc["match"]["method"] == "one typo" and doc["match"]["name"] == "Siklocap"
    human = runner.invoke(app, ["info", "Siklocapp", "--section", "identity"])
    assert "check this is the drug you meant" in _flat(human.stdout)


def test_unknown_name_exits_2_with_closest_names_on_stderr() -> None:
    result = runner.invoke(app, ["info", "Seromycine Forte"])
    assert result.exit_code == 2
    assert result.stdout == ""
    err = _flat(result.stderr)
    assert err.startswith("error: query:")
    assert "closest names: Seromycin" in err
    assert "Traceback" not in result.output


def test_typo_in_an_atc_code_is_not_forgiven() -> None:
    result = runner.invoke(app, ["info", "J04AB02", "--json"])
    assert result.exit_code == 2
    assert "J04AB01" in result.stderr


def test_unknown_section_exits_2_naming_valid_sections() -> None:
    result = runner.invoke(app, ["info", "Seromycin", "--section", "dosing tables"])
    assert result.exit_code == 2
    err = _flat(result.stderr)
    assert "--section" in err and "pharmacokinetics" in err and "adverse_effects" in err


def test_pharmacokinetics_section_shows_model_vs_monograph() -> None:
    result = runner.invoke(app, ["info", "cycloserine", "--section", "pharmacokinetics"])
    assert result.exit_code == 0
    out = _flat(result.stdout)
    assert "pk.model_vs_monograph" in out
    assert "16.8 h" in out and "1.1 h" in out
    assert "pk.excretion" in out and "adverse.cns" not in out
    doc = _json("cycloserine", "--section", "pk")
    assert {f["section"] for f in doc["facts"]} == {"pharmacokinetics"}
    assert "pk.model_vs_monograph" in [f["id"] for f in doc["facts"]]


def test_json_document_shape() -> None:
    doc = _json("Seromycin")
    assert set(doc) == {"query", "match", "identity", "brands", "sections", "facts"}
    assert set(doc["match"]) == {"drug", "name", "kinds", "method", "distance", "countries"}
    assert doc["identity"] == {
        "inn": "Cycloserine", "iupac_name": "(+)-(R)-4-Aminoisoxazolidin-3-one",
        "formula": "C3H6N2O2", "molecular_weight_g_mol": 102.1, "cas": "68-41-7",
        "atc": "J04AB01", "atcvet": "QJ04AB01",
    }
    assert doc["brands"] == BRAND_COUNTRIES
    assert doc["sections"][0] == "identity" and "external" in doc["sections"]
    ids = [f["id"] for f in doc["facts"]]
    assert len(ids) == len(set(ids)) and "precaution.contraindications" in ids
    for f in doc["facts"]:
        assert {"id", "section", "title", "text", "data", "sources", "source_ref"} <= set(f)
    contra = next(f for f in doc["facts"] if f["id"] == "precaution.contraindications")
    assert contra["sources"] == [{"monograph": "Precautions"}]
    assert contra["source_ref"] == "Monograph §Precautions"


def test_human_output_lists_every_section() -> None:
    result = runner.invoke(app, ["info", "Cyclorine"])
    assert result.exit_code == 0
    out = _flat(result.stdout)
    for title in ["Adverse effects and treatment", "Precautions and contraindications",
                  "Pharmacokinetics", "Uses and administration", "Sources beyond the monograph"]:
        assert title in out
    assert "Source: Monograph §Precautions (Breast feeding); Morton 1955-56; AAP 2001" in out


def test_schema_prints_the_case_json_schema() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "patient" in schema["properties"]
    assert "patient" in schema.get("required", [])
