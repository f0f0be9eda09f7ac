"""The per-chunk kernel: sample individuals [start, stop), compute their
steady-state exposures for every regimen with the PK engine, and summarise.

Pure and picklable (module-level function, plain-data job), so the NumPy and
Dask backends run exactly the same code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cyclodose import pk
from cyclodose.errors import CaseError, Problem
from cyclodose.pk import steady_state
from cyclodose.population.grid import tmic_pct_on_grid
from cyclodose.population.pta import ChunkSummary, count_attained
from cyclodose.population.sampling import Sampler
from cyclodose.population.spec import PopulationSpec

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Job:
    spec: PopulationSpec
    patterns: tuple[pk.DosePattern, ...]
    mics_mg_l: tuple[float, ...]
    targets_pct: tuple[float, ...]
    grid_h: float | None = None


def make_covariates(values: dict[str, FloatArray], model: pk.ModelSpec) -> pk.Covariates:
    """pk.Covariates from sampled columns (derived ones such as CrCl or FFM filled in by pk).

    Unknown names and covariates the model needs but cannot get are a CaseError
    naming `covariates.<name>`. Every virtual patient is a TB patient (Alghamdi's
    PATIENT = 1) unless the spec gives `patient`.
    """
    known = {f.name for f in dataclasses.fields(pk.Covariates)}
    problems = [Problem(f"covariates.{name}", f"not a covariate; known: {', '.join(sorted(known))}")
                for name in values if name not in known]
    if "weight_kg" not in values:
        problems.append(Problem("covariates.weight_kg", "every population needs body weight"))
    if problems:
        raise CaseError(problems)
    cov = pk.Covariates.create(**values)
    for name in model.covariates:
        if np.any(np.isnan(cov.value(name))):
            problems.append(Problem(f"covariates.{name}", f"model {model.name} needs {name} "
                                    "(give it, or the covariates it is derived from)"))
    if problems:
        raise CaseError(problems)
    return cov


def check_model_inputs(spec: PopulationSpec) -> None:
    """Fail before any work when the spec cannot feed the model (names the field)."""
    try:
        model = pk.get_model(spec.model)
    except CaseError as exc:
        raise CaseError.single("model", exc.problems[0].reason) from None
    sample = Sampler(spec, model.omega).sample(0, min(spec.n, 8))
    make_covariates(sample.covariates, model)


def _attained_from_tmic(tmic: FloatArray, cmin: FloatArray, cmax: FloatArray,
                        mics: FloatArray, targets: FloatArray) -> NDArray[np.int64]:
    """Counts (n_mics, n_targets) of %T>MIC >= target from exact %T>MIC (n, n_mics).

    MIC <= Cmin counts as 100 % of the period above it (pk may round the sum of the
    pieces just below 100 %), MIC >= Cmax as 0 %, and once an individual misses every
    target at one MIC it misses them at every higher MIC (%T>MIC falls as the MIC
    rises): the same decisions the per-MIC evaluation made.
    """
    out = np.zeros((mics.size, targets.size), dtype=np.int64)
    misses_all = np.zeros(cmax.size, dtype=bool)
    for i in np.argsort(mics):
        mic = float(mics[i])
        always_above = cmin >= mic
        out[i] += np.count_nonzero(always_above)  # 100 % >= every target (targets <= 100 %)
        need = ~always_above & (cmax > mic) & ~misses_all
        idx = np.flatnonzero(need)
        if idx.size:
            col = tmic[idx, i]
            out[i] += count_attained(col, targets)
            misses_all[idx[col < targets.min()]] = True
        misses_all |= cmax <= mic
    return out


def _attained_exact(model: pk.ModelSpec, cov: pk.Covariates, eta: FloatArray,
                    pattern: pk.DosePattern, cmin: FloatArray, cmax: FloatArray,
                    mics: FloatArray, targets: FloatArray) -> NDArray[np.int64]:
    """Counts (n_mics, n_targets) of %T>MIC >= target, exact crossings from pk."""
    tmic = np.asarray(pk.steady_state_metrics(model, cov, eta, pattern, mics_mg_l=mics)[
        "tmic_pct"], dtype=np.float64)
    return _attained_from_tmic(tmic, cmin, cmax, mics, targets)


PK_BLOCK = 16384  # rows per PK call: temporaries stay small (each row is independent, so
# the numbers do not depend on this)


def _exact_block(par: pk.Params, patterns: tuple[pk.DosePattern, ...], mics: FloatArray,
                 targets: FloatArray) -> tuple[list[FloatArray], list[FloatArray],
                                               list[FloatArray], NDArray[np.int64]]:
    """Cmax, Cmin, AUC24 per regimen and attainment counts for the rows of `par`."""
    attained = np.zeros((len(patterns), mics.size, targets.size), dtype=np.int64)
    cmax, cmin, auc = [], [], []
    for r, pattern in enumerate(patterns):
        # one steady state per regimen gives Cmax, Cmin and %T>MIC at every MIC
        metrics = steady_state.metrics(par, pattern, mics_mg_l=mics, times=False)
        cmax.append(np.asarray(metrics["cmax"], dtype=np.float64))
        cmin.append(np.asarray(metrics["cmin"], dtype=np.float64))
        auc.append(np.asarray(metrics["auc24"], dtype=np.float64))
        attained[r] = _attained_from_tmic(np.asarray(metrics["tmic_pct"], dtype=np.float64),
                                          cmin[-1], cmax[-1], mics, targets)
    return cmax, cmin, auc, attained


def evaluate_chunk(job: Job, start: int, stop: int) -> ChunkSummary:
    model = pk.get_model(job.spec.model)
    sample = Sampler(job.spec, model.omega).sample(start, stop)
    cov = make_covariates(sample.covariates, model)
    mics = np.asarray(job.mics_mg_l, dtype=np.float64)
    targets = np.asarray(job.targets_pct, dtype=np.float64)
    m = sample.size
    # the individuals' parameters do not depend on the regimen: computed once per chunk
    # (pk.steady_state_metrics is individual_parameters followed by steady_state.metrics)
    par = pk.individual_parameters(model, cov, sample.eta)
    if job.grid_h is None:
        blocks = [_exact_block(par.take(slice(lo, lo + PK_BLOCK)), job.patterns,
                               mics, targets) for lo in range(0, m, PK_BLOCK)]
        n_reg = len(job.patterns)
        return ChunkSummary(
            start=start, n=m,
            cmax_mg_l=[np.concatenate([b[0][r] for b in blocks]) for r in range(n_reg)],
            cmin_mg_l=[np.concatenate([b[1][r] for b in blocks]) for r in range(n_reg)],
            auc24_mg_h_l=[np.concatenate([b[2][r] for b in blocks]) for r in range(n_reg)],
            attained=np.sum([b[3] for b in blocks], axis=0, dtype=np.int64))
    attained = np.zeros((len(job.patterns), mics.size, targets.size), dtype=np.int64)
    cmax, cmin, auc = [], [], []
    for r, pattern in enumerate(job.patterns):
        metrics = steady_state.metrics(par, pattern, times=False)
        cmax.append(np.asarray(metrics["cmax"], dtype=np.float64))
        cmin.append(np.asarray(metrics["cmin"], dtype=np.float64))
        auc.append(np.asarray(metrics["auc24"], dtype=np.float64))

        def conc_at(times_h: FloatArray, pattern: pk.DosePattern = pattern) -> FloatArray:
            return np.asarray(pk.steady_state_concentration(
                model, cov, sample.eta, pattern, times_h), dtype=np.float64)

        tmic_all = tmic_pct_on_grid(conc_at, m, pattern.period_h, job.grid_h, mics)
        for i in range(mics.size):
            attained[r, i] = count_attained(tmic_all[:, i], targets)
    return ChunkSummary(start=start, n=m, cmax_mg_l=cmax, cmin_mg_l=cmin, auc24_mg_h_l=auc,
                        attained=attained)
