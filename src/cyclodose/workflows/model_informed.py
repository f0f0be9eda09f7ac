"""Model-informed a-priori dosing: rank candidate regimens for a patient's covariates.

Between-subject variability is sampled (seeded; inter-occasion variability is 0
for forecasts) and every candidate is evaluated on the same draws: the median
and 90 % interval of the steady-state peak, trough (lowest level) and AUC24, the
probability of a peak inside the target window and of a peak above the 30 mg/L
ceiling. Ranking: highest P(peak in window), ties (to 1 percentage point)
broken by lower P(peak > 30 mg/L), then fewer capsules a day, then the lower
daily dose. The recommended regimen is chosen by the one regimen policy
(`regimen_policy.choose`: divided doses as the monograph and the US label prescribe,
once daily eligible with CrCl < 30 mL/min or dialysis, practical schedules first within a
margin); it is the first row of the ranked candidates, and the rationale says why any
row that scored higher is not recommended.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from cyclodose.clinical.candidates import Candidate, candidate_grid
from cyclodose.clinical.patient import RenalFunction, pregnancy_outside_models
from cyclodose.clinical.regimen_policy import (
    Option,
    choose,
    rank_key,
    schedule_of,
    too_likely_toxic,
    too_toxic_text,
)
from cyclodose.clinical.renal_state import patient_renal_state
from cyclodose.clinical.status import RegimenStatus
from cyclodose.intake.case import Case
from cyclodose.limits import CEILING_MG_L, MAX_DAILY_DOSE_MG
from cyclodose.pk.covariates import Covariates, validity_reasons
from cyclodose.pk.params import Params, individual_parameters
from cyclodose.pk.spec import ModelSpec
from cyclodose.pk.steady_state import metrics_each
from cyclodose.tdm.quantiles import percentiles
from cyclodose.workflows.adapters import covariates_from_case
from cyclodose.workflows.tdm.averaging import single_model

DEFAULT_DRAWS = 2000
DEFAULT_SEED = 20190501
USUAL_ADULT_DAILY_MG = (500.0, MAX_DAILY_DOSE_MG)  # monograph: 0.5 to 1 g daily after titration


class Interval(BaseModel):
    median: float
    p05: float
    p95: float


class CandidatePrediction(BaseModel):
    rank: int
    regimen: str
    amounts_mg: list[float]
    interval_h: float
    doses_per_day: int
    daily_dose_mg: float
    capsules: list[str]
    capsules_per_day: int
    peak_mg_l: Interval
    trough_mg_l: Interval  # lowest steady-state level over the dosing day
    auc24_mg_h_l: Interval
    p_peak_in_window: float
    p_peak_above_ceiling: float

    @property
    def divided(self) -> bool:
        return self.doses_per_day >= 2


class ModelRef(BaseModel):
    name: str
    version: str
    citation: str


class AprioriResult(BaseModel):
    model: ModelRef
    covariates: dict[str, float]
    n_draws: int
    seed: int
    target_window_mg_l: tuple[float, float]
    ceiling_mg_l: float
    extrapolation: list[str]
    candidates: list[CandidatePrediction]
    recommended: CandidatePrediction
    rationale: str


def _intervals(x: np.ndarray) -> list[Interval]:
    """Median and 90 % interval of each row (candidate) over the draws: one sort, the same
    numbers as np.quantile(row, [0.5, 0.05, 0.95])."""
    q = percentiles(x, [50.0, 5.0, 95.0], axis=1)
    return [Interval(median=round(m, 2), p05=round(lo, 2), p95=round(hi, 2))
            for m, lo, hi in q.T.tolist()]


def sample_eta(spec: ModelSpec, n_draws: int, seed: int) -> np.ndarray:
    """Between-subject etas (n_draws, n_eta) from N(0, omega), seeded."""
    rng = np.random.default_rng(seed)
    return rng.multivariate_normal(np.zeros(len(spec.eta_names)), spec.omega, n_draws)


def evaluate(spec: ModelSpec, cov: Covariates, candidates: Sequence[Candidate],
             window_mg_l: tuple[float, float], eta: np.ndarray) -> list[CandidatePrediction]:
    """Predicted exposure of each candidate on common draws, ranked."""
    return _ranked(individual_parameters(spec, cov, eta), candidates, window_mg_l)


def _ranked(par: Params, candidates: Sequence[Candidate], window_mg_l: tuple[float, float]
            ) -> list[CandidatePrediction]:
    """`evaluate` on the draws' parameters (computed once for every call of a case)."""
    if not candidates:
        return []
    low, high = window_mg_l
    found = metrics_each(par, [c.pattern for c in candidates])  # every candidate at once
    peak = np.vstack([m["cmax"] for m in found])  # (candidates, draws)
    p_in = np.mean((peak >= low) & (peak <= high), axis=1).tolist()
    p_over = np.mean(peak > CEILING_MG_L, axis=1).tolist()
    peaks = _intervals(peak)
    troughs = _intervals(np.vstack([m["cmin"] for m in found]))
    aucs = _intervals(np.vstack([m["auc24"] for m in found]))
    order = sorted(range(len(candidates)), key=lambda i: rank_key(
        p_in[i], p_over[i], candidates[i].capsules_per_day, candidates[i].daily_dose_mg))
    out = []
    for rank, i in enumerate(order, start=1):
        cand = candidates[i]
        pat = cand.pattern
        out.append(CandidatePrediction(
            rank=rank, regimen=cand.label, amounts_mg=list(pat.amounts_mg),
            interval_h=pat.period_h / len(pat.amounts_mg), doses_per_day=cand.doses_per_day,
            daily_dose_mg=cand.daily_dose_mg, capsules=list(cand.capsules),
            capsules_per_day=cand.capsules_per_day, peak_mg_l=peaks[i],
            trough_mg_l=troughs[i], auc24_mg_h_l=aucs[i],
            p_peak_in_window=round(p_in[i], 4), p_peak_above_ceiling=round(p_over[i], 4)))
    return out


