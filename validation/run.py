"""`python -m validation OUT [--n N] [--workers W]`: every section cut into tasks and run
in one pool of worker processes, then the report.

The workers start once (spawned: a clean interpreter, one BLAS thread each, the modules
imported once) and take tasks of every section from one queue, longest-running kinds
first and the many short ones last, so no core idles until the end. A task's result
depends only on its arguments (fixed-size chunks of patients, each patient its own seeded
stream), never on the number of workers or which one ran it.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validation import averaging, engine, reference, report, study

SECTIONS = ("1. simulation–estimation", "2. model averaging", "3. MAP reference",
            "4. PK engine", "5. clinical scenarios")


@dataclass(frozen=True)
class Task:
    section: int  # index into SECTIONS
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()


def tasks_for(n: int) -> list[Task]:
    """All the tasks of the report for a study of n patients (the averaging study scales
    with it), in the order they are queued."""
    n_avg = max(2, round(n * averaging.AVERAGING_PATIENTS / study.STUDY_PATIENTS))
    return [
        *[Task(2, reference.history_case, (i,)) for i in range(reference.HISTORY_CASES)],
        Task(4, scenarios_section),
        *[Task(1, averaging.averaging_patients, a) for a in averaging.averaging_tasks(n_avg)],
        *[Task(0, study.estimate_patients, a) for a in study.study_tasks(n)],
        *[Task(2, reference.agreement_case, (i,)) for i in range(reference.AGREEMENT_CASES)],
        Task(3, engine.engine_checks),
    ]


def scenarios_section() -> str:
    """Section 5 (imported here: only the worker that writes it pays for the product's
    imports)."""
    from validation.scenarios import render_section

    return render_section()


def timed(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, float]:
    """fn(*args) and the CPU seconds it took in this process."""
    cpu0 = time.process_time()
    out = fn(*args)
    return out, time.process_time() - cpu0


def _worker_start() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # the cores are the workers'
    import scipy.stats  # noqa: F401  (the SIR's lazy import: paid once, at start-up)


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _stamp(finished: dict[int, float], i: int) -> Callable[[Future[Any]], None]:
    """A done-callback noting when task i finished."""
    def note(_: Future[Any]) -> None:
        finished.setdefault(i, time.perf_counter())

    return note


def run_tasks(tasks: list[Task], workers: int) -> tuple[list[Any], list[float], list[float],
                                                         float]:
    """Results, CPU seconds and completion time (wall s from the start) of every task, in
    task order, and the workers' CPU seconds outside the tasks (start-up, scheduling)."""
    t0 = time.perf_counter()
    if workers <= 1:
        from threadpoolctl import threadpool_limits

        out, cpu, done = [], [], []
        with threadpool_limits(limits=1):
            for t in tasks:
                r, c = timed(t.fn, t.args)
                out.append(r)
                cpu.append(c)
                done.append(time.perf_counter() - t0)
        return out, cpu, done, 0.0
    from multiprocessing import get_context

    children0 = _children_cpu_s()
    finished: dict[int, float] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                             initializer=_worker_start) as pool:
        futures: list[Future[tuple[Any, float]]] = []
        for i, t in enumerate(tasks):
            f = pool.submit(timed, t.fn, t.args)
            f.add_done_callback(_stamp(finished, i))
            futures.append(f)
        wait(futures)
        results = [f.result() for f in futures]
    cpu = [c for _, c in results]
    overhead = _children_cpu_s() - children0 - sum(cpu)
    return [r for r, _ in results], cpu, [finished[i] - t0 for i in range(len(tasks))], overhead


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def build(n: int, workers: int, started: float | None = None
          ) -> tuple[report.Results, report.RunTime]:
    """Run every section (n virtual patients in the study) and collect the results. Wall
    time from `started` (a `time.perf_counter()` reading taken when the command started,
    whose CPU then counts from the process start), else from now."""
    wall0 = time.perf_counter() if started is None else started
    cpu0 = time.process_time() if started is None else 0.0
    load_start = os.getloadavg()
    tasks = tasks_for(n)
    pool_start = time.perf_counter() - wall0
    out, cpu, done, overhead = run_tasks(tasks, workers)
    done = [pool_start + d for d in done]  # from the command's start

    def of(section: int) -> list[Any]:
        return [r for t, r in zip(tasks, out, strict=True) if t.section == section]

    avg_tasks = [t.args for t in tasks if t.section == 1]
    results = report.Results(
        study=study.combine(of(0)),
        averaging=averaging.combine(avg_tasks, of(1)),
        histories=[r for r in of(2) if isinstance(r, reference.MapCase)],
        agreement=[r for r in of(2) if isinstance(r, reference.Agreement)],
        engine=of(3)[0], scenarios=of(4)[0])
    sections = [report.SectionTime(
        name, sum(t.section == s for t in tasks),
        sum(c for t, c in zip(tasks, cpu, strict=True) if t.section == s),
        max(d for t, d in zip(tasks, done, strict=True) if t.section == s))
        for s, name in enumerate(SECTIONS)]
    parent = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    children = sum(cpu) + overhead if workers > 1 else 0.0
    run = report.RunTime(workers=max(1, workers), wall_s=wall, cpu_s=parent + children,
                         parent_cpu_s=parent - (sum(cpu) if workers <= 1 else 0.0),
                         startup_cpu_s=overhead, sections=sections, load_start=load_start,
                         load_end=os.getloadavg())
    return results, run


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not >= 1")
    return value


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m validation",
                                     description="Write the validation report (make validate).")
    parser.add_argument("out", nargs="?", type=Path, default=Path("docs/validation.md"),
                        help="the report to write (default docs/validation.md)")
    parser.add_argument("--n", type=_positive, default=study.STUDY_PATIENTS,
                        help="virtual patients of the simulation-estimation study")
    parser.add_argument("--workers", type=_positive, default=default_workers(),
                        help="worker processes")
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error (2): never a report
        return int(stop.code or 0)
    out, n, workers = args.out, args.n, args.workers
    results, run = build(n, workers, started)
    text = report.render(results, run)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({n} virtual patients, {run.wall_s:.0f} s wall, {run.cpu_s:.0f} s CPU, "
          f"{run.workers} worker(s))")
    return 0
