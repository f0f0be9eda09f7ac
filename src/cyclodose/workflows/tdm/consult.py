"""`tdm_consult(case)`: the TDM consult use case (what `cyclodose tdm` and the report show)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from cyclodose import pk
from cyclodose.clinical.tdm_regimen import CandidateRegimen
from cyclodose.errors import CaseError
from cyclodose.intake.case import Case
from cyclodose.limits import MAX_DAILY_DOSE_MG
from cyclodose.workflows.assessment import Assessment, assess
from cyclodose.workflows.lead import lead_for
from cyclodose.workflows.tdm import Estimate, TdmSection, estimate, to_section
from cyclodose.workflows.tdm.current import candidate_from_pattern
from cyclodose.workflows.tdm.pipeline import DEFAULT_SEED


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


MAX_PREDICT_AHEAD_H = 366 * 24.0
MAX_SAMPLE_AFTER_H = 24.0


def _regimens(case: Case, texts: list[str]) -> list[CandidateRegimen]:
    out = []
    for text in texts:
        pattern = pk.parse_regimen(text, "--regimens")
        if pattern.daily_dose_mg > MAX_DAILY_DOSE_MG + 1e-9:
            raise CaseError.single("--regimens", f"{text!r} gives {pattern.daily_dose_mg:g} "
                                   f"mg/day, above {MAX_DAILY_DOSE_MG:g} mg/day")
        out.append(candidate_from_pattern(pattern, case.settings.capsule_strengths_mg))
    return out


def tdm_consult(case: Case, *, model: str | None = None, seed: int = DEFAULT_SEED,
                predict_at_h: tuple[float, ...] = (), regimens: list[str] | None = None,
                sample_after_h: tuple[float, ...] | None = None) -> TdmConsult:
    """The consult for a case with levels; a CaseError naming the field when it cannot be made.

    `regimens`: the candidate regimens to consider ("250mg q12h", ...; default the capsule
    grid); `predict_at_h`: times (hours from the first dose) to predict at; `sample_after_h`:
    the sample times after a dose to advise (default 2 h and 6 h). The case is screened once:
    the assessment's findings go into the estimate."""
    if not case.levels:
        raise CaseError.single("levels", "TDM needs at least one measured level")
    last = max([d.time_h for d in case.doses] + [lv.time_h for lv in case.levels])
    if any(not 0.0 <= t <= last + MAX_PREDICT_AHEAD_H for t in predict_at_h):
        raise CaseError.single("--predict-at", "times must lie between the first dose and one "
                               "year after the last dose or level")
    if sample_after_h is not None and (
            not sample_after_h or any(not 0.0 < t <= MAX_SAMPLE_AFTER_H for t in sample_after_h)):
        raise CaseError.single("--sample-after", f"give hours after a dose within 0-"
                               f"{MAX_SAMPLE_AFTER_H:g} h, e.g. 2,6")
    candidates = _regimens(case, regimens) if regimens else None
    assessment = assess(case, with_tdm=False)
    est = estimate(case, model, seed=seed, candidates=candidates, findings=assessment.findings,
                   predict_at_h=predict_at_h, sample_after_h=sample_after_h)
    tdm = to_section(est)
    # The assessment was made without its own estimate: its lead is this consult's result.
    assessment = assessment.model_copy(update={
        "lead": lead_for(assessment.recommendation, tdm, levels=True)})
    out = TdmConsult(tdm=tdm, assessment=assessment)
    out._estimate = est
    return out