def _option(c: CandidatePrediction) -> Option:
    """What the regimen policy reads of a candidate (the grid's doses are evenly spaced)."""
    return Option(label=c.regimen, p_goal=c.p_peak_in_window,
                  p_above_ceiling=c.p_peak_above_ceiling,
                  schedule=schedule_of(c.amounts_mg, c.doses_per_day))


def apriori(case: Case, *, model: str | None = None, n_draws: int = DEFAULT_DRAWS,
            seed: int = DEFAULT_SEED, max_daily_mg: float = MAX_DAILY_DOSE_MG) -> AprioriResult:
    """Rank the candidate maintenance regimens for this patient (no levels needed)."""
    patient_renal_state(case.patient)  # refuses a contradictory dialysis record first
    spec = single_model(model or case.settings.model)
    cov = covariates_from_case(case, spec)
    par = individual_parameters(spec, cov, sample_eta(spec, n_draws, seed))
    return _apriori(case, spec, cov, par, seed, max_daily_mg)


@functools.lru_cache(maxsize=16)
def _candidates(strengths: tuple[float, ...], max_daily_mg: float) -> tuple[Candidate, ...]:
    # cached: the grid depends on these alone (frozen candidates, the same case after case)
    return tuple(candidate_grid(strengths, max_daily_mg=max_daily_mg))


def _apriori(case: Case, spec: ModelSpec, cov: Covariates, par: Params, seed: int,
             max_daily_mg: float) -> AprioriResult:
    """`apriori` on the parameters of the draws (`par`: one row per draw)."""
    n_draws = par.size
    renal = patient_renal_state(case.patient)
    window = (case.target.peak_low_mg_l, case.target.peak_high_mg_l)
    cands = _candidates(tuple(case.settings.capsule_strengths_mg), float(max_daily_mg))
    ranked = _ranked(par, cands, window)
    # The one regimen policy: divided doses unless renal function is severely reduced (ATS
    # 2003; J Thorac Dis 2018), never a regimen more likely than not to peak above the
    # ceiling when another exists, practical schedules first within a margin. The table
    # lists the recommendation first; the rationale says why any higher-scoring row is not.
    choice = choose(ranked, _option, severe_renal=renal.severe, goal="P(window)")
    ordered = [c.model_copy(update={"rank": i}) for i, c in enumerate(choice.ordered, start=1)]
    best = ordered[0]
    assert best.daily_dose_mg <= MAX_DAILY_DOSE_MG
    reasons = validity_reasons(spec, cov)
    used = {name: round(float(cov.value(name)[0]), 2) for name in spec.covariates}
    rationale = (
        f"{best.regimen} ({best.daily_dose_mg:g} mg/day) ranks first: predicted probability "
        f"{100 * best.p_peak_in_window:.0f} % of a steady-state peak within "
        f"{window[0]:g}–{window[1]:g} mg/L and {100 * best.p_peak_above_ceiling:.0f} % of a "
        f"peak above {CEILING_MG_L:g} mg/L; predicted peak median "
        f"{best.peak_mg_l.median:.1f} mg/L (90 % interval {best.peak_mg_l.p05:.1f}–"
        f"{best.peak_mg_l.p95:.1f}). Model {spec.name} ({spec.citation}); "
        f"{n_draws} draws of between-subject variability, inter-occasion variability 0. "
        "Check with a measured peak level.")
    if choice.text:
        rationale += " " + choice.text
    if case.patient.age_years >= 18 and best.daily_dose_mg < USUAL_ADULT_DAILY_MG[0]:
        rationale += (
            f" {best.daily_dose_mg:g} mg/day is below the monograph's usual adult maintenance "
            f"of {USUAL_ADULT_DAILY_MG[0]:g}–{USUAL_ADULT_DAILY_MG[1]:g} mg/day: the model "
            "predicts the target peak at this lower dose; weigh it against time-above-MIC "
            "efficacy targets and confirm with a measured level.")
    if reasons:
        rationale += " Extrapolation: " + "; ".join(reasons) + "."
    return AprioriResult(
        model=ModelRef(name=spec.name, version=spec.version, citation=spec.citation),
        covariates=used, n_draws=n_draws, seed=seed, target_window_mg_l=window,
        ceiling_mg_l=CEILING_MG_L, extrapolation=reasons, candidates=ordered, recommended=best,
        rationale=rationale)


