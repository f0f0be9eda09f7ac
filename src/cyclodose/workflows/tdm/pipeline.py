"""The staged estimation run: check → preprocess → objective → MAP → posterior → forecast
→ diagnostics → regimen → sampling advice. Pure given the seed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cyclodose import pk
from cyclodose.clinical.blocking import blocking
from cyclodose.clinical.patient import pregnancy_outside_models
from cyclodose.clinical.regimen_policy import (
    choose,
    hold_text,
    holding,
    not_recommended,
    too_likely_toxic,
    too_toxic_text,
)
from cyclodose.clinical.renal_state import patient_renal_state
from cyclodose.clinical.screening import Finding
from cyclodose.clinical.status import RegimenStatus
from cyclodose.clinical.tdm_regimen import (
    CEILING_MG_L,
    CandidateRegimen,
    ScoredRegimen,
    grid_for,
    option,
    rank,
    ranks_above,
    reason,
    score,
)
from cyclodose.errors import CaseError
from cyclodose.intake.case import Case
from cyclodose.tdm.diagnostics import IWRES_FLAG, Diagnostics, diagnose, population_range
from cyclodose.tdm.errors import EstimationFailed
from cyclodose.tdm.forecast import Band, band, plot_window_h
from cyclodose.tdm.objective import Objective, Prior
from cyclodose.tdm.occasions import OccasionModel, concentrations, occasion_model, predictor
from cyclodose.tdm.optimise import MapFit, fit_map
from cyclodose.tdm.posterior import (
    MIN_ESS,
    N_DRAWS,
    Laplace,
    SirSample,
    interval,
    intervals,
    laplace,
    sir,
)
from cyclodose.tdm.preprocess import (
    DoseHistory,
    FloatArray,
    Observations,
)
from cyclodose.tdm.sampling import SAMPLE_OFFSETS_H, SampleAdvice, half_life_h, next_samples
from cyclodose.workflows.adapters import (
    covariates_from_case,
    dose_history,
    observations,
    occasion_starts,
    timeline_from_case,
)
from cyclodose.workflows.tdm.advice import (
    CHANGE_THRESHOLD,
    FALL_COARSE,
    FALL_DRAWS,
    FALL_STEP_H,
    Action,
    Advice,
    advise,
)
from cyclodose.workflows.tdm.averaging import Averaging, average, is_auto
from cyclodose.workflows.tdm.check import check_case
from cyclodose.workflows.tdm.current import UsualSchedule, new_regimen_start_h, usual_schedule
from cyclodose.workflows.tdm.forecasts import (
    FORECAST_DRAWS,
    FORECAST_STEP_H,
    Prediction,
    SecondMode,
    continued_doses,
    correlation,
    forecaster,
    predict_each,
    second_mode,
)
from cyclodose.workflows.tdm.safety import (
    before_increase,
    before_increase_text,
    contraindication_warnings,
    quoted_warnings,
    screening_findings,
)

DEFAULT_SEED = 20260301
CURVE_DRAWS = 500
CURVE_STEP_H = 0.2
CURVE_SHOWN_H = 0.5  # the consult shows the curve about every 0.5 h: the band is computed there
N_PRIOR_PREDICTIVE = 5_000  # population range of each level (tails of 0.135 %: ~7 draws each)
REPORTED_PARAMETERS = ("cl_l_h", "v_l", "ka_per_h", "tlag_h", "mtt_h")


@dataclass(frozen=True)
class Estimate:
    """Everything the estimation found; `result.to_dict` makes it JSON."""

    case: Case
    spec: pk.ModelSpec
    covariates: Any
    validity: list[str]
    doses: DoseHistory
    obs: Observations
    occasions: OccasionModel
    fit: MapFit
    laplace: Laplace
    sample: SirSample
    parameters: dict[str, dict[str, float]]
    half_life_h: dict[str, float]
    at_levels: Band
    curve: Band  # at the times shown (every few points of the plot window, `shown_every`)
    curve_window_h: tuple[float, float]  # the plot window (the doses shown with the curve)
    diagnostics: Diagnostics
    ranked: list[ScoredRegimen]
    current: ScoredRegimen | None
    reason: str
    warnings: list[str]
    next_samples: list[SampleAdvice]
    start_h: float
    usual: UsualSchedule | None
    recommended: ScoredRegimen  # ranked[0], or the current regimen when no change is worth it
    advice: Advice
    misfit: str | None  # why the model cannot fit the levels (None: it can)
    sample_predictions: list[Prediction]  # at each advised sample, under the recommended regimen
    predicted_at: list[Prediction]  # at the requested times (history, then the recommendation)
    forecast: list[Prediction]  # the recommended regimen from its start
    correlation: tuple[tuple[str, ...], FloatArray]
    second_mode: SecondMode | None
    # "recommended", "verify before use" (the levels are not explained by the model, or the
    # posterior is unreliable) or "contraindicated" (the screening found a contraindication)
    status: RegimenStatus = RegimenStatus.RECOMMENDED
    before_increase: tuple[str, ...] = ()  # finding codes an increase waits for
    contraindications: tuple[Finding, ...] = ()
    averaging: Averaging | None = None  # settings.model "auto": the weights and why


def _param_arrays(spec: pk.ModelSpec, cov: pk.Covariates,
                  etas: FloatArray) -> dict[str, FloatArray]:
    p = pk.individual_parameters(spec, cov, etas)
    out: dict[str, FloatArray] = {}
    for name in REPORTED_PARAMETERS:
        if name in spec.parameters or name == "tlag_h":
            v = np.asarray(getattr(p, name), dtype=float)
            out[name] = np.broadcast_to(v, (etas.shape[0],)).copy()
    return out


def shown_every(window_h: FloatArray) -> int:
    """Every how many points of the plot window the curve is shown (about CURVE_SHOWN_H).

    The step is read from the window's first spacing as it was when the whole window was
    computed and then thinned for the report, so the shown times stay the same: that
    spacing carries arange's rounding (170.2 - 170 < 0.2), which makes the step 3 (0.6 h)
    for some starts and 2 (0.4 h) for others."""
    first = float(np.diff(window_h[:2])[0]) if window_h.size > 1 else CURVE_SHOWN_H
    return max(1, int(round(CURVE_SHOWN_H / max(first, 1e-9))))


LOW_PROBABILITY = 0.3  # below this, no regimen is "likely" to reach the goal


def cautions(validity: list[str], diag: Diagnostics, at_bound: tuple[bool, ...],
             eta_names: tuple[str, ...], ess: float, best: ScoredRegimen) -> list[str]:
    """Everything that should make a pharmacist pause before acting on the recommendation."""
    out = []
    if validity:
        out.append("the model extrapolates for this patient (" + "; ".join(validity)
                   + "); confirm with the next levels before relying on the forecast.")
    implausible = [lv for lv in diag.levels if lv.flag]
    if implausible:
        out.append(f"{len(implausible)} level(s) are not explained by the model (see the flags): "
                   "verify the sample times, the dose record and adherence before changing "
                   "the dose.")
    bound = [n for n, b in zip(eta_names, at_bound, strict=True) if b]
    if bound:
        out.append(f"the estimate of {', '.join(bound)} sits at the search limit (5 prior SDs): "
                   "the levels are extreme for this model.")
    if ess < MIN_ESS:
        out.append(f"the posterior sample is poor (effective sample size {ess:.0f}): the "
                   "intervals and probabilities are unreliable.")
    if best.p_above_ceiling > 0.5:
        out.append(f"even the top-ranked regimen has a {100 * best.p_above_ceiling:.0f} % "
                   f"probability of a peak above {CEILING_MG_L:g} mg/L: consider withholding "
                   "doses until a level confirms the concentration has fallen, and seek "
                   "specialist advice.")
    elif best.objective < LOW_PROBABILITY:
        out.append(f"no regimen of the grid is likely to reach the goal (best "
                   f"{100 * best.objective:.0f} %): seek specialist advice.")
    return out


def unreliable(diag: Diagnostics, at_bound: tuple[bool, ...], ess: float) -> bool:
    """Levels the model does not explain, or a posterior too poor to act on."""
    return any(lv.flag for lv in diag.levels) or any(at_bound) or ess < MIN_ESS


def _when(case: Case) -> Callable[[float], str]:
    def text(time_h: float) -> str:
        clock = case.clock(time_h)
        return clock.strftime("%Y-%m-%d %H:%M") if clock else f"{time_h:.1f} h"
    return text


def _ka_index(spec: pk.ModelSpec) -> int | None:
    return spec.eta_names.index("ka") if "ka" in spec.eta_names else None


LINEAR_KEYS = ("cmax", "cmin", "auc24")


def _metrics_fn(spec: pk.ModelSpec, cov: pk.Covariates, draws: FloatArray,
                mic: float | None, cands: Sequence[CandidateRegimen] = ()
                ) -> Callable[[CandidateRegimen], dict[str, FloatArray]]:
    """Steady-state metrics of each candidate for every posterior draw.

    The models are linear (first-order elimination, constant F), so concentrations scale
    with the dose: regimens of the same shape (interval, offsets, amount ratios) share one
    simulation, scaled, and the time above an MIC of a regimen s times its shape is the
    shape's time above MIC / s. The shapes of `cands` are computed together, once
    (`pk.steady_state_metrics_many`: one tabulated response for a transit model); any
    other regimen (the current one) when it is asked for.
    """
    cache: dict[tuple[Any, ...], dict[str, FloatArray]] = {}
    tmic: dict[tuple[Any, ...], FloatArray] = {}

    def shape(c: CandidateRegimen) -> tuple[tuple[Any, ...], float]:
        scale = max(c.amounts_mg)
        unit = tuple(round(a / scale, 12) for a in c.amounts_mg)
        return (c.period_h, tuple(c.offsets_h), unit), scale

    def fill(group: Sequence[CandidateRegimen]) -> None:
        scales: dict[tuple[Any, ...], list[float]] = {}
        for c in group:
            key, scale = shape(c)
            if key in cache and (mic is None or (key, scale) in tmic):
                continue
            if scale not in scales.setdefault(key, []):
                scales[key].append(scale)
        if not scales:
            return
        patterns = [pk.DosePattern(period_h=k[0], offsets_h=k[1], amounts_mg=k[2])
                    for k in scales]
        levels = None if mic is None else [[mic / sc for sc in v] for v in scales.values()]
        found = pk.steady_state_metrics_many(spec, cov, draws, patterns, levels)
        for (key, v), m in zip(scales.items(), found, strict=True):
            cache[key] = m
            for li, sc in enumerate(v if mic is not None else ()):
                tmic[(key, sc)] = np.asarray(m["tmic_pct"])[:, li]

    def metrics(c: CandidateRegimen) -> dict[str, FloatArray]:
        key, scale = shape(c)
        fill([c])
        out = {k: scale * np.asarray(cache[key][k]) for k in LINEAR_KEYS}
        if mic is not None:
            out["tmic_pct"] = tmic[(key, scale)]
        return out

    fill(cands)
    return metrics


def misfit(spec: pk.ModelSpec, diag: Diagnostics, averaged: bool = False) -> str | None:
    """Why the chosen model cannot fit the levels, and what to try instead (None: it can).
    `averaged`: `spec` is the highest-weight model of a model average."""
    bad = [lv for lv in diag.levels if lv.iwres is not None and abs(lv.iwres) > IWRES_FLAG]
    if not bad:
        return None
    others = [n for n in pk.list_models() if n != spec.name]
    text = (f"the model {spec.name} cannot fit these levels (IWRES "
            + ", ".join(f"{lv.iwres:+.1f}" for lv in bad if lv.iwres is not None)
            + f"; |IWRES| > {IWRES_FLAG:g}): its probabilities are not to be trusted")
    if diag.delayed_absorption and "ka" not in spec.eta_names and "mtt" not in spec.eta_names:
        text += ("; it has no between-patient variability on absorption, so it cannot follow "
                 "the delayed absorption these levels show")
    if averaged:
        text += ("; it carries the highest weight of the model average, so no other model "
                 "fits these levels better by its objective")
    elif others:
        text += ("; refit with " + " or ".join(f"--model {n}" for n in others)
                 + " (settings.model), or average the models where model averaging is available")
    return text + "."


def rise_bound(spec: pk.ModelSpec, cov: pk.Covariates | pk.CovariateTimeline,
               occ: OccasionModel, etas: FloatArray, over_h: float) -> float:
    """How many times higher the concentration of these rows (full η) can be at most `over_h`
    before a later time, whatever the doses: the central amount A leaves only by first-order
    elimination (rate k = CL/V; doses only add to it), so A(t) <= A(t + h) e^(k h), and C =
    A/V with V per covariate segment and occasion."""
    covs = cov.segments if isinstance(cov, pk.CovariateTimeline) else [cov]
    params = [pk.individual_parameters(spec, c, occ.segment_etas(etas, o))
              for c in covs for o in range(occ.n_occasions)]
    k = max(float(np.max(p.k_per_h)) for p in params)
    v = np.stack([p.v_l for p in params])
    return float(np.exp(k * over_h) * np.max(v.max(axis=0) / v.min(axis=0)))


def objective_for(spec: pk.ModelSpec, cov: pk.Covariates | pk.CovariateTimeline,
                  doses: DoseHistory, obs: Observations, occ: OccasionModel) -> Objective:
    return Objective(predict=predictor(spec, cov, occ, doses, obs.time_h),
                     residual_sd=spec.residual_sd, prior=Prior(occ.omega(spec.omega)), obs=obs)


@dataclass(frozen=True)
class ModelPosterior:
    """One model's posterior for this patient: its fit, Laplace approximation and SIR draws."""

    spec: pk.ModelSpec
    cov: pk.Covariates | pk.CovariateTimeline
    cov_now: pk.Covariates  # covariates in force now (the last dated values, LOCF)
    validity: list[str]
    occ: OccasionModel
    obj: Objective
    fit: MapFit
    laplace: Laplace
    sample: SirSample


