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
    # Outside the model's population (children for both adult models): the numbers are an
    # extrapolation shown for information, never a regimen to give.
    EXTRAPOLATION = "extrapolation, for information only"
    # Predicted more likely than not to peak above 30 mg/L (limits.MAX_P_PEAK_ABOVE_CEILING).
    NOT_RECOMMENDED = "not recommended"
    # CNS or skin toxicity on treatment: hold or reduce, urgent level, review before any regimen.
    HOLD = "hold and review"