# ---- the `prediction` and `candidates` sections of an Assessment ------------------------

ASSESS_DRAWS = 1000


class GuidelinePrediction(BaseModel):
    """Predicted steady-state exposure of the guideline's maintenance phase (for comparison)."""

    regimen: str
    daily_dose_mg: float
    peak_mg_l: Interval
    trough_mg_l: Interval
    auc24_mg_h_l: Interval
    p_peak_in_window: float
    p_peak_above_ceiling: float


class PkPrediction(BaseModel):
    status: RegimenStatus  # predicted | contraindicated (numbers kept, marked) | unavailable
    reason: str | None = None
    model: ModelRef | None = None
    covariates: dict[str, float] = {}
    regimen: str | None = None
    amounts_mg: list[float] = []
    interval_h: float | None = None
    doses_per_day: int | None = None
    daily_dose_mg: float | None = None
    capsules: list[str] = []
    peak_mg_l: Interval | None = None
    trough_mg_l: Interval | None = None
    auc24_mg_h_l: Interval | None = None
    p_peak_in_window: float | None = None
    p_peak_above_ceiling: float | None = None
    target_window_mg_l: tuple[float, float] | None = None
    replaces_renal_rule: bool = False
    guideline: GuidelinePrediction | None = None
    # The patient's current regimen (from the dose history), predicted: shown on treatment.
    current: GuidelinePrediction | None = None
    extrapolation: list[str] = []
    n_draws: int | None = None
    seed: int | None = None
    rationale: list[str] = []


def _guideline(par: Params, window: tuple[float, float], dose_mg: float, doses_per_day: int,
               strengths: Sequence[float]) -> GuidelinePrediction | None:
    from cyclodose.clinical.candidates import _candidate
    from cyclodose.pk.regimen import DosePattern

    if dose_mg <= 0 or doses_per_day not in (1, 2, 3, 4):
        return None
    cand = _candidate(DosePattern.every(dose_mg, 24.0 / doses_per_day), strengths)
    if cand is None:
        cand = Candidate(DosePattern.every(dose_mg, 24.0 / doses_per_day), 0, ())
    (row,) = _ranked(par, [cand], window)
    return GuidelinePrediction(regimen=row.regimen, daily_dose_mg=row.daily_dose_mg,
                               peak_mg_l=row.peak_mg_l, trough_mg_l=row.trough_mg_l,
                               auc24_mg_h_l=row.auc24_mg_h_l,
                               p_peak_in_window=row.p_peak_in_window,
                               p_peak_above_ceiling=row.p_peak_above_ceiling)


