"""Population Monte Carlo: virtual patients, probability of target attainment,
PK/PD breakpoints, cumulative fraction of response and toxicity, on NumPy or Dask.

    spec = load_population_spec("examples/population.yaml")
    results = run_pta(spec, ["250mg q12h", "250/500mg q12h"], mics=[8, 16, 32], targets=[30, 64])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cyclodose import pk
from cyclodose.errors import CaseError
from cyclodose.population.backends import Backend, Progress, default_workers, run_dask, run_numpy
from cyclodose.population.evaluate import Job, check_model_inputs, evaluate_chunk
from cyclodose.population.pta import (
    CEILING_MG_L,
    CNS_RISK_CMAX_MG_L,
    DEFAULT_TARGETS_PCT,
    PTA_BREAKPOINT_FRACTION,
    Combiner,
    RegimenResult,
    breakpoint_mic,
    cumulative_fraction_of_response,
)
from cyclodose.population.sampling import BLOCK_SIZE, Sampler, chunk_ranges
from cyclodose.population.spec import PopulationSpec, load_population_spec, parse_population_spec

DEFAULT_CHUNK_SIZE = BLOCK_SIZE  # one canonical block: ~0.3 GB per worker, cache-friendly


def _positive_list(values: Sequence[float], field: str, upper: float | None = None) -> list[float]:
    out = sorted({float(v) for v in values})
    if not out:
        raise CaseError.single(field, "give at least one value")
    for v in out:
        if not math.isfinite(v) or v <= 0 or (upper is not None and v > upper):
            limit = f" and <= {upper:g}" if upper is not None else ""
            raise CaseError.single(field, f"{v:g} must be a number > 0{limit}")
    return out


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


def run_pta(spec: PopulationSpec, regimens: Sequence[str], mics: Sequence[float],
            targets: Sequence[float] = DEFAULT_TARGETS_PCT, grid_h: float | None = None,
            backend: Backend = "numpy", scheduler: str | None = None,
            chunk_size: int = DEFAULT_CHUNK_SIZE, mic_frequencies: dict[float, float] | None = None,
            progress: Progress | None = None, workers: int = 1) -> list[RegimenResult]:
    """PTA, breakpoints, CFR and toxicity per regimen for the spec's population.

    mics in mg/L; targets as %T>MIC of the dosing period; grid_h counts time
    above the MIC on a grid of that step (hours) instead of exactly.
    The same spec (seed) gives identical numbers for any backend and chunk_size.
    """
    if not regimens:
        raise CaseError.single("regimen", "give at least one regimen")
    patterns = tuple(pk.parse_regimen(r) for r in regimens)
    mic_list = _positive_list(list(mics) + list(mic_frequencies or {}), "mic")
    target_list = _positive_list(targets, "target", upper=100.0)
    if mic_frequencies is not None and any(f < 0 for f in mic_frequencies.values()):
        raise CaseError.single("mic_distribution", "frequencies must be >= 0")
    if mic_frequencies is not None and sum(mic_frequencies.values()) <= 0:
        raise CaseError.single("mic_distribution", "frequencies must sum to more than 0")
    if grid_h is not None and not grid_h > 0:
        raise CaseError.single("grid", "the grid step must be > 0 h")
    if chunk_size <= 0:
        raise CaseError.single("chunk_size", "must be a positive number of individuals")
    if backend not in ("numpy", "dask"):
        raise CaseError.single("backend", f"unknown backend {backend!r}; valid: numpy, dask")
    check_model_inputs(spec)
    job = Job(spec=spec, patterns=patterns, mics_mg_l=tuple(mic_list),
              targets_pct=tuple(target_list), grid_h=grid_h)
    if chunk_size > BLOCK_SIZE:
        # whole canonical blocks per chunk: no block is drawn twice (numbers are unchanged)
        chunk_size = -(-chunk_size // BLOCK_SIZE) * BLOCK_SIZE
    ranges = chunk_ranges(spec.n, chunk_size)
    if backend == "numpy" and workers > 1:
        ranges = balanced_ranges(spec.n, chunk_size, workers)
    # chunks are gathered as they finish, overlapping the gathering with the compute
    acc = Combiner(spec.n, len(patterns), len(mic_list), len(target_list))
    if backend == "dask":
        run_dask(evaluate_chunk, job, ranges, progress=progress, scheduler=scheduler,
                 sink=acc.add)
    else:
        run_numpy(evaluate_chunk, job, ranges, progress=progress, workers=workers, sink=acc.add)
    method = "exact" if grid_h is None else f"grid {grid_h:g} h"
    freqs = None if mic_frequencies is None else {float(k): float(v)
                                                  for k, v in mic_frequencies.items()}
    return acc.results([str(r).strip() for r in regimens], [p.daily_dose_mg for p in patterns],
                       mic_list, target_list, mic_frequencies=freqs, model=spec.model,
                       tmic_method=method, threads=default_workers())


__all__ = [
    "BLOCK_SIZE", "CNS_RISK_CMAX_MG_L", "DEFAULT_CHUNK_SIZE", "DEFAULT_TARGETS_PCT",
    "PTA_BREAKPOINT_FRACTION", "CEILING_MG_L", "PopulationSpec", "RegimenResult", "Sampler",
    "balanced_ranges", "breakpoint_mic", "cumulative_fraction_of_response", "load_population_spec",
    "parse_population_spec", "run_pta",
]
