"""`cyclodose pta`: JSON shape, table, plots, progress, and exit code 2 on bad input."""

from __future__ import annotations

import csv
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


# ---- issue 15 -------------------------------------------------------------------------

REGIMENS_YAML = """\
regimens:
  - name: WHO-style weight bands
    bands:
      - {weight_kg: [null, 46], regimen: "250mg q12h"}
      - {weight_kg: [46, null], regimen: "250/500mg q12h"}
  - name: 15 mg/kg/day in two doses
    mg_per_kg_day: 15
    doses_per_day: 2
    round_to_mg: 125
  - regimen: 250mg q12h
"""


@pytest.mark.parametrize(("path", "reason"), [
    ("/nonexistent/dir/p{suffix}", "does not exist"),
    ("p.txt", "suffix"),
])
def test_plot_and_export_paths_checked_before_computing(tmp_path: Path, path: str,
                                                         reason: str) -> None:
    for option, suffix in (("--plot", ".png"), ("--export", ".csv")):
        name = path.format(suffix=suffix)
        target = name if name.startswith("/") else str(tmp_path / name)
        # n = 10 million would take minutes: an immediate exit shows nothing was computed
        code, _, err = _run("--population", str(EXAMPLE), "--regimen", "250mg q12h",
                            "--n", "10000000", option, target)
        assert code == 2, err
        assert f"error: {option[2:]}:" in err and reason in err


@pytest.mark.parametrize(("args", "field"), [
    (["--regimen", "250mg q12h", "--workers", "0"], "workers"),
    (["--regimen", "250mg q12h", "--mic", "8,16,8"], "mic"),
    (["--regimen", "250mg q12h", "--target", "30,30"], "target"),
    (["--regimen", "250mg q12h", "--mic-dist", "8:0.5,8:0.5"], "mic-dist"),
    (["--regimen", "250mg q12h", "--mic-dist", "8:0.2,16:0.5"], "mic_distribution"),
    (["--regimen", "250/500mg q24h"], "regimen"),
    ([], "regimen"),
])
def test_issue15_bad_flags_exit_2(args: list[str], field: str) -> None:
    code, _, err = _run("--population", str(EXAMPLE), "--n", "50", *args)
    assert code == 2
    assert f"error: {field}:" in err


def test_version() -> None:
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout.startswith("cyclodose 0.")


def test_regimens_file_provenance_groups_and_export(tmp_path: Path) -> None:
    regs = tmp_path / "regimens.yaml"
    regs.write_text(REGIMENS_YAML)
    dist = tmp_path / "mic.yaml"
    dist.write_text("source: a made-up test distribution\ncounts: {8: 20, 16: 50, 32: 30}\n")
    export = tmp_path / "patients.csv"
    code, out, err = _run("--population", str(EXAMPLE), "--regimens", str(regs), "--n", "300",
                          "--mic", "8,16", "--mic-dist-file", str(dist), "--export",
                          str(export), "--auc-target", "30", "--json")
    assert code == 0, err
    data = json.loads(out)
    prov = data["provenance"]
    assert prov["seed"] == 1 and prov["n"] == 300 and prov["cyclodose_version"]
    assert prov["model"]["name"] == "alghamdi2019" and prov["model"]["version"]
    assert prov["population_spec"]["covariates"]["weight_kg"]["sd"] == 12.2
    assert len(prov["population_file"]["sha256"]) == 64
    assert prov["between_subject_variability"]["used"] is True
    assert prov["between_occasion_variability"]["used"] is False
    assert prov["mic_distribution"]["source"] == "a made-up test distribution"
    assert prov["mic_distribution"]["frequencies"] == {"8": 0.2, "16": 0.5, "32": 0.3}
    assert "steady state" in prov["tmic_definition"]
    assert prov["regimens"][0]["bands"][1]["regimen"] == "250/500mg q12h"
    assert prov["targets"]["auc24_mic"] == [30.0]
    bands, per_kg, plain = data["regimens"]
    assert [g["group"] for g in bands["groups"]] == ["weight < 46 kg: 250mg q12h",
                                                     "weight >= 46 kg: 250/500mg q12h"]
    assert sum(g["n"] for g in bands["groups"]) == 300
    assert per_kg["kind"] == "mg_per_kg" and per_kg["daily_dose"]["mg_per_kg"]["median"] > 10
    assert plain["pta_ci95"]["16"]["30"][0] <= plain["pta"]["16"]["30"]
    assert "cfr_ci95" in plain and plain["cfr"] is not None
    with export.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 900 and rows[0]["patient"] == "1"
    sidecar = json.loads((tmp_path / "patients.provenance.json").read_text())
    assert sidecar == prov


