"""`cyclodose pta`: probability of target attainment and toxicity over a virtual population."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cyclodose.cli.app import Table, app, console, err_console, print_json, user_errors
from cyclodose.errors import CaseError

if TYPE_CHECKING:
    from cyclodose.population import RegimenPlan
    from cyclodose.population.pta import Fractions, RegimenResult
    from cyclodose.workflows.population import PtaResult

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


def _pct(p: float) -> str:
    """A fraction in % with the digits it needs: 82, 99.7, 0.3, 100."""
    x = 100.0 * p
    return f"{x:.0f}" if p in (0.0, 1.0) or 1.0 <= x <= 99.0 else f"{x:.1f}"


def _with_ci(p: float, ci: list[float] | tuple[float, float]) -> str:
    return f"{_pct(p)} %\n({_pct(ci[0])}-{_pct(ci[1])})"


def _dose_text(res: RegimenResult) -> str:
    dd = res.dose_distribution()["mg"]
    if dd["min"] == dd["max"]:
        return f"{dd['min']:g}"
    return f"{dd['min']:g}-{dd['max']:g}"


def _tables(results: list[RegimenResult], targets: list[float],
            when: str = "Steady state") -> list[Table]:
    summary = Table(title=f"{when}, individual predictions (no residual error)")
    cfr = results[0].cfr is not None
    for col in ("regimen", "mg/day", "Cmax median mg/L", "P(Cmax > 30 mg/L)",
                "P(Cmax > 35 mg/L)"):
        summary.add_column(col, justify="left" if col == "regimen" else "right")
    for t in targets:
        summary.add_column(f"BP mg/L (T>MIC {t:g} %)", justify="right")  # BP: breakpoint
    if cfr:
        for t in targets:
            summary.add_column(f"CFR (T>MIC {t:g} %)", justify="right")
    summary.title = f"{summary.title}; fractions in % (95 % CI)"
    for res in results:
        det = res.details_json()
        flag = " (!)" if det["flagged"] else ""
        row = [res.regimen + flag, _dose_text(res), f"{_median(res.cmax_mg_l):.1f}",
               _with_ci(res.p_cmax_above_30, det["p_cmax_above_30_ci95"]),
               _with_ci(res.p_cmax_above_35, det["p_cmax_above_35_ci95"])]
        for t in targets:
            bp = res.breakpoint[t]
            stable = det["breakpoint_certainty"][f"{t:g}"]["stable"]
            row.append(("none" if bp is None else f"{bp:g}") + ("" if stable else " (?)"))
        if cfr:
            assert res.cfr is not None
            for t in targets:
                row.append(_with_ci(res.cfr[t], det["cfr_ci95"][f"{t:g}"]))
        summary.add_row(*row)
    tables = [summary, _pta_table(
        results, "Probability of target attainment (%T>MIC >= target), % (95 % CI)",
        [(r.regimen, r.fractions) for r in results], "%")]
    for index, title, unit in (("auc24_mic", "AUC24/MIC >= target", ""),
                               ("cmax_mic", "Cmax/MIC >= target", "")):
        rows = [(r.regimen, f) for r in results for f in r.extra if f.index == index]
        if rows:
            tables.append(_pta_table(results, f"Probability of target attainment "
                                     f"({title}), % (95 % CI)", rows, unit))
    for res in results:
        if res.groups:
            tables.append(_group_table(res, targets))
    return tables


def _pta_table(results: list[RegimenResult], title: str, rows: list[tuple[str, Fractions]],
               unit: str) -> Table:
    mics = rows[0][1].mics
    table = Table(title=title)
    table.add_column("regimen")
    table.add_column("target", justify="right")
    for m in mics:
        table.add_column(f"{m:g} mg/L", justify="right")
    for name, frac in rows:
        for t in frac.targets:
            cells = []
            for m in mics:
                lo, hi = frac.ci(m, t)
                cells.append(_with_ci(frac.pta(m, t), (lo, hi)))
            table.add_row(name, f"{t:g}{unit}", *cells)
    return table


def _group_table(res: RegimenResult, targets: list[float]) -> Table:
    table = Table(title=f"{res.regimen}: each group on its own")
    for col in ("group", "n", "mg/day", "weight kg", "P(Cmax > 30 mg/L)"):
        table.add_column(col, justify="left" if col == "group" else "right")
    for t in targets:
        table.add_column(f"BP mg/L (T>MIC {t:g} %)", justify="right")
    if res.cfr is not None:
        for t in targets:
            table.add_column(f"CFR (T>MIC {t:g} %)", justify="right")
    for g in res.groups:
        row = [g.label, f"{g.n:,}", f"{g.daily_dose_mg:g}",
               f"{g.weight_kg_range[0]:.1f}-{g.weight_kg_range[1]:.1f}",
               f"{g.p_cmax_above_30:.1%}"]
        for t in targets:
            bp = g.tmic.breakpoint(t)
            stable = g.tmic.breakpoint_certainty(t)["stable"]
            row.append(("none" if bp is None else f"{bp:g}") + ("" if stable else " (?)"))
        if res.cfr is not None:
            for t in targets:
                row.append(f"{g.tmic.cfr(t):.1%}")
        table.add_row(*row)
    return table


def _median(a: object) -> float:
    return float(np.median(np.asarray(a)))


def _print_dose_lines(study: PtaResult) -> None:
    for reg in study.regimens:
        console.print(reg.dose_summary, soft_wrap=True, highlight=False, markup=False)
        for flag in reg.flags:
            console.print(f"(!) {flag}", soft_wrap=True, highlight=False, markup=False)


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
    title = "Steady state" if day is None else f"Day {day} of treatment"
    for table in _tables(results, sorted(set(targets)), title):
        console.print(table)
    _print_dose_lines(study)
    for text in study.warnings:
        console.print(f"warning: {text}", soft_wrap=True, highlight=False, markup=False)
    for text in study.run.notes:
        console.print(f"note: {text}", soft_wrap=True, highlight=False, markup=False)
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
