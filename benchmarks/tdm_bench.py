"""Benchmark: the TDM estimate per patient (2 levels, 20 doses), medians over the patients.

Measured in the same run, patient by patient:
- MAP: `cyclodose.tdm.optimise.fit_map` (batched Levenberg–Marquardt) against the
  baseline `benchmarks.tdm_baseline.legacy_fit_map` (the multistart L-BFGS-B with
  finite-difference gradients that it replaced), on the same objective; both OFVs are
  compared (the new search must never end higher);
- SIR (Laplace + 10,000 proposals → 1,000 draws);
- the whole TDM section in process (`cyclodose.tdm.estimate` on the patient's Case:
  MAP, posterior, forecasts, ranking of the candidate grid, next samples), and the same
  with the baseline MAP swapped in;
- `settings.model: auto` (model averaging of alghamdi2019 and resendiz2025) on the same
  patients with height and creatinine, levels simulated from each model in turn, against
  alghamdi2019 alone on the same cases (the baseline of that ratio);
- optionally (second argument) the MAP with ODE (solve_ivp) predictions for a few
  patients, as an ODE-based engine would compute them.

Run: .venv/bin/python -m benchmarks.tdm_bench [N_PATIENTS] [N_ODE_BASELINE]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import minimize

from benchmarks.tdm_baseline import legacy_fit_map
from cyclodose import pk
from cyclodose.intake.case import Case, parse_case
from cyclodose.tdm.objective import Objective, Prior
from cyclodose.tdm.optimise import fit_map
from cyclodose.tdm.posterior import laplace, sir
from cyclodose.tdm.preprocess import Observations
from cyclodose.workflows.adapters import covariates_from_case
from cyclodose.workflows.tdm import pipeline
from validation.common import dose_history, sample_times
from validation.engine import ode_conc
from validation.study import virtual_covariates

REGIMEN = {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 20}
LEVEL_TIMES = ("2026-03-10T10:00:00", "2026-03-10T14:00:00")  # 2 h and 6 h after dose 19
AUTO_HEIGHT_CM = 170.0


def ode_map_seconds(spec: pk.ModelSpec, cov: pk.Covariates, td: np.ndarray, ad: np.ndarray,
                    ts: np.ndarray, y: np.ndarray) -> float:
    """Time of the Kang MAP over log(CL, V, ka, tlag) with ODE predictions."""
    order = ("cl", "v", "ka", "tlag")
    typ = pk.individual_parameters(spec, cov, np.zeros((1, len(spec.eta_names))))
    log_typ = np.log([typ.cl_l_h[0], typ.v_l[0], typ.ka_per_h[0], typ.tlag_h[0]])
    idx = [spec.eta_names.index(n) for n in order]
    om_inv = np.linalg.inv(spec.omega[np.ix_(idx, idx)])

    def ofv(theta: np.ndarray) -> float:
        f = ode_conc(*np.exp(theta), td, ad, ts)
        g2 = np.maximum((spec.prop_sd * f) ** 2 + spec.add_sd_mg_l**2, 1e-8)
        d = theta - log_typ
        return float(np.sum((y - f) ** 2 / g2 + np.log(g2)) + d @ om_inv @ d)

    t0 = time.perf_counter()
    minimize(ofv, log_typ, method="L-BFGS-B")
    return time.perf_counter() - t0


def patient_case(weight_kg: float, crcl_ml_min: float, levels_mg_l: np.ndarray,
                 model: str | None = None) -> Case:
    patient: dict[str, Any] = {"age_years": 40, "sex": "male",
                               "weight_kg": round(float(weight_kg), 3),
                               "crcl_ml_min": round(float(crcl_ml_min), 3)}
    if model is not None:
        # resendiz2025 (and so `auto`) needs fat-free mass and the creatinine of its CLcr,56M:
        # height 170 cm, and the serum creatinine giving this CrCl by Cockcroft-Gault
        del patient["crcl_ml_min"]
        patient["height_cm"] = AUTO_HEIGHT_CM
        patient["serum_creatinine"] = {
            "value": round((140 - 40) * float(weight_kg) / (72 * float(crcl_ml_min)), 3),
            "unit": "mg/dL"}
    return parse_case({
        "patient": patient,
        **({"settings": {"model": model}} if model else {}),
        "regimen": REGIMEN,
        "levels": [{"time": t, "value": round(float(y), 4), "unit": "mg/L"}
                   for t, y in zip(LEVEL_TIMES, levels_mg_l, strict=True)],
    })


CPU: dict[str, list[float]] = {}  # CPU seconds per timing label (a shared machine inflates wall)


def _seconds(fn: Callable[[], Any], label: str = "") -> tuple[float, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    CPU.setdefault(label, []).append(time.process_time() - c0)
    return time.perf_counter() - t0, out


def auto_cases(covs: pk.Covariates, etas: np.ndarray, rng: np.random.Generator
               ) -> list[tuple[Case, Case]]:
    """(`auto`, alghamdi2019) cases of the same patients, levels simulated (with residual
    error) from alghamdi2019 for even and resendiz2025 for odd patients, so that both
    models carry weight across the set."""
    td, ad = dose_history()
    ts = sample_times()
    out = []
    for i in range(covs.size):
        w, crcl = float(covs.weight_kg[i]), float(covs.crcl_ml_min[i])
        single = patient_case(w, crcl, np.zeros(2), model="alghamdi2019")
        name = "alghamdi2019" if i % 2 == 0 else "resendiz2025"
        spec = pk.get_model(name)
        cov = covariates_from_case(single, spec)
        eta = etas[i:i + 1, : len(spec.eta_names)] if name == "alghamdi2019" else \
            rng.normal(0.0, 1.0, (1, len(spec.eta_names))) * np.sqrt(np.diag(spec.omega))
        f = pk.predict(spec, cov, eta, td, ad, ts)[0]
        y = f * (1 + spec.prop_sd * rng.standard_normal(2))
        out.append((patient_case(w, crcl, y, model="auto"),
                    patient_case(w, crcl, y, model="alghamdi2019")))
    return out


def run(n_patients: int = 30, n_ode: int = 0, seed: int = 11) -> dict[str, float]:
    CPU.clear()
    spec = pk.get_model("alghamdi2019")
    rng = np.random.default_rng(seed)
    covs = virtual_covariates(n_patients, rng)
    etas = rng.multivariate_normal(np.zeros(len(spec.eta_names)), spec.omega, size=n_patients)
    td, ad = dose_history()  # 20 doses: 250 mg q12h for 10 days
    ts = sample_times()  # 2 h and 6 h after dose 19
    ka = spec.eta_names.index("ka")
    times: dict[str, list[float]] = {k: [] for k in ("map", "map_base", "sir", "section",
                                                     "section_base", "ode", "auto",
                                                     "auto_single")}
    pairs = auto_cases(covs, etas, np.random.default_rng(seed + 1))
    worse = 0
    worst = 0.0
    estimate = pipeline.estimate
    for i in range(n_patients):
        cov = covs.take(np.array([i]))
        f = pk.predict(spec, cov, etas[i:i + 1], td, ad, ts)[0]
        y = f * (1 + spec.prop_sd * rng.standard_normal(2))
        obs = Observations(ts, y, np.zeros(2, bool), np.full(2, np.nan))
        obj = Objective(pk.predictor(spec, cov, td, ad, ts), spec.residual_sd, Prior(spec.omega),
                        obs)
        t_new, fit = _seconds(lambda obj=obj: fit_map(obj, ka), "map")
        t_old, base = _seconds(lambda obj=obj: legacy_fit_map(obj, ka), "map_base")
        times["map"].append(t_new)
        times["map_base"].append(t_old)
        worst = max(worst, fit.ofv - base.ofv)
        worse += fit.ofv > base.ofv + 1e-6
        t_sir, _ = _seconds(lambda obj=obj, fit=fit, i=i: sir(obj, fit, laplace(obj, fit.eta),
                                                                         seed=i))
        times["sir"].append(t_sir)
        case = patient_case(float(cov.weight_kg[0]), float(cov.crcl_ml_min[0]), y)
        t_sec, _ = _seconds(lambda case=case: estimate(case), "section")
        times["section"].append(t_sec)
        pipeline.fit_map = legacy_fit_map  # type: ignore[assignment]
        try:
            t_sec_old, _ = _seconds(lambda case=case: estimate(case), "section_base")
        finally:
            pipeline.fit_map = fit_map
        times["section_base"].append(t_sec_old)
        auto, single = pairs[i]
        t_auto, _ = _seconds(lambda case=auto: estimate(case), "auto")
        t_single, _ = _seconds(lambda case=single: estimate(case), "auto_single")
        times["auto"].append(t_auto)
        times["auto_single"].append(t_single)
        if i < n_ode:
            times["ode"].append(ode_map_seconds(spec, cov, td, ad, ts, y))
    med = {k: 1000 * statistics.median(v) for k, v in times.items() if v}
    med.update({f"{k}_cpu": 1000 * statistics.median(v) for k, v in CPU.items() if k})
    return {"patients": n_patients, **{f"{k}_median_ms": v for k, v in med.items()},
            "map_ratio": med["map_base"] / med["map"],
            "section_ratio": med["section_base"] / med["section"],
            "auto_ratio": med["auto"] / med["auto_single"],
            "auto_cpu_ratio": med["auto_cpu"] / med["auto_single_cpu"],
            "map_worse_than_baseline": worse, "map_worst_ofv_excess": worst,
            "ode_patients": n_ode}


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 30
    n_ode = int(argv[1]) if len(argv) > 1 else 0
    estimate_warmup = patient_case(60.0, 90.0, np.array([20.0, 17.0]))
    pipeline.estimate(estimate_warmup)  # imports and caches outside the timings
    r = run(n, n_ode)
    print(f"{r['patients']} patients, 2 levels, 20 doses (medians, same run):")
    print(f"  MAP          {r['map_median_ms']:7.1f} ms   baseline multistart L-BFGS-B "
          f"{r['map_base_median_ms']:7.1f} ms   -> {r['map_ratio']:.1f}x faster; new OFV above "
          f"the baseline's in {r['map_worse_than_baseline']} patients (largest excess "
          f"{r['map_worst_ofv_excess']:.1e})")
    print(f"               CPU {r['map_cpu_median_ms']:.1f} ms against "
          f"{r['map_base_cpu_median_ms']:.1f} ms")
    print(f"  SIR          {r['sir_median_ms']:7.1f} ms   (Laplace + 10,000 proposals -> "
          "1,000 draws)")
    print(f"  TDM section  {r['section_median_ms']:7.1f} ms   with the baseline MAP "
          f"{r['section_base_median_ms']:7.1f} ms   -> {r['section_ratio']:.1f}x faster "
          "(MAP, posterior, forecasts, ranking, next samples)")
    print(f"               CPU {r['section_cpu_median_ms']:.1f} ms against "
          f"{r['section_base_cpu_median_ms']:.1f} ms")
    print(f"  auto         {r['auto_median_ms']:7.1f} ms   alghamdi2019 alone on the same patients "
          f"{r['auto_single_median_ms']:7.1f} ms   -> {r['auto_ratio']:.1f}x the single model "
          "(model averaging with resendiz2025, half the patients simulated from each)")
    print(f"               CPU {r['auto_cpu_median_ms']:.1f} ms against "
          f"{r['auto_single_cpu_median_ms']:.1f} ms   -> {r['auto_cpu_ratio']:.1f}x")
    print("  (medians of wall time; CPU = this process's CPU time, what a shared machine does "
          "not inflate)")
    if r["ode_patients"]:
        print(f"  ODE baseline, {r['ode_patients']} patients: MAP with solve_ivp predictions "
              f"(one start) {r['ode_median_ms']:.0f} ms -> closed-form MAP "
              f"{r['ode_median_ms'] / r['map_median_ms']:.0f}x faster")


if __name__ == "__main__":
    main(sys.argv[1:])
