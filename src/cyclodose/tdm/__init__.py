"""Bayesian therapeutic drug monitoring, one module per stage (mapbayr-style):

check → preprocess → objective → optimise (MAP, restarts) → posterior (Laplace, SIR)
→ forecast → diagnostics → regimen → sampling.

Public API: `estimate(case) -> Estimate`, `to_dict(estimate)` (the `tdm` JSON) and
`tdm_section(case)` (what `assess` includes when the case has levels).
"""

from __future__ import annotations

from typing import Any

from cyclodose.case import Case
from cyclodose.errors import CaseError
from cyclodose.tdm.pipeline import Estimate, estimate
from cyclodose.tdm.result import to_dict

__all__ = ["Estimate", "estimate", "tdm_section", "to_dict"]


def tdm_section(case: Case) -> dict[str, Any] | None:
    """The `tdm` section of an assessment: None without levels; the estimate's document with
    levels; `{"unavailable": [...]}` naming the fields when the estimate cannot be made."""
    if not case.levels:
        return None
    try:
        return to_dict(estimate(case))
    except CaseError as exc:
        return {"unavailable": [f"{p.field}: {p.reason}" for p in exc.problems]}
