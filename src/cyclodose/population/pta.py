"""Probability of target attainment, PK/PD breakpoints, CFR and toxicity.

Per-individual exposures arrive chunk by chunk (`ChunkSummary`); `combine`
reassembles them in individual order, so every statistic is computed on the
same arrays whatever the chunking and therefore bitwise reproducible.

Sources: efficacy targets %T>MIC >= 30 % (bactericidal) and >= 64 % (80 % of
maximal kill), Deshpande 2018 as used by Alghamdi 2019; breakpoint = highest
MIC with PTA >= 90 % (Alghamdi 2019); toxicity ceiling 30 mg/L (monograph, US
label) and CNS risk above 35 mg/L (UK TB drug monographs). Intervals: 95 %
Wilson score intervals (Wilson 1927) for every fraction of individuals.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cyclodose.limits import CEILING_MG_L, MAX_DAILY_DOSE_MG, MAX_DAILY_DOSE_MG_PER_KG
from cyclodose.population.intervals import wilson

FloatArray = NDArray[np.float64]
PTA_BREAKPOINT_FRACTION = 0.90  # Alghamdi 2019: >= 90 % of simulated patients
CNS_RISK_CMAX_MG_L = 35.0  # UK TB drug monographs: CNS risk rises above 35 mg/L
DEFAULT_TARGETS_PCT = (30.0, 64.0)  # Deshpande 2018 via Alghamdi 2019
GroupCounts = tuple[int, Any]  # (individuals, attainment counts (n_mics, n_targets))


@dataclass(frozen=True)
class ChunkSummary:
    """Exposures of individuals [start, start + n) for every regimen."""

    start: int
    n: int
    cmax_mg_l: list[FloatArray]  # per regimen, (n,)
    cmin_mg_l: list[FloatArray]
    auc24_mg_h_l: list[FloatArray]
    attained: NDArray[np.int64]  # (n_regimens, n_mics, n_targets) counts of %T>MIC >= target
    # per regimen: group key -> GroupCounts (empty for a fixed regimen), and the
    # per-patient group key (None for a fixed regimen)
    groups: list[dict[float, GroupCounts]] = field(default_factory=list)
    group_key: list[FloatArray | None] = field(default_factory=list)
    outside: dict[str, int] = field(default_factory=dict)  # validity counts
    export: dict[str, FloatArray] | None = None  # covariates and parameters, per patient
    tmic_pct: list[FloatArray] | None = None  # per regimen (n, n_mics), when exporting


def count_attained(tmic_pct: FloatArray, targets_pct: FloatArray) -> NDArray[np.int64]:
    """How many individuals reach each target (%T>MIC >= target), shape (n_targets,)."""
    # one pass per target along the long axis (a (n, n_targets) comparison is slower)
    return np.array([np.count_nonzero(tmic_pct >= t) for t in targets_pct], dtype=np.int64)


def breakpoint_mic(mics_mg_l: list[float], pta: list[float],
                   threshold: float = PTA_BREAKPOINT_FRACTION) -> float | None:
    """Highest MIC such that PTA >= threshold at it and at every lower MIC tested.

    PTA falls with MIC for every individual, so this is the highest MIC with
    PTA >= threshold; requiring the whole lower run guards against a gap.
    None when even the lowest MIC misses the threshold.
    """
    best = None
    for mic, p in sorted(zip(mics_mg_l, pta, strict=True)):
        if p < threshold:
            break
        best = mic
    return best


def cumulative_fraction_of_response(pta_by_mic: dict[float, float],
                                    mic_frequencies: dict[float, float]) -> float:
    """CFR = Σ PTA(MIC) × frequency(MIC) over an MIC distribution (frequencies renormalised)."""
    total = sum(mic_frequencies.values())
    if total <= 0:
        raise ValueError("MIC frequencies must sum to a positive number")
    return sum(pta_by_mic[m] * f for m, f in mic_frequencies.items()) / total


def _counts(pta: dict[float, dict[float, float]], n: int) -> dict[float, dict[float, int]]:
    return {m: {t: round(f * n) for t, f in by_t.items()} for m, by_t in pta.items()}


@dataclass(frozen=True)
class Fractions:
    """PTA over MICs and targets of one exposure index for n individuals, with
    95 % Wilson intervals, breakpoints with their certainty, and the CFR."""

    index: str  # "tmic_pct", "auc24_mic" or "cmax_mic"
    n: int
    counts: dict[float, dict[float, int]]  # mic -> target -> individuals attaining
    mic_frequencies: dict[float, float] | None = None

    @property
    def mics(self) -> list[float]:
        return sorted(self.counts)

    @property
    def targets(self) -> list[float]:
        return list(next(iter(self.counts.values())))

    def pta(self, mic: float, target: float) -> float:
        return self.counts[mic][target] / self.n

    def ci(self, mic: float, target: float) -> tuple[float, float]:
        return wilson(self.counts[mic][target], self.n)

    def breakpoint(self, target: float) -> float | None:
        return breakpoint_mic(self.mics, [self.pta(m, target) for m in self.mics])

    def breakpoint_certainty(self, target: float) -> dict[str, Any]:
        """The PTA interval at the breakpoint MIC and at the next MIC tested; stable when
        the first lies wholly at or above 90 % and the second wholly below."""
        mics, bp = self.mics, self.breakpoint(target)
        at = None if bp is None else bp
        nxt = mics[0] if bp is None else next((m for m in mics if m > bp), None)
        stable = True
        out: dict[str, Any] = {"breakpoint": bp}
        if at is not None:
            lo, hi = self.ci(at, target)
            out["at_breakpoint"] = {"mic": at, "pta": self.pta(at, target), "ci95": [lo, hi]}
            stable &= lo >= PTA_BREAKPOINT_FRACTION
        if nxt is not None:
            lo, hi = self.ci(nxt, target)
            out["next_mic"] = {"mic": nxt, "pta": self.pta(nxt, target), "ci95": [lo, hi]}
            stable &= hi < PTA_BREAKPOINT_FRACTION
        out["stable"] = bool(stable)
        return out

    def cfr(self, target: float) -> float | None:
        if not self.mic_frequencies:
            return None
        return cumulative_fraction_of_response({m: self.pta(m, target) for m in self.mics},
                                               self.mic_frequencies)

    def cfr_ci(self, target: float) -> tuple[float, float] | None:
        """Wilson interval with n individuals: conservative for a CFR, whose per-patient
        response is a frequency-weighted mean in [0, 1] with variance <= CFR (1 − CFR)."""
        value = self.cfr(target)
        return None if value is None else wilson(value * self.n, self.n)

    def to_json(self) -> dict[str, Any]:
        targets = self.targets
        return {
            "pta": {_key(m): {_key(t): self.pta(m, t) for t in targets} for m in self.mics},
            "pta_ci95": {_key(m): {_key(t): list(self.ci(m, t)) for t in targets}
                         for m in self.mics},
            "breakpoint": {_key(t): self.breakpoint(t) for t in targets},
            "breakpoint_certainty": {_key(t): self.breakpoint_certainty(t) for t in targets},
            "cfr": None if not self.mic_frequencies else {_key(t): self.cfr(t) for t in targets},
            "cfr_ci95": None if not self.mic_frequencies else {
                _key(t): list(self.cfr_ci(t) or ()) for t in targets},
        }


def index_counts(values: FloatArray, mics: list[float], targets: list[float]
                 ) -> dict[float, dict[float, int]]:
    """Individuals with values / MIC >= target (AUC24/MIC, Cmax/MIC) per MIC and target."""
    return {m: {t: int(np.count_nonzero(values >= t * m)) for t in targets} for m in mics}


_QUANTILES = (0.0, 0.05, 0.5, 0.95, 1.0)
_QUANTILE_KEYS = ("min", "p05", "median", "p95", "max")


def _quantiles(a: FloatArray) -> dict[str, float]:
    q = np.quantile(a, _QUANTILES)
    return dict(zip(_QUANTILE_KEYS, map(float, q), strict=True))


def dose_distribution(daily_mg: FloatArray | float, weight_kg: FloatArray,
                      weight_quantiles: dict[str, float] | None = None) -> dict[str, Any]:
    """Daily dose in mg and mg/kg over the individuals: quantiles, the share of each
    daily dose, and the shares above 1 g/day and above MAX_DAILY_DOSE_MG_PER_KG.

    A fixed regimen (daily_mg a number) takes its mg/kg quantiles as the daily dose
    over the weight quantiles (`weight_quantiles`, computed once for all regimens)."""
    n = weight_kg.size
    if isinstance(daily_mg, float | int):
        wq = weight_quantiles or _quantiles(weight_kg)
        daily = float(daily_mg)
        mg = dict.fromkeys(_QUANTILE_KEYS, daily)
        per_kg_q = {k: daily / wq[w] for k, w in zip(_QUANTILE_KEYS, reversed(_QUANTILE_KEYS),
                                                    strict=True)}
        shares = {_key(daily): 1.0}
        above_mg = n if daily > MAX_DAILY_DOSE_MG else 0
        above_kg = int(np.count_nonzero(daily / weight_kg > MAX_DAILY_DOSE_MG_PER_KG))
    else:
        per_kg = daily_mg / weight_kg
        levels, counts = np.unique(daily_mg, return_counts=True)
        mg, per_kg_q = _quantiles(daily_mg), _quantiles(per_kg)
        shares = {_key(float(d)): int(c) / n for d, c in zip(levels, counts, strict=True)}
        above_mg = int(np.count_nonzero(daily_mg > MAX_DAILY_DOSE_MG))
        above_kg = int(np.count_nonzero(per_kg > MAX_DAILY_DOSE_MG_PER_KG))
    return {
        "mg": mg,
        "mg_per_kg": per_kg_q,
        "share_by_daily_dose_mg": shares,
        "p_above_1g_per_day": above_mg / n,
        "p_above_1g_per_day_ci95": list(wilson(above_mg, n)),
        "p_above_max_mg_per_kg_day": above_kg / n,
        "p_above_max_mg_per_kg_day_ci95": list(wilson(above_kg, n)),
        "max_mg_per_kg_day": MAX_DAILY_DOSE_MG_PER_KG,
    }


@dataclass
class GroupResult:
    """A band of a weight-band regimen, or a dose level of a weight-based one."""

    label: str
    daily_dose_mg: float
    n: int
    tmic: Fractions
    p_cmax_above_30: float
    p_cmax_above_35: float
    cmax_median: float
    auc24_median: float
    weight_kg_range: tuple[float, float]
    extra: list[Fractions] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        n = self.n
        k30, k35 = round(self.p_cmax_above_30 * n), round(self.p_cmax_above_35 * n)
        return {
            "group": self.label, "n": n, "daily_dose_mg": self.daily_dose_mg,
            "weight_kg_range": list(self.weight_kg_range),
            "cmax_median": self.cmax_median, "auc24_median": self.auc24_median,
            "p_cmax_above_30": self.p_cmax_above_30,
            "p_cmax_above_30_ci95": list(wilson(k30, n)),
            "p_cmax_above_35": self.p_cmax_above_35,
            "p_cmax_above_35_ci95": list(wilson(k35, n)),
            **self.tmic.to_json(),
            **{f.index: f.to_json() for f in self.extra},
        }


@dataclass
class RegimenResult:
    regimen: str
    daily_dose_mg: float
    n: int
    cmax_mg_l: FloatArray = field(repr=False)
    cmin_mg_l: FloatArray = field(repr=False)
    auc24_mg_h_l: FloatArray = field(repr=False)
    pta: dict[float, dict[float, float]]  # mic -> target -> fraction
    breakpoint: dict[float, float | None]  # target -> mic
    cfr: dict[float, float] | None = None  # target -> fraction
    model: str = ""
    tmic_method: str = "exact"
    _stats: dict[str, float] | None = field(default=None, repr=False, compare=False)
    kind: str = "fixed"  # "fixed", "weight_bands" or "mg_per_kg"
    mic_frequencies: dict[float, float] | None = None
    daily_dose_per_patient_mg: FloatArray | None = field(default=None, repr=False)
    weight_kg: FloatArray | None = field(default=None, repr=False)
    groups: list[GroupResult] = field(default_factory=list)
    extra: list[Fractions] = field(default_factory=list)  # AUC24/MIC, Cmax/MIC targets
    tmic_pct: FloatArray | None = field(default=None, repr=False)  # (n, n_mics) on export

    @property
    def fractions(self) -> Fractions:
        return Fractions("tmic_pct", self.n, _counts(self.pta, self.n), self.mic_frequencies)

    @property
    def max_daily_dose_mg(self) -> float:
        if self.daily_dose_per_patient_mg is None:
            return self.daily_dose_mg
        return float(np.max(self.daily_dose_per_patient_mg))

    @property
    def above_licensed_maximum(self) -> bool:
        """Some individual gets more than the licensed 1 g/day."""
        return self.max_daily_dose_mg > MAX_DAILY_DOSE_MG

    @property
    def above_weight_based_maximum(self) -> bool:
        """Some individual gets more than MAX_DAILY_DOSE_MG_PER_KG."""
        if self.weight_kg is None:
            return False
        return self.dose_distribution()["p_above_max_mg_per_kg_day"] > 0

    def daily_doses_mg(self) -> FloatArray:
        if self.daily_dose_per_patient_mg is not None:
            return self.daily_dose_per_patient_mg
        assert self.weight_kg is not None
        return np.full(self.weight_kg.shape, self.daily_dose_mg)

    def dose_distribution(self) -> dict[str, Any]:
        if self._dose is None:
            assert self.weight_kg is not None
            daily = (self.daily_dose_mg if self.daily_dose_per_patient_mg is None
                     else self.daily_dose_per_patient_mg)
            self._dose = dose_distribution(daily, self.weight_kg, self.weight_quantiles)
        return self._dose

    _dose: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    weight_quantiles: dict[str, float] | None = field(default=None, repr=False, compare=False)

    @property
    def p_cmax_above_30(self) -> float:
        return self.exposure_stats()["p_cmax_above_30"]

    @property
    def p_cmax_above_35(self) -> float:
        return self.exposure_stats()["p_cmax_above_35"]

    def exposure_stats(self) -> dict[str, float]:
        """Means, quantiles and toxicity fractions of the exposures (computed once)."""
        if self._stats is None:
            self._stats = exposure_stats(self.cmax_mg_l, self.cmin_mg_l, self.auc24_mg_h_l)
        return self._stats

    def to_json(self) -> dict[str, Any]:
        st = self.exposure_stats()
        out = {
            "regimen": self.regimen,
            "daily_dose_mg": self.daily_dose_mg,
            "above_licensed_maximum": self.above_licensed_maximum,
            "n": self.n,
            "model": self.model,
            "tmic_method": self.tmic_method,
            **{key: st[key] for key in _STAT_KEYS},
            "pta": {_key(m): {_key(t): f for t, f in by_t.items()} for m, by_t in self.pta.items()},
            "breakpoint": {_key(t): m for t, m in self.breakpoint.items()},
            "cfr": None if self.cfr is None else {_key(t): f for t, f in self.cfr.items()},
            "units": {
                "cmax": "mg/L", "cmin": "mg/L", "auc24": "mg·h/L", "daily_dose": "mg",
                "mic": "mg/L", "breakpoint": "mg/L",
                "target": "% of the dosing period with concentration above the MIC",
                "pta": "fraction of individuals", "p_cmax_above": "fraction of individuals",
            },
        }
        return out

    def details_json(self) -> dict[str, Any]:
        """What the earlier output did not have: intervals, breakpoint certainty, dose
        distribution, weight-based flag, AUC24/MIC and Cmax/MIC targets, groups."""
        n, st = self.n, self.exposure_stats()
        k30, k35 = round(st["p_cmax_above_30"] * n), round(st["p_cmax_above_35"] * n)
        frac = self.fractions.to_json()
        out: dict[str, Any] = {
            "kind": self.kind,
            "above_weight_based_maximum": self.above_weight_based_maximum,
            "flagged": self.above_licensed_maximum or self.above_weight_based_maximum,
            "p_cmax_above_30_ci95": list(wilson(k30, n)),
            "p_cmax_above_35_ci95": list(wilson(k35, n)),
            "pta_ci95": frac["pta_ci95"],
            "breakpoint_certainty": frac["breakpoint_certainty"],
            "cfr_ci95": frac["cfr_ci95"],
        }
        if self.weight_kg is not None:
            out["daily_dose"] = self.dose_distribution()
        for f in self.extra:
            out[f.index] = f.to_json()
        if self.groups:
            out["groups"] = [g.to_json() for g in self.groups]
        return out


_STAT_KEYS = ("cmax_mean", "cmax_median", "cmax_p05", "cmax_p95", "cmin_median", "auc24_mean",
              "auc24_median", "p_cmax_above_30", "p_cmax_above_35")


def exposure_stats(cmax_mg_l: FloatArray, cmin_mg_l: FloatArray,
                   auc24_mg_h_l: FloatArray) -> dict[str, float]:
    """The summary statistics of one regimen's exposures (keys `_STAT_KEYS`).

    Means sum in individual order (pairwise summation depends on it); medians and
    quantiles depend only on order statistics, so they are taken in place on one
    scratch copy (the same numbers as np.median/np.quantile of the original, faster)."""
    scratch = cmax_mg_l.copy()
    out = {
        "cmax_mean": float(np.mean(cmax_mg_l)),
        "cmax_median": float(np.median(scratch, overwrite_input=True)),
        "cmax_p05": float(np.quantile(scratch, 0.05, overwrite_input=True)),
        "cmax_p95": float(np.quantile(scratch, 0.95, overwrite_input=True)),
        "auc24_mean": float(np.mean(auc24_mg_h_l)),
        "p_cmax_above_30": float(np.mean(cmax_mg_l > CEILING_MG_L)),
        "p_cmax_above_35": float(np.mean(cmax_mg_l > CNS_RISK_CMAX_MG_L)),
    }
    np.copyto(scratch, cmin_mg_l)
    out["cmin_median"] = float(np.median(scratch, overwrite_input=True))
    np.copyto(scratch, auc24_mg_h_l)
    out["auc24_median"] = float(np.median(scratch, overwrite_input=True))
    return out


def _key(x: float) -> str:
    """16.0 -> "16", 0.5 -> "0.5": JSON keys as a person writes them."""
    return f"{x:g}"


class Combiner:
    """Gathers chunk summaries as they arrive (any order) into whole-population arrays.

    Filling preallocated arrays while the workers compute keeps the main process's
    share of the work off the critical path and holds one copy of the exposures."""

    def __init__(self, n: int, n_regimens: int, n_mics: int, n_targets: int,
                 grouped: tuple[bool, ...] = (), export: bool = False):
        self.n = n
        self.cmax = np.empty((n_regimens, n))
        self.cmin = np.empty((n_regimens, n))
        self.auc24 = np.empty((n_regimens, n))
        self.attained = np.zeros((n_regimens, n_mics, n_targets), dtype=np.int64)
        self.grouped = grouped or (False,) * n_regimens
        self.keys = {r: np.empty(n) for r, g in enumerate(self.grouped) if g}
        self.groups: list[dict[float, GroupCounts]] = [{} for _ in range(n_regimens)]
        self.weight_kg: FloatArray | None = None
        self.outside: dict[str, int] = {}
        self.export = export
        self.columns: dict[str, FloatArray] = {}
        self.tmic = np.empty((n_regimens, n, n_mics)) if export else None
        self._spans: list[tuple[int, int]] = []

    def add(self, chunk: ChunkSummary) -> None:
        if chunk.start < 0 or chunk.start + chunk.n > self.n:
            raise ValueError(f"chunk [{chunk.start}, {chunk.start + chunk.n}) is outside the "
                             f"population of {self.n}")
        span = slice(chunk.start, chunk.start + chunk.n)
        for r in range(self.cmax.shape[0]):
            self.cmax[r, span] = chunk.cmax_mg_l[r]
            self.cmin[r, span] = chunk.cmin_mg_l[r]
            self.auc24[r, span] = chunk.auc24_mg_h_l[r]
        self.attained += chunk.attained
        for r, key in self.keys.items():
            key[span] = chunk.group_key[r]
        for r, groups in enumerate(chunk.groups):
            for g, (k, counts) in groups.items():
                n0, c0 = self.groups[r].get(g, (0, 0))
                self.groups[r][g] = (n0 + k, counts + c0)
        for name, k in chunk.outside.items():
            self.outside[name] = self.outside.get(name, 0) + k
        if chunk.export is not None:
            if "weight_kg" in chunk.export:
                if self.weight_kg is None:
                    self.weight_kg = np.empty(self.n)
                self.weight_kg[span] = chunk.export["weight_kg"]
            if self.export:
                for name, col in chunk.export.items():
                    self.columns.setdefault(name, np.empty(self.n))[span] = col
                if self.tmic is not None and chunk.tmic_pct is not None:
                    for r, t in enumerate(chunk.tmic_pct):
                        self.tmic[r, span] = t
        self._spans.append((chunk.start, chunk.n))

    def results(self, regimens: list[str], daily_doses_mg: list[float], mics_mg_l: list[float],
                targets_pct: list[float], mic_frequencies: dict[float, float] | None = None,
                model: str = "", tmic_method: str = "exact",
                threads: int = 2, plans: Any = None, auc_targets: list[float] | None = None,
                cmax_targets: list[float] | None = None) -> list[RegimenResult]:
        """One result per regimen, with its summary statistics computed (in `threads`)."""
        expected = 0
        for start, size in sorted(self._spans):
            if start != expected:
                raise ValueError(f"chunks do not tile the population (gap at {expected})")
            expected += size
        if expected != self.n:
            raise ValueError(f"chunks do not tile the population (gap at {expected})")
        n, attained = self.n, self.attained
        weight_q = None if self.weight_kg is None else _quantiles(self.weight_kg)
        results = []
        for r, label in enumerate(regimens):
            pta = {m: {t: float(attained[r, i, j]) / n for j, t in enumerate(targets_pct)}
                   for i, m in enumerate(mics_mg_l)}
            bp = {t: breakpoint_mic(mics_mg_l, [pta[m][t] for m in mics_mg_l])
                  for t in targets_pct}
            cfr = None
            if mic_frequencies:
                cfr = {t: cumulative_fraction_of_response({m: pta[m][t] for m in mics_mg_l},
                                                          mic_frequencies) for t in targets_pct}
            plan = None if plans is None else plans[r]
            res = RegimenResult(
                regimen=label, daily_dose_mg=daily_doses_mg[r], n=n,
                cmax_mg_l=self.cmax[r], cmin_mg_l=self.cmin[r], auc24_mg_h_l=self.auc24[r],
                pta=pta, breakpoint=bp, cfr=cfr, model=model, tmic_method=tmic_method,
                kind="fixed" if plan is None else plan.kind, mic_frequencies=mic_frequencies,
                weight_kg=self.weight_kg, weight_quantiles=weight_q,
                tmic_pct=None if self.tmic is None else self.tmic[r],
            )
            extra_targets = [("auc24_mic", self.auc24[r], auc_targets),
                             ("cmax_mic", self.cmax[r], cmax_targets)]
            res.extra = [Fractions(name, n, index_counts(values, mics_mg_l, ts),
                                   mic_frequencies) for name, values, ts in extra_targets if ts]
            if r in self.keys and plan is not None:
                key = self.keys[r]
                res.daily_dose_per_patient_mg = np.empty(n)
                for g in sorted(self.groups[r]):
                    res.daily_dose_per_patient_mg[key == g] = plan.daily_dose_mg(g)
                res.daily_dose_mg = float(np.median(res.daily_dose_per_patient_mg))
                res.groups = [self._group(r, g, plan, mics_mg_l, targets_pct, mic_frequencies,
                                          extra_targets) for g in sorted(self.groups[r])]
            results.append(res)
        # partition and reductions release the GIL: the statistics of different
        # regimens run in parallel threads
        if threads > 1 and len(results) > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(RegimenResult.exposure_stats, results))
        return results

    def _group(self, r: int, g: float, plan: Any, mics: list[float], targets: list[float],
               mic_frequencies: dict[float, float] | None,
               extra_targets: list[tuple[str, FloatArray, list[float] | None]]) -> GroupResult:
        k, counts = self.groups[r][g]
        mask = self.keys[r] == g
        cmax = self.cmax[r][mask]
        weight = self.weight_kg[mask] if self.weight_kg is not None else np.full(k, np.nan)
        tmic = Fractions("tmic_pct", k, {m: {t: int(counts[i][j]) for j, t in enumerate(targets)}
                                         for i, m in enumerate(mics)}, mic_frequencies)
        extra = [Fractions(name, k, index_counts(values[mask], mics, ts), mic_frequencies)
                 for name, values, ts in extra_targets if ts]
        return GroupResult(
            label=plan.group_label(g), daily_dose_mg=plan.daily_dose_mg(g), n=k, tmic=tmic,
            p_cmax_above_30=float(np.mean(cmax > CEILING_MG_L)),
            p_cmax_above_35=float(np.mean(cmax > CNS_RISK_CMAX_MG_L)),
            cmax_median=float(np.median(cmax)),
            auc24_median=float(np.median(self.auc24[r][mask])),
            weight_kg_range=(float(np.min(weight)), float(np.max(weight))), extra=extra)


def combine(chunks: list[ChunkSummary], regimens: list[str], daily_doses_mg: list[float],
            mics_mg_l: list[float], targets_pct: list[float],
            mic_frequencies: dict[float, float] | None = None, model: str = "",
            tmic_method: str = "exact") -> list[RegimenResult]:
    """Merge chunk summaries (any order) into one result per regimen."""
    expected = 0
    for c in sorted(chunks, key=lambda c: c.start):
        if c.start != expected:
            raise ValueError(f"chunks do not tile the population (gap at {expected})")
        expected += c.n
    acc = Combiner(expected, len(regimens), len(mics_mg_l), len(targets_pct))
    for c in chunks:
        acc.add(c)
    return acc.results(regimens, daily_doses_mg, mics_mg_l, targets_pct,
                       mic_frequencies=mic_frequencies, model=model, tmic_method=tmic_method)
