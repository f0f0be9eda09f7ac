"""Analytic steady state of a repeating dose pattern, and its exposure metrics.

The state just before the period starts solves (I - Phi(P)) x = sum_i F a_i Phi(P - s_i) e0,
where s_i = (offset_i + lag) mod P are the dose-entry times (so a lag longer
than the interval needs no special case). Phi is lower triangular, so the
solve is a forward substitution, vectorised over individuals.

For first-order absorption the profile between two dose entries is
alpha e^(-k t) - beta e^(-ka t): its single stationary point has a closed
form and threshold crossings are found on monotone pieces (closed form late in
the elimination phase, safeguarded Halley iterations elsewhere), all as flat
numpy arrays (no loop over individuals); any number of MICs share one steady
state, and `metrics_each` stacks the patterns of the same number of doses (rows: pattern
x individual) into one such computation. Transit models use the general
grid-and-bisection refinement of `refine.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cyclodose.pk import refine
from cyclodose.pk.params import Params
from cyclodose.pk.regimen import DosePattern
from cyclodose.pk.solution import Rates, Segment, amounts, dose_response, transition

GRID_POINTS = 33  # per period (general path), plus points after each entry: the grid
# only separates extremes and crossings; the root finder does the rest


def _entries(par: Params, pattern: DosePattern) -> tuple[np.ndarray, np.ndarray]:
    """Dose-entry times within [0, P) (n, nd) and the amounts entering (n, nd)."""
    o = np.asarray(pattern.offsets_h)[None, :]
    s = np.mod(o + par.tlag_h[:, None], pattern.period_h)
    a = np.asarray(pattern.amounts_mg)[None, :] * par.f[:, None]
    return s, np.broadcast_to(a, s.shape)


def steady_state_x0(par: Params, pattern: DosePattern) -> np.ndarray:
    """Compartment amounts (n, n_states) at steady state just before pattern time 0."""
    period = pattern.period_h
    r = Rates.of(par)
    ns = r.n_states
    s, a = _entries(par, pattern)
    rhs = dose_response(r, list(range(ns)), s, a, np.full((par.size, 1), period))[:, :, 0]
    phi = transition(r, np.full((par.size, 1), period))
    x = np.zeros_like(rhs)
    for j in range(ns):
        acc = rhs[:, j].copy()
        for i in range(j):
            acc += phi[(j, i)][:, 0] * x[:, i]
        x[:, j] = acc / -np.expm1(np.log(np.maximum(phi[(j, j)][:, 0], 1e-300)))
    return x


def steady_state_profile(par: Params, pattern: DosePattern, times_h: np.ndarray,
                         comps: list[int] | None = None) -> np.ndarray:
    """Steady-state concentrations (n, nt) at times_h (taken modulo the period)."""
    m = par.n_stages
    t = np.mod(np.asarray(times_h, dtype=float), pattern.period_h)
    x0 = steady_state_x0(par, pattern)
    s, a = _entries(par, pattern)
    seg = [Segment(-np.inf, par)]
    want = comps if comps is not None else [m + 1]
    out = amounts(seg, s - par.tlag_h[:, None], a / par.f[:, None], t, want, x0=x0, t0=0.0)
    if comps is None:
        return out[:, 0, :] / par.v_l[:, None]
    return out


def _metrics_general(par: Params, pattern: DosePattern, mic: Any,
                     levels: np.ndarray | None = None) -> dict[str, np.ndarray]:
    period = pattern.period_h
    m = par.n_stages
    x0 = steady_state_x0(par, pattern)
    s, a = _entries(par, pattern)
    seg = [Segment(-np.inf, par)]
    td = s - par.tlag_h[:, None]
    amt = a / par.f[:, None]

    def sub(rows: np.ndarray | None) -> tuple[list[Segment], np.ndarray, np.ndarray, np.ndarray,
                                              Params]:
        if rows is None:
            return seg, td, amt, x0, par
        p = par.take(rows)
        return [Segment(-np.inf, p)], td[rows], amt[rows], x0[rows], p

    def conc(t: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        sg, d, a_, x, p = sub(rows)
        return amounts(sg, d, a_, t, [m + 1], x0=x, t0=0.0)[:, 0, :] / p.v_l[:, None]

    def deriv(t: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        sg, d, a_, x, p = sub(rows)
        st = amounts(sg, d, a_, t, [m, m + 1], x0=x, t0=0.0)
        return (p.ka_per_h[:, None] * st[:, 0] - p.k_per_h[:, None] * st[:, 1]) / p.v_l[:, None]

    n = par.size
    # the profile over one period [0, P] (the end equals the start at steady state)
    g = refine.grid(np.zeros(n), np.full(n, period), GRID_POINTS, s, per_interval=8)
    vals = conc(g, None)
    g, vals, ext = refine.extrema(conc, deriv, g, vals)
    out = {"cmax": ext["cmax"], "tmax": np.mod(ext["tmax"], period), "cmin": ext["cmin"],
           "tmin": np.mod(ext["tmin"], period)}
    if levels is not None:
        out["tmic_pct"] = np.stack(
            [100.0 * refine.time_above(conc, g, vals, levels[:, j]) / period
             for j in range(levels.shape[1])], axis=1).reshape(n, levels.shape[1])
    elif mic is None:
        out["tmic_pct"] = np.full(n, np.nan)
    else:
        out["tmic_pct"] = 100.0 * refine.time_above(conc, g, vals, np.asarray(mic)) / period
    out["ctrough"] = conc(np.full((n, 1), pattern.offsets_h[0]), None)[:, 0]
    return out


# ---- first-order absorption: closed-form segments ---------------------------------------


def _log1p_ratio(z: np.ndarray) -> np.ndarray:
    """log1p(z)/z, exact near 0; nan for z <= -1."""
    small = np.abs(z) < 1e-8
    zs = np.where(small, 1.0, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        val = np.log1p(np.where(zs > -1.0, zs, np.nan)) / zs
    return np.where(small, 1.0 - 0.5 * z, val)


class _FirstOrderSegments:
    """Steady-state profiles of a first-order model as closed-form pieces between entries.

    One row per profile: `offsets`, `amounts` (rows, nd) and `period` (rows,) may differ
    between rows (patterns of nd doses stacked, one row per pattern and individual); every
    operation is elementwise, so a row's numbers do not depend on the other rows."""

    def __init__(self, par: Params, offsets: np.ndarray, amounts: np.ndarray,
                 period: np.ndarray):
        self.k = par.k_per_h
        self.ka = par.ka_per_h
        self.v = par.v_l
        self.period = period
        self.d = offsets - offsets[:, :1]  # entry times relative to the first entry
        fa = amounts * par.f[:, None]  # (rows, nd)
        self.t_first = offsets[:, 0] + par.tlag_h  # pattern time of the first entry
        k, ka, p = self.k, self.ka, period
        nd = fa.shape[1]
        # (G, e^-kt, e^-ka t) from each entry to the period's end; the first is at P itself
        # (d = 0) and the last spans the last gap (a one-dose pattern needs only P)
        tails = [_central_from_depot(p - self.d[:, i], k, ka) for i in range(nd)]
        self.gap = np.empty_like(self.d)
        self.gap[:, :-1] = np.diff(self.d, axis=1)
        self.gap[:, -1] = p - self.d[:, -1]
        # steady state just before the first entry: the period's entries, each propagated to
        # the period's end, accumulate geometrically (1 / (1 - e^-rate P))
        rd = np.zeros_like(k)
        rc = np.zeros_like(k)
        for i, (g, _, eka) in enumerate(tails):
            rd += fa[:, i] * eka
            rc += fa[:, i] * g
        g_p, _, eka_p = tails[0]
        xd = rd / (1.0 - eka_p)
        xc = (rc + g_p * xd) / -np.expm1(-k * p)
        self.xd = np.empty_like(fa)
        self.xc = np.empty_like(fa)
        self.xc_end = np.empty_like(fa)  # central amount at the end of each segment
        for i in range(nd):
            xd = xd + fa[:, i]
            self.xd[:, i], self.xc[:, i] = xd, xc
            g, ek, eka = (tails[-1] if i == nd - 1
                          else _central_from_depot(self.gap[:, i], k, ka))
            xc = g * xd + ek * xc
            xd = xd * eka
            self.xc_end[:, i] = xc

    def conc(self, i: int, tau: np.ndarray) -> np.ndarray:
        g, ek, _ = _central_from_depot(tau, self.k, self.ka)
        return (self.xd[:, i] * g + self.xc[:, i] * ek) / self.v

    def stationary(self, i: int) -> np.ndarray:
        """tau* of the stationary point in segment i (nan when outside)."""
        k, ka = self.k, self.ka
        xd, xc = self.xd[:, i], self.xc[:, i]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = (ka * xd - k * xc) / (k * (ka * xd + (ka - k) * xc))
            tau = w * _log1p_ratio((ka - k) * w)
        inside = np.isfinite(tau) & (tau > 0) & (tau < self.gap[:, i])
        return np.where(inside, tau, np.nan)


