"""Benchmark: MAP fit and SIR per patient (2 levels, 20 doses), median time.

Run: .venv/bin/python -m benchmarks.tdm_bench [N_PATIENTS]
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from cyclodose import pk
from cyclodose.tdm.objective import Objective, Prior
from cyclodose.tdm.optimise import fit_map
from cyclodose.tdm.posterior import laplace, sir
from cyclodose.tdm.preprocess import Observations
from cyclodose.validation import dose_history, sample_times, virtual_covariates


def run(n_patients: int = 50, seed: int = 11) -> dict[str, float]:
    spec = pk.get_model("alghamdi2019")
    rng = np.random.default_rng(seed)
    covs = virtual_covariates(n_patients, rng)
    etas = rng.multivariate_normal(np.zeros(len(spec.eta_names)), spec.omega, size=n_patients)
    td, ad = dose_history()  # 20 doses: 250 mg q12h for 10 days
    ts = sample_times()  # 2 h and 6 h after dose 19
    ka = spec.eta_names.index("ka")
    t_map, t_sir = [], []
    for i in range(n_patients):
        cov = covs.take(np.array([i]))
        f = pk.predict(spec, cov, etas[i:i + 1], td, ad, ts)[0]
        y = f * (1 + spec.prop_sd * rng.standard_normal(2))
        obs = Observations(ts, y, np.zeros(2, bool), np.full(2, np.nan))
        obj = Objective(lambda e, cov=cov: pk.predict(spec, cov, e, td, ad, ts),
                        spec.residual_sd, Prior(spec.omega), obs)
        t0 = time.perf_counter()
        fit = fit_map(obj, ka)
        t1 = time.perf_counter()
        sir(obj, fit, laplace(obj, fit.eta), seed=i)
        t2 = time.perf_counter()
        t_map.append(t1 - t0)
        t_sir.append(t2 - t1)
    return {"patients": n_patients, "map_median_ms": 1000 * statistics.median(t_map),
            "sir_median_ms": 1000 * statistics.median(t_sir)}


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    r = run(n)
    print(f"{r['patients']} patients, 2 levels, 20 doses: MAP median {r['map_median_ms']:.0f} ms, "
          f"SIR (Laplace + 10,000 proposals → 1,000 draws) median {r['sir_median_ms']:.0f} ms")
