"""`cyclodose simulate` and `cyclodose models` through the Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cyclodose.cli import app

runner = CliRunner()

CASE = {
    "patient": {"age_years": 40, "sex": "male", "weight_kg": 60,
                "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}},
    "regimen": {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 14},
    "levels": [{"time": "2026-03-07T10:00:00", "value": 24.5, "unit": "mg/L"}],
    "target": {"mic_mg_l": 16},
}


@pytest.fixture()
def case_file(tmp_path: Path) -> Path:
    p = tmp_path / "case.yaml"
    p.write_text(yaml.safe_dump(CASE))
    return p


def test_simulate_json_metrics_per_interval(case_file: Path) -> None:
    res = runner.invoke(app, ["simulate", str(case_file), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)["simulation"]
    assert doc["model"]["name"] == "alghamdi2019"
    assert len(doc["intervals"]) == 14
    first, last = doc["intervals"][0], doc["intervals"][-1]
    assert first["clock"] == "2026-03-01T08:00" and first["dose_mg"] == 250
    # single 250 mg peak ~10 mg/L (monograph); at day 7 the typical q12h peak approaches
    # the steady-state 24.9 mg/L of pharmacology.md §1 (CrCl 92.6 here, slightly higher CL)
    assert 8 < first["cmax_mg_l"] < 12
    assert 20 < last["cmax_mg_l"] < 26
    assert last["tmic_pct"] is not None and 0 <= last["tmic_pct"] <= 100
    (level,) = doc["levels"]
    assert level["observed_mg_l"] == 24.5
    assert level["band_p05_mg_l"] < level["typical_mg_l"] < level["band_p95_mg_l"]
    assert "time_h" not in doc  # the dense curve stays out of the JSON


def test_simulate_plot_and_days(case_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "curve.svg"
    res = runner.invoke(app, ["simulate", str(case_file), "--days", "3", "--plot", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "<svg" in text and "toxicity ceiling" in text
    assert "plot written" in res.stdout


def test_simulate_other_model(case_file: Path, tmp_path: Path) -> None:
    data = dict(CASE)
    data["patient"] = {**CASE["patient"], "height_cm": 170}  # type: ignore[dict-item]
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(data))
    res = runner.invoke(app, ["simulate", str(p), "--model", "resendiz2025", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["simulation"]["model"]["name"] == "resendiz2025"


@pytest.mark.parametrize("args,field", [
    (["--model", "nope"], "settings.model"),
    (["--plot", "x.gif"], "--plot"),
    (["--days", "0"], "--days"),
])
def test_simulate_user_errors(case_file: Path, args: list[str], field: str) -> None:
    res = runner.invoke(app, ["simulate", str(case_file), *args])
    assert res.exit_code == 2
    assert f"error: {field}:" in res.output


def test_simulate_needs_a_regimen(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"patient": CASE["patient"]}))
    res = runner.invoke(app, ["simulate", str(p)])
    assert res.exit_code == 2 and "error: regimen:" in res.output


def test_models_json_and_table() -> None:
    res = runner.invoke(app, ["models", "--json"])
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["default"] == "alghamdi2019"
    names = [m["name"] for m in doc["models"]]
    assert names == ["alghamdi2019", "resendiz2025"]
    assert doc["models"][0]["iiv_sd"]["cl"] == pytest.approx(0.353)
    table = runner.invoke(app, ["models"])
    assert table.exit_code == 0 and "resendiz2025" in table.stdout and "(default)" in table.stdout


def test_simulate_states_the_locf_rule(tmp_path: Path) -> None:
    data = {**CASE, "patient": {**CASE["patient"], "covariate_history": [  # type: ignore[dict-item]
        {"time": "2026-03-04T08:00:00", "serum_creatinine": {"value": 2.0, "unit": "mg/dL"}}]}}
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(data))
    res = runner.invoke(app, ["simulate", str(p), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)["simulation"]
    assert "last-observation-carried-forward" in doc["covariate_rule"]
    # creatinine doubles on day 4: clearance falls, so later peaks exceed the unchanged case
    plain = tmp_path / "plain.yaml"
    plain.write_text(yaml.safe_dump(CASE))
    ref = json.loads(runner.invoke(app, ["simulate", str(plain), "--json"]).stdout)["simulation"]
    assert doc["intervals"][-1]["cmax_mg_l"] > ref["intervals"][-1]["cmax_mg_l"]
    assert doc["intervals"][0]["cmax_mg_l"] == ref["intervals"][0]["cmax_mg_l"]
