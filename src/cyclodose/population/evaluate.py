"""The per-chunk kernel: sample individuals [start, stop), compute their
exposures for every regimen with the PK engine (at steady state, or on one day
of treatment counted from the first dose), and summarise.

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
from cyclodose.pk.metrics import window_metrics
from cyclodose.pk.solution import Segment
from cyclodose.population.grid import tmic_pct_on_grid
from cyclodose.population.pta import ChunkSummary, GroupCounts, count_attained
from cyclodose.population.regimens import RegimenPlan
from cyclodose.population.sampling import Sample, Sampler
from cyclodose.population.spec import PopulationSpec
from cyclodose.population.validity import count_outside

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Job:
    spec: PopulationSpec
    plans: tuple[RegimenPlan, ...]
    mics_mg_l: tuple[float, ...]
    targets_pct: tuple[float, ...]
    grid_h: float | None = None
    day: int | None = None  # exposures on this day of treatment (1 = first day), not at ss
    export: bool = False  # keep per-patient covariates, parameters and %T>MIC


# what a transit or renal covariate is derived from (pk.Covariates.create), for messages
DERIVED_FROM = {
    "ffm_kg": ("weight_kg", "height_cm", "male"),
    "crcl_ml_min": ("age_years", "weight_kg", "male", "scr_mg_dl"),
    "crcl_56m_ml_min": ("age_years", "scr_mg_dl"),
}
# pk parameter that each between-occasion eta of a model's `iov` block multiplies
IOV_PARAMETER = {"cl": "cl_l_h", "v": "v_l", "ka": "ka_per_h", "tlag": "tlag_h",
                 "mtt": "mtt_h", "f": "f"}
PARAMETER_COLUMNS = ("cl_l_h", "v_l", "ka_per_h", "tlag_h", "mtt_h", "f")


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
            inputs = DERIVED_FROM.get(name, ())
            missing = [c for c in inputs if c not in values]
            how = (f"; give {name}, or {', '.join(inputs)} (missing: {', '.join(missing)})"
                   if missing else f" (give it, or {', '.join(inputs)})" if inputs
                   else " (give it)")
            problems.append(Problem(f"covariates.{name}", f"model {model.name} needs {name}"
                                    + how))
    if problems:
        raise CaseError(problems)
    return cov


def check_model_inputs(spec: PopulationSpec) -> None:
    """Fail before any work when the spec cannot feed the model (names the field)."""
    try:
        model = pk.get_model(spec.model)
    except CaseError as exc:
        raise CaseError.single("model", exc.problems[0].reason) from None
    sample = Sampler(spec, model.omega, model.iov).sample(0, min(spec.n, 8))
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


def _exact_tmic(tmic: FloatArray, cmin: FloatArray, cmax: FloatArray,
                mics: FloatArray) -> FloatArray:
    """%T>MIC for export with the counting rule's decisions: 100 at MIC <= Cmin, 0 at >= Cmax."""
    out = np.array(tmic, dtype=np.float64)
    out[cmin[:, None] >= mics[None, :]] = 100.0
    out[cmax[:, None] <= mics[None, :]] = 0.0
    return out


@dataclass
class _Exposures:
    """One regimen's per-patient exposures for m patients, filled group by group."""

    cmax: FloatArray
    cmin: FloatArray
    auc: FloatArray
    attained: NDArray[np.int64]
    groups: dict[float, GroupCounts]
    key: FloatArray | None  # per-patient group key (None: one group)
    tmic: FloatArray | None  # (m, n_mics) when exporting

    @classmethod
    def empty(cls, m: int, n_mics: int, n_targets: int, grouped: bool,
              export: bool) -> _Exposures:
        return cls(np.empty(m), np.empty(m), np.empty(m),
                   np.zeros((n_mics, n_targets), dtype=np.int64), {},
                   np.empty(m) if grouped else None,
                   np.empty((m, n_mics)) if export else None)

    def put(self, key: float, idx: NDArray[np.intp] | None, cmax: FloatArray,
            cmin: FloatArray, auc: FloatArray, counts: NDArray[np.int64],
            tmic: FloatArray | None) -> None:
        where = slice(None) if idx is None else idx
        self.cmax[where], self.cmin[where], self.auc[where] = cmax, cmin, auc
        self.attained += counts
        if self.key is not None:
            self.key[where] = key
            n_before, c_before = self.groups.get(key, (0, 0))
            self.groups[key] = (n_before + cmax.size, counts + c_before)
        if self.tmic is not None and tmic is not None:
            self.tmic[where] = tmic


