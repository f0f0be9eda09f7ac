"""`cyclodose tdm` lab options and `cyclodose export` through the real app (#14)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from cyclodose.cli import app

runner = CliRunner()
EXAMPLE = Path(__file__).parents[2] / "examples" / "tdm_two_levels.yaml"


def test_predict_at_in_json_and_text() -> None:
    res = runner.invoke(app, ["tdm", str(EXAMPLE), "--json", "--seed", "7",
                              "--predict-at", "2026-03-12T10:00,2026-03-12T14:00"])
    assert res.exit_code == 0, res.output
    at = json.loads(res.stdout)["tdm"]["predictions"]["predicted_at"]
    assert [p["clock"] for p in at] == ["2026-03-12T10:00", "2026-03-12T14:00"]
    text = runner.invoke(app, ["tdm", str(EXAMPLE), "--predict-at", "2026-03-12T10:00"])
    assert text.exit_code == 0 and "Predicted concentrations at the requested times" in text.stdout
    flat = " ".join(text.stdout.split())  # independent of line wrapping
    assert "a measured level, residual error included" in flat


def test_bad_lab_options_are_user_errors() -> None:
    for args, field in ((["--predict-at", "2026-03-12T10:00+03:00"], "--predict-at"),
                        (["--predict-at", "tomorrow"], "--predict-at"),
                        (["--regimens", "2g q12h"], "--regimens"),
                        (["--sample-after", "two"], "--sample-after")):
        res = runner.invoke(app, ["tdm", str(EXAMPLE), *args])
        assert res.exit_code == 2, args
        assert f"error: {field}:" in res.stderr


def test_export_nonmem_and_mrgsolve(tmp_path: Path) -> None:
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    doc["levels"].append({"time": "2026-03-10T19:30:00", "value": "<2", "unit": "mg/L"})
    case = tmp_path / "case.yaml"
    case.write_text(yaml.safe_dump(doc), encoding="utf-8")
    res = runner.invoke(app, ["export", str(case)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert list(rows[0])[:9] == ["ID", "TIME", "AMT", "DV", "MDV", "EVID", "CMT", "BLQ", "LLOQ"]
    doses = [r for r in rows if r["EVID"] == "1"]
    levels = [r for r in rows if r["EVID"] == "0"]
    assert len(doses) == 20 and len(levels) == 3
    assert all(r["AMT"] == "250" and r["MDV"] == "1" and r["CMT"] == "1" for r in doses)
    assert [r["DV"] for r in levels] == ["16.2", "14.1", "2"]
    assert [r["BLQ"] for r in levels] == ["0", "0", "1"] and levels[2]["LLOQ"] == "2"
    assert float(levels[0]["TIME"]) == 218.0 and levels[0]["WT"] == "58"
    times = [float(r["TIME"]) for r in rows]
    assert times == sorted(times)
    out = tmp_path / "data.csv"
    res = runner.invoke(app, ["export", str(case), "--format", "mrgsolve", "--out", str(out)])
    assert res.exit_code == 0, res.output
    mr = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {"time", "evid", "amt", "cmt", "ii", "addl", "ss", "mdv", "DV"} <= set(mr[0])
    assert mr[0]["DV"] == "0" and mr[0]["LLOQ"] == "NA"
    bad = runner.invoke(app, ["export", str(case), "--format", "sas"])
    assert bad.exit_code == 2 and "error: --format:" in bad.stderr
