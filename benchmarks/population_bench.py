"""Population PTA benchmark: 1,000,000 virtual patients × 12 regimens (issue 5).

    .venv/bin/python -m benchmarks.population_bench [--n 1000000] [--workers 2]

Compares, in the same run, the vectorised chunked engine (cyclodose.population)
with (a) scipy solve_ivp per patient and (b) a plain per-patient Python loop
over the closed form (pk.steady_state_metrics called for one patient at a
time), both timed on a subsample and extrapolated to the full workload. Also
reports peak RSS and where the vectorised time goes. Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

from cyclodose import pk
from cyclodose.pk import steady_state
from cyclodose.population import evaluate, load_population_spec, run_pta
from cyclodose.population.backends import default_workers
from cyclodose.population.evaluate import make_covariates
from cyclodose.population.sampling import Sampler

SPEC = Path(__file__).parents[1] / "examples" / "population.yaml"
REGIMENS = ["125mg q12h", "250mg q24h", "250mg q12h", "250/500mg q12h", "500mg q24h",
            "375mg q12h", "500mg q12h", "750mg q24h", "250mg q8h", "1000mg q24h",
            "500/750mg q12h", "750mg q12h"]
MICS = [4.0, 8.0, 16.0, 32.0, 48.0, 64.0]
TARGETS = [30.0, 64.0]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def _subsample(n: int) -> tuple[pk.ModelSpec, pk.Covariates, np.ndarray]:
    spec = load_population_spec(SPEC).model_copy(update={"n": n, "seed": 99})
    model = pk.get_model(spec.model)
    sample = Sampler(spec, model.omega).sample(0, n)
    return model, make_covariates(sample.covariates, model), sample.eta


def per_patient_closed_form(n: int) -> float:
    """Seconds per patient-regimen: Python loop, one patient per pk call (all MICs in it)."""
    model, cov, eta = _subsample(n)
    patterns = [pk.parse_regimen(r) for r in REGIMENS]
    t0 = time.perf_counter()
    for i in range(n):
        ci, ei = cov.take(np.array([i])), eta[i:i + 1]
        for pattern in patterns:
            pk.steady_state_metrics(model, ci, ei, pattern, mics_mg_l=MICS)
    return (time.perf_counter() - t0) / (n * len(patterns))


def _ode_one(par: pk.Params, i: int, pattern: pk.DosePattern, days: int = 21) -> dict[str, float]:
    """Steady state by brute force: integrate dose by dose for `days`, read the last period."""
    k, ka, v = par.k_per_h[i], par.ka_per_h[i], par.v_l[i]
    lag, f = par.tlag_h[i], par.f[i]
    times, amounts = pattern.doses(int(days * 24 / pattern.period_h))
    times = times + lag
    end = times[-1] - lag + pattern.period_h + lag  # one full period after the last dose entry

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        return [-ka * y[0], ka * y[0] - k * y[1]]

    y = np.zeros(2)
    last_start = end - pattern.period_h
    t_eval_all, c_all = [], []
    bounds = list(times) + [end]
    for j in range(len(times)):
        y = y + np.array([f * amounts[j], 0.0])
        lo, hi = bounds[j], bounds[j + 1]
        t_eval = None
        if hi > last_start:
            t_eval = np.arange(max(lo, last_start), hi, 0.01)
        sol = solve_ivp(rhs, (lo, hi), y, method="LSODA", rtol=1e-8, atol=1e-10, t_eval=t_eval)
        y = sol.y[:, -1] if t_eval is None else solve_ivp(
            rhs, (lo, hi), y, method="LSODA", rtol=1e-8, atol=1e-10).y[:, -1]
        if t_eval is not None and t_eval.size:
            t_eval_all.append(sol.t)
            c_all.append(sol.y[1] / v)
    c = np.concatenate(c_all)
    out = {"cmax": float(c.max()), "cmin": float(c.min())}
    for mic in MICS:
        out[f"tmic_{mic:g}"] = 100.0 * float(np.mean(c > mic))
    return out


def per_patient_ode(n: int) -> tuple[float, float]:
    """Seconds per patient-regimen with solve_ivp, and the largest relative Cmax difference
    from the closed form (a sanity check that both compute the same thing)."""
    model, cov, eta = _subsample(n)
    par = pk.individual_parameters(model, cov, eta)
    patterns = [pk.parse_regimen(r) for r in REGIMENS]
    worst = 0.0
    t0 = time.perf_counter()
    results = [[_ode_one(par, i, p) for p in patterns] for i in range(n)]
    elapsed = time.perf_counter() - t0
    for j, p in enumerate(patterns):
        exact = pk.steady_state_metrics(model, cov, eta, p)["cmax"]
        ode = np.array([results[i][j]["cmax"] for i in range(n)])
        worst = max(worst, float(np.max(np.abs(ode / exact - 1.0))))
    return elapsed / (n * len(patterns)), worst


def breakdown(n: int) -> dict[str, float]:
    """Single-process seconds per phase for one chunk of n patients (all 12 regimens)."""
    spec = load_population_spec(SPEC).model_copy(update={"n": n})
    model = pk.get_model(spec.model)
    t = {"sample": 0.0, "metrics": 0.0, "count": 0.0}
    t0 = time.perf_counter()
    sample = Sampler(spec, model.omega).sample(0, n)
    cov = make_covariates(sample.covariates, model)
    t["sample"] = time.perf_counter() - t0
    mics, targets = np.array(MICS), np.array(TARGETS)
    # as evaluate_chunk does it: parameters once, PK in row blocks, no tmax/tmin/trough
    t1 = time.perf_counter()
    par = pk.individual_parameters(model, cov, sample.eta)
    t["metrics"] += time.perf_counter() - t1
    for lo in range(0, n, evaluate.PK_BLOCK):
        block = par.take(slice(lo, lo + evaluate.PK_BLOCK))
        for r in REGIMENS:
            pattern = pk.parse_regimen(r)
            t1 = time.perf_counter()
            m = steady_state.metrics(block, pattern, mics_mg_l=mics, times=False)
            t2 = time.perf_counter()
            evaluate._attained_from_tmic(m["tmic_pct"], m["cmin"], m["cmax"], mics, targets)
            t["count"] += time.perf_counter() - t2
            t["metrics"] += t2 - t1
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=default_workers(),
                    help="worker processes (default: one per core)")
    ap.add_argument("--chunk-size", type=int, default=65_536)
    ap.add_argument("--loop-n", type=int, default=100, help="subsample for the Python loop")
    ap.add_argument("--ode-n", type=int, default=4, help="subsample for solve_ivp")
    args = ap.parse_args()
    work = args.n * len(REGIMENS)

    spec = load_population_spec(SPEC).model_copy(update={"n": args.n})
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    results = run_pta(spec, REGIMENS, MICS, TARGETS, chunk_size=args.chunk_size,
                      workers=args.workers)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime
           + ch1.ru_utime - ch0.ru_utime + ch1.ru_stime - ch0.ru_stime)
    rss = peak_rss_mb()
    worker_rss = ch1.ru_maxrss / 1024.0
    print(f"vectorised: {args.n:,} patients x {len(REGIMENS)} regimens x {len(MICS)} MICS "
          f"x {len(TARGETS)} targets, exact %T>MIC: {wall:.2f} s wall "
          f"({args.workers} worker processes, chunks of {args.chunk_size:,}), {cpu:.1f} CPU s; "
          f"peak RSS {rss:.0f} MB in the main process, {worker_rss:.0f} MB in the largest "
          f"worker (total at most {rss + args.workers * worker_rss:.0f} MB); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  e.g. {results[2].regimen}: Cmax median {np.median(results[2].cmax_mg_l):.1f} mg/L, "
          f"breakpoint {results[2].breakpoint}")

    bd = breakdown(min(args.chunk_size, args.n))
    print(f"breakdown, one process, one chunk of {min(args.chunk_size, args.n):,} x 12 "
          f"regimens: sampling {bd['sample']:.2f} s, pk steady-state metrics with every MIC "
          f"{bd['metrics']:.2f} s, attainment counts {bd['count']:.2f} s")

    loop_s = per_patient_closed_form(args.loop_n)
    print(f"(b) per-patient Python loop over the closed form: {loop_s * 1e3:.2f} ms per "
          f"patient-regimen -> {loop_s * work:,.0f} s extrapolated "
          f"(ratio {loop_s * work / wall:,.0f}x)")
    ode_s, worst = per_patient_ode(args.ode_n)
    print(f"(a) per-patient scipy solve_ivp (LSODA, rtol 1e-8, 21-day run-in, 0.01 h grid): "
          f"{ode_s * 1e3:.1f} ms per patient-regimen -> {ode_s * work:,.0f} s extrapolated "
          f"(ratio {ode_s * work / wall:,.0f}x); max |Cmax ODE/exact - 1| = {worst:.1e}")
    print(f"peak RSS of the whole run {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
