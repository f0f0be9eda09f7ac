"""Population Monte Carlo: virtual patients, probability of target attainment,
PK/PD breakpoints, cumulative fraction of response and toxicity, on NumPy or Dask.

    spec = load_population_spec("examples/population.yaml")
    results = run_pta(spec, ["250mg q12h", "250/500mg q12h"], mics=[8, 16, 32], targets=[30, 64])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from cyclodose import pk
from cyclodose.errors import CaseError, Problem
from cyclodose.population import regimens as regimens_mod
from cyclodose.population import validity
from cyclodose.population.backends import Backend, Progress, default_workers, run_dask, run_numpy
from cyclodose.population.evaluate import Job, check_model_inputs, evaluate_chunk
from cyclodose.population.pta import (
    CEILING_MG_L,
    CNS_RISK_CMAX_MG_L,
    DEFAULT_TARGETS_PCT,
    MAX_DAILY_DOSE_MG_PER_KG,
    PTA_BREAKPOINT_FRACTION,
    Combiner,
    Fractions,
    GroupResult,
    RegimenResult,
    breakpoint_mic,
    cumulative_fraction_of_response,
)
from cyclodose.population.regimens import RegimenPlan, parse_pattern, per_kg, weight_bands
from cyclodose.population.sampling import BLOCK_SIZE, Sampler, chunk_ranges
from cyclodose.population.spec import PopulationSpec, load_population_spec, parse_population_spec

FloatArray = NDArray[np.float64]
DEFAULT_CHUNK_SIZE = BLOCK_SIZE  # one canonical block: ~0.3 GB per worker, cache-friendly


def _positive_list(values: Sequence[float], field: str, upper: float | None = None,
                   unit: str = "") -> list[float]:
    floats = [float(v) for v in values]
    out = sorted(set(floats))
    if not out:
        raise CaseError.single(field, "give at least one value")
    for v in out:
        if not math.isfinite(v) or v <= 0 or (upper is not None and v > upper):
            limit = f" and <= {upper:g}" if upper is not None else ""
            raise CaseError.single(field, f"{v:g} must be a number > 0{limit}")
    twice = sorted({v for v in floats if floats.count(v) > 1})
    if twice:
        raise CaseError.single(field, f"{', '.join(f'{v:g}{unit}' for v in twice)} given twice")
    return out


MIC_FREQUENCY_TOLERANCE = 0.01  # a published table rounded to 1 % may sum to 0.99-1.01


def check_mic_frequencies(freqs: dict[float, float], field: str = "mic_distribution"
                          ) -> list[str]:
    """Refuse frequencies that are negative or do not sum to 1 within rounding; a sum
    off 1 by rounding only is renormalised with a warning (returned)."""
    problems = []
    for mic, f in freqs.items():
        if not math.isfinite(mic) or mic <= 0:
            problems.append(Problem(field, f"MIC {mic:g} must be a number > 0 mg/L"))
        if not math.isfinite(f) or f < 0:
            problems.append(Problem(field, f"frequency {f:g} at MIC {mic:g} must be >= 0"))
    if problems:
        raise CaseError(problems)
    total = math.fsum(freqs.values())
    if abs(total - 1.0) > MIC_FREQUENCY_TOLERANCE:
        raise CaseError.single(field, f"the frequencies sum to {total:g}, not 1: give "
                               "fractions of the isolates (counts: use a distribution file)")
    if abs(total - 1.0) > 1e-9:
        return [f"{field}: the frequencies sum to {total:.4g}; renormalised to 1 for the CFR"]
    return []


def balanced_ranges(n: int, chunk_size: int, workers: int) -> list[tuple[int, int]]:
    """Ranges of at most chunk_size individuals, as many as a multiple of `workers` and
    of near-equal size, so no worker is left alone with a last short chunk (any split
    gives the same numbers; only the wall-clock time changes)."""
    if n <= 0:
        return []
    per_worker = max(1, -(-n // (chunk_size * workers)))
    count = min(per_worker * workers, n)
    bounds = [n * i // count for i in range(count + 1)]  # sizes differ by at most one
    return list(zip(bounds[:-1], bounds[1:], strict=True))


@dataclass
class PopulationRun:
    """A run's results and what holds for all of them."""

    results: list[RegimenResult]
    warnings: list[str]  # validity of the model for this population; renormalisation
    notes: list[str]  # what could not be checked
    outside: dict[str, int]  # patients outside each limit of the model's domain
    columns: dict[str, FloatArray] = field(default_factory=dict)  # per patient, on export


def _plans(regimens: Sequence[str | RegimenPlan]) -> tuple[RegimenPlan, ...]:
    if not regimens:
        raise CaseError.single("regimen", "give at least one regimen")
    plans = tuple(r if isinstance(r, RegimenPlan) else regimens_mod.fixed(r) for r in regimens)
    names = [p.name for p in plans]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CaseError.single("regimen", f"{', '.join(map(repr, twice))} given twice")
    return plans


