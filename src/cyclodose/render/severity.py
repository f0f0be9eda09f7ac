"""Finding severity → FHIR DetectedIssue severity and CDS Hooks card indicator (one mapping)."""

from __future__ import annotations

from typing import Literal

DetectedIssueSeverity = Literal["high", "moderate", "low"]
Indicator = Literal["critical", "warning", "info"]

# Contraindicated and "avoid" findings block a regimen (cyclodose.clinical.blocking): they are the
# critical ones; warnings and cautions ask for attention; info is information.
DETECTED_ISSUE: dict[str, DetectedIssueSeverity] = {
    "contraindicated": "high", "avoid": "high", "warning": "moderate", "caution": "low",
    "info": "low"}
INDICATOR: dict[str, Indicator] = {
    "contraindicated": "critical", "avoid": "critical", "warning": "warning",
    "caution": "warning", "info": "info"}
