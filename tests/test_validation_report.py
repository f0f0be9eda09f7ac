"""`python -m validation` on a small study: every section written, every check passes,
the run time printed at the end."""

from __future__ import annotations

from pathlib import Path

from validation.run import main
from validation.scenarios import HEADING


def test_validation_report_small(tmp_path: Path) -> None:
    out = tmp_path / "validation.md"
    assert main([str(out), "--n", "8", "--workers", "1"]) == 0
    text = out.read_text(encoding="utf-8")
    for heading in ("## 1. Simulation–estimation study", "## 2. Model averaging",
                    "## 3. MAP against an independent",
                    "### Agreement with ODE integration", "### Typical-patient values",
                    "### Monograph statements", "### Real-world dose histories and occasions",
                    HEADING, "## Run time"):
        assert heading in text, heading
    # a failed check is written as NO: none may fail
    assert "| NO |" not in text
    assert "8 virtual adult TB patients" in text
    for case in ("late dose", "irregular history", "two occasions", "inside the lag"):
        assert f"| {case}" in text, case
    # two patients per model are too few to judge averaging: said, not passed
    assert text.count("| not judged (< 100 patients) |") == 2
    # the run time comes last, with every section and the number of workers
    tail = text[text.index("## Run time"):]
    assert "in one process (`--workers 1`" in tail
    for section in ("| 1. simulation–estimation | 1 |", "| 2. model averaging | 2 |",
                    "| 3. MAP reference | 11 |", "| 4. PK engine | 1 |",
                    "| 5. clinical scenarios | 1 |"):
        assert section in tail, section


def test_bad_arguments_are_a_usage_error(tmp_path: Path, capsys) -> None:
    for argv in (["--n", "0"], ["--workers", "0"], [str(tmp_path / "a.md"), "extra"]):
        assert main(argv) == 2
        assert "usage: python -m validation" in capsys.readouterr().err
    assert not (tmp_path / "a.md").exists()


def test_help_prints_usage_and_writes_no_report(tmp_path: Path, capsys,
                                                monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--help"]) == 0
    assert "usage: python -m validation" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