def _steady_state_group(par: pk.Params, pattern: pk.DosePattern, mics: FloatArray,
                        targets: FloatArray, export: bool) -> tuple[
                            FloatArray, FloatArray, FloatArray, NDArray[np.int64],
                            FloatArray | None]:
    # one steady state per regimen gives Cmax, Cmin and %T>MIC at every MIC
    metrics = steady_state.metrics(par, pattern, mics_mg_l=mics, times=False)
    cmax = np.asarray(metrics["cmax"], dtype=np.float64)
    cmin = np.asarray(metrics["cmin"], dtype=np.float64)
    auc = np.asarray(metrics["auc24"], dtype=np.float64)
    tmic = np.asarray(metrics["tmic_pct"], dtype=np.float64)
    counts = _attained_from_tmic(tmic, cmin, cmax, mics, targets)
    return cmax, cmin, auc, counts, _exact_tmic(tmic, cmin, cmax, mics) if export else None


def _day_group(par: pk.Params, pattern: pk.DosePattern, mics: FloatArray, targets: FloatArray,
               day: int, export: bool) -> tuple[FloatArray, FloatArray, FloatArray,
                                                NDArray[np.int64], FloatArray | None]:
    """Exposures over day `day` of treatment, [24 (day − 1), 24 day) h after the first
    dose (dosing from t = 0, no run-in): Cmax, Cmin, AUC over that day, %T>MIC of its 24 h."""
    periods = int(np.ceil(24.0 * day / pattern.period_h))
    times, amounts = pattern.doses(periods)
    keep = times < 24.0 * day
    window = np.array([[24.0 * (day - 1), 24.0 * day]])
    segs = [Segment(-np.inf, par)]
    tmic = np.empty((par.size, mics.size))
    first: dict[str, np.ndarray] = {}
    for i, mic in enumerate(mics):
        out = window_metrics(segs, times[keep], amounts[keep], window, mic_mg_l=float(mic))
        tmic[:, i] = out["tmic_pct"][:, 0]
        first = first or out
    cmax = np.asarray(first["cmax"][:, 0], dtype=np.float64)
    cmin = np.asarray(first["cmin"][:, 0], dtype=np.float64)
    auc = np.asarray(first["auc"][:, 0], dtype=np.float64)
    counts = np.zeros((mics.size, targets.size), dtype=np.int64)
    for i in range(mics.size):
        counts[i] = count_attained(tmic[:, i], targets)
    return cmax, cmin, auc, counts, tmic if export else None


def _grid_group(par: pk.Params, pattern: pk.DosePattern, mics: FloatArray, targets: FloatArray,
                grid_h: float, export: bool) -> tuple[FloatArray, FloatArray, FloatArray,
                                                      NDArray[np.int64], FloatArray | None]:
    metrics = steady_state.metrics(par, pattern, times=False)

    def conc_at(times_h: FloatArray) -> FloatArray:
        return np.asarray(steady_state.steady_state_profile(par, pattern, times_h),
                          dtype=np.float64)

    tmic = tmic_pct_on_grid(conc_at, par.size, pattern.period_h, grid_h, mics)
    counts = np.zeros((mics.size, targets.size), dtype=np.int64)
    for i in range(mics.size):
        counts[i] = count_attained(tmic[:, i], targets)
    return (np.asarray(metrics["cmax"], dtype=np.float64),
            np.asarray(metrics["cmin"], dtype=np.float64),
            np.asarray(metrics["auc24"], dtype=np.float64), counts, tmic if export else None)


