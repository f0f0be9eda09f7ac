"""What the studies share: the dosing of the virtual patients, their sampling times and the
summary statistics."""

from __future__ import annotations

import math

import numpy as np

from cyclodose.tdm.preprocess import Observations

STUDY_SEED = 20260301
INTERVAL_H = 12.0
DOSE_MG = 250.0
N_DOSES = 20  # 250 mg q12h for 10 days
SAMPLE_AFTER_H = (2.0, 6.0)  # after dose 19 (day 10 morning): steady state (≥ 5 half-lives)


def dose_history() -> tuple[np.ndarray, np.ndarray]:
    times = np.arange(N_DOSES) * INTERVAL_H
    return times, np.full(N_DOSES, DOSE_MG)


def sample_times() -> np.ndarray:
    last_morning = (N_DOSES - 2) * INTERVAL_H
    return last_morning + np.asarray(SAMPLE_AFTER_H)


def observations(y: np.ndarray, t: np.ndarray) -> Observations:
    """Quantified levels (none below the limit of quantification)."""
    return Observations(time_h=t, conc_mg_l=y, blq=np.zeros(y.size, bool),
                        lloq_mg_l=np.full(y.size, np.nan))


def mpe_pct(est: np.ndarray, true: np.ndarray) -> float:
    """Mean prediction error (bias), % of the truth."""
    return float(100.0 * np.mean((est - true) / true))


def rmse_pct(est: np.ndarray, true: np.ndarray) -> float:
    """Root mean squared prediction error (imprecision), % of the truth."""
    return float(100.0 * np.sqrt(np.mean(((est - true) / true) ** 2)))


def coverage(lo: np.ndarray, hi: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean((true >= lo) & (true <= hi)))


def coverage_ci(p: float, n: int) -> tuple[float, float]:
    """Wilson 95 % interval of an observed coverage proportion."""
    z = 1.959964
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half