def test_iov_and_day_options_reach_the_provenance() -> None:
    code, out, err = _run("--population", str(EXAMPLE), "--regimen", "250mg q12h", "--mic",
                          "16", "--n", "100", "--iov", "--day", "7", "--json")
    assert code == 0, err
    prov = json.loads(out)["provenance"]
    assert prov["between_occasion_variability"]["used"] is True
    assert prov["between_occasion_variability"]["sd_log_scale"] == {"cl": 0.19}
    assert prov["exposure"] == "day 7 of treatment" and "144 h to 168 h" in prov[
        "tmic_definition"]
    code, out, _ = _run("--population", str(EXAMPLE), "--regimen", "250mg q12h", "--mic", "16",
                        "--n", "100", "--day", "7")
    assert code == 0 and "Day 7 of treatment" in out and "between-occasion on" not in out


def test_text_output_shows_cfr_intervals_and_validity_warnings() -> None:
    code, out, err = _run("--population", str(EXAMPLE), "--regimen", "250mg q12h",
                          "--mic", "8,16,32", "--mic-dist", "8:0.2,16:0.5,32:0.3", "--n", "2000")
    assert code == 0, err
    assert "CFR" in out and "(95 % CI)" in out
    assert "warning: " in out and "CrCl below 30 mL/min" in out
    assert "cyclodose 0." in out and "seed 1" in out


def test_plot_caption_carries_the_validity_warnings(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import cyclodose.population.plots as plots

    seen: list[str] = []
    original = plots.plot_pta

    def spy(results: object, path: Path, caption: list[str] | None = None,
            source: str = "") -> Path:
        seen.extend(caption or [])
        seen.append(source)
        return original(results, path, caption=caption, source=source)  # type: ignore[arg-type]

    monkeypatch.setattr(plots, "plot_pta", spy)
    plot = tmp_path / "p.svg"
    code, _, err = _run("--population", str(EXAMPLE), "--regimen", "250mg q12h", "--mic", "16",
                        "--n", "2000", "--plot", str(plot))
    assert code == 0, err
    assert any("CrCl below 30 mL/min" in w for w in seen)
    assert "seed 1" in seen[-1] and "cyclodose 0." in seen[-1]
    assert "CrCl below 30 mL/min" in plot.read_text() and "seed 1" in plot.read_text()


@pytest.mark.parametrize(("text", "field"), [
    ("source: x\ncounts: {8: 1}\nfrequencies: {8: 1}\n", "mic_dist_file"),
    ("source: x\nfrequencies: {8: 0.5, 16: 0.2}\n", "mic_dist_file.frequencies"),
    ("counts: {8: 1}\n", "mic_dist_file.source"),
    ("source: x\ncounts: {8: 1, 8: 2}\n", "mic_dist_file"),
])
def test_bad_mic_distribution_files(tmp_path: Path, text: str, field: str) -> None:
    dist = tmp_path / "mic.yaml"
    dist.write_text(text)
    code, _, err = _run("--population", str(EXAMPLE), "--regimen", "250mg q12h", "--n", "20",
                        "--mic-dist-file", str(dist))
    assert code == 2
    assert f"error: {field}:" in err


@pytest.mark.parametrize(("text", "field"), [
    ("regimens: []\n", "regimens"),
    ("regimens:\n  - {regimen: 250mg q12h, mg_per_kg_day: 15}\n", "regimens[0]"),
    ("regimens:\n  - {mg_per_kg_day: 15, doses_per_day: 2}\n", "regimens[0]"),
    ("regimens:\n  - bands: [{weight_kg: [null, 46], regimen: 250mg q12h}]\n",
     "regimens[0].bands"),
    ("regimens:\n  - {regimen: 250/500mg q24h}\n", "regimens[0].regimen"),
])
def test_bad_regimens_files(tmp_path: Path, text: str, field: str) -> None:
    regs = tmp_path / "regs.yaml"
    regs.write_text(text)
    code, _, err = _run("--population", str(EXAMPLE), "--regimens", str(regs), "--n", "20")
    assert code == 2
    assert f"error: {field}:" in err
