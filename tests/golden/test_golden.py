"""The CLI's `assess --json` / `tdm --json` outputs stay exactly as recorded.

Regenerate after an intended change with `python -m tests.golden.regen` and list every
changed file with its reason (docs/DEVELOPING.md)."""

from __future__ import annotations

import pytest
from tests.golden.outputs import EXPECTED_DIR, golden_inputs, run_outputs

INPUTS = golden_inputs()


def test_enough_golden_cases() -> None:
    assert len([n for n, _ in INPUTS if not n.startswith("example_")]) >= 30
    assert len(list(EXPECTED_DIR.glob("*.json"))) == 2 * len(INPUTS)


@pytest.mark.parametrize(("name", "path"), INPUTS, ids=[n for n, _ in INPUTS])
def test_outputs_match_golden(name: str, path) -> None:  # type: ignore[no-untyped-def]
    for kind, text in run_outputs(path).items():
        expected = (EXPECTED_DIR / f"{name}.{kind}.json").read_text()
        assert text == expected, f"{name}.{kind}.json differs (python -m tests.golden.regen)"
