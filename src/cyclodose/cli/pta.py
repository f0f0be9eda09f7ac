"""`cyclodose pta`: probability of target attainment and toxicity over a virtual population."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cyclodose.cli.app import app, console, err_console, print_json, user_errors
from cyclodose.errors import CaseError

if TYPE_CHECKING:
    from cyclodose.population import RegimenPlan

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
    """'8:0.2,16:0.5,32:0.3' -> {MIC mg/L: frequency}; an MIC given twice is refused."""
    out: dict[float, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        mic, sep, freq = part.partition(":")
        try:
            if not sep:
                raise ValueError
            key, value = float(mic), float(freq)
        except ValueError:
            raise CaseError.single("mic-dist", f"{part.strip()!r} is not MIC:frequency") from None
        if key in out:
            raise CaseError.single("mic-dist", f"MIC {key:g} mg/L is given twice")
        out[key] = value
    if not out:
        raise CaseError.single("mic-dist", "give MIC:frequency pairs, comma-separated")
    return out


OUTPUT_SUFFIXES = {"plot": (".png", ".svg", ".pdf"), "export": (".csv",)}


def check_output(path: Path, option: str) -> None:
    """Before any computing: a known format and a writable folder, else exit 2 naming it."""
    allowed = OUTPUT_SUFFIXES[option]
    if path.suffix.lower() not in allowed:
        raise CaseError.single(option, f"{path.name}: the format is chosen by the suffix, "
                               f"one of {', '.join(allowed)}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CaseError.single(option, f"folder {folder} does not exist")
    if path.is_dir():
        raise CaseError.single(option, f"{path} is a folder")
    if not os.access(folder, os.W_OK):
        raise CaseError.single(option, f"folder {folder} is not writable")


def sidecar_path(export: Path) -> Path:
    """Where an export's provenance is written: patients.csv -> patients.provenance.json."""
    return export.with_suffix(".provenance.json")


