"""The TDM consult: the Bayesian estimate from measured levels and the regimen it
recommends, as a typed section (`TdmSection`), or `TdmUnavailable` with the reasons. The use
case itself is `consult.tdm_consult` (it needs the assessment, which includes this section).

Stages (mapbayr-style, engine in `cyclodose.tdm`): check → preprocess → objective → optimise
(MAP, restarts) → posterior (Laplace, SIR) → forecast → diagnostics → regimen → sampling.
"""

from __future__ import annotations

from cyclodose.clinical.screening import Finding
from cyclodose.errors import CaseError
from cyclodose.intake.case import Case
from cyclodose.workflows.tdm.pipeline import Estimate, estimate
from cyclodose.workflows.tdm.result import to_dict
from cyclodose.workflows.tdm.section import TdmSection, TdmUnavailable

__all__ = ["Estimate", "TdmSection", "TdmUnavailable", "estimate", "tdm_section",
           "to_dict", "to_section"]


def to_section(est: Estimate) -> TdmSection:
    return TdmSection.model_validate(to_dict(est))


def tdm_section(case: Case, findings: tuple[Finding, ...]) -> TdmSection | TdmUnavailable | None:
    """The `tdm` section of an assessment: None without levels; `TdmUnavailable` naming the
    fields when the estimate cannot be made. `findings`: the assessment's screening."""
    if not case.levels:
        return None
    try:
        return to_section(estimate(case, findings=findings))
    except CaseError as exc:
        return TdmUnavailable(unavailable=[f"{p.field}: {p.reason}" for p in exc.problems])
