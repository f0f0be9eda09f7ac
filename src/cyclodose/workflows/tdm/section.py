"""The typed `tdm` section: what the Bayesian TDM consult found, field by field.

Built from the estimate by `result.to_dict` and validated here, so that the JSON, the CLI,
the report and the service all read one described shape (`cyclodose schema assessment`).
Keys that only exist in some situations (the %T>MIC metrics with an MIC, the per-occasion
clearances with inter-occasion variability) are left out of the JSON when absent, as before.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from cyclodose.clinical.status import RegimenStatus
from cyclodose.workflows.tdm.forecasts import ABSORPTION_PEAK_GAP_H, TELL_APART_FROM_H


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    _omit_when_none: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        out: dict[str, object] = handler(self)
        for key in self._omit_when_none:
            if out.get(key) is None:
                out.pop(key, None)
        return out


class ModelRef(_Section):
    name: str
    version: str
    citation: str


class ModelUsed(ModelRef):
    _omit_when_none = ("covariate_rule",)
    title: str
    structure: str
    extrapolation: list[str] = Field(description="why the patient lies outside the model's "
                                     "validity domain; empty when inside")
    near_edge: list[str] = Field(description="inside the stated limits, but close to one")
    covariate_rule: str | None = Field(default=None, description="how covariates that change "
                                       "over time are applied (absent: they do not change)")


class HalfLife(_Section):
    map: float | None = Field(description="maximum a posteriori value")
    median: float | None = Field(description="posterior median")
    lower: float | None = Field(description="5th percentile (90 % interval)")
    upper: float | None = Field(description="95th percentile (90 % interval)")


class ParameterEstimate(HalfLife):
    typical: float | None = Field(description="population typical value for this patient")


class Occasions(_Section):
    _omit_when_none = ("cl_l_h_map", "note")
    n: int
    starts_h: list[float]
    iov_estimated: bool
    rule: str = Field(description="how the occasions were found")
    cl_l_h_forecast: float | None = Field(description="the clearance the forecast uses "
                                          "(between-subject estimate, IOV 0)")
    cl_l_h_map: list[float | None] | None = None
    note: str | None = None


class EtaShift(_Section):
    """How far the levels moved one random effect from the population prior."""

    map: float | None
    prior_sd: float | None
    z_map: float | None = Field(description="MAP in prior standard deviations")
    posterior_sd: float | None
    laplace_sd: float | None
    sd_ratio: float | None = Field(description="posterior SD / prior SD; near 1: the levels "
                                   "said little (high shrinkage)")


class SirSummary(_Section):
    n_proposals: int
    n_draws: int
    effective_sample_size: float | None
    n_modes: int


class FitMode(_Section):
    """One of two posterior modes that fit the levels about equally."""

    label: str = Field(description="'fast absorption' or 'delayed absorption' (the mode "
                       "that peaks earlier or later after a dose); 'best fit' / 'second "
                       f"fit' when the peaks are less than {ABSORPTION_PEAK_GAP_H:g} h apart")
    ofv: float = Field(description="objective function value of this mode (-2 log posterior)")
    kept: bool = Field(description="the MAP estimate: the mode with the lower objective")
    parameters: dict[str, float] = Field(description="individual parameters at this mode")
    peak_after_dose_h: float = Field(description="time of the peak after the last recorded "
                                     "dose at this mode")
    at_tell_apart_mg_l: float = Field(description="predicted level at the separating sample "
                                      "time after the last recorded dose")


class SecondMode(_Section):
    """Two modes within 2 OFV units: the levels cannot tell them apart. Absent (no
    `second_mode` key) when the levels separate the modes or there is only one."""

    delta_ofv: float = Field(description="OFV of the second mode minus the best (< 2)")
    parameters: dict[str, list[float]] = Field(description="[best mode, second mode], for "
                                               "the parameters that differ")
    tell_apart_after_dose_h: float = Field(description="the sample time after a dose whose "
                                           "level would separate the two modes most (from "
                                           f"{TELL_APART_FROM_H:g} h: earlier samples fall "
                                           "inside the lag time's spread)")
    modes: list[FitMode] = Field(description="the kept mode, then the other")
    absorption: bool = Field(description="the two modes are fast against delayed absorption "
                             f"(their peaks are at least {ABSORPTION_PEAK_GAP_H:g} h apart); "
                             "the levels cannot tell which")
    text: str


class Correlation(_Section):
    names: list[str] = Field(description="between-subject random effects (log parameters)")
    matrix: list[list[float | None]]


class FitSummary(_Section):
    _omit_when_none = ("misfit", "second_mode")
    adequate: bool = Field(description="false when the model cannot fit the levels")
    misfit: str | None = Field(default=None, description="why, and which model to try")
    second_mode: SecondMode | None = None
    posterior_correlation: Correlation
    ofv: float | None = Field(description="objective function value at the MAP (-2 log)")
    n_starts: int
    n_local_optima: int
    at_bound: list[str]
    laplace_positive_definite: bool
    sir: SirSummary


class LevelFit(_Section):
    time_h: float | None
    clock: str | None
    time_after_dose_h: float | None = Field(description="since the last dose before the sample")
    pre_dose: bool = Field(description="drawn at a dose time or just before it (a trough)")
    observed_mg_l: float | None
    blq: bool
    lloq_mg_l: float | None
    pred_mg_l: float | None = Field(description="population prediction")
    ipred_mg_l: float | None = Field(description="individual (MAP) prediction")
    ipred_lower_mg_l: float | None
    ipred_upper_mg_l: float | None
    iwres: float | None = Field(description="individual weighted residual")
    flag: str | None


class Curve(_Section):
    time_h: list[float | None]
    map_mg_l: list[float | None]
    lower_mg_l: list[float | None]
    upper_mg_l: list[float | None]


class Predictions(_Section):
    levels: list[LevelFit]
    curve: Curve
    dose_times_h: list[float] = Field(description="the doses inside the curve's time window")
    interval: str
    residual_error_included: bool = Field(description="whether the levels' and the curve's "
                                          "intervals include residual error (they do not)")
    predicted_at: list[Predicted] = Field(description="at the requested times (--predict-at): "
                                          "the dose history, then the recommended regimen")
    forecast: list[Predicted] = Field(description="the recommended regimen from its first "
                                      "dose, hourly")


class Diagnostics(_Section):
    flags: list[str]
    delayed_absorption: bool


class Band(_Section):
    median: float
    lower: float
    upper: float


class RankedRegimen(_Section):
    """One candidate regimen at steady state (median and 90 % interval over the posterior)."""

    _omit_when_none = ("tmic_pct", "p_tmic_goal", "p_tmic_goal_and_below_ceiling")
    regimen: str
    interval_h: float | None
    period_h: float
    offsets_h: list[float]
    amounts_mg: list[float]
    daily_dose_mg: float
    capsules_per_administration: list[int] = Field(description="capsules taken at each "
                                                   "administration")
    capsules: list[str]
    peak_mg_l: Band
    trough_mg_l: Band
    auc24_mg_h_l: Band
    p_in_target: float = Field(description="P(steady-state peak inside the target window)")
    p_above_ceiling: float = Field(description="P(peak above the 30 mg/L ceiling)")
    tmic_pct: Band | None = None
    p_tmic_goal: float | None = None
    p_tmic_goal_and_below_ceiling: float | None = Field(
        default=None, description="the ranking key with an MIC")


class ScheduledAdministration(_Section):
    clock: str | None
    offset_h: float
    dose_mg: float


class FindingRef(_Section):
    code: str
    severity: str
    message: str


class TdmRecommendation(RankedRegimen):
    status: RegimenStatus
    advice: Advice
    schedule: list[ScheduledAdministration]
    contraindications: list[FindingRef]
    model: ModelRef
    inside_validity_domain: bool
    reason: str
    ceiling_mg_l: float
    warnings: list[str]
    before_increase: list[str] = Field(
        default_factory=list, description="codes of the findings (a low level) whose checks "
        "must come before the proposed increase")


class Predicted(_Section):
    """A concentration the individual estimate predicts at one time."""

    time_h: float | None
    clock: str | None
    map_mg_l: float | None
    lower_mg_l: float | None = Field(description="90 % credible interval of the "
                                     "concentration (parameter uncertainty only)")
    upper_mg_l: float | None
    measured_lower_mg_l: float | None = Field(description="90 % range of a measured level "
                                              "(residual error included)")
    measured_upper_mg_l: float | None


class NextSample(_Section):
    label: str
    time_h: float | None
    after_dose_h: float
    clock: str | None
    why: str
    predicted: Predicted


class Advice(_Section):
    _omit_when_none = ("below_ceiling_h", "below_ceiling_upper_h", "below_ceiling_clock",
                       "below_ceiling_upper_unbounded")
    action: str = Field(description="keep the current regimen / change the regimen / hold the "
                        "next dose now, then reduce")
    text: str
    change_threshold: str
    possible_dosing_or_sampling_error: bool
    highest_level_mg_l: float | None
    below_ceiling_h: float | None = Field(default=None, description="when the MAP "
                                          "concentration falls below 30 mg/L without doses")
    below_ceiling_upper_h: float | None = Field(default=None, description="95th percentile "
                                                "of that time over the posterior draws")
    below_ceiling_clock: str | None = None
    below_ceiling_upper_unbounded: bool | None = Field(
        default=None, description="true when more than 5 % of the posterior draws stay above "
        "30 mg/L for the 5 days computed: the 95th percentile cannot be bounded (absent "
        "otherwise)")


class ModelWeightEntry(ModelRef):
    _omit_when_none = ("unavailable",)
    weight: float = Field(description="share of the mixture posterior, 0–1; the weights sum "
                          "to 1")
    ofv: float | None = Field(description="the model's MAP objective for these levels "
                              "(-2 log posterior); None when the model could not be used")
    prior_weight: float
    n_draws: int = Field(description="posterior draws of the mixture from this model")
    extrapolation: list[str] = Field(description="why the patient lies outside this model's "
                                     "validity domain (kept in the average and flagged)")
    unavailable: str | None = Field(default=None, description="why the model could not be "
                                    "used (weight 0)")


class ModelAveraging(_Section):
    """settings.model: auto: the models weighted by their fit to the levels."""

    weights: list[ModelWeightEntry] = Field(description="highest weight first")
    method: str
    why: str


class TdmSection(_Section):
    """The Bayesian estimate from measured levels and the regimen it recommends. With
    model averaging, `model`, `parameters`, `etas`, `fit` and the level diagnostics are the
    highest-weight model's; the forecasts, ranking, next samples, advice and prediction
    intervals the weighted mixture's (the MAP lines the highest-weight model's)."""

    _omit_when_none = ("model_averaging",)

    model: ModelUsed
    n_levels: int
    parameters: dict[str, ParameterEstimate]
    half_life_h: HalfLife
    occasions: Occasions
    etas: dict[str, EtaShift]
    fit: FitSummary
    predictions: Predictions
    diagnostics: Diagnostics
    recommendation: TdmRecommendation
    ranked: list[RankedRegimen]
    current_regimen: RankedRegimen | None
    next_samples: list[NextSample]
    new_regimen_start_h: float | None
    new_regimen_start_clock: str | None
    current_regimen_source: str | None = Field(description="how the current regimen was read")
    regimen_changes: bool = Field(description="false when the advice keeps the current regimen")
    model_averaging: ModelAveraging | None = None


class TdmUnavailable(_Section):
    """The estimate could not be made: each reason names the field or the step."""

    unavailable: list[str]


def section(doc: dict[str, Any]) -> TdmSection:
    return TdmSection.model_validate(doc)