def _evaluate_block(job: Job, par: pk.Params, cov: dict[str, FloatArray],
                    mics: FloatArray, targets: FloatArray) -> list[_Exposures]:
    """Every regimen's exposures for the rows of `par` (covariates `cov` of the same rows)."""
    out = []
    for plan in job.plans:
        groups = plan.assign(cov, par.size)
        exp = _Exposures.empty(par.size, mics.size, targets.size, plan.kind != "fixed",
                               job.export)
        for key, pattern, idx in groups:
            sub = par if idx is None else par.take(idx)
            if job.day is not None:
                res = _day_group(sub, pattern, mics, targets, job.day, job.export)
            elif job.grid_h is not None:
                res = _grid_group(sub, pattern, mics, targets, job.grid_h, job.export)
            else:
                res = _steady_state_group(sub, pattern, mics, targets, job.export)
            exp.put(key, idx, *res)
        out.append(exp)
    return out


def individual_parameters(model: pk.ModelSpec, cov: pk.Covariates, sample: Sample) -> pk.Params:
    """Parameters of the sampled individuals; with IOV, those of the simulated occasion
    (each between-occasion eta multiplies its parameter by exp(kappa))."""
    par = pk.individual_parameters(model, cov, sample.eta)
    if sample.kappa is None:
        return par
    scaled = {IOV_PARAMETER[name]: getattr(par, IOV_PARAMETER[name]) * np.exp(sample.kappa[:, j])
              for j, name in enumerate(model.iov)}
    return dataclasses.replace(par, **scaled)


def evaluate_chunk(job: Job, start: int, stop: int) -> ChunkSummary:
    model = pk.get_model(job.spec.model)
    sample = Sampler(job.spec, model.omega, model.iov).sample(start, stop)
    cov = make_covariates(sample.covariates, model)
    mics = np.asarray(job.mics_mg_l, dtype=np.float64)
    targets = np.asarray(job.targets_pct, dtype=np.float64)
    m = sample.size
    # the individuals' parameters do not depend on the regimen: computed once per chunk
    # (pk.steady_state_metrics is individual_parameters followed by steady_state.metrics)
    par = individual_parameters(model, cov, sample)
    blocks = [_evaluate_block(job, par.take(slice(lo, lo + PK_BLOCK)),
                              {k: v[lo:lo + PK_BLOCK] for k, v in sample.covariates.items()},
                              mics, targets) for lo in range(0, m, PK_BLOCK)]
    n_reg = len(job.plans)

    def cat(get: str, r: int) -> FloatArray:
        return np.concatenate([getattr(b[r], get) for b in blocks])

    groups: list[dict[float, GroupCounts]] = []
    for r in range(n_reg):
        merged: dict[float, GroupCounts] = {}
        for b in blocks:
            for key, (k, counts) in b[r].groups.items():
                n0, c0 = merged.get(key, (0, 0))
                merged[key] = (n0 + k, counts + c0)
        groups.append(merged)
    # weight always travels back (doses in mg/kg); the rest only for an export
    export = {"weight_kg": np.asarray(cov.weight_kg, dtype=np.float64)}
    if job.export:
        names = [f.name for f in dataclasses.fields(pk.Covariates)]
        export.update({name: np.asarray(cov.value(name), dtype=np.float64) for name in names
                       if not np.all(np.isnan(cov.value(name)))})
        export.update({k: np.asarray(getattr(par, k)) for k in PARAMETER_COLUMNS})
    return ChunkSummary(
        start=start, n=m,
        cmax_mg_l=[cat("cmax", r) for r in range(n_reg)],
        cmin_mg_l=[cat("cmin", r) for r in range(n_reg)],
        auc24_mg_h_l=[cat("auc", r) for r in range(n_reg)],
        attained=np.sum([[b[r].attained for r in range(n_reg)] for b in blocks], axis=0,
                        dtype=np.int64),
        groups=groups,
        group_key=[None if blocks[0][r].key is None else cat("key", r) for r in range(n_reg)],
        outside=count_outside(model, cov),
        export=export,
        tmic_pct=[cat("tmic", r) for r in range(n_reg)] if job.export else None,
    )