def _central_from_depot(t: np.ndarray, k: np.ndarray, ka: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(G, e^-kt, e^-ka t): G = central amount at t from a unit in the depot at 0.

    G = ka (e^-kt - e^-ka t)/(ka - k), written as ka e^-kt (1 - e^-(ka-k)t)/(ka-k):
    expm1 keeps this accurate however close ka is to k; only ka == k needs its limit."""
    d = ka - k
    ek = np.exp(-k * t)
    u = np.expm1(-d * t)  # -(1 - e^-(ka-k)t)
    eka = ek * (1.0 + u)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = u / d
    g *= -ka * ek
    if np.any(d == 0.0):
        g = np.where(d == 0.0, ka * t * ek, g)
    return g, ek, eka


def _newton_root(k: np.ndarray, ka: np.ndarray, xd: np.ndarray, xc: np.ndarray, v: np.ndarray,
                 level: np.ndarray, lo: np.ndarray, hi: np.ndarray, c_lo: np.ndarray,
                 c_hi: np.ndarray, rising: bool | np.ndarray) -> np.ndarray:
    """Root of C(t) = level with C monotone on [lo, hi] (C(lo) = c_lo, C(hi) = c_hi).

    Late on a falling piece absorption is over to machine precision (e^-(ka-k)t < 4e-18)
    and the profile is (coef + xc) e^-kt: the root has a closed form, kept only where
    that bound holds at it. Elsewhere: Halley's method (cubic convergence: two or three
    steps) from an interpolation that follows the piece's shape; a step leaving the
    bracket is replaced by bisection. `rising` is one flag or one per entry. Every
    choice and iteration depends on the entry alone, so a root does not depend on which
    other entries share the call."""
    shape = np.shape(lo)
    size = int(np.prod(shape))
    k, ka, xd, xc, v, level, lo, hi, c_lo, c_hi = (
        np.broadcast_to(np.asarray(z, dtype=float), shape).reshape(size)
        for z in (k, ka, xd, xc, v, level, lo, hi, c_lo, c_hi))
    up = np.broadcast_to(np.asarray(rising, dtype=bool), shape).reshape(size)
    root = np.empty(size)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = ka - k
        coef = ka * xd / d  # xd G(t) = coef (e^-kt - e^-ka t), see `_central_from_depot`
        lv = level * v  # the level as a central amount (mg)
        if np.all(up):  # a piece of absorption phases: no late-fall closed form
            t_mono = lo
            mono = np.zeros(size, dtype=bool)
        else:
            t_mono = np.log((coef + xc) / lv) / k
            mono = ~up & (d * t_mono >= _ABSORBED) & (t_mono >= lo) & (t_mono <= hi)
    if np.any(mono):
        root[mono] = t_mono[mono]
        rest = np.flatnonzero(~mono)
        if rest.size == 0:
            return root.reshape(shape)
        k, ka, xd, xc, lv, level, lo, hi, c_lo, c_hi, up, d, coef, t_mono = (
            z[rest] for z in (k, ka, xd, xc, lv, level, lo, hi, c_lo, c_hi, up, d, coef,
                              t_mono))
    else:
        rest = np.arange(size)
    a, b = lo, hi
    width = b - a
    frac = np.full(rest.size, 0.5)
    # rising with fast absorption: e^-ka t = ((coef + xc) e^-kt - level V) / coef is a
    # contraction (factor ~ k/ka); four passes from the midpoint leave Halley about one
    # step to do
    fix = up & (ka > 4.0 * k) & (coef > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # other rising pieces: C - c_lo grows roughly like 1 - e^-(ka t)
        slow = up & ~fix
        kw = ka[slow] * width[slow]
        q = (level[slow] - c_lo[slow]) / (c_hi[slow] - c_lo[slow])
        frac[slow] = -np.log1p(q * np.expm1(-kw)) / kw
        # falling: the mono-exponential root when inside the bracket (off by about
        # e^-(ka-k)t), else ln C taken as linear in t
        down = ~up
        inside = down & (t_mono > a) & (t_mono < b)
        frac[inside] = (t_mono[inside] - a[inside]) / width[inside]
        loglin = down & ~inside  # (the logs only where they are used)
        frac[loglin] = (np.log(level[loglin] / c_lo[loglin])
                        / np.log(c_hi[loglin] / c_lo[loglin]))
        w = np.empty((_W_ROWS, rest.size))
        w[0] = np.where(np.isfinite(frac) & (frac > 0) & (frac < 1), a + frac * width,
                        0.5 * (a + b))
        if np.any(fix):
            t0, cf, lvf = w[0][fix], coef[fix], lv[fix]
            kf, kaf, af, bf = k[fix], ka[fix], a[fix], b[fix]
            amp, mkf = cf + xc[fix], -kf  # loop invariants (the same numbers every pass)
            for _ in range(4):
                t1 = -np.log((amp * np.exp(mkf * t0) - lvf) / cf) / kaf
                t0 = np.where(np.isfinite(t1) & (t1 > af) & (t1 < bf), t1, t0)
            w[0][fix] = t0
        w[1], w[2] = a, b
        np.negative(k, out=w[3])
        np.negative(ka, out=w[4])
        w[5], w[6] = coef, xc
        w[7] = ka * xd
        w[8] = lv
        w[9] = np.where(up, 1.0, -1.0)  # f < 0 (rising) or f > 0 (falling): root to the right
    # coef (e^-kt - e^-ka t) cancels when (ka - k) t is small, but its rounding error
    # (~1e-16 coef e^-kt) moves the root by only ~1e-16 / |ka - k| h: entries with
    # |ka - k| < 1e-3 /h (rare) use expm1 instead
    careful = (np.abs(d) < _CLOSE_RATES) | ~np.isfinite(coef)
    out = np.empty(rest.size)
    if np.any(careful):
        fast = ~careful
        out[fast] = _halley(w[:, fast], exact_diff=False)
        out[careful] = _halley(w[:, careful], exact_diff=True)
    else:
        out = _halley(w, exact_diff=False)
    root[rest] = out
    return root.reshape(shape)


_W_ROWS = 10
_CLOSE_RATES = 1e-3  # /h
_ABSORBED = 40.0  # (ka - k) t beyond which e^-(ka-k)t < 4e-18: absorption is complete
_BLOCK = 16384  # entries per block: the temporaries stay in cache


def _halley(w: np.ndarray, exact_diff: bool) -> np.ndarray:
    """Safeguarded Halley iterations on the working set w (see `_newton_root`): one step
    at a time over the whole set, in cache-sized blocks, dropping converged entries after
    each step. Each entry's iterations depend on that entry alone."""
    root = np.empty(w.shape[1])
    idx = np.arange(w.shape[1])
    for _ in range(100):
        if idx.size == 0:
            return root
        parts_w, parts_idx = [], []
        for i in range(0, idx.size, _BLOCK):
            wb = w[:, i:i + _BLOCK]
            ib = idx[i:i + _BLOCK]
            t_new, conv = _halley_step(wb, exact_diff)
            wb[0] = t_new
            if not np.any(conv):
                parts_w.append(wb)
                parts_idx.append(ib)
                continue
            root[ib[conv]] = t_new[conv]
            keep = ~conv
            parts_w.append(wb[:, keep])
            parts_idx.append(ib[keep])
        w = parts_w[0] if len(parts_w) == 1 else np.concatenate(parts_w, axis=1)
        idx = parts_idx[0] if len(parts_idx) == 1 else np.concatenate(parts_idx)
    root[idx] = w[0]
    return root


