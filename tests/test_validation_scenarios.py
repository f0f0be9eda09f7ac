"""docs/validation.md section 4 comes from real runs: the splice keeps the other sections and
writes every scenario with what the tool says and its sources."""

from cyclodose.validation_scenarios import HEADING, SCENARIOS, SECTION, splice


def test_scenarios_section_is_generated_from_assess_and_replaces_only_itself() -> None:
    text = splice("# report\n\n## 1. other\n\nkept\n\n" + HEADING + "\n\nstale\n")
    assert text.startswith("# report") and "kept" in text and "stale" not in text
    assert text.count(f"### {SECTION}.") == len(SCENARIOS)
    assert "hold and review" in text and "Refused" in text and "Sources: " in text
