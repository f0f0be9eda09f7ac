"""assess(case) -> Assessment: the one result every interface renders.

Sections that need more than the monograph (PK predictions, candidate
regimens, TDM estimates) are optional fields: add a field `name: Model | None
= None` to `Assessment` and fill it in `assess` (or in a function it calls).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from cyclodose.clinical.blocking import blocking
from cyclodose.clinical.breastfeeding import BreastfeedingEstimate
from cyclodose.clinical.breastfeeding import estimate as breastfeeding_estimate
from cyclodose.clinical.dosing import Recommendation, max_24h_dose_mg, recommend
from cyclodose.clinical.monitoring import MonitoringItem, plan
from cyclodose.clinical.patient import AgeGroup, RenalFunction, age_group, bmi_kg_m2, gestation
from cyclodose.clinical.regimen_policy import (
    hold_text,
    holding,
    not_recommended,
    too_likely_toxic,
    too_toxic_text,
)
from cyclodose.clinical.renal_state import renal_state
from cyclodose.clinical.screening import Finding, screen
from cyclodose.clinical.status import RegimenStatus
from cyclodose.clinical.vocabulary import Recognised, Unrecognised, recognise
from cyclodose.intake.case import Case
from cyclodose.version import __version__
from cyclodose.workflows.lead import Lead, lead_for
from cyclodose.workflows.model_informed import (
    CandidatePrediction,
    PkPrediction,
    assessment_sections,
)
from cyclodose.workflows.tdm import TdmSection, TdmUnavailable, tdm_section
from cyclodose.workflows.tdm.section import TdmRecommendation


class Gestation(BaseModel):
    """A pregnant patient's gestation as entered, shown wherever the patient is shown."""

    model_config = ConfigDict(frozen=True)

    gestational_week: int | None = Field(description="completed weeks, as entered")
    trimester: int | None = Field(description="as entered, or from the gestational week")
    text: str = Field(description="'week 24, second trimester', 'second trimester, week not "
                      "recorded' or 'gestation not recorded'")


class PatientSummary(BaseModel):
    """Derived patient facts; the flat renal keys are part of the stable JSON."""

    model_config = ConfigDict(frozen=True)

    age_years: float
    age_group: AgeGroup
    sex: str
    weight_kg: float
    height_cm: float | None
    bmi_kg_m2: float | None
    serum_creatinine_mg_dl: float | None
    crcl_ml_min: float | None
    crcl_unit: str
    crcl_method: str
    renal_category: str | None
    ckd_epi_ml_min_173m2: float | None
    dialysis: str
    pregnant: bool
    breastfeeding: bool
    alcohol: str
    renal: RenalFunction
    gestation: Gestation | None = Field(default=None, description="for a pregnant patient only")


class Assessment(BaseModel):
    model_config = ConfigDict(frozen=True)

    cyclodose_version: str = __version__
    model: str  # PK model requested (case.settings.model)
    # Which regimen section leads and the order and titles of all of them (workflows.lead):
    # every interface follows it.
    lead: Lead = Field(description="the lead recommendation and the order of the regimen "
                       "sections (with levels the TDM result leads)")
    patient: PatientSummary
    findings: tuple[Finding, ...]
    recommendation: Recommendation
    monitoring: tuple[MonitoringItem, ...]
    breastfeeding: BreastfeedingEstimate | None = None
    recognised: tuple[Recognised, ...]
    unrecognised: tuple[Unrecognised, ...]
    # Optional sections added by the PK and TDM work go here (each `... | None = None`).
    tdm: TdmSection | TdmUnavailable | None = None  # Bayesian estimate from levels
    # Model-informed a-priori regimen and the ranked candidates (workflows.model_informed),
    # beside the guideline recommendation, never instead of it.
    prediction: PkPrediction | None = None
    candidates: tuple[CandidatePrediction, ...] | None = None

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    @property
    def lead_tdm(self) -> TdmRecommendation | None:
        """The TDM regimen when it leads (levels and an estimate), else None."""
        if self.lead.section == "tdm" and isinstance(self.tdm, TdmSection):
            return self.tdm.recommendation
        return None

    @model_validator(mode="before")
    @classmethod
    def _lead_of_an_older_record(cls, data: Any) -> Any:
        """An assessment stored before `lead` existed gets it from its own sections (a TDM
        section exists exactly when the case had levels), so that it still renders."""
        if not isinstance(data, dict) or "lead" in data or "recommendation" not in data:
            return data
        tdm = _TDM.validate_python(data.get("tdm"))
        rec = Recommendation.model_validate(data["recommendation"])
        return {**data, "lead": lead_for(rec, tdm, levels=tdm is not None)}


_TDM: TypeAdapter[TdmSection | TdmUnavailable | None] = TypeAdapter(
    TdmSection | TdmUnavailable | None)


def _summary(case: Case, renal: RenalFunction) -> PatientSummary:
    p = case.patient
    return PatientSummary(
        age_years=p.age_years, age_group=age_group(p.age_years), sex=p.sex,
        weight_kg=p.weight_kg, height_cm=p.height_cm,
        bmi_kg_m2=round(bmi_kg_m2(p.weight_kg, p.height_cm), 1) if p.height_cm else None,
        serum_creatinine_mg_dl=(round(p.serum_creatinine_mg_dl, 3)
                                if p.serum_creatinine_mg_dl is not None else None),
        crcl_ml_min=renal.crcl_ml_min, crcl_unit=renal.unit, crcl_method=renal.method,
        renal_category=renal.kdigo_category, ckd_epi_ml_min_173m2=renal.ckd_epi_ml_min_173m2,
        dialysis=p.dialysis, pregnant=p.pregnant, breastfeeding=p.breastfeeding,
        alcohol=p.alcohol, renal=renal,
        gestation=Gestation(gestational_week=p.gestational_week, trimester=p.trimester,
                            text=gestation(p)) if p.pregnant else None,
    )