def posterior_for(case: Case, spec: pk.ModelSpec, doses: DoseHistory, obs: Observations,
                  seed: int, n_draws: int) -> ModelPosterior:
    """Fit one model to the case's levels; a CaseError naming the field when it cannot."""
    cov: pk.Covariates | pk.CovariateTimeline = (
        timeline_from_case(case, spec) if case.patient.covariate_history
        else covariates_from_case(case, spec))
    cov_now = cov.segments[-1] if isinstance(cov, pk.CovariateTimeline) else cov
    occ = occasion_model(spec, obs, doses, occasion_starts(case, doses))
    obj = objective_for(spec, cov, doses, obs, occ)
    try:
        fit = fit_map(obj, _ka_index(spec))
        if not (np.isfinite(fit.ofv) and np.all(np.isfinite(fit.eta))):
            raise EstimationFailed("the fit did not converge to finite values")
        lap = laplace(obj, fit.eta, fit.hessian)
        sample = sir(obj, fit, lap, seed=seed, n_draws=n_draws)
    except (EstimationFailed, np.linalg.LinAlgError) as exc:
        failure = exc.reason if isinstance(exc, EstimationFailed) else str(exc)
        raise CaseError.single("levels", "no Bayesian estimate can be made from these levels "
                               f"and this dose history: {failure}; check the doses (amounts, "
                               "times) and the levels (values, units, times)") from exc
    return ModelPosterior(spec=spec, cov=cov, cov_now=cov_now,
                          validity=list(pk.validity_reasons(spec, cov)), occ=occ, obj=obj,
                          fit=fit, laplace=lap, sample=sample)


