"""Pharmacokinetic engine: published population models as data, exact closed-form
simulation of any dose history, analytic steady state and exposure metrics.

Public API (others code against these names):
- `get_model(name)`, `list_models()`, `ModelSpec`
- `Covariates`, `CovariateTimeline` (built from a Case by `cyclodose.workflows.adapters`)
- `individual_parameters(spec, covariates, eta) -> Params`
- `predict(spec, covariates, eta, dose_times_h, dose_amounts_mg, times_h) -> (n, nt) mg/L`
- `predictor(spec, covariates, dose_times_h, dose_amounts_mg, times_h)`: the same with all
  but η bound once (for a MAP search or a sampler)
- `DosePattern`, `parse_regimen(text)`, `repeat_doses(...)`
- `steady_state_metrics(spec, covariates, eta, pattern, mic_mg_l=None, *, mics_mg_l=None)`
- `steady_state_concentration(spec, covariates, eta, pattern, times_h)`
- `steady_state_metrics_many(spec, covariates, eta, patterns, levels=None)`: several
  patterns for the same individuals at once (a transit model's candidate grid)
- `exposure_metrics(...)` over windows of a dose history
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cyclodose.pk.covariates import (
    LOCF_RULE,
    Covariates,
    CovariateTimeline,
    near_edge_reasons,
    validity_reasons,
)
from cyclodose.pk.metrics import window_metrics
from cyclodose.pk.params import ParameterMap, Params, as_eta, individual_parameters, parameter_map
from cyclodose.pk.regimen import DosePattern, parse_regimen, repeat_doses
from cyclodose.pk.solution import Segment, concentration_mg_l
from cyclodose.pk.spec import DEFAULT_MODEL, ModelSpec, get_model, list_models
from cyclodose.pk.steady_many import metrics_patterns as _ss_metrics_many
from cyclodose.pk.steady_state import metrics as _ss_metrics
from cyclodose.pk.steady_state import steady_state_profile

Cov = Covariates | CovariateTimeline


def segments(spec: ModelSpec, covariates: Cov, eta: Any = None) -> list[Segment]:
    """Parameter segments (LOCF) for individuals with these etas."""
    if isinstance(covariates, CovariateTimeline):
        return [Segment(start, individual_parameters(spec, c, eta))
                for start, c in zip(covariates.start_h, covariates.segments, strict=True)]
    return [Segment(-np.inf, individual_parameters(spec, covariates, eta))]


def predict(spec: ModelSpec, covariates: Cov, eta: Any, dose_times_h: Any, dose_amounts_mg: Any,
            times_h: Any) -> np.ndarray:
    """Concentrations (mg/L), shape (n, n_times), for a dose history (closed form, exact).

    `eta` is (n, n_eta), (n_eta,) or None (typical individual). Doses enter at
    their time + lag; covariates given as a `CovariateTimeline` apply LOCF.
    """
    segs = segments(spec, covariates, eta)
    td = np.atleast_1d(np.asarray(dose_times_h, dtype=float))
    ad = np.atleast_1d(np.asarray(dose_amounts_mg, dtype=float))
    t = np.atleast_1d(np.asarray(times_h, dtype=float))
    return concentration_mg_l(segs, td, ad, t)


def predictor(spec: ModelSpec, covariates: Cov, dose_times_h: Any, dose_amounts_mg: Any,
              times_h: Any) -> Callable[[np.ndarray], np.ndarray]:
    """`predict` as a function of η (n, n_eta) alone: the typical values of every covariate
    segment are computed once, so a call costs only exp(η) and the closed form."""
    segs = (list(zip(covariates.start_h, covariates.segments, strict=True))
            if isinstance(covariates, CovariateTimeline) else [(-np.inf, covariates)])
    maps = [(start, parameter_map(spec, c)) for start, c in segs]
    td = np.atleast_1d(np.asarray(dose_times_h, dtype=float))
    ad = np.atleast_1d(np.asarray(dose_amounts_mg, dtype=float))
    t = np.atleast_1d(np.asarray(times_h, dtype=float))

    def conc(eta: np.ndarray) -> np.ndarray:
        e = as_eta(spec, eta, 1)
        return concentration_mg_l([Segment(start, m.at(e)) for start, m in maps], td, ad, t)

    return conc


def steady_state_concentration(spec: ModelSpec, covariates: Covariates, eta: Any,
                               pattern: DosePattern, times_h: Any) -> np.ndarray:
    """Steady-state concentrations (mg/L), (n, n_times), times on the pattern clock (mod period)."""
    par = individual_parameters(spec, covariates, eta)
    return steady_state_profile(par, pattern, np.atleast_1d(np.asarray(times_h, dtype=float)))


def steady_state_metrics(spec: ModelSpec, covariates: Covariates, eta: Any, pattern: DosePattern,
                         mic_mg_l: Any = None, *, mics_mg_l: Any = None
                         ) -> dict[str, np.ndarray]:
    """Analytic steady-state metrics per individual, arrays of shape (n,).

    Keys: `cmax` (mg/L), `tmax` (h on the pattern clock, = time after the dose for a
    one-dose pattern), `cmin` (mg/L, lowest over the period), `tmin` (h), `ctrough`
    (mg/L just before the pattern's first dose), `auc24` and `auc_period` (mg·h/L),
    `tmic_pct` (% of the period above `mic_mg_l`, exact crossings; nan without MIC).
    With `mics_mg_l` (a sequence of MICs shared by every individual) `tmic_pct` is
    (n, n_mics) instead, all MICs computed from one steady state (much cheaper than
    one call per MIC, and the same numbers).
    """
    par = individual_parameters(spec, covariates, eta)
    return _ss_metrics(par, pattern, mic_mg_l, mics_mg_l=mics_mg_l)


def steady_state_metrics_many(spec: ModelSpec, covariates: Covariates, eta: Any,
                              patterns: Sequence[DosePattern],
                              levels: Sequence[Sequence[float]] | None = None
                              ) -> list[dict[str, np.ndarray]]:
    """Steady-state `cmax`, `cmin` (mg/L), `auc24`, `auc_period` (mg·h/L) per individual,
    arrays (n,), for each pattern; with `levels` (one sequence of levels in mg/L per
    pattern) also `tmic_pct`, (n, len(levels[j])) for pattern j. The same numbers as
    `steady_state_metrics` to ~1e-12 (exact refinement either way); for a transit model
    whose patterns repeat within 24 h, all patterns share one tabulated unit response
    (`pk.steady_many`), many times faster than pattern by pattern."""
    par = individual_parameters(spec, covariates, eta)
    return _ss_metrics_many(par, patterns, levels)


def exposure_metrics(spec: ModelSpec, covariates: Cov, eta: Any, dose_times_h: Any,
                     dose_amounts_mg: Any, windows_h: Any, *, threshold_mg_l: Any = None,
                     mic_mg_l: Any = None) -> dict[str, np.ndarray]:
    """Exposure over windows [start_h, end_h) of a dose history, arrays (n, n_windows).

    Keys: `cmax`, `cmin` (mg/L), `tmax`, `tmin` (h on the history clock), `auc`
    (mg·h/L, exact), `time_above_h` (with `threshold_mg_l`), `tmic_pct` (with `mic_mg_l`).
    """
    segs = segments(spec, covariates, eta)
    td = np.atleast_1d(np.asarray(dose_times_h, dtype=float))
    ad = np.atleast_1d(np.asarray(dose_amounts_mg, dtype=float))
    return window_metrics(segs, td, ad, np.asarray(windows_h, dtype=float),
                          threshold_mg_l=threshold_mg_l, mic_mg_l=mic_mg_l)


__all__ = [
    "validity_reasons",
    "near_edge_reasons",
    "DEFAULT_MODEL",
    "LOCF_RULE",
    "CovariateTimeline",
    "Covariates",
    "DosePattern",
    "ModelSpec",
    "ParameterMap",
    "Params",
    "as_eta",
    "exposure_metrics",
    "get_model",
    "individual_parameters",
    "list_models",
    "parameter_map",
    "parse_regimen",
    "predict",
    "predictor",
    "repeat_doses",
    "segments",
    "steady_state_concentration",
    "steady_state_metrics",
    "steady_state_metrics_many",
]
