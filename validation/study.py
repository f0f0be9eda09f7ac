"""Section 1: simulation–estimation study of the Bayesian TDM estimator.

Virtual patients drawn from the default model (between-subject variability and residual
error), 2 h and 6 h levels at steady state, each estimated by the stages of `cyclodose
tdm` (MAP with restarts, Laplace, SIR); bias and precision of CL and of the predicted
next steady-state peak against the truth, and the coverage of the 90 % intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cyclodose import pk
from cyclodose.tdm.objective import Objective, Prior
from cyclodose.tdm.optimise import fit_map
from cyclodose.tdm.posterior import laplace, sir
from validation.common import (
    DOSE_MG,
    INTERVAL_H,
    STUDY_SEED,
    dose_history,
    observations,
    sample_times,
)

STUDY_PROPOSALS = 4000  # SIR proposals and draws per virtual patient (fewer than the CLI's)
STUDY_DRAWS = 500
STUDY_PATIENTS = 5000  # narrow enough a coverage interval to judge (Wilson 95 % CI ±0.8 %)
CHUNK_PATIENTS = 50  # patients per task: fixed, so that nothing depends on the workers
STUDY_KEYS = ("cl_true", "cl_map", "cl_lo", "cl_hi", "cl_lap_lo", "cl_lap_hi", "cl_typical",
              "peak_true", "peak_map", "peak_lo", "peak_hi", "peak_typical", "n_modes", "ess")


@dataclass(frozen=True)
class StudyResult:
    n: int
    cl_true: np.ndarray
    cl_map: np.ndarray
    cl_lo: np.ndarray
    cl_hi: np.ndarray
    cl_lap_lo: np.ndarray
    cl_lap_hi: np.ndarray
    cl_typical: np.ndarray
    peak_true: np.ndarray
    peak_map: np.ndarray
    peak_lo: np.ndarray
    peak_hi: np.ndarray
    peak_typical: np.ndarray
    n_modes: np.ndarray
    ess: np.ndarray


def virtual_covariates(n: int, rng: np.random.Generator) -> pk.Covariates:
    """Adults like Alghamdi's TB patients: weight IQR 51.4–68.6 kg, CrCl IQR 68.8–111.9 mL/min."""
    weight = np.clip(rng.normal(60.0, 12.7, n), 38.0, 100.0)
    crcl = np.clip(np.exp(rng.normal(np.log(88.0), 0.36, n)), 30.0, 180.0)
    return pk.Covariates.create(weight_kg=weight, crcl_ml_min=crcl)


