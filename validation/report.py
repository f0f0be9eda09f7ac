"""The validation report in markdown, from the sections' results and the run's timing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cyclodose.version import __version__
from validation.averaging import MIN_JUDGED, AveragingResult
from validation.common import (
    DOSE_MG,
    INTERVAL_H,
    N_DOSES,
    coverage,
    coverage_ci,
    mpe_pct,
    rmse_pct,
)
from validation.engine import EngineChecks
from validation.reference import Agreement, MapCase
from validation.study import STUDY_DRAWS, STUDY_PROPOSALS, StudyResult


@dataclass(frozen=True)
class Results:
    study: StudyResult
    averaging: list[AveragingResult]
    agreement: list[Agreement]
    histories: list[MapCase]
    engine: EngineChecks
    scenarios: str  # section 5, rendered by validation.scenarios


@dataclass(frozen=True)
class SectionTime:
    name: str
    tasks: int
    cpu_s: float  # summed over its tasks, in whichever worker ran them
    done_after_s: float  # wall time from the command's start to its last task's end


@dataclass(frozen=True)
class RunTime:
    workers: int
    wall_s: float  # the command, until the results were collected (then milliseconds to
    # render and write the report)
    cpu_s: float  # parent + workers (start-up included)
    parent_cpu_s: float  # imports, drawing the patients, collecting, rendering
    startup_cpu_s: float  # the workers' CPU outside the tasks (imports, scheduling)
    sections: list[SectionTime]
    load_start: tuple[float, float, float]  # os.getloadavg() at start and at the end
    load_end: tuple[float, float, float]

    def section(self, prefix: str) -> SectionTime | None:
        return next((t for t in self.sections if t.name.startswith(prefix)), None)


def _fmt_ci(p: float, n: int) -> str:
    lo, hi = coverage_ci(p, n)
    return f"{100 * p:.1f} % (95 % CI {100 * lo:.1f}–{100 * hi:.1f})"




def _history_table(rows: list[MapCase]) -> list[str]:
    if not rows:
        return []
    return [
        "### Real-world dose histories and occasions",
        "",
        "The production estimator, with its occasion model, against a second independent "
        "implementation (`independent_map_occasions`: depot and central amounts carried from "
        "event to event, one IOV η on CL per occasion, Nelder–Mead from the same five starts as "
        "above). Both "
        "OFVs are the production objective (-2 log posterior) at each estimate; largest "
        "relative difference in CL, V, ka, Tlag and each occasion's CL (acceptance: < 1e-3, "
        "and the production OFV not above the reference's by more than 1e-4):",
        "",
        "| case | OFV (cyclodose) | OFV (reference) | max relative difference | pass |",
        "|---|---|---|---|---|",
        *[f"| {r.label} | {r.ours_ofv:.4f} | {r.reference_ofv:.4f} | {r.max_rel_diff:.1e} | "
          f"{'yes' if r.max_rel_diff < 1e-3 and r.ours_ofv <= r.reference_ofv + 1e-4 else 'NO'} |"
          for r in rows],
        "",
    ]


def _cpu_line(run: RunTime | None, prefix: str, n: int, what: str) -> list[str]:
    t = run.section(prefix) if run else None
    if t is None:
        return []
    return [f"- CPU: {t.cpu_s:.0f} s for {n} patients ({1000 * t.cpu_s / n:.0f} ms per patient: "
            f"{what}); the run time of the whole report is at its end."]


def _verdict(r: AveragingResult) -> str:
    v = r.verdict
    return f"not judged (< {MIN_JUDGED} patients)" if v is None else ("yes" if v else "NO")


def _averaging_lines(results: list[AveragingResult], run: RunTime | None) -> list[str]:
    rows = []
    for r in results:
        cells = [f"{mpe_pct(x, r.peak_true):+.1f} % / {rmse_pct(x, r.peak_true):.1f} %"
                 for x in (r.peak_right, r.peak_wrong, r.peak_auto)]
        rows.append(f"| {r.true_model} ({r.n}) | {' | '.join(cells)} | "
                    f"{np.mean(r.weight_right):.2f} (median {np.median(r.weight_right):.2f}) | "
                    f"{_verdict(r)} |")
    n = sum(r.n for r in results)
    return [
        "## 2. Model averaging (`settings.model: auto`)",
        "",
        "Virtual adults both models can describe (weight, height, sex, age and creatinine: "
        "CrCl for Alghamdi 2019, fat-free mass and CLcr for 56 kg for Resendiz-Galvan 2025), "
        "simulated from each model in turn (its between-subject variability and residual "
        f"error), {DOSE_MG:g} mg every {INTERVAL_H:g} h, levels 2 h and 6 h after the morning "
        "dose of day 10. Each patient's next steady-state peak (same regimen) is forecast from "
        "the MAP of the model it was simulated from (*right*), of the other model (*wrong*), "
        "and by averaging (*auto*: the two MAP forecasts weighted by each model's fit to the "
        "levels, weight ∝ exp(−OFV/2) with equal prior weights; Uster 2021). Cells: MPE "
        "(bias) / RMSE (imprecision) against the true peak. *Pass*: the RMSE of *auto* is "
        "below the wrong model's and nearer the right model's than the wrong one's "
        f"(judged from {MIN_JUDGED} patients per model).",
        "",
        "| simulated from (patients) | right model | wrong model | auto | weight on the right "
        "model, mean | pass |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        *[f"- {r.true_model}: RMSE " + "; ".join(
            f"{k} {v:+.1f} percentage points (95 % CI {lo:+.1f} to {hi:+.1f})"
            for k, (v, lo, hi) in r.rmse_gaps().items())
          + " (paired bootstrap over the patients)." for r in results],
        *_cpu_line(run, "2", n, "two MAP fits and forecasts"),
        "- Read with care: two levels rarely tell the models apart with certainty, so the "
        "weights hedge; averaging should come close to the right model and beat the wrong "
        "one. The study uses MAP point forecasts; `cyclodose tdm` forecasts and ranks from "
        "the weighted mixture of the models' posterior draws.",
        "",
    ]


def _runtime_lines(run: RunTime) -> list[str]:
    rows = [f"| {t.name} | {t.tasks} | {t.cpu_s:.1f} s | {t.done_after_s:.0f} s |"
            for t in run.sections]
    task_cpu = sum(t.cpu_s for t in run.sections)
    return [
        "## Run time",
        "",
        f"Wall time {run.wall_s:.0f} s, CPU time {run.cpu_s:.0f} s, " + (
            f"in {run.workers} worker processes started once for the whole report; every "
            "section is cut into tasks (chunks of patients, cases) that run in the same pool, "
            "so all the workers are busy until the last task." if run.workers > 1 else
            "in one process (`--workers 1`: the tasks run one after the other).")
        + " The numbers above do not depend on the number of workers: each patient draws "
        "from its own seeded stream and the chunks are of a fixed size.",
        "",
        "| section | tasks | CPU | last task done (wall, from the start) |",
        "|---|---|---|---|",
        *rows,
        "",
        f"- CPU: {task_cpu:.0f} s in the tasks, {run.startup_cpu_s:.1f} s in the workers "
        "outside them (start-up imports, scheduling), "
        f"{run.parent_cpu_s:.1f} s in the parent process (imports, drawing the patients, "
        "collecting the results, writing the report; it is idle while the workers run).",
        "- Load average (1, 5, 15 min) at the start "
        + ", ".join(f"{x:.2f}" for x in run.load_start) + ", at the end "
        + ", ".join(f"{x:.2f}" for x in run.load_end) + ": other processes sharing the "
        "cores lengthen the wall time, and the CPU time somewhat (shared caches: up to a quarter "
        "more in our runs at load 5-7).",
        "",
    ]


def render(res: Results, run: RunTime | None = None) -> str:
    s = res.study
    n = s.n
    lines = [
        "# cyclodose validation report",
        "",
        f"Generated by `python -m validation` (cyclodose {__version__}); seeded: "
        "the same command gives the same numbers (run time aside). Run `make validate` to "
        "regenerate.",
        "",
        "## 1. Simulation–estimation study of the Bayesian TDM estimator",
        "",
        f"{n} virtual adult TB patients drawn from the default model (Alghamdi 2019): covariates "
        "spread like the model's data (weight ≈ N(60, 12.7) kg, CrCl log-normal around "
        "88 mL/min), individual parameters from its between-subject variability, "
        f"{DOSE_MG:g} mg every {INTERVAL_H:g} h for {N_DOSES * INTERVAL_H / 24:g} days, levels "
        "2 h and 6 h after the morning dose of the last day (steady state) with the model's "
        "proportional residual error (19 %). Each patient was estimated by the stages of "
        "`cyclodose tdm` (MAP with restarts, Laplace, SIR; SIR here with "
        f"{STUDY_PROPOSALS:,} proposals and {STUDY_DRAWS} draws against 10,000 and 1,000 in "
        "`cyclodose tdm`). Between-occasion variability was not simulated (forecasts set it "
        "to 0).",
        "",
        "Errors are relative to each patient's true value: MPE = mean prediction error (bias), "
        "RMSE = root mean squared error (imprecision). *Prior* is the a-priori prediction "
        "(typical values for the covariates), the baseline that the levels should improve.",
        "",
        "| quantity | MPE (bias) | RMSE | prior MPE | prior RMSE | 90 % interval coverage |",
        "|---|---|---|---|---|---|",
        f"| CL/F | {mpe_pct(s.cl_map, s.cl_true):+.1f} % | {rmse_pct(s.cl_map, s.cl_true):.1f} % | "
        f"{mpe_pct(s.cl_typical, s.cl_true):+.1f} % | {rmse_pct(s.cl_typical, s.cl_true):.1f} % | "
        f"SIR {_fmt_ci(coverage(s.cl_lo, s.cl_hi, s.cl_true), n)}; Laplace "
        f"{_fmt_ci(coverage(s.cl_lap_lo, s.cl_lap_hi, s.cl_true), n)} |",
        f"| next steady-state peak (same regimen) | {mpe_pct(s.peak_map, s.peak_true):+.1f} % | "
        f"{rmse_pct(s.peak_map, s.peak_true):.1f} % | "
        f"{mpe_pct(s.peak_typical, s.peak_true):+.1f} % | "
        f"{rmse_pct(s.peak_typical, s.peak_true):.1f} % | "
        f"SIR {_fmt_ci(coverage(s.peak_lo, s.peak_hi, s.peak_true), n)} |",
        "",
        f"- Patients whose posterior had more than one mode in the SIR proposal (fast against "
        f"delayed absorption): {int(np.sum(s.n_modes > 1))} of {n}.",
        f"- Median effective sample size of the importance weights: {np.median(s.ess):.0f}.",
        *_cpu_line(run, "1", n, "MAP + Laplace + SIR + steady-state forecasts"),
        "- Coverage should be near 90 %; the 95 % CI shown is the Wilson interval for the "
        "observed proportion.",
        "",
        "Limits of this study (read before relying on the numbers):",
        "",
        "- The patients were simulated from the very model used to estimate them, so the study "
        "tests the estimator, not the model: it cannot show misspecification (food-delayed "
        "absorption, adherence, another population). No comparison with measured levels of "
        "real patients is included.",
        "- Between-occasion variability (Alghamdi 2019: SD 0.190 on log CL) was left out of "
        "the truth. In practice the clearance on the next occasion differs from the sampled one "
        "by that much, and the reported intervals exclude it: expect the coverage of the next "
        "peak to be lower than shown, and confirm every dose change with a new level.",
        "- The intervals are for the concentration without residual (assay) error; a measured "
        "level scatters a further ±19 % (1 SD) around it.",
        "",
        *_averaging_lines(res.averaging, run),
        "## 3. MAP against an independent implementation",
        "",
        "The production estimator (η-space, batched Levenberg–Marquardt from many starts, the "
        "PK engine's closed form) against a "
        "separate implementation in `validation.reference` (log-parameters, its own Bateman "
        "superposition, Nelder–Mead from five starts: typical, ±2 SDs along ka, −1 and −2 SDs "
        "along tlag). Largest relative difference in CL, V, ka and Tlag (acceptance: < 1e-3), "
        "and both OFVs by the production objective (ours must not be higher):",
        "",
        "| levels | max relative difference | OFV (ours) | OFV (reference) | pass |",
        "|---|---|---|---|---|",
        *[f"| {a.label} | {a.max_rel_diff:.1e} | {a.ofv_ours:.4f} | {a.ofv_reference:.4f} | "
          f"{'yes' if a.max_rel_diff < 1e-3 and a.ofv_ours <= a.ofv_reference + 1e-6 else 'NO'} |"
          for a in res.agreement],
        "",
        *_history_table(res.histories),
        "## 4. PK engine",
        "",
        "### Agreement with ODE integration",
        "",
        "Closed-form concentrations against `scipy.integrate.solve_ivp` (LSODA, rtol 1e-11), "
        "three individuals from each model's between-subject variability per history; largest "
        "relative difference where the concentration exceeds 0.001 mg/L (acceptance: < 1e-6):",
        "",
        "| dose history | max relative difference | pass |",
        "|---|---|---|",
        *[f"| {label} | {d:.1e} | {'yes' if d < 1e-6 else 'NO'} |" for label, d in res.engine.ode],
        "",
        "### Typical-patient values",
        "",
        "| check | expected | cyclodose | pass | source |",
        "|---|---|---|---|---|",
        *[f"| {c.what} | {c.expected} {c.unit} | {c.got:.4g} {c.unit} | "
          f"{'yes' if c.ok else 'NO'} | {c.source} |" for c in res.engine.typical],
        "",
        "### Monograph statements (default model, typical TB patient)",
        "",
        "| statement | monograph | model | consistent | source |",
        "|---|---|---|---|---|",
        *[f"| {c.what} | {c.expected} {c.unit} | {c.got:.3g} {c.unit} | "
          f"{'yes' if c.ok else 'NO'} | {c.source} |" for c in res.engine.monograph],
        "",
        "Where model and monograph differ:",
        "",
        *[f"- {note}" for note in res.engine.notes],
        "",
        res.scenarios,
        "",
        *(_runtime_lines(run) if run else []),
    ]
    return "\n".join(lines)


