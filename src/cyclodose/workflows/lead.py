"""Which regimen section leads an assessment, and how every interface labels the others.

The one place of this policy (issue #9, "three regimens that contradict each other"): once
levels exist, the TDM result leads, because it is the only section that uses them; the
guideline regimen and the population-model regimen follow, each labelled as not using the
levels. When the TDM result cannot be acted on (no estimate, or its status is not
`recommended`), the lead says what the clinician must do instead, and no other section takes
its place as if recommended. Without levels the guideline regimen leads and the
model-informed regimen is shown beside it.

Renderers (text, report, pages, cards, FHIR) show `Lead.headline` first and the sections in
`Lead.sections` order with their titles: none of them decides this.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cyclodose.clinical.dosing import Recommendation
from cyclodose.clinical.status import RegimenStatus
from cyclodose.limits import CEILING_MG_L
from cyclodose.workflows.tdm.section import TdmSection, TdmUnavailable

SectionName = Literal["tdm", "guideline", "model_informed"]

_TITLES: dict[tuple[SectionName, bool], str] = {  # (section, levels exist) -> title
    ("tdm", True): "TDM result (uses the measured levels)",
    ("guideline", False): "Guideline regimen",
    ("guideline", True): "Guideline regimen (for reference; does not use the measured levels)",
    ("model_informed", False): "Model-informed regimen (beside the guideline regimen)",
    ("model_informed", True): "Model-informed regimen (population model, for reference; "
                              "ignores the measured levels)",
}

# What the clinician must do when the TDM result is not to be given as written.
_TDM_NOT_TO_GIVE = {
    RegimenStatus.VERIFY: "verify before any dose change: the estimate is unreliable or the "
                          "levels do not fit the model; check the dose and sample times and the "
                          "dose history, and confirm with a new level",
    RegimenStatus.HOLD: "hold and review: toxicity on treatment; hold or reduce cycloserine, take "
                        "an urgent level and review before any regimen",
    RegimenStatus.CONTRAINDICATED: "contraindicated: a regimen applies only if the prescriber "
                                   "judges that benefit outweighs risk (see the findings)",
    RegimenStatus.NOT_RECOMMENDED: "not recommended: even the best regimen is predicted more "
                                   f"likely than not to peak above {CEILING_MG_L:g} mg/L; review "
                                   "the levels and the dose history",
}
# No "below": `cyclodose tdm` and the consult report show this headline without those sections.
_NOT_INSTEAD = ("The guideline and population-model regimens do not use the levels and "
                "do not replace the TDM result.")


class SectionLabel(BaseModel):
    """One regimen section as every interface shows it."""

    model_config = ConfigDict(frozen=True)

    name: SectionName
    title: str = Field(description="the heading every interface shows")
    role: Literal["lead", "reference"]
    uses_levels: bool


class Lead(BaseModel):
    """The lead recommendation of an assessment and the order of its regimen sections."""

    model_config = ConfigDict(frozen=True)

    section: Literal["tdm", "guideline"] = Field(description="the section that leads")
    status: RegimenStatus = Field(description="the lead section's status ('unavailable': the "
                                  "TDM estimate could not be made)")
    regimen: str | None = Field(description="the lead regimen, e.g. '250/375 mg q12h (625 "
                                "mg/day)'; None when there is none to give")
    headline: str = Field(description="one line: the lead recommendation and what to do")
    reason: str = Field(description="why this section leads")
    sections: tuple[SectionLabel, ...] = Field(description="the regimen sections in the order "
                                               "every interface shows them, the lead first")


def _labels(order: tuple[SectionName, ...], levels: bool) -> tuple[SectionLabel, ...]:
    return tuple(SectionLabel(name=n, title=_TITLES[(n, levels)],
                              role="lead" if i == 0 else "reference", uses_levels=n == "tdm")
                 for i, n in enumerate(order))


def _guideline_regimen(rec: Recommendation) -> str | None:
    if not rec.phases:
        return None
    return "; then ".join(
        f"{ph.dose_mg:g} mg {ph.frequency} ({ph.daily_dose_mg:g} mg/day, {ph.label}"
        + (f", {ph.duration_days} days" if ph.duration_days is not None else "") + ")"
        for ph in rec.phases)


def _guideline_lead(rec: Recommendation) -> Lead:
    regimen = _guideline_regimen(rec)
    if regimen is None:
        what = "no regimen is recommended for this patient (see Why" + (
            "; alternatives: " + "; ".join(o.label for o in rec.alternatives)
            if rec.alternatives else "") + ")"
    elif rec.status == RegimenStatus.RECOMMENDED:
        what = regimen
    else:
        what = f"{regimen}, shown for the prescriber (see Why)"
    return Lead(section="guideline", status=rec.status, regimen=regimen,
                headline=f"Guideline regimen — {rec.status}: {what}.",
                reason="No measured levels: the guideline regimen leads; the model-informed "
                       "regimen is shown beside it.",
                sections=_labels(("guideline", "model_informed"), False))


def lead_for(rec: Recommendation, tdm: TdmSection | TdmUnavailable | None, *,
             levels: bool) -> Lead:
    """The lead of an assessment. `levels`: the case has measured levels (its TDM section may
    be absent when the caller skipped the estimate, `assess(with_tdm=False)`)."""
    if not levels:
        return _guideline_lead(rec)
    reason = ("Measured levels exist: the TDM result is the only section that uses them, so "
              "it leads; the guideline and population-model regimens follow for reference.")
    sections = _labels(("tdm", "guideline", "model_informed"), True)
    if not isinstance(tdm, TdmSection):
        why = ("the estimate was not made in this assessment (see the TDM consult)"
               if tdm is None else "; ".join(tdm.unavailable))
        return Lead(section="tdm", status=RegimenStatus.NOT_MODELLED, regimen=None,
                    headline=f"TDM result — unavailable: {why}. Interpret the measured levels "
                             "by hand against the target window before any dose change. "
                             + _NOT_INSTEAD,
                    reason=reason, sections=sections)
    r = tdm.recommendation
    regimen = f"{r.regimen} ({r.daily_dose_mg:g} mg/day)"
    if r.status == RegimenStatus.RECOMMENDED:
        headline = f"TDM result — recommended: {r.advice.action}: {regimen}."
        if r.before_increase:
            headline += (" Increase only after the checks of "
                         f"{', '.join(r.before_increase)} (adherence, sample and dose times, "
                         "food).")
    else:
        todo = _TDM_NOT_TO_GIVE.get(r.status, str(r.status))
        headline = (f"TDM result — {todo}. {regimen} is shown for the reviewer, not to give as "
                    f"written. {_NOT_INSTEAD}")
    if r.warnings:
        headline += (f" Caution: {len(r.warnings)} warning(s) apply (listed with the TDM "
                     "result).")
    return Lead(section="tdm", status=r.status, regimen=regimen, headline=headline,
                reason=reason, sections=sections)
