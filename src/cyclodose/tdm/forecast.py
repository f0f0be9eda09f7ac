"""Stage 6: individual predictions with their 90 % credible band.

Forecasts use the individual's between-subject η only: between-occasion
variability is set to 0 (its next-occasion value is unknown; mapbayr and
posologyr practice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cyclodose.tdm.preprocess import FloatArray
from cyclodose.tdm.quantiles import percentiles

CREDIBLE_LEVEL = 0.90

ConcFn = Callable[[FloatArray, FloatArray], FloatArray]  # (etas (n,k), times (m,)) -> (n, m)


@dataclass(frozen=True)
class Band:
    """Concentrations (mg/L) at `time_h`: the MAP curve and the posterior median and 90 % band."""

    time_h: FloatArray
    map_mg_l: FloatArray
    median_mg_l: FloatArray
    lower_mg_l: FloatArray
    upper_mg_l: FloatArray


def band(conc: ConcFn, eta_map: FloatArray, draws: FloatArray, time_h: FloatArray,
         sims: ConcFn | None = None) -> Band:
    """The MAP curve from `conc` and the band over the draws; `sims(draws, times)`, when
    given, simulates the draws instead (a mixture of models, each with its own draws)."""
    time_h = np.asarray(time_h, dtype=float)
    if time_h.size == 0:
        empty = np.zeros(0)
        return Band(empty, empty, empty, empty, empty)
    at_map = conc(np.atleast_2d(eta_map), time_h)[0]
    sims_mg_l = (sims or conc)(draws, time_h)
    lo, hi = 50.0 * (1.0 - CREDIBLE_LEVEL), 50.0 * (1.0 + CREDIBLE_LEVEL)
    q = percentiles(sims_mg_l, [50.0, lo, hi])
    return Band(time_h=time_h, map_mg_l=at_map, median_mg_l=q[0], lower_mg_l=q[1], upper_mg_l=q[2])


def plot_window_h(dose_times_h: FloatArray, level_times_h: FloatArray, days_before: float = 2.0,
                  days_after: float = 1.0, step_h: float = 0.1) -> FloatArray:
    """A time grid framing the levels: two days before the first to a day after the last."""
    if level_times_h.size:
        start = max(0.0, float(level_times_h.min()) - 24.0 * days_before)
        end = float(level_times_h.max()) + 24.0 * days_after
    else:
        last = float(dose_times_h.max()) if dose_times_h.size else 0.0
        start, end = max(0.0, last - 24.0 * days_before), last + 24.0 * days_after
    return np.arange(start, end + step_h / 2, step_h)