def _halley_step(w: np.ndarray, exact_diff: bool) -> tuple[np.ndarray, np.ndarray]:
    """One safeguarded Halley step: updates the bracket rows of w in place and returns
    the next iterate and which entries have converged (their root is that iterate)."""
    t, lo_, hi_, mk, mka, coef, xc_, kaxd, lv, sgn = w
    ek = np.exp(mk * t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if exact_diff:
            d = mk - mka  # ka - k
            u = np.expm1(-d * t)
            eka = ek * (1.0 + u)
            xdg = np.where(d == 0.0, kaxd * t * ek, -coef * ek * u)
        else:
            eka = np.exp(mka * t)
            xdg = coef * (ek - eka)
        ac = xdg + xc_ * ek  # central amount (mg)
        f = ac - lv
        inflow = kaxd * eka  # ka xd e^-ka t
        f1 = inflow + mk * ac  # d(ac)/dt
        f2 = (mk * mk) * ac + (mk + mka) * inflow  # d2(ac)/dt2
        delta = -2.0 * f * f1 / (2.0 * f1 * f1 - f * f2)
        step = t + delta
        # Halley's error after this step is ~ |delta|^3 ((f2/f1)^2/4 - f3/(6 f1)), and
        # |f3/f1| is of order (ka + k)^2 or (f2/f1)^2: with both factors below 1e-4 the
        # root is left ~1e-8 |delta| <= 1e-12 (1 + t) h from exact
        ad = np.abs(delta)
        small = ((ad <= 1e-4 * (1.0 + t)) & (np.abs(delta * f2) <= 1e-4 * np.abs(f1))
                 & (ad * (mk + mka) >= -1e-4))
    right = f * sgn < 0
    np.copyto(lo_, t, where=right)
    np.copyto(hi_, t, where=~right)
    ok = (step > lo_) & (step < hi_)
    t_new = np.where(ok, step, 0.5 * (lo_ + hi_))
    hit = f == 0.0
    conv = (small & ok) | (hi_ - lo_ <= 1e-13 * (1.0 + hi_)) | hit
    if np.any(hit):
        t_new = np.where(hit, t, t_new)
    return t_new, conv


def _first_order_rows(par: Params, offsets: np.ndarray, amounts: np.ndarray,
                      period: np.ndarray, levels: np.ndarray | None,
                      times: bool) -> dict[str, np.ndarray]:
    """Metrics of the closed-form first-order profiles, one per row (see
    `_FirstOrderSegments`). `levels` (rows, n_levels) gives `tmic_pct` (rows, n_levels), all
    levels sharing the steady state, stationary points and piece ends (a nan level is never
    crossed). `times=False` leaves out tmax, tmin and ctrough (the other numbers are the
    same)."""
    fs = _FirstOrderSegments(par, offsets, amounts, period)
    n = par.size
    cmax = np.full(n, -np.inf)
    tmax = np.zeros(n)
    cmin = np.full(n, np.inf)
    tmin = np.zeros(n)
    # time above each level, held level-major (n_levels, n): the comparisons then run
    # along the long axis (a short inner axis of 6 levels costs several times more)
    above = None if levels is None else np.zeros((levels.shape[1], n))
    if above is not None and levels is not None:
        levels_t = levels.T
        above_flat = above.reshape(-1)  # a view: pairs are addressed level * n + row
    for i in range(fs.d.shape[1]):
        start = np.zeros(n)
        end = fs.gap[:, i]
        c0, c1 = fs.xc[:, i] / fs.v, fs.xc_end[:, i] / fs.v
        tau = fs.stationary(i)
        has = np.isfinite(tau)
        tau0 = np.where(has, tau, 0.0)
        cs = fs.conc(i, tau0)
        for cand, at in ((c0, start), (c1, end), (np.where(has, cs, np.nan), tau0)):
            bigger = cand > cmax
            cmax = np.where(bigger, cand, cmax)
            smaller = cand < cmin
            cmin = np.where(smaller, cand, cmin)
            if times:
                tmax = np.where(bigger, fs.d[:, i] + at, tmax)
                tmin = np.where(smaller, fs.d[:, i] + at, tmin)
        if levels is not None and above is not None:
            # monotone pieces [0, tau*] and [tau*, gap] (one piece without tau*)
            mid = np.where(has, tau0, end)
            c_mid = np.where(has, cs, c1)
            for lo, hi, c_lo, c_hi in ((start, mid, c0, c_mid), (mid, end, c_mid, c1)):
                width = hi - lo
                lo_above = c_lo > levels_t
                hi_above = c_hi > levels_t
                wide = width > 0
                whole = lo_above & hi_above
                whole &= wide
                above += np.where(whole, width, 0.0)  # above the level over the whole piece
                cross = lo_above != hi_above
                cross &= wide
                flat = np.flatnonzero(cross)  # (level, row) pairs crossing on this piece
                if flat.size:
                    cols = flat // n
                    rows = flat - cols * n
                    rising = c_hi[rows] > c_lo[rows]
                    root = _newton_root(fs.k[rows], fs.ka[rows], fs.xd[rows, i],
                                        fs.xc[rows, i], fs.v[rows], levels_t[cols, rows],
                                        lo[rows], hi[rows], c_lo[rows], c_hi[rows], rising)
                    above_flat[flat] += np.where(rising, hi[rows] - root, root - lo[rows])
    tmic = np.full(n, np.nan) if above is None else 100.0 * above.T / fs.period[:, None]
    out = {"cmax": cmax, "cmin": cmin, "tmic_pct": tmic}
    if not times:
        return out
    # report times on the pattern clock (period start = 0)
    out["tmax"] = np.mod(fs.t_first + tmax, fs.period)
    out["tmin"] = np.mod(fs.t_first + tmin, fs.period)
    # trough: just before the first dose of the period (pattern time offsets[0])
    tau_q = np.mod(offsets[:, 0] - fs.t_first, fs.period)
    ctr = np.zeros(n)
    for i in range(fs.d.shape[1]):
        rel = tau_q - fs.d[:, i]
        inside = (rel >= 0) & (rel < fs.gap[:, i])
        ctr = np.where(inside, fs.conc(i, np.where(inside, rel, 0.0)), ctr)
    out["ctrough"] = ctr
    return out


def _metrics_first_order(par: Params, pattern: DosePattern, mic: Any,
                         levels: np.ndarray | None = None,
                         times: bool = True) -> dict[str, np.ndarray]:
    """Metrics of one pattern's closed-form first-order profile. `mic` (scalar or per row)
    gives `tmic_pct` (n,); `levels` (n, n_levels) gives it as (n, n_levels) instead.
    `times=False` leaves out tmax, tmin and ctrough (the other numbers are the same)."""
    n = par.size
    squeeze = levels is None and mic is not None
    if levels is None and mic is not None:
        levels = np.broadcast_to(np.asarray(mic, dtype=float), (n,))[:, None]
    shape = (n, len(pattern.offsets_h))
    out = _first_order_rows(par, np.broadcast_to(np.asarray(pattern.offsets_h), shape),
                            np.broadcast_to(np.asarray(pattern.amounts_mg), shape),
                            np.full(n, pattern.period_h), levels, times)
    if squeeze:
        out["tmic_pct"] = out["tmic_pct"][:, 0]
    return out


def _first_order_many(par: Params, patterns: Sequence[DosePattern],
                      levels: Sequence[Sequence[float]] | None
                      ) -> list[dict[str, np.ndarray]]:
    """`_metrics_first_order(times=False)` of every pattern, patterns with the same number
    of doses stacked into one set of array operations (rows: pattern-major). Each pattern's
    levels are padded with nan to the widest (never crossed, then cut off)."""
    n = par.size
    out: list[dict[str, np.ndarray]] = [{} for _ in patterns]
    groups: dict[int, list[int]] = {}
    for j, p in enumerate(patterns):
        groups.setdefault(len(p.offsets_h), []).append(j)
    for js in groups.values():
        rows = par.take(np.tile(np.arange(n), len(js)))
        offsets = np.repeat([patterns[j].offsets_h for j in js], n, axis=0).astype(float)
        amounts = np.repeat([patterns[j].amounts_mg for j in js], n, axis=0).astype(float)
        period = np.repeat([patterns[j].period_h for j in js], n).astype(float)
        grid = None
        if levels is not None:
            width = max(len(levels[j]) for j in js)
            grid = np.full((len(js), width), np.nan)
            for g, j in enumerate(js):
                grid[g, :len(levels[j])] = levels[j]
            grid = np.repeat(grid, n, axis=0)
        m = _first_order_rows(rows, offsets, amounts, period, grid, times=False)
        for g, j in enumerate(js):
            part = slice(g * n, (g + 1) * n)
            tm = m["tmic_pct"][part]
            if levels is not None:
                tm = tm[:, :len(levels[j])]
            out[j] = {"cmax": m["cmax"][part], "cmin": m["cmin"][part], "tmic_pct": tm}
    return out


def metrics(par: Params, pattern: DosePattern, mic_mg_l: Any = None,
            mics_mg_l: Any = None, times: bool = True) -> dict[str, np.ndarray]:
    """Steady-state exposure metrics per individual (see `steady_state_metrics`).

    `mics_mg_l` (a sequence shared by every row) gives `tmic_pct` of shape (n, n_mics)
    from one steady state; it takes precedence over `mic_mg_l`. `times=False` may leave
    out tmax, tmin and ctrough (first-order models: population runs need none of them)."""
    n = par.size
    levels = None
    if mics_mg_l is not None:
        mics = np.atleast_1d(np.asarray(mics_mg_l, dtype=float))
        if mics.ndim != 1:
            raise ValueError("mics_mg_l must be a 1-D sequence of MICs (mg/L)")
        levels = np.broadcast_to(mics[None, :], (n, mics.size))
    if par.n_stages == 0:
        out = _metrics_first_order(par, pattern, mic_mg_l, levels=levels, times=times)
    elif levels is None:
        out = _metrics_general(par, pattern, mic_mg_l)
    else:
        out = _metrics_general(par, pattern, None, levels=levels)
    out.update(_aucs(par, pattern))
    return out


def _aucs(par: Params, pattern: DosePattern) -> dict[str, np.ndarray]:
    return {"auc24": par.f * pattern.daily_dose_mg / par.cl_l_h,
            "auc_period": par.f * sum(pattern.amounts_mg) / par.cl_l_h}


def metrics_each(par: Params, patterns: Sequence[DosePattern],
                 levels: Sequence[Sequence[float]] | None = None
                 ) -> list[dict[str, np.ndarray]]:
    """`metrics(par, p, mics_mg_l=levels[j], times=False)` of each pattern (cmax, cmin,
    auc24, auc_period and tmic_pct: (n, len(levels[j])) with `levels`, else nan): the same
    numbers, a first-order model's patterns computed together (`_first_order_many`)."""
    if par.n_stages:
        return [metrics(par, p, times=False) if levels is None else
                metrics(par, p, mics_mg_l=np.asarray(levels[j], dtype=float), times=False)
                for j, p in enumerate(patterns)]
    out = _first_order_many(par, patterns, levels)
    for m, p in zip(out, patterns, strict=True):
        m.update(_aucs(par, p))
    return out
