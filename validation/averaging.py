"""Section 2: model averaging. Patients simulated from each bundled model in turn, the
next peak forecast by the right model, the wrong one and the weighted average (`auto`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cyclodose import pk
from cyclodose.tdm.averaging import model_weights
from cyclodose.tdm.objective import Objective, Prior
from cyclodose.tdm.optimise import fit_map
from validation.common import (
    DOSE_MG,
    INTERVAL_H,
    STUDY_SEED,
    dose_history,
    observations,
    rmse_pct,
    sample_times,
)

AVERAGING_MODELS = ("alghamdi2019", "resendiz2025")
AVERAGING_PATIENTS = 400  # per true model
AVERAGING_SEED = STUDY_SEED + 13
CHUNK_PATIENTS = 25  # patients per task: fixed, so that nothing depends on the workers
MIN_JUDGED = 100  # fewer patients per model than this: the table is shown but not judged
BOOTSTRAP = 2000  # paired resamples of the patients for the intervals of the RMSE differences


@dataclass(frozen=True)
class AveragingResult:
    true_model: str
    n: int
    peak_true: np.ndarray
    peak_right: np.ndarray  # MAP forecast with the model the patient was simulated from
    peak_wrong: np.ndarray  # with the other model
    peak_auto: np.ndarray  # weighted by each model's fit (tdm.averaging.model_weights)
    weight_right: np.ndarray

    @property
    def verdict(self) -> bool | None:
        """Averaging beats the wrong model and comes closer to the right one than to the
        wrong one (RMSE of the next peak); None below MIN_JUDGED patients."""
        if self.n < MIN_JUDGED:
            return None
        right, wrong, auto = (rmse_pct(x, self.peak_true)
                              for x in (self.peak_right, self.peak_wrong, self.peak_auto))
        return auto < wrong and auto - right < wrong - auto

    def rmse_gaps(self, seed: int = AVERAGING_SEED) -> dict[str, tuple[float, float, float]]:
        """RMSE(auto) − RMSE(right) and RMSE(wrong) − RMSE(auto), percentage points:
        (estimate, 95 % interval from a paired bootstrap over the patients)."""
        err = {k: (getattr(self, f"peak_{k}") - self.peak_true) / self.peak_true
               for k in ("right", "wrong", "auto")}
        rng = np.random.default_rng([seed, AVERAGING_MODELS.index(self.true_model)])
        idx = rng.integers(0, self.n, size=(BOOTSTRAP, self.n))

        def rmse(e: np.ndarray) -> np.ndarray:
            return 100.0 * np.sqrt(np.mean(e**2, axis=-1))

        out = {}
        for name, (a, b) in {"auto − right": ("auto", "right"),
                             "wrong − auto": ("wrong", "auto")}.items():
            gap = rmse(err[a][idx]) - rmse(err[b][idx])
            lo, hi = np.percentile(gap, [2.5, 97.5])
            out[name] = (float(rmse(err[a]) - rmse(err[b])), float(lo), float(hi))
        return out


def averaging_covariates(n: int, rng: np.random.Generator) -> pk.Covariates:
    """Adults both models can describe: weight, height, sex, age and creatinine, from which
    CrCl (Alghamdi), FFM and CLcr for 56 kg (Resendiz-Galvan) are derived."""
    male = (rng.random(n) < 0.6).astype(float)
    height = np.clip(rng.normal(np.where(male > 0.5, 168.0, 156.0), 7.0), 140.0, 195.0)
    bmi = np.clip(rng.normal(20.5, 2.8, n), 15.0, 32.0)
    weight = bmi * (height / 100.0) ** 2
    age = rng.uniform(18.0, 65.0, n)
    scr = np.clip(np.exp(rng.normal(np.log(0.85), 0.2, n)), 0.5, 1.6)
    return pk.Covariates.create(weight_kg=weight, height_cm=height, male=male, age_years=age,
                                scr_mg_dl=scr)


def _peaks(spec: pk.ModelSpec, cov: pk.Covariates, etas: np.ndarray) -> np.ndarray:
    """Next steady-state peak of each patient (one batched call)."""
    pattern = pk.DosePattern.every(DOSE_MG, INTERVAL_H)
    return np.asarray(pk.steady_state_metrics(spec, cov, etas, pattern)["cmax"], dtype=float)


def averaging_patients(true_model: str, seed: int, cov: pk.Covariates, eta_true: np.ndarray,
                       first: int) -> dict[str, np.ndarray]:
    """Simulate patients first, first + 1, … from `true_model` (each its own stream (seed,
    i)), fit both models' MAP to their levels, and forecast the next peak by each."""
    true_spec = pk.get_model(true_model)
    specs = [pk.get_model(m) for m in AVERAGING_MODELS]
    td, ad = dose_history()
    ts = sample_times()
    m = eta_true.shape[0]
    ofv = np.empty((m, len(specs)))
    eta_map = [np.empty((m, len(s.eta_names))) for s in specs]
    for j in range(m):
        rng = np.random.default_rng([seed, first + j])
        one = cov.take(np.array([j]))
        f = pk.predict(true_spec, one, eta_true[j:j + 1], td, ad, ts)[0]
        y = np.maximum(f * (1.0 + true_spec.prop_sd * rng.standard_normal(ts.size))
                       + true_spec.add_sd_mg_l * rng.standard_normal(ts.size), 0.01)
        for s, spec in enumerate(specs):
            obj = Objective(pk.predictor(spec, one, td, ad, ts), spec.residual_sd,
                            Prior(spec.omega), observations(y, ts))
            fit = fit_map(obj, spec.eta_names.index("ka") if "ka" in spec.eta_names else None)
            ofv[j, s], eta_map[s][j] = fit.ofv, fit.eta
    peaks = np.column_stack([_peaks(spec, cov, eta_map[s]) for s, spec in enumerate(specs)])
    weights = np.vstack([model_weights(row.tolist()) for row in ofv])
    right = AVERAGING_MODELS.index(true_model)
    return {"true": _peaks(true_spec, cov, eta_true), "right": peaks[:, right],
            "wrong": peaks[:, 1 - right], "auto": np.sum(weights * peaks, axis=1),
            "w": weights[:, right]}