@app.command()
@user_errors
def pta(
    population: Annotated[Path, typer.Option("--population", help="population spec (YAML)")],
    regimen: Annotated[list[str] | None, typer.Option(
        "--regimen", help='"250mg q12h", or "250/500mg q12h": amounts alternate dose by dose '
        "and the cycle must fill one day (250 mg morning, 500 mg evening); repeatable")] = None,
    regimens: Annotated[Path | None, typer.Option(
        "--regimens", help="regimens file (YAML): fixed, weight-band and mg/kg regimens")]
    = None,
    mic: Annotated[str, typer.Option(help="MICs in mg/L, comma-separated")] = DEFAULT_MICS,
    target: Annotated[str, typer.Option(
        help="%T>MIC targets (% of the dosing period), comma-separated")] = "30,64",
    auc_target: Annotated[str | None, typer.Option(
        "--auc-target", help="AUC24/MIC targets, comma-separated")] = None,
    cmax_target: Annotated[str | None, typer.Option(
        "--cmax-target", help="Cmax/MIC targets, comma-separated")] = None,
    day: Annotated[int | None, typer.Option(
        help="exposures on this day of treatment from the first dose (1 = first day) "
        "instead of at steady state")] = None,
    iov: Annotated[bool, typer.Option(
        "--iov", help="sample the model's between-occasion variability (one occasion)")]
    = False,
    grid: Annotated[float | None, typer.Option(
        help="count time above the MIC on a grid of this step (h) instead of exactly")] = None,
    mic_dist: Annotated[str | None, typer.Option(
        "--mic-dist", help="MIC distribution for the CFR, fractions summing to 1, "
        "e.g. 8:0.2,16:0.5,32:0.3")] = None,
    mic_dist_file: Annotated[Path | None, typer.Option(
        "--mic-dist-file", help="MIC distribution file (YAML: source, counts or frequencies)")]
    = None,
    n: Annotated[int | None, typer.Option(help="override the spec's population size")] = None,
    seed: Annotated[int | None, typer.Option(help="override the spec's seed")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
    plot: Annotated[Path | None, typer.Option(help="write PTA and exposure plots (png/svg/pdf)")]
    = None,
    export: Annotated[Path | None, typer.Option(
        help="write each virtual patient's covariates, parameters and exposures (CSV)")] = None,
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
    from cyclodose.population import load_population_spec, parse_population_spec
    from cyclodose.population.backends import default_workers
    from cyclodose.workflows.population import (
        MicDistribution,
        load_mic_distribution,
        load_regimens,
    )
    from cyclodose.workflows.population import pta as pta_study

    for path, option in ((plot, "plot"), (export, "export")):
        if path is not None:
            check_output(path, option)
    if not regimen and regimens is None:
        raise CaseError.single("regimen", "give --regimen or --regimens FILE")
    if mic_dist is not None and mic_dist_file is not None:
        raise CaseError.single("mic-dist", "give --mic-dist or --mic-dist-file, not both")
    spec = load_population_spec(population)
    overrides = {k: v for k, v in (("n", n), ("seed", seed)) if v is not None}
    if iov:
        overrides["iov"] = True
    if overrides:
        data = spec.model_dump(exclude={"resampled"})
        data.update(overrides)
        spec = parse_population_spec(data, base_dir=population.parent)
    if backend not in ("numpy", "dask"):
        raise CaseError.single("backend", f"unknown backend {backend!r}; valid: numpy, dask")
    if scheduler is not None and backend != "dask":
        raise CaseError.single("scheduler", "a scheduler needs --backend dask")
    if workers is not None and workers < 1:
        raise CaseError.single("workers", f"{workers} must be a whole number >= 1")
    plans: list[str | RegimenPlan] = [*(regimen or [])]
    if regimens is not None:
        plans += load_regimens(regimens)
    mics = parse_numbers(mic, "mic")
    targets = parse_numbers(target, "target")
    dist = (MicDistribution(frequencies=parse_mic_distribution(mic_dist)) if mic_dist
            else load_mic_distribution(mic_dist_file) if mic_dist_file is not None else None)
    kwargs = dict(grid_h=grid, backend=backend, scheduler=scheduler,  # noqa: C408
                  chunk_size=chunk_size, mic_distribution=dist, day=day,
                  auc_targets=parse_numbers(auc_target, "auc-target") if auc_target else (),
                  cmax_targets=parse_numbers(cmax_target, "cmax-target") if cmax_target else (),
                  export=export is not None, spec_file=population,
                  workers=default_workers() if workers is None else workers)
    if progress:
        with Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err_console) as bar:
            task = bar.add_task("pta", total=spec.n)
            study = pta_study(spec, plans, mics, targets,
                              progress=lambda k: bar.advance(task, k), **kwargs)  # type: ignore[arg-type]
    else:
        study = pta_study(spec, plans, mics, targets, **kwargs)  # type: ignore[arg-type]
    results = study.results
    if plot is not None:
        from cyclodose.population.plots import plot_pta

        prov = study.provenance
        plot_pta(results, plot, caption=study.warnings,
                 source=f"cyclodose {prov.cyclodose_version}, model {prov.model['name']} "
                        f"v{prov.model['version']}, seed {prov.seed}")
    if export is not None:
        from cyclodose.render.pta_export import write_csv

        with export.open("w", encoding="utf-8", newline="") as fh:
            write_csv(study.run, sorted(results[0].pta), fh)
        # the CSV has no room for it: its provenance goes beside it
        sidecar_path(export).write_text(json.dumps(
            study.provenance.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8")
    if json_out:
        print_json(study.model_dump(mode="json"))
        return
    from cyclodose.cli.pta_view import render

    render(study, "Steady state" if day is None else f"Day {day} of treatment")
    prov = study.provenance
    method = "exact threshold crossings" if grid is None else f"a {grid:g} h grid"
    when = "steady state" if day is None else f"day {day} of treatment"
    console.print(f"cyclodose {prov.cyclodose_version}; model {spec.model} "
                  f"v{prov.model['version']}; {spec.n:,} virtual patients, seed {spec.seed}; "
                  f"between-subject variability {'on' if spec.bsv else 'off'}, "
                  f"between-occasion {'on' if spec.iov else 'off'}; {when}; "
                  f"%T>MIC by {method}; "
                  "(a-b) = 95 % Wilson interval; (?) = breakpoint not stable at this n; "
                  "BP = PK/PD breakpoint, the highest MIC with PTA ≥ 90 % "
                  "(Alghamdi 2019). Research output, not a dosing recommendation; "
                  "never exceed 1 g/day in practice. Full provenance: --json.",
                  highlight=False, soft_wrap=True, markup=False)
    if plot is not None:
        console.print(f"plot written to {plot}", highlight=False)
    if export is not None:
        console.print(f"per-patient export written to {export}, its provenance to "
                      f"{sidecar_path(export)}", highlight=False)
