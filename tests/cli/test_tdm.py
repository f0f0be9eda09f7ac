"""`cyclodose tdm` through the real Typer app: JSON document, files, user errors (exit 2)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cyclodose.cli import app
from cyclodose.limits import MAX_DAILY_DOSE_MG

runner = CliRunner()
EXAMPLE = Path(__file__).parents[2] / "examples" / "tdm_two_levels.yaml"


def _doc() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    p = tmp_path / "case.yaml"
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def example_json() -> dict[str, Any]:
    res = runner.invoke(app, ["tdm", str(EXAMPLE), "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["tdm"]


def test_json_document(example_json: dict[str, Any]) -> None:
    d = example_json
    for key in ("cl_l_h", "v_l", "ka_per_h", "tlag_h"):
        assert set(d["parameters"][key]) >= {"map", "lower", "upper"}
    rec = d["recommendation"]
    assert set(rec) >= {"regimen", "daily_dose_mg", "peak_mg_l", "p_in_target", "p_above_ceiling"}
    assert set(rec["peak_mg_l"]) == {"median", "lower", "upper"}
    assert rec["daily_dose_mg"] <= MAX_DAILY_DOSE_MG
    assert d["ranked"][0]["regimen"] == rec["regimen"]
    assert len(d["predictions"]["levels"]) == 2
    assert {"etas", "diagnostics", "next_samples"} <= set(d)
    # the example's levels (16.2 and 14.1 mg/L on 250 mg q12h) lie below the 20-30 mg/L window
    assert d["predictions"]["levels"][0]["observed_mg_l"] == 16.2


def test_human_output_plot_and_html_report(tmp_path: Path) -> None:
    png, html = tmp_path / "fit.png", tmp_path / "consult.html"
    res = runner.invoke(app, ["tdm", str(EXAMPLE), "--plot", str(png), "--report", str(html)])
    assert res.exit_code == 0, res.output
    assert "TDM regimen — recommended" in res.stdout and "mg/day" in res.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = html.read_text(encoding="utf-8")
    assert "Recommendation" in text and "alghamdi2019" in text
    assert "Screening findings were not available" not in text  # the CLI screens the case
    assert "Current regimen" in res.stdout


def test_other_model(tmp_path: Path) -> None:
    res = runner.invoke(app, ["tdm", str(EXAMPLE), "--json", "--model", "resendiz2025"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)["tdm"]
    assert d["model"]["name"] == "resendiz2025"
    assert list(d["etas"]) == ["cl"]
    # Review regression: its between-occasion variability (ka, MTT, F) has no η in the
    # estimate, so the (very narrow) intervals must carry a caution.
    assert any("between-occasion variability on ka (SD 0.946), mtt (SD 0.835), f (SD 0.207)"
               in w for w in d["recommendation"]["warnings"])


def _err(tmp_path: Path, doc: dict[str, Any], *extra: str) -> str:
    res = runner.invoke(app, ["tdm", str(_write(tmp_path, doc)), *extra])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    return res.stderr


def test_levels_without_doses_exit_2(tmp_path: Path) -> None:
    doc = _doc()
    del doc["regimen"]
    assert "levels: measured levels need a dose history" in _err(tmp_path, doc)


def test_level_before_first_dose_exit_2(tmp_path: Path) -> None:
    doc = _doc()
    doc["levels"][0]["time"] = "2026-02-28T10:00:00"
    assert "levels[0].time" in _err(tmp_path, doc)


def test_non_concentration_unit_exit_2(tmp_path: Path) -> None:
    doc = _doc()
    doc["levels"][1]["unit"] = "mg"
    assert "levels[1].unit" in _err(tmp_path, doc)


def test_negative_level_exit_2(tmp_path: Path) -> None:
    doc = _doc()
    doc["levels"][0]["value"] = -3
    assert "levels[0].value" in _err(tmp_path, doc)


def test_no_levels_exit_2(tmp_path: Path) -> None:
    doc = _doc()
    doc["levels"] = []
    assert "levels" in _err(tmp_path, doc)


def test_bad_report_suffix_and_model_exit_2(tmp_path: Path) -> None:
    assert "--report" in _err(tmp_path, _doc(), "--report", str(tmp_path / "x.docx"))
    assert "settings.model" in _err(tmp_path, _doc(), "--model", "nosuchmodel")


def test_human_output_opens_with_the_lead_headline_of_assess() -> None:
    """`cyclodose tdm` leads with the same headline as `cyclodose assess` (workflows.lead)."""
    import cyclodose
    from cyclodose.intake.case import load_case

    res = runner.invoke(app, ["tdm", str(EXAMPLE)], env={"COLUMNS": "100"})
    assert res.exit_code == 0, res.output
    headline = cyclodose.assess(load_case(EXAMPLE)).lead.headline
    assert headline.startswith("TDM result — recommended:")
    first = " ".join(res.stdout.split("Bayesian TDM")[0].split())
    assert first == f"Recommendation (lead): {headline}"


def test_the_headline_follows_the_lead_status(tmp_path: Path) -> None:
    doc = _doc()
    for lv in doc["levels"]:
        lv["value"] = 48.0  # far above the 30 mg/L ceiling on 250 mg q12h
    res = runner.invoke(app, ["tdm", str(_write(tmp_path, doc))], env={"COLUMNS": "100"})
    assert res.exit_code == 0, res.output
    import cyclodose

    headline = cyclodose.assess(cyclodose.load_case(_write(tmp_path, doc))).lead.headline
    assert headline.startswith("TDM result — verify before any dose change")
    first = " ".join(res.stdout.split("Bayesian TDM")[0].split())
    assert first == f"Recommendation (lead): {headline}"
    assert "regimens below" not in first  # `tdm` shows no regimen below the TDM result