def _mixture_metrics(parts: list[tuple[ModelPosterior, int]], mic: float | None,
                     cands: Sequence[CandidateRegimen] = ()
                     ) -> Callable[[CandidateRegimen], dict[str, FloatArray]]:
    """Steady-state metrics of a candidate over the mixture: each model's share of the draws,
    simulated with that model, concatenated (every draw counts once)."""
    fns = [_metrics_fn(p.spec, p.cov_now, p.sample.draws[:n, : p.occ.n_iiv], mic, cands)
           for p, n in parts if n > 0]
    if len(fns) == 1:
        return fns[0]

    def metrics(c: CandidateRegimen) -> dict[str, FloatArray]:
        each = [fn(c) for fn in fns]
        return {k: np.concatenate([np.asarray(m[k], dtype=float) for m in each])
                for k in each[0] if all(m.get(k) is not None for m in each)}

    return metrics


def estimate(case: Case, model: str | None = None, *, seed: int = DEFAULT_SEED,
             n_draws: int = N_DRAWS, candidates: list[CandidateRegimen] | None = None,
             findings: tuple[Finding, ...] | None = None,
             predict_at_h: tuple[float, ...] = (),
             sample_after_h: tuple[float, ...] | None = None) -> Estimate:
    """`findings`: the assessment's screening of this case (screened here when not given);
    `predict_at_h`: times (hours from the first dose) at which to predict the concentration.
    `model` (or `settings.model`) "auto": the models are averaged by their fit to the levels
    (`averaging`); the estimate's own fields are then the highest-weight model's, its
    forecasts, ranking, next samples, advice and prediction intervals the weighted mixture's
    (MAP lines, the possible-error check, misfit, second mode and correlation: the
    highest-weight model's)."""
    check_case(case)
    doses = dose_history(case)
    obs = observations(case)
    name = model or case.settings.model
    averaging: Averaging | None = None
    if is_auto(name):
        averaging, posteriors = average(
            case, lambda spec: posterior_for(case, spec, doses, obs, seed, n_draws), n_draws)
        parts = [(p, w.n_draws) for p, w in zip(posteriors, averaging.fitted, strict=True)
                 if w.n_draws > 0]
    else:
        posteriors = [posterior_for(case, pk.get_model(name), doses, obs, seed, n_draws)]
        parts = [(posteriors[0], n_draws)]
    main = posteriors[0]
    spec, cov, cov_now, validity = main.spec, main.cov, main.cov_now, main.validity
    occ, obj, fit, lap, sample = main.occ, main.obj, main.fit, main.laplace, main.sample
    # Forecasts and reported parameters: between-subject η only (IOV set to 0).
    eta_map = fit.eta[: occ.n_iiv]
    draws = sample.draws[:, : occ.n_iiv]

    # the MAP, the typical patient and the draws in one call (row by row the same numbers)
    rows = _param_arrays(spec, cov_now, np.vstack([eta_map[None, :], np.zeros((1, occ.n_iiv)),
                                                   draws]))
    at_map, typical, post = ({k: v[sl] for k, v in rows.items()}
                             for sl in (slice(0, 1), slice(1, 2), slice(2, None)))
    parameters: dict[str, dict[str, float]] = {}
    bounds = intervals(np.column_stack(list(post.values())))  # every parameter in one sort
    for pname, (med, lo, hi) in zip(post, bounds, strict=True):
        parameters[pname] = {"map": float(at_map[pname][0]), "median": med, "lower": lo,
                             "upper": hi, "typical": float(typical[pname][0])}
    t_half_map = half_life_h(at_map["cl_l_h"][0], at_map["v_l"][0])
    # the half-life that times the next samples: over the mixture when averaging
    halves = []
    for p, n in parts:
        pp = (post if p is main and n == draws.shape[0]  # the same draws: already computed
              else _param_arrays(p.spec, p.cov_now, p.sample.draws[:n, : p.occ.n_iiv]))
        halves.append(np.log(2.0) * pp["v_l"] / pp["cl_l_h"])
    med, lo, hi = interval(np.concatenate(halves))
    half = {"map": t_half_map, "median": med, "lower": lo, "upper": hi}

    def conc(etas: FloatArray, times: FloatArray) -> FloatArray:
        # the fit over the history: each occasion with its own IOV η
        return concentrations(spec, cov, occ, etas, doses, times)

    def mixture(n_total: int) -> Callable[[FloatArray, FloatArray], FloatArray] | None:
        if len(parts) == 1:
            return None

        def sims(_draws: FloatArray, times: FloatArray) -> FloatArray:
            rows = [concentrations(p.spec, p.cov, p.occ, p.sample.draws[:m], doses, times)
                    for p, n in parts if (m := round(n * n_total / n_draws)) > 0]
            return np.vstack(rows)

        return sims

    at_levels = band(conc, fit.eta, sample.draws, obs.time_h, sims=mixture(n_draws))
    # The plotted band needs fewer draws than the reported intervals (SIR draws are iid).
    window = plot_window_h(doses.time_h, obs.time_h, step_h=CURVE_STEP_H)
    curve = band(conc, fit.eta, sample.draws[:CURVE_DRAWS], window[::shown_every(window)],
                 sims=mixture(CURVE_DRAWS))

    pred_pop = conc(np.zeros((1, obj.prior.k)), obs.time_h)[0] if obs.n else np.zeros(0)
    pop_range = None
    if obs.n:
        # Prior predictive check of each level (seeded apart from the SIR stream).
        rng = np.random.default_rng(seed + 1)
        prior_etas = rng.multivariate_normal(np.zeros(obj.prior.k), obj.prior.omega,
                                             size=N_PRIOR_PREDICTIVE)
        sims = conc(prior_etas, obs.time_h)
        pop_range = population_range(sims, spec.residual_sd(sims), rng)
    diag = diagnose(obs, doses, pred_pop, at_levels.map_mg_l, spec.residual_sd(at_levels.map_mg_l),
                    pop_range, when=_when(case),
                    absorption_varies=bool({"ka", "mtt"} & set(spec.eta_names)))

    cands = candidates if candidates is not None else grid_for(case)
    mic = case.target.mic_mg_l

    metrics = _mixture_metrics(parts, mic, cands)  # the grid's shapes computed together

    ranked = rank(cands, metrics, case.target)
    severe_renal = patient_renal_state(case.patient).severe  # the screening's definition
    usual = usual_schedule(case)
    now = usual.regimen if usual is not None else None
    current = score(now, metrics(now), case.target) if now is not None else None
    # The one regimen policy puts the regimen to recommend first (divided doses unless renal
    # function is severely reduced, practical schedules within a margin); the ranking stands
    # when the patient's own regimen already ranks first (no change to make).
    on_top_already = current is not None and ranked[0].regimen.label == current.regimen.label
    choice = choose(ranked, option, severe_renal=severe_renal, keep_order=on_top_already)
    ranked = list(choice.ordered)
    # The advice reads the same mixture as the ranking: the regimens' P(goal) and P(> 30)
    # and the posterior spread of the fall below the ceiling; the MAP (the fall time's point
    # estimate, the population range that calls a level a possible error) is the
    # highest-weight model's, as for the band.
    def rise() -> float:  # over the rows the fall below the ceiling simulates
        return max(rise_bound(p.spec, p.cov, p.occ,
                              np.vstack([fit.eta[None, :], p.sample.draws[:FALL_DRAWS]])
                              if p is main else p.sample.draws[:FALL_DRAWS],
                              FALL_COARSE * FALL_STEP_H) for p, _ in parts)

    advice = advise(obs, pop_range[1] if pop_range is not None else None, pred_pop, current,
                    ranked[0], conc, fit.eta, sample.draws, _when(case),
                    sims=mixture(FALL_DRAWS), rise=rise)
    recommended = ranked[0]
    kept = (advice.action is Action.KEEP and current is not None
            and recommended.regimen.label != current.regimen.label)
    if kept and current is not None:
        # the table's first row is the recommendation: the kept regimen, then the others
        recommended = next((r for r in ranked if r.regimen.label == current.regimen.label),
                           current)
        ranked = [recommended, *(r for r in ranked if r is not recommended)]
    model_label = (f"{spec.name} v{spec.version}" if averaging is None
                   else averaging.label)
    runner_up = ranked[1] if len(ranked) > 1 else None
    # Every regimen the table lists above one that ranked higher says why it is not first:
    # the policy's reasons, or (kept) the change threshold of the advice.
    if kept:
        runner_up_why = (f"no change: {CHANGE_THRESHOLD}"
                         if runner_up is not None and ranks_above(runner_up, recommended)
                         else None)
        policy_text = ""
    else:
        runner_up_why = choice.why_not(runner_up) if runner_up is not None else None
        policy_text = " ".join(t for t in (choice.passed_text(skip=runner_up),
                                           choice.practical) if t)
    why = reason(recommended, case.target, model_label, sum(n for _, n in parts), runner_up,
                 current=current, runner_up_why=runner_up_why, policy_text=policy_text)
    if kept:  # it does not rank first by the numbers, and the text says so
        why = why.replace(" ranks first:", ": kept,", 1)
    why = advice.text + " " + why
    warnings = cautions(validity, diag, fit.at_bound, occ.eta_names, sample.ess, recommended)
    if averaging is not None:
        warnings += averaging.warnings
    bad_fit = misfit(spec, diag, averaged=averaging is not None)
    if bad_fit:
        warnings.append(bad_fit)

    def params_at(etas: FloatArray) -> dict[str, float]:
        return {k: float(v[0]) for k, v in _param_arrays(spec, cov_now, etas).items()}

    mode2 = second_mode(fit, occ.n_iiv, params_at, conc,
                        float(doses.time_h.max()) if doses.n else 0.0)
    if mode2 is not None:
        warnings.append(mode2.text + ".")
    if (pregnancy := pregnancy_outside_models(case.patient)) is not None:
        warnings.append(f"{pregnancy}: the population prior ignores the changes of pregnancy; "
                        "only the measured levels inform this estimate of them.")

    unmodelled = {n: sd for n, sd in spec.iov.items() if n not in spec.eta_names}
    if unmodelled:
        # The PK engine has no occasion η for these parameters (Resendiz-Galvan 2025: ka, MTT,
        # F): the levels are fitted as if they did not vary, which narrows every interval.
        warnings.append("the model's between-occasion variability on "
                        + ", ".join(f"{n} (SD {sd:g})" for n, sd in unmodelled.items())
                        + " is not part of this estimate: the intervals and probabilities are "
                        "narrower than the truth; confirm the dose change with a new level.")
    found = screening_findings(case) if findings is None else findings
    blocks = blocking(found)
    warnings = contraindication_warnings(blocks) + quoted_warnings(found) + warnings
    holds = holding(found)
    toxic = too_likely_toxic(ranked[0].p_above_ceiling)
    status = (RegimenStatus.CONTRAINDICATED if blocks
              else RegimenStatus.HOLD if holds
              else RegimenStatus.VERIFY if (unreliable(diag, fit.at_bound, sample.ess)
                                            or advice.possible_error or bad_fit)
              else RegimenStatus.NOT_RECOMMENDED if toxic
              else RegimenStatus.RECOMMENDED)
    if blocks:
        why = not_recommended(blocks, "tdm") + " " + why
    elif holds:
        why = hold_text(holds) + " " + why
    elif toxic:
        why = too_toxic_text(ranked[0].p_above_ceiling) + " " + why
    checks = before_increase(found, current.regimen.daily_dose_mg if current else None,
                             recommended.regimen.daily_dose_mg)
    if checks:
        why = before_increase_text(checks) + " " + why
    if warnings:
        why += (f" Caution: {len(warnings)} warning(s) apply to this recommendation "
                "(listed with it).")
    # After a level above the ceiling the new regimen waits for the concentration to fall.
    not_before = advice.below_ceiling_upper_h or advice.below_ceiling_h
    last_level = float(obs.time_h.max()) if obs.n else None
    if not_before is not None:
        last_level = max(last_level or 0.0, not_before)
    start_h = new_regimen_start_h(usual, float(doses.time_h.max()) if doses.n else None,
                                  last_level, case.assessed_at_h)
    best = recommended.regimen
    sample_advice = next_samples(
        start_h, best.period_h, list(best.offsets_h), list(best.amounts_mg), half["upper"],
        case.t0, half_life_text=(f"the upper 90 % bound of this patient's half-life, "
                                 f"estimate {t_half_map:.1f} h"),
        sample_after_h=sample_after_h or SAMPLE_OFFSETS_H)
    until = max([a.time_h for a in sample_advice] + [start_h + 48.0] + list(predict_at_h)) + 6.0
    continued = continued_doses(doses, start_h, best.period_h, best.offsets_h, best.amounts_mg,
                                until)
    future = forecaster(spec, cov, occ, continued)
    # Prediction intervals over the mixture when averaging (each model's share of the draws,
    # with its own residual error); the MAP line is the highest-weight model's.
    components = None if len(parts) == 1 else [
        (forecaster(p.spec, p.cov, p.occ, continued), p.spec, p.sample.draws[:m])
        for p, n in parts if (m := round(n * FORECAST_DRAWS / n_draws)) > 0]
    rng = np.random.default_rng(seed + 2)  # apart from the SIR and prior-predictive streams
    # the advised samples, the requested times and the forecast from one simulation
    sample_pred, at_times, forecast = predict_each(
        future, spec, fit, sample.draws,
        [np.array([a.time_h for a in sample_advice]), np.asarray(predict_at_h, dtype=float),
         np.arange(start_h, until + 1e-9, FORECAST_STEP_H)], rng, components)

    return Estimate(case=case, spec=spec, covariates=cov, validity=validity, doses=doses, obs=obs,
                    occasions=occ,
                    fit=fit, laplace=lap, sample=sample, parameters=parameters, half_life_h=half,
                    at_levels=at_levels, curve=curve,
                    curve_window_h=(float(window[0]), float(window[-1])), diagnostics=diag,
                    ranked=ranked,
                    current=current, reason=why, warnings=warnings,
                    next_samples=sample_advice, start_h=start_h, usual=usual,
                    recommended=recommended, advice=advice, misfit=bad_fit,
                    sample_predictions=sample_pred, predicted_at=at_times, forecast=forecast,
                    correlation=correlation(sample.draws, spec.eta_names), second_mode=mode2,
                    status=status, before_increase=checks,
                    contraindications=tuple(blocks), averaging=averaging)
