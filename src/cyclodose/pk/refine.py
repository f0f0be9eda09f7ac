"""Exact extrema and threshold crossings of smooth-by-pieces profiles, vectorised over rows.

A dense grid (with every dose-entry and covariate-change time added) brackets
each extremum and each crossing; a bracketing root finder (Illinois regula falsi)
on the exact concentration (for crossings) or its exact derivative (for extrema)
then pins it to ~1e-13 h. The grid only has to separate features, not resolve them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# (times (m, p), rows (m,) or None for all rows in order) -> values (m, p)
Fn = Callable[[np.ndarray, np.ndarray | None], np.ndarray]

AFTER_ENTRY_H = np.array([0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0,
                          12.0, 16.0, 24.0, 36.0, 48.0])


def illinois(fn: Callable[[np.ndarray, np.ndarray], np.ndarray], a: np.ndarray, b: np.ndarray,
             fa: np.ndarray, fb: np.ndarray, active: np.ndarray | None = None,
             max_iter: int = 100) -> np.ndarray:
    """Roots bracketed by [a, b] (fa, fb of opposite sign), one per entry.

    `fn(t, idx)` evaluates entries idx at times t. Illinois modification of regula
    falsi: superlinear, never leaves the bracket, bisects when the secant step
    degenerates; converged entries leave the working set."""
    a, b, fa, fb = (np.array(z, dtype=float) for z in (a, b, fa, fb))
    c = 0.5 * (a + b)
    side = np.zeros(a.shape)
    work = np.arange(a.size) if active is None else np.flatnonzero(active)
    # |f| this small is rounding noise at the root: stop there rather than creep up on it
    ftol = 1e-13 * np.maximum(np.abs(fa), np.abs(fb))
    for _ in range(max_iter):
        if work.size == 0:
            break
        aw, bw, faw, fbw = a[work], b[work], fa[work], fb[work]
        with np.errstate(divide="ignore", invalid="ignore"):
            cw = (aw * fbw - bw * faw) / (fbw - faw)
        bad = ~np.isfinite(cw) | (cw <= np.minimum(aw, bw)) | (cw >= np.maximum(aw, bw))
        cw = np.where(bad, 0.5 * (aw + bw), cw)
        fc = fn(cw, work)
        done = (np.abs(cw - c[work]) <= 1e-13 * (1.0 + np.abs(cw))) | (
            np.abs(fc) <= ftol[work]) | (np.abs(bw - aw) <= 1e-13 * (1.0 + np.abs(aw)))
        c[work] = cw
        same_b = np.sign(fc) == np.sign(fbw)
        sw = side[work]
        # replace the endpoint on fc's side; halve the other end's value if it is stale
        faw = np.where(same_b & (sw == -1), 0.5 * faw, faw)
        fbw = np.where(~same_b & (sw == 1), 0.5 * fbw, fbw)
        b[work] = np.where(same_b, cw, bw)
        fb[work] = np.where(same_b, fc, fbw)
        a[work] = np.where(same_b, aw, cw)
        fa[work] = np.where(same_b, faw, fc)
        side[work] = np.where(same_b, -1.0, 1.0)
        work = work[~done]
    return c


def grid(t_lo: np.ndarray, t_hi: np.ndarray, points: int,
         breaks: np.ndarray | None = None, per_interval: int = 0) -> np.ndarray:
    """Per-row sorted grid on [t_lo, t_hi]: `points` evenly spaced, plus `breaks` (n, nb)
    inside, plus `per_interval` points evenly spaced between consecutive breaks (so every
    dosing interval is sampled however long the window)."""
    u = np.linspace(0.0, 1.0, points)
    g = t_lo[:, None] + (t_hi - t_lo)[:, None] * u[None, :]
    if breaks is not None and breaks.size:
        b = np.clip(breaks, t_lo[:, None], t_hi[:, None])
        b = np.where(np.isfinite(b), b, t_lo[:, None])
        parts = [g, b]
        if per_interval:
            knots = np.sort(np.concatenate([t_lo[:, None], b, t_hi[:, None]], axis=1), axis=1)
            lo, width = knots[:, :-1], np.diff(knots, axis=1)
            frac = (np.arange(1, per_interval) / per_interval)[None, None, :]
            parts.append((lo[:, :, None] + width[:, :, None] * frac).reshape(len(t_lo), -1))
            # absorption peaks sit hours after an entry even when the next one is days away
            after = b[:, :, None] + AFTER_ENTRY_H[None, None, :]
            parts.append(np.minimum(after, t_hi[:, None, None]).reshape(len(t_lo), -1))
        g = np.sort(np.concatenate(parts, axis=1), axis=1)
    return g


def extrema(conc: Fn, deriv: Fn, g: np.ndarray, values: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Every local extremum the grid brackets (a sign change of the exact derivative
    between neighbouring grid points, or a kink at a dose entry), refined to ~1e-13 h.

    Returns the grid with those extremes added, its values, and the global
    cmax/tmax/cmin/tmin per row (over the grid's end points and the local extremes)."""
    n = g.shape[0]
    dv = deriv(g, None)
    width = np.diff(g, axis=1)
    change = (np.sign(dv[:, :-1]) != np.sign(dv[:, 1:])) & (width > 0) & (
        dv[:, :-1] != 0) & (dv[:, 1:] != 0)
    if np.any(change):
        k = int(np.max(np.sum(change, axis=1)))
        order = np.argsort(~change, axis=1, kind="stable")[:, :k]
        valid = np.take_along_axis(change, order, axis=1)
        a = np.take_along_axis(g[:, :-1], order, axis=1)
        b = np.take_along_axis(g[:, 1:], order, axis=1)
        fa = np.take_along_axis(dv[:, :-1], order, axis=1)
        fb = np.take_along_axis(dv[:, 1:], order, axis=1)

        def fun(t: np.ndarray, idx: np.ndarray) -> np.ndarray:
            return deriv(t[:, None], idx // k)[:, 0]

        roots = illinois(fun, a.reshape(-1), np.where(valid, b, a + 1.0).reshape(-1),
                         np.where(valid, fa, 1.0).reshape(-1),
                         np.where(valid, fb, -1.0).reshape(-1),
                         active=valid.reshape(-1)).reshape(a.shape)
        roots = np.where(valid, roots, g[:, :1])
        rv = conc(roots, None)
        g = np.concatenate([g, roots], axis=1)
        values = np.concatenate([values, rv], axis=1)
        order = np.argsort(g, axis=1, kind="stable")
        g = np.take_along_axis(g, order, axis=1)
        values = np.take_along_axis(values, order, axis=1)
    rows = np.arange(n)
    jmax, jmin = np.argmax(values, axis=1), np.argmin(values, axis=1)
    out = {"cmax": values[rows, jmax], "tmax": g[rows, jmax],
           "cmin": values[rows, jmin], "tmin": g[rows, jmin]}
    return g, values, out


def time_above(conc: Fn, g: np.ndarray, values: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Exact time with concentration above `level` (per row) over the grid's span."""
    lv = np.broadcast_to(np.asarray(level, dtype=float).reshape(-1, 1), (g.shape[0], 1))
    above = values > lv
    dt = np.diff(g, axis=1)
    both = above[:, :-1] & above[:, 1:]
    total = np.sum(np.where(both, dt, 0.0), axis=1)
    cross = above[:, :-1] != above[:, 1:]
    if not np.any(cross):
        return total
    k = int(np.max(np.sum(cross, axis=1)))
    # gather up to k crossing brackets per row (pad with empty brackets)
    order = np.argsort(~cross, axis=1, kind="stable")[:, :k]
    valid = np.take_along_axis(cross, order, axis=1)
    a = np.take_along_axis(g[:, :-1], order, axis=1)
    b = np.take_along_axis(g[:, 1:], order, axis=1)
    left_above = np.take_along_axis(above[:, :-1], order, axis=1)
    a0, b0 = a.copy(), b.copy()
    lvk = np.broadcast_to(lv, a.shape)
    shape = a.shape
    lv_flat = lvk.reshape(-1)

    def fun(t: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return conc(t[:, None], idx // k)[:, 0] - lv_flat[idx]

    fa = np.where(valid, np.take_along_axis(values[:, :-1], order, axis=1) - lvk, 1.0)
    fb = np.where(valid, np.take_along_axis(values[:, 1:], order, axis=1) - lvk, -1.0)
    root = illinois(fun, a.reshape(-1), np.where(valid, b, a + 1.0).reshape(-1),
                    fa.reshape(-1), fb.reshape(-1), active=valid.reshape(-1)).reshape(shape)
    part = np.where(left_above, root - a0, b0 - root)
    return total + np.sum(np.where(valid, part, 0.0), axis=1)
