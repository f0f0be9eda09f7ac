"""docs/population.md shows what the worked-example command really prints."""

from __future__ import annotations

from tests.population.docs_example import DOC, blocks, render


def test_worked_example_in_the_docs_is_current() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert render(doc, blocks()) == doc, (
        "docs/population.md is stale: run python -m tests.population.docs_example")
