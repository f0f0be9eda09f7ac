"""`cyclodose pta`: probability of target attainment and toxicity over a virtual population."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cyclodose.cli.app import Table, app, console, err_console, print_json, user_errors
from cyclodose.errors import CaseError

if TYPE_CHECKING:
    from cyclodose.population.pta import RegimenResult

DEFAULT_MICS = "1,2,4,8,16,32,64"  # mg/L; Indian cohort MIC range 1–64 mg/L


def parse_numbers(text: str, field: str) -> list[float]:
    """'4,8,16' -> [4.0, 8.0, 16.0]; anything else is a CaseError naming the option."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(float(part))
        except ValueError:
            raise CaseError.single(field, f"{part!r} is not a number") from None
    if not out:
        raise CaseError.single(field, "give at least one number, comma-separated")
    return out


def parse_mic_distribution(text: str) -> dict[float, float]:
    """'8:0.2,16:0.5,32:0.3' -> {MIC mg/L: frequency}."""
    out: dict[float, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        mic, sep, freq = part.partition(":")
        try:
            if not sep:
                raise ValueError
            out[float(mic)] = float(freq)
        except ValueError:
            raise CaseError.single("mic-dist", f"{part.strip()!r} is not MIC:frequency") from None
    if not out:
        raise CaseError.single("mic-dist", "give MIC:frequency pairs, comma-separated")
    return out


def _tables(results: list[RegimenResult], targets: list[float]) -> list[Table]:
    summary = Table(title="Steady state, individual predictions (no residual error)")
    for col in ("regimen", "mg/day", "Cmax median mg/L", "P(Cmax > 30 mg/L)",
                "P(Cmax > 35 mg/L)"):
        summary.add_column(col, justify="left" if col == "regimen" else "right")
    for t in targets:
        summary.add_column(f"BP mg/L (T>MIC {t:g} %)", justify="right")  # BP: breakpoint
    for res in results:
        flag = " (!)" if res.above_licensed_maximum else ""
        row = [res.regimen + flag, f"{res.daily_dose_mg:g}", f"{_median(res.cmax_mg_l):.1f}",
               f"{res.p_cmax_above_30:.1%}", f"{res.p_cmax_above_35:.1%}"]
        for t in targets:
            bp = res.breakpoint[t]
            row.append("none" if bp is None else f"{bp:g}")
        summary.add_row(*row)
    mics = sorted(results[0].pta)
    pta = Table(title="Probability of target attainment (%T>MIC >= target)")
    pta.add_column("regimen")
    pta.add_column("target", justify="right")
    for m in mics:
        pta.add_column(f"{m:g} mg/L", justify="right")
    for res in results:
        for t in targets:
            pta.add_row(res.regimen, f"{t:g}%", *(f"{res.pta[m][t]:.0%}" for m in mics))
    return [summary, pta]


def _median(a: object) -> float:
    return float(np.median(np.asarray(a)))


@app.command()
@user_errors
def pta(
    population: Annotated[Path, typer.Option("--population", help="population spec (YAML)")],
    regimen: Annotated[list[str], typer.Option(
        "--regimen", help='"250mg q12h" or "250/500mg q12h" (morning/evening); repeatable')],
    mic: Annotated[str, typer.Option(help="MICs in mg/L, comma-separated")] = DEFAULT_MICS,
    target: Annotated[str, typer.Option(
        help="%T>MIC targets (% of the dosing period), comma-separated")] = "30,64",
    grid: Annotated[float | None, typer.Option(
        help="count time above the MIC on a grid of this step (h) instead of exactly")] = None,
    mic_dist: Annotated[str | None, typer.Option(
        "--mic-dist", help="MIC distribution for the CFR, e.g. 8:0.2,16:0.5,32:0.3")] = None,
    n: Annotated[int | None, typer.Option(help="override the spec's population size")] = None,
    seed: Annotated[int | None, typer.Option(help="override the spec's seed")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
    plot: Annotated[Path | None, typer.Option(help="write PTA and exposure plots (png/svg/pdf)")]
    = None,
    backend: Annotated[str, typer.Option(help="numpy (this machine) or dask")] = "numpy",
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address, e.g. tcp://host:8786 (default: a local cluster)")] = None,
    chunk_size: Annotated[int, typer.Option(help="individuals per chunk (memory bound)")]
    = 65_536,
    workers: Annotated[int | None, typer.Option(
        help="worker processes for the numpy backend (default: one per core)")] = None,
    progress: Annotated[bool, typer.Option("--progress", help="show a progress bar")] = False,
) -> None:
    """Probability of target attainment, PK/PD breakpoint and toxicity per regimen.

    Research output for regimen design, not a dosing recommendation: regimens
    above the licensed 1 g/day are computed and marked as such.
    """
    from cyclodose.population import load_population_spec
    from cyclodose.population.backends import default_workers
    from cyclodose.workflows.population import pta as run

    spec = load_population_spec(population)
    if n is not None or seed is not None:
        from cyclodose.population import parse_population_spec

        data = spec.model_dump(exclude={"resampled"})
        data.update({k: v for k, v in (("n", n), ("seed", seed)) if v is not None})
        spec = parse_population_spec(data, base_dir=population.parent)
    if backend not in ("numpy", "dask"):
        raise CaseError.single("backend", f"unknown backend {backend!r}; valid: numpy, dask")
    if scheduler is not None and backend != "dask":
        raise CaseError.single("scheduler", "a scheduler needs --backend dask")
    mics = parse_numbers(mic, "mic")
    targets = parse_numbers(target, "target")
    freqs = parse_mic_distribution(mic_dist) if mic_dist else None
    kwargs = dict(grid_h=grid, backend=backend, scheduler=scheduler,  # noqa: C408
                  chunk_size=chunk_size, mic_frequencies=freqs,
                  workers=default_workers() if workers is None else workers)
    if progress:
        with Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err_console) as bar:
            task = bar.add_task("pta", total=spec.n)
            res = run(spec, regimen, mics, targets,
                      progress=lambda k: bar.advance(task, k), **kwargs)  # type: ignore[arg-type]
    else:
        res = run(spec, regimen, mics, targets, **kwargs)  # type: ignore[arg-type]
    results = res.results
    if plot is not None:
        from cyclodose.population.plots import plot_pta

        plot_pta(results, plot)
    if json_out:
        print_json([r.model_dump(mode="json") for r in res.regimens])
        return
    for table in _tables(results, sorted(set(targets))):
        console.print(table)
    for r in res.regimens:
        if r.above_licensed_maximum:
            console.print(f"(!) {r.regimen}: {r.daily_dose_mg:g} mg/day is above the "
                          "licensed maximum of 1 g/day (monograph; US label); shown for "
                          "research only", soft_wrap=True, highlight=False)
    method = "exact threshold crossings" if grid is None else f"a {grid:g} h grid"
    console.print(f"model {spec.model}; {spec.n:,} virtual patients, seed {spec.seed}; "
                  f"%T>MIC by {method}; BP = PK/PD breakpoint, the highest MIC with PTA ≥ 90 % "
                  "(Alghamdi 2019). Research output, not a dosing recommendation; "
                  "never exceed 1 g/day in practice.", highlight=False, soft_wrap=True)
    if plot is not None:
        console.print(f"plot written to {plot}", highlight=False)
