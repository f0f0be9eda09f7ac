"""`cyclodose assess bundle.json`: a FHIR R4 Bundle where a Case file is expected."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cyclodose.cli import app

runner = CliRunner()
HL7 = Path(__file__).parents[1] / "interop" / "fixtures" / "hl7_bundle.json"


def test_bundle_is_assessed_and_what_was_read_is_shown() -> None:
    res = runner.invoke(app, ["assess", str(HL7), "--at", "2016-04-10T09:00:00"],
                        env={"COLUMNS": "160"})
    assert res.exit_code == 0, res.output
    assert "Observation/example" in res.output and "185 [lb_av]" in res.output
    assert "83.9 kg" in res.output and "1.38 mg/dL" in res.output


def test_bundle_json_adds_fhir_input_and_keeps_the_assessment_keys() -> None:
    res = runner.invoke(app, ["assess", str(HL7), "--json", "--at", "2016-05-30T09:00:00Z"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert {"patient", "findings", "recommendation", "monitoring"} <= set(out)
    assert [f["code"] for f in out["fhir_input"]["flags"]][0] == "creatinine.stale"


def test_a_bad_unit_in_a_bundle_exits_2_naming_resource_and_element(tmp_path: Path) -> None:
    b = json.loads(HL7.read_text())
    b["entry"][1]["resource"]["valueQuantity"]["code"] = "cm"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(b))
    res = runner.invoke(app, ["assess", str(path)])
    assert res.exit_code == 2
    assert "Observation/example.valueQuantity.code: 'cm' is not a mass unit" in res.output


def test_fhir_output_is_a_bundle_for_the_bundle_patient() -> None:
    res = runner.invoke(app, ["assess", str(HL7), "--fhir", "--at", "2016-04-10T09:00:00"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["resourceType"] == "Bundle"
    mr = next(e["resource"] for e in out["entry"]
              if e["resource"]["resourceType"] == "MedicationRequest")
    assert mr["subject"] == {"reference": "Patient/example"} and mr["status"] == "draft"
