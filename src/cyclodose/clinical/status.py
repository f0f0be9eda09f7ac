"""The one status vocabulary of every regimen the core shows (guideline, model-informed, TDM).

The values are the stable JSON strings."""

from __future__ import annotations

from enum import StrEnum


class RegimenStatus(StrEnum):
    RECOMMENDED = "recommended"  # give as written
    VERIFY = "verify before use"  # the estimate is unreliable: confirm with a new level
    CONTRAINDICATED = "contraindicated"  # shown for the prescriber, marked, never silently
    NO_DOSE = "no_dose"  # the guideline gives no dose for this patient
    PREDICTED = "predicted"  # a model-informed prediction (no contraindication found)
    NOT_MODELLED = "unavailable"  # the model cannot predict for this patient (reasons given)
