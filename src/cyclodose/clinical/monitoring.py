"""The monitoring plan: what to measure, when, and why, each item with its sources."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from cyclodose.clinical.dosing import max_24h_dose_mg
from cyclodose.clinical.patient import RenalFunction
from cyclodose.clinical.vocabulary import Vocabulary
from cyclodose.intake.case import Case
from cyclodose.knowledge.citations import SourceRef, cite_all
from cyclodose.limits import MAX_DAILY_DOSE_MG

WEEKLY_LEVELS_ABOVE_MG_DAY = 500.0  # monograph / US label: weekly levels above 500 mg daily


class MonitoringItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    what: str
    when: str
    why: str
    sources: tuple[SourceRef, ...]


def weekly_level_reasons(case: Case, renal: RenalFunction, vocabulary: Vocabulary) -> list[str]:
    """The monograph's reasons for at least weekly plasma levels that apply to this case."""
    reasons = []
    # A dialysis code among the conditions counts even when creatinine looks normal.
    if renal.impaired or any(r.concept == "dialysis" for r in vocabulary.of("condition")):
        reasons.append("renal impairment")
    if max_24h_dose_mg(case.doses) > WEEKLY_LEVELS_ABOVE_MG_DAY:
        reasons.append("more than 500 mg/day")
    if any(r.category == "cns" for r in vocabulary.of("symptom")):
        reasons.append("signs of neurotoxicity")
    return reasons


def plan(case: Case, renal: RenalFunction, vocabulary: Vocabulary) -> tuple[MonitoringItem, ...]:
    t = case.target
    reasons = weekly_level_reasons(case, renal, vocabulary)
    if reasons:
        level_when = f"at least weekly ({', '.join(reasons)}), and after every dose change"
    else:
        level_when = ("after the first 2 weeks, before any dose increase and after every dose "
                      "change; at least weekly once the dose is above 500 mg/day")
    items = [
        MonitoringItem(
            what="cycloserine plasma level (peak about 2 h after a dose; a 6 h sample helps "
                 "detect delayed absorption)",
            when=level_when,
            why=(f"low therapeutic index: adjust the dose to levels; target peak "
                 f"{t.peak_low_mg_l:g}–{t.peak_high_mg_l:g} mg/L and keep below 30 mg/L, "
                 "because neurological reactions are dose related"),
            sources=cite_all(["precaution.level_monitoring", "precaution.plasma_ceiling",
                              "adverse.dose_related", "ext.peloquin_tdm"]),
        ),
        MonitoringItem(
            what="CNS and psychiatric symptoms (mood, suicidal thoughts, anxiety, confusion, "
                 "tremor, seizures)",
            when="at every visit; ask the patient and family to report changes at once",
            why="CNS effects are the most frequent adverse effects (up to 30 % of patients "
                "have adverse effects); stop or reduce the dose if they develop",
            sources=cite_all(["adverse.cns", "precaution.stop_or_reduce"]),
        ),
        MonitoringItem(
            what="haematological function (full blood count; folate and vitamin B12 if anaemic)",
            when="at baseline and periodically during treatment",
            why="folate and B12 deficiency, megaloblastic and sideroblastic anaemia have been "
                "reported with other antituberculous drugs",
            sources=cite_all(["precaution.organ_monitoring", "adverse.haematological"]),
        ),
        MonitoringItem(
            what="renal function (serum creatinine, creatinine clearance)",
            when=("at baseline and periodically; more often while renal function is impaired"
                  if renal.impaired else "at baseline and periodically during treatment"),
            why="cycloserine is excreted by glomerular filtration; the half-life is prolonged "
                "and doses must be lower in renal impairment",
            sources=cite_all(["precaution.organ_monitoring", "pk.half_life",
                              "precaution.renal_lower_doses"]),
        ),
        MonitoringItem(
            what="hepatic function (serum aminotransferases)",
            when="at baseline and periodically during treatment",
            why="aminotransferases may rise, especially with a history of liver disease",
            sources=cite_all(["precaution.organ_monitoring", "adverse.liver"]),
        ),
        MonitoringItem(
            what="skin (rash, photosensitivity)",
            when="at every visit",
            why="stop or reduce the dose if a skin reaction develops",
            sources=cite_all(["adverse.hypersensitivity", "precaution.stop_or_reduce"]),
        ),
    ]
    if max_24h_dose_mg(case.doses) >= MAX_DAILY_DOSE_MG:  # the high dose of the precaution
        items.append(MonitoringItem(
            what="signs of heart failure (breathlessness, oedema, weight gain)",
            when="at every visit while the daily dose is 1 g",
            why="heart failure has occurred at daily doses of 1 g or more",
            sources=cite_all(["adverse.heart_failure"]),
        ))
    if renal.dialysis == "haemodialysis":
        items.append(MonitoringItem(
            what="plasma level before the next dose, timed against dialysis",
            when="weekly, and after a change of dialysis schedule",
            why="haemodialysis removes cycloserine; doses are given after the session",
            sources=cite_all(["pk.dialysis", "ext.ats_renal_2018"]),
        ))
    return tuple(items)
