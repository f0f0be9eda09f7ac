"""Probability of target attainment, PK/PD breakpoints, CFR and toxicity.

Per-individual exposures arrive chunk by chunk (`ChunkSummary`); `combine`
reassembles them in individual order, so every statistic is computed on the
same arrays whatever the chunking and therefore bitwise reproducible.

Sources: efficacy targets %T>MIC >= 30 % (bactericidal) and >= 64 % (80 % of
maximal kill), Deshpande 2018 as used by Alghamdi 2019; breakpoint = highest
MIC with PTA >= 90 % (Alghamdi 2019); toxicity ceiling 30 mg/L (monograph, US
label) and CNS risk above 35 mg/L (UK TB drug monographs).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cyclodose.limits import CEILING_MG_L, MAX_DAILY_DOSE_MG

FloatArray = NDArray[np.float64]
PTA_BREAKPOINT_FRACTION = 0.90  # Alghamdi 2019: >= 90 % of simulated patients
CNS_RISK_CMAX_MG_L = 35.0  # UK TB drug monographs: CNS risk rises above 35 mg/L
DEFAULT_TARGETS_PCT = (30.0, 64.0)  # Deshpande 2018 via Alghamdi 2019


@dataclass(frozen=True)
class ChunkSummary:
    """Exposures of individuals [start, start + n) for every regimen."""

    start: int
    n: int
    cmax_mg_l: list[FloatArray]  # per regimen, (n,)
    cmin_mg_l: list[FloatArray]
    auc24_mg_h_l: list[FloatArray]
    attained: NDArray[np.int64]  # (n_regimens, n_mics, n_targets) counts of %T>MIC >= target


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

    @property
    def above_licensed_maximum(self) -> bool:
        return self.daily_dose_mg > MAX_DAILY_DOSE_MG

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
        return {
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

    def __init__(self, n: int, n_regimens: int, n_mics: int, n_targets: int):
        self.n = n
        self.cmax = np.empty((n_regimens, n))
        self.cmin = np.empty((n_regimens, n))
        self.auc24 = np.empty((n_regimens, n))
        self.attained = np.zeros((n_regimens, n_mics, n_targets), dtype=np.int64)
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
        self._spans.append((chunk.start, chunk.n))

    def results(self, regimens: list[str], daily_doses_mg: list[float], mics_mg_l: list[float],
                targets_pct: list[float], mic_frequencies: dict[float, float] | None = None,
                model: str = "", tmic_method: str = "exact",
                threads: int = 2) -> list[RegimenResult]:
        """One result per regimen, with its summary statistics computed (in `threads`)."""
        expected = 0
        for start, size in sorted(self._spans):
            if start != expected:
                raise ValueError(f"chunks do not tile the population (gap at {expected})")
            expected += size
        if expected != self.n:
            raise ValueError(f"chunks do not tile the population (gap at {expected})")
        n, attained = self.n, self.attained
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
            results.append(RegimenResult(
                regimen=label, daily_dose_mg=daily_doses_mg[r], n=n,
                cmax_mg_l=self.cmax[r], cmin_mg_l=self.cmin[r], auc24_mg_h_l=self.auc24[r],
                pta=pta, breakpoint=bp, cfr=cfr, model=model, tmic_method=tmic_method,
            ))
        # partition and reductions release the GIL: the statistics of different
        # regimens run in parallel threads
        if threads > 1 and len(results) > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(RegimenResult.exposure_stats, results))
        return results


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