def run_population(spec: PopulationSpec, regimens: Sequence[str | RegimenPlan],
                   mics: Sequence[float], targets: Sequence[float] = DEFAULT_TARGETS_PCT,
                   grid_h: float | None = None, backend: Backend = "numpy",
                   scheduler: str | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE,
                   mic_frequencies: dict[float, float] | None = None,
                   progress: Progress | None = None, workers: int = 1,
                   auc_targets: Sequence[float] = (), cmax_targets: Sequence[float] = (),
                   day: int | None = None, export: bool = False) -> PopulationRun:
    """PTA, breakpoints, CFR and toxicity per regimen for the spec's population.

    mics in mg/L; targets as %T>MIC of the dosing period (24 h on `day`);
    auc_targets as AUC24/MIC, cmax_targets as Cmax/MIC; grid_h counts time above
    the MIC on a grid of that step (hours) instead of exactly; day: exposures on
    that day of treatment from the first dose instead of at steady state.
    The same spec (seed) gives identical numbers for any backend and chunk_size.
    """
    plans = _plans(regimens)
    mic_list = _positive_list(list(mics), "mic", unit=" mg/L")
    warnings: list[str] = []
    if mic_frequencies is not None:
        warnings += check_mic_frequencies(mic_frequencies)
        mic_list = sorted(set(mic_list) | {float(m) for m in mic_frequencies})
    target_list = _positive_list(targets, "target", upper=100.0, unit=" %")
    auc_list = _positive_list(auc_targets, "auc_target") if auc_targets else None
    cmax_list = _positive_list(cmax_targets, "cmax_target") if cmax_targets else None
    if grid_h is not None and not grid_h > 0:
        raise CaseError.single("grid", "the grid step must be > 0 h")
    if day is not None and not (isinstance(day, int) and 1 <= day <= 365):
        raise CaseError.single("day", "must be a whole day of treatment from 1 to 365")
    if day is not None and grid_h is not None:
        raise CaseError.single("grid", "a grid applies to steady state, not to --day")
    if chunk_size <= 0:
        raise CaseError.single("chunk_size", "must be a positive number of individuals")
    if not isinstance(workers, int) or workers < 1:
        raise CaseError.single("workers", f"{workers} must be a whole number >= 1")
    if backend not in ("numpy", "dask"):
        raise CaseError.single("backend", f"unknown backend {backend!r}; valid: numpy, dask")
    check_model_inputs(spec)
    for i, plan in enumerate(plans):
        regimens_mod.check_bands_cover(plan, spec.weight_range_kg(), f"regimens[{i}]")
    job = Job(spec=spec, plans=plans, mics_mg_l=tuple(mic_list),
              targets_pct=tuple(target_list), grid_h=grid_h, day=day, export=export)
    if chunk_size > BLOCK_SIZE:
        # whole canonical blocks per chunk: no block is drawn twice (numbers are unchanged)
        chunk_size = -(-chunk_size // BLOCK_SIZE) * BLOCK_SIZE
    ranges = chunk_ranges(spec.n, chunk_size)
    if backend == "numpy" and workers > 1:
        ranges = balanced_ranges(spec.n, chunk_size, workers)
    # chunks are gathered as they finish, overlapping the gathering with the compute
    acc = Combiner(spec.n, len(plans), len(mic_list), len(target_list),
                   grouped=tuple(p.kind != "fixed" for p in plans), export=export)
    if backend == "dask":
        run_dask(evaluate_chunk, job, ranges, progress=progress, scheduler=scheduler,
                 sink=acc.add)
    else:
        run_numpy(evaluate_chunk, job, ranges, progress=progress, workers=workers, sink=acc.add)
    method = "exact" if grid_h is None else f"grid {grid_h:g} h"
    freqs = None if mic_frequencies is None else {float(k): float(v)
                                                  for k, v in mic_frequencies.items()}
    results = acc.results([p.name for p in plans],
                          [p.pattern.daily_dose_mg if p.pattern is not None else math.nan
                           for p in plans],
                          mic_list, target_list, mic_frequencies=freqs, model=spec.model,
                          tmic_method=method, threads=default_workers(), plans=plans,
                          auc_targets=auc_list, cmax_targets=cmax_list)
    model = pk.get_model(spec.model)
    warnings = validity.warnings(model, acc.outside, spec.n) + warnings
    columns = dict(acc.columns)
    return PopulationRun(results=results, warnings=warnings,
                         notes=validity.notes(model, acc.outside, spec.n),
                         outside=dict(acc.outside), columns=columns)


def run_pta(spec: PopulationSpec, regimens: Sequence[str | RegimenPlan], mics: Sequence[float],
            targets: Sequence[float] = DEFAULT_TARGETS_PCT, grid_h: float | None = None,
            backend: Backend = "numpy", scheduler: str | None = None,
            chunk_size: int = DEFAULT_CHUNK_SIZE, mic_frequencies: dict[float, float] | None = None,
            progress: Progress | None = None, workers: int = 1) -> list[RegimenResult]:
    """The results of `run_population` (see there)."""
    return run_population(spec, regimens, mics, targets, grid_h=grid_h, backend=backend,
                          scheduler=scheduler, chunk_size=chunk_size,
                          mic_frequencies=mic_frequencies, progress=progress,
                          workers=workers).results


__all__ = [
    "BLOCK_SIZE", "CNS_RISK_CMAX_MG_L", "DEFAULT_CHUNK_SIZE", "DEFAULT_TARGETS_PCT",
    "MAX_DAILY_DOSE_MG_PER_KG", "PTA_BREAKPOINT_FRACTION", "CEILING_MG_L", "Fractions",
    "GroupResult", "PopulationRun", "PopulationSpec", "RegimenPlan", "RegimenResult", "Sampler",
    "balanced_ranges", "breakpoint_mic", "check_mic_frequencies",
    "cumulative_fraction_of_response", "load_population_spec", "parse_pattern",
    "parse_population_spec", "per_kg", "run_population", "run_pta", "weight_bands",
]
