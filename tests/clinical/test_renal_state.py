"""Regression (#8): dialysis recorded as a condition gave two renal states at once (severe
renal contraindication *and* CrCl 81 mL/min mild impairment, ATS once-daily options beside
divided doses). `patient.dialysis` alone decides; a contradicting condition is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cyclodose import CaseError, assess, parse_case
from cyclodose.cli import app
from cyclodose.workflows.model_informed import apriori


def _doc(conditions: list[str], dialysis: str = "none") -> dict[str, Any]:
    return {"patient": {"age_years": 40, "sex": "male", "weight_kg": 65, "height_cm": 172,
                        "serum_creatinine": {"value": 80, "unit": "umol/L"},
                        "dialysis": dialysis, "conditions": conditions}}


@pytest.mark.parametrize("condition", ["dialysis", "ICD10:Z99.2", "haemodialysis"])
def test_dialysis_condition_without_the_field_is_refused_naming_both(condition: str) -> None:
    case = parse_case(_doc(["hypertension", condition]))
    with pytest.raises(CaseError) as err:
        assess(case)
    fields = [p.field for p in err.value.problems]
    assert fields == ["patient.conditions[1]", "patient.dialysis"]
    with pytest.raises(CaseError):
        apriori(case)


def test_cli_exit_2_names_both_fields(tmp_path: Any) -> None:
    path = tmp_path / "case.yaml"
    path.write_text("patient: {age_years: 40, sex: male, weight_kg: 65, "
                    "serum_creatinine: {value: 80, unit: umol/L}, conditions: [dialysis]}\n")
    res = CliRunner().invoke(app, ["assess", str(path)])
    assert res.exit_code == 2
    assert "patient.conditions[0]" in res.stderr and "patient.dialysis" in res.stderr


def test_with_the_field_every_section_sees_one_renal_state() -> None:
    a = assess(parse_case(_doc(["dialysis"], dialysis="haemodialysis")))
    assert "contraindication.severe_renal_impairment" in a.codes()
    assert "precaution.renal_impairment" not in a.codes()
    assert a.patient.renal.severe and a.patient.crcl_ml_min is None
    assert a.prediction is not None
    assert not any("mild to moderate" in line for line in a.prediction.rationale)


def test_a_past_dialysis_is_not_a_contradiction() -> None:
    a = assess(parse_case(_doc(["history of dialysis"])))
    assert "contraindication.severe_renal_impairment" not in a.codes()


def test_the_severe_renal_cut_point_is_the_limit_in_rules_and_code() -> None:
    """One severe-renal definition: the screening rule cuts where `limits` does."""
    import yaml

    from cyclodose.limits import SEVERE_RENAL_CRCL_ML_MIN

    rules = yaml.safe_load((Path(__file__).parents[2] / "src/cyclodose/knowledge/data/"
                            "rules.yaml").read_text(encoding="utf-8"))
    code = "contraindication.severe_renal_impairment"
    rule = next(r for r in rules["rules"] if r["code"] == code)
    assert {"crcl_below_ml_min": SEVERE_RENAL_CRCL_ML_MIN} in rule["when"]["any"]
    assert "condition" not in str(rule["when"])  # patient.dialysis alone defines dialysis
