"""Exposure metrics over windows of any dose history, by exact integration and crossings.

For each individual and each window [start, end): Cmax and Tmax, Cmin and Tmin,
AUC (exact, from mass balance: the drug eliminated in the window is CL x AUC),
time above a concentration and %T>MIC. Extremes and crossings are bracketed on a
grid that includes every dose-entry and covariate-change time, then bisected on
the exact closed form (see `refine.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cyclodose.pk import refine
from cyclodose.pk.params import Params
from cyclodose.pk.solution import Segment, amounts, volume_at

GRID_POINTS = 97
PER_INTERVAL = 24  # grid points between consecutive dose entries


def _tile(segs: Sequence[Segment], reps: int) -> list[Segment]:
    idx = np.repeat(np.arange(segs[0].params.size), reps)
    return [Segment(s.start_h, s.params.take(idx)) for s in segs]


def _param_at(segs: Sequence[Segment], t: np.ndarray, name: str) -> np.ndarray:
    out = np.zeros(t.shape)
    for k, sg in enumerate(segs):
        hi = segs[k + 1].start_h if k + 1 < len(segs) else np.inf
        mask = (t >= sg.start_h) & (t < hi) if k else t < hi
        value = getattr(sg.params, name)
        out = np.where(mask, np.broadcast_to(value[:, None], t.shape), out)
    return out


def window_metrics(segs: Sequence[Segment], dose_times_h: np.ndarray, dose_amounts_mg: np.ndarray,
                   windows_h: np.ndarray, threshold_mg_l: Any = None, mic_mg_l: Any = None,
                   grid_points: int = GRID_POINTS) -> dict[str, np.ndarray]:
    """Metrics of shape (n, n_windows) for n individuals (see `exposure_metrics`)."""
    n = segs[0].params.size
    win = np.atleast_2d(np.asarray(windows_h, dtype=float))
    n_win = win.shape[0]
    rows = _tile(segs, n_win)
    base: Params = rows[0].params
    m = base.n_stages
    td = np.asarray(dose_times_h, dtype=float)
    ad = np.asarray(dose_amounts_mg, dtype=float)
    t_lo = np.tile(win[:, 0], n)
    t_hi = np.tile(win[:, 1], n)
    entries = td[None, :] + base.tlag_h[:, None]
    starts = np.array([s.start_h for s in segs[1:]])
    breaks = np.concatenate([entries, np.broadcast_to(starts, (t_lo.size, starts.size))], axis=1)

    def sub(idx: np.ndarray | None) -> tuple[list[Segment], np.ndarray]:
        if idx is None:
            return list(rows), np.arange(t_lo.size)
        return [Segment(s.start_h, s.params.take(idx)) for s in rows], idx

    def conc(t: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        sg, _ = sub(idx)
        return amounts(sg, td, ad, t, [m + 1])[:, 0, :] / volume_at(sg, t, t.shape[0])

    def deriv(t: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        sg, _ = sub(idx)
        st = amounts(sg, td, ad, t, [m, m + 1])
        ka = _param_at(sg, t, "ka_per_h")
        k = _param_at(sg, t, "cl_l_h") / _param_at(sg, t, "v_l")
        return (ka * st[:, 0] - k * st[:, 1]) / volume_at(sg, t, t.shape[0])

    g = refine.grid(t_lo, t_hi, grid_points, breaks, per_interval=PER_INTERVAL)
    vals = conc(g, None)
    g, vals, ext = refine.extrema(conc, deriv, g, vals)
    cmax, tmax, cmin, tmin = ext["cmax"], ext["tmax"], ext["cmin"], ext["tmin"]
    out = {"cmax": cmax, "tmax": tmax, "cmin": cmin, "tmin": tmin,
           "auc": _auc(rows, td, ad, t_lo, t_hi)}
    length = t_hi - t_lo
    if threshold_mg_l is not None:
        out["time_above_h"] = refine.time_above(conc, g, vals, _per_row(threshold_mg_l, n, n_win))
    if mic_mg_l is not None:
        above = refine.time_above(conc, g, vals, _per_row(mic_mg_l, n, n_win))
        out["tmic_pct"] = 100.0 * above / length
    return {k: v.reshape(n, n_win) for k, v in out.items()}


def _per_row(value: Any, n: int, n_win: int) -> np.ndarray:
    v = np.broadcast_to(np.asarray(value, dtype=float).reshape(-1), (n,)) if np.ndim(value) else \
        np.full(n, float(value))
    return np.repeat(v, n_win)


def _auc(rows: Sequence[Segment], td: np.ndarray, ad: np.ndarray, t_lo: np.ndarray,
         t_hi: np.ndarray) -> np.ndarray:
    """Exact AUC by mass balance in each covariate segment: CL x AUC = drug eliminated
    = amount in the body at the start + doses entering - amount at the end."""
    base = rows[0].params
    ns = base.n_stages + 2
    entries = td[None, :] + base.tlag_h[:, None]
    fa = ad[None, :] * base.f[:, None]
    total = np.zeros(t_lo.shape)
    for k, sg in enumerate(rows):
        lo = np.maximum(t_lo, sg.start_h) if k else t_lo
        hi_seg = rows[k + 1].start_h if k + 1 < len(rows) else np.inf
        hi = np.minimum(t_hi, hi_seg)
        live = hi > lo
        if not np.any(live):
            continue
        lo_e = np.where(live, lo, t_lo)
        hi_e = np.where(live, hi, t_lo)
        # amounts just before hi (the segment is half-open: evaluate with the left parameters)
        amt_lo = amounts(rows, td, ad, lo_e[:, None], list(range(ns)))[:, :, 0].sum(axis=1)
        amt_hi = _amounts_left(rows, td, ad, hi_e, k, ns)
        inputs = np.sum(np.where((entries > lo_e[:, None]) & (entries <= hi_e[:, None]), fa, 0.0),
                        axis=1)
        total += np.where(live, (amt_lo - amt_hi + inputs) / sg.params.cl_l_h, 0.0)
    return total


def _amounts_left(rows: Sequence[Segment], td: np.ndarray, ad: np.ndarray, t: np.ndarray,
                  k: int, ns: int) -> np.ndarray:
    # Total amount at t computed with segment k's parameters even when t is the next
    # segment's start (amounts are continuous, so this equals the limit from the left).
    trimmed = list(rows[: k + 1])
    return amounts(trimmed, td, ad, t[:, None], list(range(ns)))[:, :, 0].sum(axis=1)