def assessment_sections(case: Case, guideline_dose_mg: float | None = None,
                        guideline_doses_per_day: int | None = None,
                        n_draws: int = ASSESS_DRAWS
                        ) -> tuple[PkPrediction, tuple[CandidatePrediction, ...] | None]:
    """`prediction` (the model-informed maintenance regimen) and `candidates` (ranked) for
    assess(); shown beside the guideline regimen, never instead of it."""
    from cyclodose.errors import CaseError

    try:
        spec = single_model(case.settings.model)
        cov = covariates_from_case(case, spec)
        par = individual_parameters(spec, cov, sample_eta(spec, n_draws, DEFAULT_SEED))
        res = _apriori(case, spec, cov, par, DEFAULT_SEED, MAX_DAILY_DOSE_MG)
    except CaseError as exc:
        return PkPrediction(status=RegimenStatus.NOT_MODELLED,
                            reason="; ".join(str(p) for p in exc.problems)), None
    best = res.recommended
    renal = patient_renal_state(case.patient)  # the screening's renal state, in its unit
    # 30-59 mL/min: the model's clearance replaces the conservative renal rule; for an adult
    # inside the model's population only (a child's prediction is not a regimen to give).
    outside = case.patient.age_years < spec.validity.min_age_years
    replaces = renal.impaired and not renal.severe and not outside
    rationale = [res.rationale]
    status = RegimenStatus.PREDICTED
    if outside:
        status = RegimenStatus.EXTRAPOLATION
        rationale.insert(0, (
            f"Outside the model's population ({spec.validity.population}): this prediction "
            "is an extrapolation shown for information, never a regimen to give; dose by the "
            "guideline and measured levels."))
    elif too_likely_toxic(best.p_peak_above_ceiling):
        status = RegimenStatus.NOT_RECOMMENDED
        rationale.insert(0, too_toxic_text(best.p_peak_above_ceiling))
    if replaces:
        rationale.append(_renal_text(renal))
    elif renal.mildly_reduced and not outside:
        rationale.append(
            f"Renal function {renal.crcl_ml_min:.0f} {renal.unit} (mildly decreased, KDIGO G2): "
            "no dose is held; the model's clearance at this renal function is in the "
            "prediction.")
    if (pregnancy := pregnancy_outside_models(case.patient)) is not None:
        rationale.append(f"{pregnancy}: the prediction ignores the changes of pregnancy; "
                         "confirm with a measured peak level.")
    strengths = case.settings.capsule_strengths_mg
    guide = None
    if guideline_dose_mg and guideline_doses_per_day:
        guide = _guideline(par, res.target_window_mg_l,
                           guideline_dose_mg, guideline_doses_per_day, strengths)
        if guide is not None:
            rationale.append(
                f"The guideline maintenance regimen {guide.regimen} is predicted to give a "
                f"peak median {guide.peak_mg_l.median:.1f} mg/L, "
                f"{100 * guide.p_peak_in_window:.0f} % in the target window and "
                f"{100 * guide.p_peak_above_ceiling:.0f} % above {CEILING_MG_L:g} mg/L.")
    current = _current(case, par, res.target_window_mg_l)
    if current is not None:
        rationale.insert(0, (
            f"Current regimen {current.regimen} (from the dose history): predicted peak median "
            f"{current.peak_mg_l.median:.1f} mg/L (90 % interval {current.peak_mg_l.p05:.1f}–"
            f"{current.peak_mg_l.p95:.1f}), {100 * current.p_peak_above_ceiling:.0f} % "
            f"probability above {CEILING_MG_L:g} mg/L."))
    pred = PkPrediction(
        status=status, model=res.model, covariates=res.covariates,
        regimen=best.regimen,
        amounts_mg=best.amounts_mg, interval_h=best.interval_h, doses_per_day=best.doses_per_day,
        daily_dose_mg=best.daily_dose_mg, capsules=best.capsules, peak_mg_l=best.peak_mg_l,
        trough_mg_l=best.trough_mg_l, auc24_mg_h_l=best.auc24_mg_h_l,
        p_peak_in_window=best.p_peak_in_window, p_peak_above_ceiling=best.p_peak_above_ceiling,
        target_window_mg_l=res.target_window_mg_l, replaces_renal_rule=replaces, guideline=guide,
        current=current, extrapolation=res.extrapolation, n_draws=res.n_draws, seed=res.seed,
        rationale=rationale)
    return pred, tuple(res.candidates)


def _renal_text(renal: RenalFunction) -> str:
    return (f"Renal impairment ({renal.crcl_ml_min:.0f} {renal.unit}, 30–59: moderately "
            "decreased): this model-informed regimen, from the model's clearance at this renal "
            "function, replaces the conservative renal rule of the guideline recommendation "
            "(still shown); check a peak level within the first weeks and weekly while renal "
            "function is reduced.")


def _current(case: Case, par: Params, window: tuple[float, float]
             ) -> GuidelinePrediction | None:
    """The predicted steady-state exposure of the regimen the patient is on, read as the TDM
    reads it (workflows.tdm.current: the stated regimen or the usual dose times)."""
    from cyclodose.pk.regimen import DosePattern
    from cyclodose.workflows.tdm.current import usual_schedule

    usual = usual_schedule(case)
    if usual is None:
        return None
    now = usual.regimen
    pattern = DosePattern(now.period_h, now.offsets_h, now.amounts_mg)
    (row,) = _ranked(par, [Candidate(pattern, 0, now.capsules)], window)
    return GuidelinePrediction(regimen=row.regimen, daily_dose_mg=row.daily_dose_mg,
                               peak_mg_l=row.peak_mg_l, trough_mg_l=row.trough_mg_l,
                               auc24_mg_h_l=row.auc24_mg_h_l,
                               p_peak_in_window=row.p_peak_in_window,
                               p_peak_above_ceiling=row.p_peak_above_ceiling)