def estimate_patients(model: str, seed: int, cov: pk.Covariates, eta_true: np.ndarray,
                      first: int, n_proposals: int, n_draws: int) -> dict[str, np.ndarray]:
    """Simulate and estimate patients first, first + 1, …: patient i draws its residual
    errors and Laplace samples from its own stream (seed, i) and its SIR from seed + i, so
    a patient's numbers do not depend on which task or worker ran it. The steady-state
    forecasts of all the patients (truth, MAP, prior, SIR draws) are one batched call."""
    spec = pk.get_model(model)
    m, k = eta_true.shape
    td, ad = dose_history()
    ts = sample_times()
    ka_index = spec.eta_names.index("ka") if "ka" in spec.eta_names else None
    forecast = np.empty((m, 3 + n_draws, k))  # truth, MAP, typical, SIR draws
    lap_draws = np.empty((m, n_draws, k))
    n_modes, ess = np.empty(m), np.empty(m)
    for j in range(m):
        i = first + j
        rng = np.random.default_rng([seed, i])
        one = cov.take(np.array([j]))
        f_true = pk.predict(spec, one, eta_true[j:j + 1], td, ad, ts)[0]
        y = f_true * (1.0 + spec.prop_sd * rng.standard_normal(ts.size)) \
            + spec.add_sd_mg_l * rng.standard_normal(ts.size)
        y = np.maximum(y, 0.01)
        obj = Objective(predict=pk.predictor(spec, one, td, ad, ts),
                        residual_sd=spec.residual_sd, prior=Prior(spec.omega),
                        obs=observations(y, ts))
        fit = fit_map(obj, ka_index)
        lap = laplace(obj, fit.eta)
        smp = sir(obj, fit, lap, seed=seed + i, n_proposals=n_proposals, n_draws=n_draws)
        lap_draws[j] = rng.multivariate_normal(lap.mean, lap.cov, size=n_draws)
        forecast[j, 0], forecast[j, 1], forecast[j, 2] = eta_true[j], fit.eta, 0.0
        forecast[j, 3:] = smp.draws
        n_modes[j], ess[j] = smp.n_modes, smp.ess
    every = np.concatenate([forecast, lap_draws], axis=1)
    cl = np.asarray(pk.individual_parameters(
        spec, cov.take(np.repeat(np.arange(m), every.shape[1])), every.reshape(-1, k)
    ).cl_l_h).reshape(m, -1)
    pattern = pk.DosePattern.every(DOSE_MG, INTERVAL_H)
    peaks = np.asarray(pk.steady_state_metrics(
        spec, cov.take(np.repeat(np.arange(m), 3 + n_draws)), forecast.reshape(-1, k), pattern
    )["cmax"]).reshape(m, -1)
    sir_cl, lap_cl = cl[:, 3:3 + n_draws], cl[:, 3 + n_draws:]
    return {
        "cl_true": cl[:, 0], "cl_map": cl[:, 1], "cl_typical": cl[:, 2],
        "cl_lo": np.percentile(sir_cl, 5, axis=1), "cl_hi": np.percentile(sir_cl, 95, axis=1),
        "cl_lap_lo": np.percentile(lap_cl, 5, axis=1),
        "cl_lap_hi": np.percentile(lap_cl, 95, axis=1),
        "peak_true": peaks[:, 0], "peak_map": peaks[:, 1], "peak_typical": peaks[:, 2],
        "peak_lo": np.percentile(peaks[:, 3:], 5, axis=1),
        "peak_hi": np.percentile(peaks[:, 3:], 95, axis=1),
        "n_modes": n_modes, "ess": ess,
    }


def study_tasks(n: int, seed: int = STUDY_SEED, model: str = "alghamdi2019",
                n_proposals: int = STUDY_PROPOSALS, n_draws: int = STUDY_DRAWS,
                chunk: int = CHUNK_PATIENTS) -> list[tuple[Any, ...]]:
    """Arguments of `estimate_patients` for each chunk of `chunk` patients: the
    covariates and true η of all n patients are drawn here, from the study's seed."""
    spec = pk.get_model(model)
    rng = np.random.default_rng(seed)
    covs = virtual_covariates(n, rng)
    eta_true = rng.multivariate_normal(np.zeros(len(spec.eta_names)), spec.omega, size=n)
    return [(model, seed, covs.take(np.arange(a, min(n, a + chunk))), eta_true[a:a + chunk], a,
             n_proposals, n_draws) for a in range(0, n, chunk)]


def combine(parts: list[dict[str, np.ndarray]]) -> StudyResult:
    """One result from the chunks' results, in patient order."""
    arrays = {key: np.concatenate([np.asarray(p[key], dtype=float) for p in parts])
              for key in STUDY_KEYS}
    return StudyResult(n=int(arrays["cl_true"].size), **arrays)


def simulation_estimation(n: int, seed: int = STUDY_SEED, model: str = "alghamdi2019",
                          n_proposals: int = STUDY_PROPOSALS, n_draws: int = STUDY_DRAWS,
                          chunk: int = CHUNK_PATIENTS) -> StudyResult:
    """The whole study in this process (`validation.run` spreads the same tasks over
    worker processes)."""
    return combine([estimate_patients(*t)
                    for t in study_tasks(n, seed, model, n_proposals, n_draws, chunk)])