def _breastfeeding(case: Case, rec: Recommendation) -> BreastfeedingEstimate | None:
    if not case.patient.breastfeeding:
        return None
    planned = max_24h_dose_mg(case.doses)
    if planned > 0:
        dose, basis = planned, "the case regimen (largest 24 h total)"
    elif rec.phases:
        dose = max(ph.daily_dose_mg for ph in rec.phases)
        basis = "the recommended regimen (largest daily dose)"
    else:
        dose, basis = 1000.0, "the dose in the milk study (1 g/day): no regimen is recommended"
    return breastfeeding_estimate(dose, case.patient.weight_kg, basis)


def _flag_contraindications(rec: Recommendation, findings: tuple[Finding, ...]) -> Recommendation:
    """A contraindication or 'avoid' finding marks the regimen; it is kept for the prescriber."""
    # Severe renal impairment is handled by the guideline itself (no regimen, the ATS option).
    blocks = [f for f in blocking(findings)
              if f.code != "contraindication.severe_renal_impairment"]
    holds = holding(findings)
    if not rec.phases or not (blocks or holds):
        return rec
    if blocks:
        why = not_recommended(blocks, "guideline")
        return rec.model_copy(update={"status": RegimenStatus.CONTRAINDICATED,
                                      "rationale": (why, *rec.rationale)})
    return rec.model_copy(update={"status": RegimenStatus.HOLD,
                                  "rationale": (hold_text(holds), *rec.rationale)})


def _guideline_exposure(rec: Recommendation, prediction: PkPrediction) -> Recommendation:
    """The guideline regimen is not presented as recommended when the model (inside its
    population) predicts it more likely than not to peak above 30 mg/L."""
    g = prediction.guideline
    if (rec.status != RegimenStatus.RECOMMENDED or g is None
            or prediction.status == RegimenStatus.EXTRAPOLATION
            or not too_likely_toxic(g.p_peak_above_ceiling)):
        return rec
    model = prediction.model.name if prediction.model else "the PK model"
    why = f"{too_toxic_text(g.p_peak_above_ceiling)} ({model}, for {g.regimen})"
    return rec.model_copy(update={"status": RegimenStatus.NOT_RECOMMENDED,
                                  "rationale": (why, *rec.rationale)})


def _pk_sections(case: Case, rec: Recommendation, findings: tuple[Finding, ...]
                 ) -> dict[str, Any]:
    last = rec.phases[-1] if rec.phases else None
    prediction, candidates = assessment_sections(
        case, last.dose_mg if last else None, last.doses_per_day if last else None)
    # The model-informed regimen is a pharmacokinetic answer only: a contraindication (severe
    # renal impairment and dialysis included) marks it, as it marks the guideline regimen.
    blocks = blocking(findings)
    holds = holding(findings)
    shown = (RegimenStatus.PREDICTED, RegimenStatus.NOT_RECOMMENDED)
    if prediction.status in shown and blocks:
        notes = [not_recommended(blocks, "model_informed")]
        if case.patient.dialysis != "none":
            notes.append("Dialysis is not in the model: clearance by dialysis and between "
                         "sessions is not predicted; dose by the ATS option and measured levels.")
        prediction = prediction.model_copy(update={
            "status": RegimenStatus.CONTRAINDICATED, "rationale": [*notes, *prediction.rationale]})
    elif prediction.status in shown and holds:
        prediction = prediction.model_copy(update={
            "status": RegimenStatus.HOLD,
            "rationale": [hold_text(holds), *prediction.rationale]})
    if case.levels and prediction.status != RegimenStatus.NOT_MODELLED:
        prediction = prediction.model_copy(update={"rationale": [
            "Population-model regimen: it ignores the measured levels; only the TDM result "
            "uses them (see the lead recommendation).", *prediction.rationale]})
    return {"prediction": prediction, "candidates": candidates}


def assess(case: Case, *, with_tdm: bool = True) -> Assessment:
    """Screen, recommend and plan monitoring for a validated case. Pure.

    `with_tdm=False` skips the Bayesian estimate (for a caller that already has it)."""
    p = case.patient
    vocab = recognise(p.conditions, case.comedications, p.symptoms)
    renal = renal_state(p, vocab)  # one renal state drives every section
    findings = screen(case, renal, vocab)
    severe_renal = any(f.code == "contraindication.severe_renal_impairment" for f in findings)
    rec = _flag_contraindications(recommend(case, renal, severe_renal=severe_renal), findings)
    pk = _pk_sections(case, rec, findings)
    rec = _guideline_exposure(rec, pk["prediction"])
    tdm = tdm_section(case, findings) if with_tdm else None
    return Assessment(
        model=case.settings.model,
        lead=lead_for(rec, tdm, levels=bool(case.levels)),
        patient=_summary(case, renal),
        findings=findings,
        recommendation=rec,
        monitoring=plan(case, renal, vocab),
        breastfeeding=_breastfeeding(case, rec),
        recognised=vocab.recognised,
        unrecognised=vocab.unrecognised,
        tdm=tdm,
        **pk,
    )
