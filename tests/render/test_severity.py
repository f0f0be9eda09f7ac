"""One mapping from finding severity to DetectedIssue severity and CDS indicator, complete."""

from typing import get_args

from cyclodose.clinical.screening import Severity
from cyclodose.render.severity import DETECTED_ISSUE, INDICATOR


def test_every_severity_has_a_detected_issue_severity_and_an_indicator() -> None:
    assert set(DETECTED_ISSUE) == set(INDICATOR) == set(get_args(Severity))
    assert set(DETECTED_ISSUE.values()) <= {"high", "moderate", "low"}
    assert set(INDICATOR.values()) <= {"critical", "warning", "info"}
