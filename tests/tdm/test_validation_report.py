"""`python -m cyclodose.validation` on a small study: every section written, every check passes."""

from __future__ import annotations

from pathlib import Path

from cyclodose.validation import main


def test_validation_report_small(tmp_path: Path) -> None:
    out = tmp_path / "validation.md"
    assert main([str(out), "--n", "8"]) == 0
    text = out.read_text(encoding="utf-8")
    for heading in ("## 1. Simulation–estimation study", "## 2. Model averaging",
                    "## 3. MAP against an independent",
                    "### Agreement with ODE integration", "### Typical-patient values",
                    "### Monograph statements", "### Real-world dose histories and occasions"):
        assert heading in text, heading
    # a failed check is written as NO: none may fail
    assert "| NO |" not in text
    assert "8 virtual adult TB patients" in text
    for case in ("late dose", "irregular history", "two occasions", "inside the lag"):
        assert f"| {case}" in text, case