def averaging_tasks(n: int = AVERAGING_PATIENTS, seed: int = AVERAGING_SEED,
                    chunk: int = CHUNK_PATIENTS) -> list[tuple[Any, ...]]:
    """Arguments of `averaging_patients` per chunk: patients simulated from each model in
    turn (its between-subject variability and residual error), 250 mg q12h, levels 2 h and
    6 h after dose 19."""
    tasks = []
    for m, true_model in enumerate(AVERAGING_MODELS):
        rng = np.random.default_rng([seed, m])
        spec = pk.get_model(true_model)
        cov = averaging_covariates(n, rng)
        eta = rng.multivariate_normal(np.zeros(len(spec.eta_names)), spec.omega, size=n)
        tasks += [(true_model, seed + 100 * m, cov.take(np.arange(a, min(n, a + chunk))),
                   eta[a:a + chunk], a) for a in range(0, n, chunk)]
    return tasks


def combine(tasks: list[tuple[Any, ...]], parts: list[dict[str, np.ndarray]]
            ) -> list[AveragingResult]:
    """One result per true model from the chunks' results (in task order)."""
    out = []
    for true_model in AVERAGING_MODELS:
        mine = [p for t, p in zip(tasks, parts, strict=True) if t[0] == true_model]
        cat = {k: np.concatenate([p[k] for p in mine])
               for k in ("true", "right", "wrong", "auto", "w")}
        out.append(AveragingResult(true_model, int(cat["true"].size), cat["true"], cat["right"],
                                   cat["wrong"], cat["auto"], cat["w"]))
    return out


def averaging_study(n: int = AVERAGING_PATIENTS, seed: int = AVERAGING_SEED,
                    chunk: int = CHUNK_PATIENTS) -> list[AveragingResult]:
    """The whole averaging study in this process."""
    tasks = averaging_tasks(n, seed, chunk)
    return combine(tasks, [averaging_patients(*t) for t in tasks])
