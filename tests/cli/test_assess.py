"""`cyclodose assess` through the real Typer app: examples, JSON document, user errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cyclodose.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).parents[2] / "examples"
REQUIRED_EXAMPLES = ["adult_start.yaml", "child_8y.yaml", "adolescent_15y.yaml",
                     "adult_crcl45.yaml", "adult_haemodialysis.yaml",
                     "breastfeeding_isoniazid_depression.yaml"]


def _json(path: Path, *extra: str) -> dict[str, Any]:
    res = runner.invoke(app, ["assess", str(path), "--json", *extra])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_required_examples_exist() -> None:
    for name in REQUIRED_EXAMPLES:
        assert (EXAMPLES / name).is_file(), name


@pytest.mark.parametrize("name", REQUIRED_EXAMPLES)
def test_example_assesses_in_both_formats(name: str) -> None:
    doc = _json(EXAMPLES / name)
    assert {"crcl_ml_min", "crcl_method", "renal_category", "age_group"} <= set(doc["patient"])
    rec = doc["recommendation"]
    assert {"guideline", "phases", "rationale"} <= set(rec)
    for ph in rec["phases"]:
        assert {"dose_mg", "doses_per_day", "daily_dose_mg", "duration_days"} <= set(ph)
        assert ph["daily_dose_mg"] <= 1000
    for key in ("findings", "monitoring", "unrecognised"):
        assert isinstance(doc[key], list)
    human = runner.invoke(app, ["assess", str(EXAMPLES / name)], env={"COLUMNS": "160"})
    assert human.exit_code == 0, human.output
    assert "Recommendation" in human.stdout and "Monitoring plan" in human.stdout


def test_examples_say_what_they_claim() -> None:
    adult = _json(EXAMPLES / "adult_start.yaml")
    assert adult["patient"]["age_group"] == "adult" and adult["findings"] == []
    assert adult["recommendation"]["schedule"]
    child = _json(EXAMPLES / "child_8y.yaml")
    assert child["patient"]["age_group"] == "child"
    assert child["patient"]["crcl_method"] == "bedside_schwartz"
    teen = _json(EXAMPLES / "adolescent_15y.yaml")
    assert teen["patient"]["age_group"] == "adolescent"
    crcl = _json(EXAMPLES / "adult_crcl45.yaml")
    assert 40 <= crcl["patient"]["crcl_ml_min"] < 50
    assert "precaution.renal_impairment" in {f["code"] for f in crcl["findings"]}
    hd = _json(EXAMPLES / "adult_haemodialysis.yaml")
    hd_codes = {f["code"] for f in hd["findings"]}
    assert {"contraindication.severe_renal_impairment", "info.haemodialysis"} <= hd_codes
    assert hd["recommendation"]["phases"] == [] and hd["recommendation"]["alternatives"]
    bf = _json(EXAMPLES / "breastfeeding_isoniazid_depression.yaml")
    bf_codes = {f["code"] for f in bf["findings"]}
    expected = {"contraindication.depression", "interaction.isoniazid", "info.breastfeeding"}
    assert expected <= bf_codes
    assert bf["breastfeeding"]["relative_infant_dose_pct"]


def test_json_findings_have_code_severity_message_sources() -> None:
    doc = _json(EXAMPLES / "breastfeeding_isoniazid_depression.yaml")
    f = doc["findings"][0]
    assert set(f) == {"code", "severity", "message", "sources"}
    assert f["severity"] in {"contraindicated", "avoid", "warning", "caution", "info"}
    assert {"id", "reference"} == set(f["sources"][0])


def test_human_output_shows_units_sources_and_unrecognised() -> None:
    res = runner.invoke(app, ["assess", str(EXAMPLES / "adult_haemodialysis.yaml")],
                        env={"COLUMNS": "200"})
    out = _flat(res.stdout)
    assert "70 kg" in out and "mg/dL" in out and "250 mg" in out
    assert "contraindicated" in out and "[precaution.contraindications]" in out
    # hypertension is not in the vocabulary: shown as unrecognised (amlodipine is now known,
    # issue #9 vocabulary list)
    assert "hypertension" in out and "not a known condition term" in out
    # knowledge ids survive Rich rendering in table cells (not eaten as markup)
    assert "[pk.dialysis]" in out and "[adverse.haematological]" in out


def test_model_option_overrides_setting() -> None:
    doc = _json(EXAMPLES / "adult_start.yaml", "--model", "resendiz2025")
    assert doc["model"] == "resendiz2025"
    assert _json(EXAMPLES / "adult_start.yaml")["model"] == "alghamdi2019"


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    p = tmp_path / "case.yaml"
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return p


@pytest.mark.parametrize(("patient", "field"), [
    ({"serum_creatinine": {"value": 80}}, "patient.serum_creatinine.unit"),
    ({"serum_creatinine": {"value": 80, "unit": "parsecs"}}, "patient.serum_creatinine.unit"),
    ({"weight_kg": 0}, "patient.weight_kg"),
    ({"weight_kg": 400}, "patient.weight_kg"),
    ({"age_years": -2}, "patient.age_years"),
    ({"age_years": 130}, "patient.age_years"),
    ({"serum_creatinine": {"value": 25, "unit": "mg/dL"}}, "patient.serum_creatinine.value"),
])
def test_bad_input_exits_2_one_line_per_problem(tmp_path: Path, patient: dict[str, Any],
                                                field: str) -> None:
    p: dict[str, Any] = {"age_years": 40, "sex": "male", "weight_kg": 70}
    p.update(patient)
    res = runner.invoke(app, ["assess", str(_write(tmp_path, {"patient": p})), "--json"])
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert any(ln.startswith(f"error: {field}:") for ln in lines), res.stderr
    assert "Traceback" not in res.output
    assert res.stdout == ""  # no dose shown for a case that failed validation


def test_several_problems_several_lines(tmp_path: Path) -> None:
    doc = {"patient": {"age_years": 200, "sex": "male", "weight_kg": -1},
           "regimen": {"amount_mg": -5, "interval_h": 12, "start": "2026-03-01T08:00:00",
                       "count": 2}}
    res = runner.invoke(app, ["assess", str(_write(tmp_path, doc))])
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) >= 3
    assert "mg" not in res.stdout


def test_level_before_first_dose_exits_2(tmp_path: Path) -> None:
    doc = {"patient": {"age_years": 40, "sex": "male", "weight_kg": 70},
           "regimen": {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00",
                       "count": 2},
           "levels": [{"time": "2026-03-01T06:00:00", "value": 5, "unit": "mg/L"}]}
    res = runner.invoke(app, ["assess", str(_write(tmp_path, doc))])
    assert res.exit_code == 2 and "levels[0].time" in res.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["assess", str(tmp_path / "nope.yaml")])
    assert res.exit_code == 2 and "error: case:" in res.stderr


def test_child_output_shows_rounding_default_and_alternative() -> None:
    res = runner.invoke(app, ["assess", str(EXAMPLES / "child_8y.yaml")], env={"COLUMNS": "220"})
    out = _flat(res.stdout)
    # BNFC 5 mg/kg x 24 kg = 120 mg, rounded to one 125 mg capsule
    assert "120 mg → 125 mg" in out
    assert "Default paediatric guideline: BNFC" in out and "Alternative — AAP" in out
    assert "2026-03-02" in out  # dated schedule from settings.start_date


@pytest.mark.parametrize("columns", ["80", "120"])
@pytest.mark.parametrize("name", REQUIRED_EXAMPLES)
def test_no_table_cell_is_cut_with_an_ellipsis(name: str, columns: str) -> None:
    # Regression: at 80 columns cells read "mg/kg/…", "freque…", "[precaution.lev…".
    res = runner.invoke(app, ["assess", str(EXAMPLES / name)], env={"COLUMNS": columns})
    assert res.exit_code == 0, res.output
    cut = [ln for ln in res.stdout.splitlines() if "…" in ln and "more days" not in ln]
    assert cut == []


def test_regimen_cells_keep_units_at_80_columns() -> None:
    res = runner.invoke(app, ["assess", str(EXAMPLES / "adult_start.yaml")],
                        env={"COLUMNS": "80"})
    # Table borders split cells across lines; the dose and its per-kg figure stay whole words.
    text = res.stdout
    assert "8.1 mg/kg/day" in text and "(1 × 250 mg)" in text


def test_malformed_yaml_is_one_line_naming_the_place(tmp_path: Path) -> None:
    # Regression: the YAML parser's message spanned five lines with a caret drawing.
    p = tmp_path / "case.yaml"
    p.write_text("patient: {age_years: 3\n", encoding="utf-8")
    res = runner.invoke(app, ["assess", str(p)])
    assert res.exit_code == 2 and res.stdout == ""
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: case: case.yaml is not valid")
    assert "line 2, column 1" in lines[0]


def test_creatinine_in_umol_written_as_mg_dl_gets_a_hint(tmp_path: Path) -> None:
    doc = {"patient": {"age_years": 40, "sex": "male", "weight_kg": 70,
                       "serum_creatinine": {"value": 80, "unit": "mg/dL"}}}
    res = runner.invoke(app, ["assess", str(_write(tmp_path, doc))])
    assert res.exit_code == 2 and res.stdout == ""
    # pharmacology.md §6: 1 mg/dL = 88.4 µmol/L, so 80 µmol/L = 0.90 mg/dL
    assert "patient.serum_creatinine.value" in res.stderr and "0.90 mg/dL" in res.stderr


@pytest.mark.parametrize(("name", "text", "reason"), [
    # regression: a key given twice silently kept the last value (here the age)
    ("case.yaml", "patient:\n  age_years: 40\n  sex: male\n  weight_kg: 70\n  age_years: 5\n",
     "key 'age_years' is given twice (line 5)"),
    ("case.json", '{"patient": {"age_years": 40, "sex": "male", "weight_kg": 70, '
                  '"weight_kg": 7}}', "key 'weight_kg' is given twice"),
])
def test_a_key_given_twice_is_refused(tmp_path: Path, name: str, text: str, reason: str) -> None:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    res = runner.invoke(app, ["assess", str(p), "--json"])
    assert res.exit_code == 2 and res.stdout == ""
    assert reason in res.stderr


def test_binary_file_exits_2_without_traceback(tmp_path: Path) -> None:
    # regression: a non-UTF-8 file raised UnicodeDecodeError with a traceback
    p = tmp_path / "case.yaml"
    p.write_bytes(b"patient: \xf0\x28\x8c\x28\n")
    res = runner.invoke(app, ["assess", str(p)])
    assert res.exit_code == 2 and "not UTF-8 text" in res.stderr
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_human_output_shows_the_model_informed_regimen_beside_the_guideline():
    from typer.testing import CliRunner

    from cyclodose.cli import app

    out = CliRunner().invoke(app, ["assess", "examples/adult_crcl45.yaml"], env={"COLUMNS": "120"})
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "Recommendation" in text and "Model-informed regimen" in text
    assert text.index("Recommendation") < text.index("Model-informed regimen")
    assert "P(peak > 30 mg/L)" in text and "Ranked candidates" in text
    assert "alghamdi2019" in text


def test_patient_table_shows_gestation_only_for_a_pregnant_patient(tmp_path: Path) -> None:
    doc = yaml.safe_load((EXAMPLES / "adult_start.yaml").read_text(encoding="utf-8"))
    doc["patient"].update(sex="female", pregnant=True, gestational_week=24)
    case = tmp_path / "pregnant.yaml"
    case.write_text(yaml.safe_dump(doc), encoding="utf-8")
    res = runner.invoke(app, ["assess", str(case)], env={"COLUMNS": "100"})
    assert res.exit_code == 0, res.output
    row = next(line for line in res.stdout.splitlines() if "gestation" in line)
    assert re.sub(r"[│\s]+", " ", row).strip() == "gestation week 24, second trimester"
    plain = runner.invoke(app, ["assess", str(EXAMPLES / "adult_start.yaml")])
    assert plain.exit_code == 0 and "gestation" not in plain.stdout
