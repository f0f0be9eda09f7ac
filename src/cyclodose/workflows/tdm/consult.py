"""`tdm_consult(case)`: the TDM consult use case (what `cyclodose tdm` and the report show)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from cyclodose.errors import CaseError
from cyclodose.intake.case import Case
from cyclodose.workflows.assessment import Assessment, assess
from cyclodose.workflows.tdm import Estimate, TdmSection, estimate, to_section


class TdmConsult(BaseModel):
    """`cyclodose tdm --json` is this model's JSON: {"tdm": ...}. The assessment of the same
    case (findings, monitoring) and the estimate's arrays (fit plot) ride along outside it."""

    model_config = ConfigDict(frozen=True)

    tdm: TdmSection
    assessment: Assessment = Field(exclude=True, description="screening and monitoring of the "
                                   "same case, without its own TDM section")
    _estimate: Estimate = PrivateAttr()

    @property
    def estimate(self) -> Estimate:
        return self._estimate

    @property
    def case(self) -> Case:
        """The case the consult was made for (the report's patient and dose tables)."""
        return self._estimate.case


def tdm_consult(case: Case, *, model: str | None = None) -> TdmConsult:
    """The consult for a case with levels; a CaseError naming the field when it cannot be made.

    The case is screened once: the assessment's findings go into the estimate."""
    if not case.levels:
        raise CaseError.single("levels", "TDM needs at least one measured level")
    assessment = assess(case, with_tdm=False)
    est = estimate(case, model, findings=assessment.findings)
    out = TdmConsult(tdm=to_section(est), assessment=assessment)
    out._estimate = est
    return out
