"""The estimate as a plain JSON document (the `tdm` key of the CLI and API output)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from cyclodose import pk
from cyclodose.clinical.tdm_regimen import CEILING_MG_L, ScoredRegimen

if TYPE_CHECKING:
    from cyclodose.workflows.tdm.pipeline import Estimate

RANKED_SHOWN = 10


def _r(x: float | None, nd: int = 4) -> float | None:
    # math.isfinite: the same test as np.isfinite on a number, without a ufunc call (a
    # section rounds some 1,500 numbers)
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


def _rounded(xs: Any, nd: int) -> list[float | None]:
    """`_r` of every element of an array (through Python floats: the same values)."""
    return [_r(x, nd) for x in np.asarray(xs, dtype=float).tolist()]


def regimen_dict(s: ScoredRegimen) -> dict[str, Any]:
    r = s.regimen
    out: dict[str, Any] = {
        "regimen": r.label,
        "interval_h": r.period_h / len(r.offsets_h) if len(set(r.amounts_mg)) == 1 else None,
        "period_h": r.period_h,
        "offsets_h": list(r.offsets_h),
        "amounts_mg": list(r.amounts_mg),
        "daily_dose_mg": r.daily_dose_mg,
        "capsules_per_administration": list(r.capsules_per_administration),
        "capsules": list(r.capsules),
        "peak_mg_l": s.peak_mg_l.as_dict(),
        "trough_mg_l": s.trough_mg_l.as_dict(),
        "auc24_mg_h_l": s.auc24_mg_h_l.as_dict(),
        "p_in_target": round(s.p_in_target, 4),
        "p_above_ceiling": round(s.p_above_ceiling, 4),
    }
    if s.p_tmic_goal is not None and s.tmic_pct is not None:
        out["tmic_pct"] = s.tmic_pct.as_dict()
        out["p_tmic_goal"] = round(s.p_tmic_goal, 4)
        out["p_tmic_goal_and_below_ceiling"] = round(s.objective, 4)
    return out


def moved_from_prior(est: Estimate) -> dict[str, dict[str, float | None]]:
    """How far the levels moved each η: MAP in prior SDs, and posterior SD / prior SD.

    A ratio near 1 means the levels said little about that parameter (the
    estimate is still the prior, i.e. high shrinkage); near 0, the levels pinned it.
    """
    prior_sd = np.sqrt(np.diag(est.occasions.omega(est.spec.omega)))
    post_sd = est.sample.draws.std(axis=0)
    out: dict[str, dict[str, float | None]] = {}
    for i, name in enumerate(est.occasions.eta_names):
        out[name] = {
            "map": _r(est.fit.eta[i]),
            "prior_sd": _r(prior_sd[i]),
            "z_map": _r(est.fit.eta[i] / prior_sd[i], 3),
            "posterior_sd": _r(post_sd[i]),
            "laplace_sd": _r(est.laplace.sd[i]),
            "sd_ratio": _r(post_sd[i] / prior_sd[i], 3),
        }
    return out


def occasions(est: Estimate) -> dict[str, Any]:
    """Sampling occasions and, with IOV, the clearance the levels imply on each."""
    occ = est.occasions
    out: dict[str, Any] = {"n": occ.n_occasions, "starts_h": [0.0, *occ.starts_h],
                           "iov_estimated": bool(occ.targets), "rule": occ.rule,
                           "cl_l_h_forecast": _r(est.parameters["cl_l_h"]["map"])}
    if occ.targets:
        cov = est.covariates
        cls = []
        for k, start in enumerate([-np.inf, *occ.starts_h]):
            c = cov.at(start) if isinstance(cov, pk.CovariateTimeline) else cov
            p = pk.individual_parameters(est.spec, c, occ.segment_etas(est.fit.eta[None, :], k))
            cls.append(_r(float(p.cl_l_h[0])))
        out["cl_l_h_map"] = cls
        out["note"] = ("clearance on each sampling occasion (IIV + IOV); forecasts use the "
                       "between-subject estimate with IOV set to 0")
    return out


def _predicted(est: Estimate, p: Any) -> dict[str, Any]:
    clock = est.case.clock(p.time_h)
    return {"time_h": _r(p.time_h, 2),
            "clock": clock.isoformat(timespec="minutes") if clock else None,
            "map_mg_l": _r(p.map_mg_l, 3), "lower_mg_l": _r(p.lower_mg_l, 3),
            "upper_mg_l": _r(p.upper_mg_l, 3), "measured_lower_mg_l": _r(p.measured_lower_mg_l, 3),
            "measured_upper_mg_l": _r(p.measured_upper_mg_l, 3)}


def _advice(est: Estimate) -> dict[str, Any]:
    from cyclodose.workflows.tdm.advice import CHANGE_THRESHOLD

    a = est.advice
    below = est.case.clock(a.below_ceiling_h) if a.below_ceiling_h is not None else None
    return {"action": str(a.action), "text": a.text, "change_threshold": CHANGE_THRESHOLD,
            "possible_dosing_or_sampling_error": a.possible_error,
            "highest_level_mg_l": _r(a.highest_level_mg_l),
            "below_ceiling_h": _r(a.below_ceiling_h, 2),
            "below_ceiling_upper_h": _r(a.below_ceiling_upper_h, 2),
            "below_ceiling_clock": below.isoformat(timespec="minutes") if below else None,
            "below_ceiling_upper_unbounded": True if a.below_ceiling_unbounded else None}


def _fit(est: Estimate) -> dict[str, Any]:
    names, matrix = est.correlation
    m2 = est.second_mode
    return {
        "adequate": est.misfit is None, "misfit": est.misfit,
        "second_mode": None if m2 is None else {
            "delta_ofv": round(m2.delta_ofv, 4),
            "parameters": {k: [_r(a), _r(b)] for k, (a, b) in m2.parameters.items()},
            "tell_apart_after_dose_h": m2.tell_apart_after_dose_h,
            "modes": [{"label": m.label, "ofv": round(m.ofv, 4), "kept": m.kept,
                       "parameters": {k: _r(v) for k, v in m.parameters.items()},
                       "peak_after_dose_h": m.peak_after_dose_h,
                       "at_tell_apart_mg_l": _r(m.at_tell_apart_mg_l, 3)} for m in m2.modes],
            "absorption": m2.absorption, "text": m2.text},
        "posterior_correlation": {"names": list(names),
                                  "matrix": [[_r(x, 3) for x in row] for row in matrix]},
        "ofv": _r(est.fit.ofv), "n_starts": est.fit.n_starts,
        "n_local_optima": len(est.fit.optima),
        "at_bound": [n for n, b in zip(est.occasions.eta_names, est.fit.at_bound,
                                       strict=True) if b],
        "laplace_positive_definite": est.laplace.positive_definite,
        "sir": {"n_proposals": est.sample.n_proposals,
                "n_draws": int(est.sample.draws.shape[0]),
                "effective_sample_size": _r(est.sample.ess, 1),
                "n_modes": est.sample.n_modes}}


def to_dict(est: Estimate) -> dict[str, Any]:
    case = est.case
    best = est.recommended
    levels = []
    for i, d in enumerate(est.diagnostics.levels):
        clock = case.clock(d.time_h)
        levels.append({
            "time_h": _r(d.time_h, 3),
            "clock": clock.isoformat() if clock else None,
            "time_after_dose_h": _r(d.time_after_dose_h, 3),
            "pre_dose": d.pre_dose,
            "observed_mg_l": _r(d.observed_mg_l),
            "blq": d.blq,
            "lloq_mg_l": d.lloq_mg_l,
            "pred_mg_l": _r(d.pred_mg_l),
            "ipred_mg_l": _r(d.ipred_mg_l),
            "ipred_lower_mg_l": _r(float(est.at_levels.lower_mg_l[i])),
            "ipred_upper_mg_l": _r(float(est.at_levels.upper_mg_l[i])),
            "iwres": _r(d.iwres, 3),
            "flag": d.flag,
        })
    c = est.curve  # computed at the times shown
    start = case.clock(est.start_h)
    rec = regimen_dict(best)
    rec["status"] = est.status
    rec["advice"] = _advice(est)
    # Clock time of each administration of the day: "250/375 mg q12h" alone does not say
    # which dose is taken in the morning.
    rec["schedule"] = [
        {"clock": t.strftime("%H:%M") if (t := case.clock(est.start_h + off)) else None,
         "offset_h": off, "dose_mg": amt}
        for off, amt in zip(best.regimen.offsets_h, best.regimen.amounts_mg, strict=True)]
    rec["contraindications"] = [{"code": f.code, "severity": f.severity, "message": f.message}
                                for f in est.contraindications]
    rec["model"] = {"name": est.spec.name, "version": est.spec.version,
                    "citation": est.spec.citation}
    rec["inside_validity_domain"] = not est.validity
    rec["reason"] = est.reason
    rec["ceiling_mg_l"] = CEILING_MG_L
    rec["warnings"] = est.warnings
    rec["before_increase"] = list(est.before_increase)
    out = {
        "model": {"name": est.spec.name, "version": est.spec.version,
                  "citation": est.spec.citation, "title": est.spec.title,
                  "structure": est.spec.structure, "extrapolation": est.validity,
                  "near_edge": pk.near_edge_reasons(est.spec, est.covariates),
                  "covariate_rule": (est.covariates.rule
                                     if isinstance(est.covariates, pk.CovariateTimeline)
                                     else None)},
        "n_levels": est.obs.n,
        "parameters": {k: {kk: _r(vv) for kk, vv in v.items()} for k, v in est.parameters.items()},
        "half_life_h": {k: _r(v, 3) for k, v in est.half_life_h.items()},
        "occasions": occasions(est),
        "etas": moved_from_prior(est),
        "fit": _fit(est),
        "predictions": {
            "levels": levels,
            "curve": {
                "time_h": _rounded(c.time_h, 2),
                "map_mg_l": _rounded(c.map_mg_l, 3),
                "lower_mg_l": _rounded(c.lower_mg_l, 3),
                "upper_mg_l": _rounded(c.upper_mg_l, 3),
            },
            "dose_times_h": [_r(float(t), 3) for t in est.doses.time_h
                             if est.curve_window_h[0] <= t <= est.curve_window_h[1]],
            "interval": "90 % credible interval of the individual's concentration "
                        "(parameter uncertainty; residual error excluded)",
            "residual_error_included": False,
            "predicted_at": [_predicted(est, p) for p in est.predicted_at],
            "forecast": [_predicted(est, p) for p in est.forecast],
        },
        "diagnostics": {"flags": est.diagnostics.flags,
                        "delayed_absorption": est.diagnostics.delayed_absorption},
        "recommendation": rec,
        "ranked": [regimen_dict(s) for s in est.ranked[:RANKED_SHOWN]],
        "current_regimen": regimen_dict(est.current) if est.current is not None else None,
        "next_samples": [
            {"label": a.label, "time_h": _r(a.time_h, 2), "after_dose_h": a.after_dose_h,
             "clock": a.clock.isoformat(timespec="minutes") if a.clock else None, "why": a.why,
             "predicted": _predicted(est, p)}
            for a, p in zip(est.next_samples, est.sample_predictions, strict=True)
        ],
        "new_regimen_start_h": _r(est.start_h, 2),
        "new_regimen_start_clock": start.isoformat(timespec="minutes") if start else None,
        "current_regimen_source": est.usual.source if est.usual is not None else None,
        "regimen_changes": est.current is None or best.regimen.label != est.current.regimen.label,
    }
    if est.averaging is not None:
        av = est.averaging
        out["model_averaging"] = {
            "weights": [{"name": w.name, "version": w.version, "citation": w.citation,
                         "weight": _r(w.weight), "ofv": _r(w.ofv),
                         "prior_weight": _r(w.prior_weight), "n_draws": w.n_draws,
                         "extrapolation": w.extrapolation, "unavailable": w.unavailable}
                        for w in av.weights],
            "method": av.method, "why": av.why}
    return out
