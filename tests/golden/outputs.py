"""Where the golden cases live and how their outputs are produced (the CLI, in process)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"
EXPECTED_DIR = HERE / "expected"
KINDS = ("assess", "tdm")


def golden_inputs() -> list[tuple[str, Path]]:
    examples = [(f"example_{p.stem}", p) for p in sorted((ROOT / "examples").glob("*.yaml"))
                if p.stem != "population"]  # a population spec, not a case
    generated = [(p.stem, p) for p in sorted(CASES_DIR.glob("*.yaml"))]
    return examples + generated


def run_outputs(path: Path) -> dict[str, str]:
    """{"assess": text, "tdm": text}: JSON on success, or the exit code and stderr lines."""
    from cyclodose.cli import app

    runner = CliRunner()
    out = {}
    for kind in KINDS:
        res = runner.invoke(app, [kind, str(path), "--json"], env={"COLUMNS": "100"})
        if res.exit_code == 0:
            out[kind] = res.stdout
        else:
            if res.exception is not None and not isinstance(res.exception, SystemExit):
                raise res.exception
            out[kind] = f'{{"exit_code": {res.exit_code}, "stderr": {_lines(res.stderr)}}}\n'
    return out


def _lines(text: str) -> str:
    return json.dumps(text.splitlines(), ensure_ascii=False)
