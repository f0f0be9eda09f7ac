"""docs/validation.md section 5 comes from real runs: the splice keeps the other sections and
writes every scenario with what the tool says and its sources."""

from validation.scenarios import HEADING, SCENARIOS, SECTION, splice


def test_scenarios_section_is_generated_from_assess_and_replaces_only_itself() -> None:
    text = splice("# report\n\n## 1. other\n\nkept\n\n" + HEADING + "\n\nstale\n\n"
                  "## Run time\n\nlast\n")
    assert text.startswith("# report") and "kept" in text and "stale" not in text
    assert text.count(f"### {SECTION}.") == len(SCENARIOS)
    assert "hold and review" in text and "Refused" in text and "Sources: " in text
    # the section after the scenarios stays, after them
    assert text.index("## Run time\n\nlast") > text.index(f"### {SECTION}.{len(SCENARIOS)}.")


def test_splice_appends_a_missing_section() -> None:
    text = splice("# report\n\n## 1. other\n", section=HEADING + "\n\nnew")
    assert text == "# report\n\n## 1. other\n\n" + HEADING + "\n\nnew\n"
