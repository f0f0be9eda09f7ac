"""`cyclodose pta`: JSON shape, table, plots, progress, and exit code 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cyclodose.cli import app

EXAMPLE = Path(__file__).parents[2] / "examples" / "population.yaml"
runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, ["pta", *args])
    return res.exit_code, res.stdout, res.stderr


def test_json_output_one_object_per_regimen() -> None:
    code, out, _ = _run("--population", str(EXAMPLE), "--regimen", "250mg q12h",
                        "--regimen", "250/500mg q12h", "--mic", "4,8,16,32,48,64",
                        "--target", "30,64", "--n", "400", "--json")
    assert code == 0
    data = json.loads(out)["regimens"]
    assert [d["regimen"] for d in data] == ["250mg q12h", "250/500mg q12h"]
    first = data[0]
    for key in ("n", "cmax_mean", "cmax_median", "auc24_mean", "p_cmax_above_30",
                "p_cmax_above_35", "pta", "breakpoint", "above_licensed_maximum", "units"):
        assert key in first
    assert first["n"] == 400
    assert set(first["pta"]) == {"4", "8", "16", "32", "48", "64"}
    assert set(first["pta"]["16"]) == {"30", "64"}
    assert set(first["breakpoint"]) == {"30", "64"}
    # more drug, more exposure: the 750 mg/day pattern has the higher median peak
    assert data[1]["cmax_median"] > first["cmax_median"]
    assert data[1]["daily_dose_mg"] == 750 and not data[1]["above_licensed_maximum"]


def test_table_marks_regimens_above_one_gram(tmp_path: Path) -> None:
    plot = tmp_path / "pta.png"
    code, out, err = _run("--population", str(EXAMPLE), "--regimen", "750mg q12h",
                          "--regimen", "250mg q12h", "--mic", "8,16", "--n", "300",
                          "--plot", str(plot), "--progress")
    assert code == 0, err
    assert "750mg q12h: 1500 mg/day is above the licensed maximum of 1 g/day" in out
    assert "250mg q12h: 500 mg/day" not in out
    assert "not a dosing recommendation" in out
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_grid_and_mic_distribution_options() -> None:
    code, out, _ = _run("--population", str(EXAMPLE), "--regimen", "250mg q12h", "--mic", "16",
                        "--grid", "0.2", "--mic-dist", "8:0.25,16:0.5,32:0.25", "--n", "200",
                        "--json")
    assert code == 0
    (row,) = json.loads(out)["regimens"]
    assert row["tmic_method"] == "grid 0.2 h"
    assert set(row["pta"]) == {"8", "16", "32"} and set(row["cfr"]) == {"30", "64"}


@pytest.mark.parametrize(("args", "field"), [
    (["--regimen", "lots q12h"], "regimen"),
    (["--regimen", "250mg q12h", "--mic", "8,x"], "mic"),
    (["--regimen", "250mg q12h", "--target", "0"], "target"),
    (["--regimen", "250mg q12h", "--grid", "0.7"], "grid"),
    (["--regimen", "250mg q12h", "--mic-dist", "8-1"], "mic-dist"),
    (["--regimen", "250mg q12h", "--backend", "gpu"], "backend"),
    (["--regimen", "250mg q12h", "--scheduler", "tcp://x:1"], "scheduler"),
    (["--regimen", "250mg q12h", "--n", "0"], "n"),
])
def test_bad_options_exit_2_naming_the_field(args: list[str], field: str) -> None:
    code, _, err = _run("--population", str(EXAMPLE), *args)
    assert code == 2
    assert f"error: {field}:" in err


def test_bad_spec_file_exits_2_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "pop.yaml"
    bad.write_text("n: 100\nseed: 1\ncovariates:\n  weight_kg: {dist: normal, mean: 58, min: 35}\n")
    code, _, err = _run("--population", str(bad), "--regimen", "250mg q12h")
    assert code == 2
    assert "error: covariates.weight_kg:" in err and "sd" in err
    code, _, err = _run("--population", str(tmp_path / "missing.yaml"), "--regimen", "250mg q12h")
    assert code == 2 and "error: population:" in err


def test_dask_backend_on_a_local_cluster_matches_numpy() -> None:
    args = ["--population", str(EXAMPLE), "--regimen", "250/500mg q12h", "--mic", "16,32",
            "--n", "600", "--chunk-size", "200", "--json"]
    code_np, out_np, _ = _run(*args)
    code_dk, out_dk, err = _run(*args, "--backend", "dask")
    assert code_np == 0 and code_dk == 0, err
    assert json.loads(out_np) == json.loads(out_dk)
