"""`cyclodose schema [case|assessment]` (issue #8: the Assessment's schema, tdm included)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cyclodose.cli import app

GOLDEN = Path(__file__).parents[1] / "golden" / "expected"
runner = CliRunner()


def _schema(*args: str) -> dict[str, Any]:
    res = runner.invoke(app, ["schema", *args])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _untyped(node: Any, path: str = "") -> list[str]:
    """Properties whose schema says nothing about their type (an `Any`)."""
    out: list[str] = []
    if isinstance(node, dict):
        if node.get("additionalProperties") is True:
            out.append(f"{path} (any keys)")
        for key, sub in node.get("properties", {}).items():
            if not any(k in sub for k in ("type", "$ref", "anyOf", "allOf", "oneOf", "enum",
                                          "const")):
                out.append(f"{path}.{key}")
        for key, sub in node.items():
            out += _untyped(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for sub in node:
            out += _untyped(sub, path)
    return out


def test_schema_and_schema_case_print_the_case_document() -> None:
    case = _schema()
    assert case == _schema("case")
    assert "patient" in case["properties"]


def test_assessment_schema_types_every_field_and_describes_the_tdm_section() -> None:
    schema = _schema("assessment")
    assert _untyped(schema) == []
    defs = schema["$defs"]
    tdm = json.loads((GOLDEN / "example_tdm_two_levels.tdm.json").read_text())["tdm"]
    # every key of the output is described; model_averaging appears with settings.model auto
    assert set(defs["TdmSection"]["properties"]) == set(tdm) | {"model_averaging"}
    assert set(defs["ModelAveraging"]["properties"]) == {"weights", "method", "why"}
    rec_fields = set(defs["TdmRecommendation"]["properties"])
    assert set(tdm["recommendation"]) <= rec_fields
    assert set(defs["LevelFit"]["properties"]) == set(tdm["predictions"]["levels"][0])
    assert defs["TdmUnavailable"]["required"] == ["unavailable"]


def test_unknown_schema_is_a_user_error() -> None:
    res = runner.invoke(app, ["schema", "nonsense"])
    assert res.exit_code == 2
    assert "schema" in res.stderr
