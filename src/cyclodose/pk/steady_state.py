"""Analytic steady state of a repeating dose pattern, and its exposure metrics.

The state just before the period starts solves (I - Phi(P)) x = sum_i F a_i Phi(P - s_i) e0,
where s_i = (offset_i + lag) mod P are the dose-entry times (so a lag longer
than the interval needs no special case). Phi is lower triangular, so the
solve is a forward substitution, vectorised over individuals.

For first-order absorption the profile between two dose entries is
alpha e^(-k t) - beta e^(-ka t): its single stationary point has a closed
form and threshold crossings are found by safeguarded Newton on monotone
pieces, all as flat numpy arrays (no loop over individuals). Transit models
use the general grid-and-bisection refinement of `refine.py`.
"""

from __future__ import annotations

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


def _metrics_general(par: Params, pattern: DosePattern, mic: Any) -> dict[str, np.ndarray]:
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
    if mic is None:
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
    """Steady-state profile of a first-order model as closed-form pieces between entries."""

    def __init__(self, par: Params, pattern: DosePattern):
        self.k = par.k_per_h
        self.ka = par.ka_per_h
        self.v = par.v_l
        self.period = pattern.period_h
        offs = np.asarray(pattern.offsets_h)
        self.d = offs - offs[0]  # entry times relative to the first entry (same for all)
        self.gap = np.diff(np.append(self.d, self.period))
        fa = np.asarray(pattern.amounts_mg)[None, :] * par.f[:, None]  # (n, nd)
        self.t_first = offs[0] + par.tlag_h  # pattern time of the first entry
        k, ka, p = self.k, self.ka, self.period
        cache: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

        def at(t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            # (G, e^-kt, e^-ka t) at a time shared by all rows; a one-dose pattern needs only P
            if t not in cache:
                cache[t] = _central_from_depot(np.full_like(k, t), k, ka)
            return cache[t]

        # steady state just before the first entry: the period's entries, each propagated to
        # the period's end, accumulate geometrically (1 / (1 - e^-rate P))
        rd = np.zeros_like(k)
        rc = np.zeros_like(k)
        for i, di in enumerate(self.d):
            g, _, eka = at(p - di)
            rd += fa[:, i] * eka
            rc += fa[:, i] * g
        g_p, ek_p, eka_p = at(p)
        xd = rd / (1.0 - eka_p)
        xc = (rc + g_p * xd) / -np.expm1(-k * p)
        self.xd = np.empty_like(fa)
        self.xc = np.empty_like(fa)
        self.xc_end = np.empty_like(fa)  # central amount at the end of each segment
        for i in range(fa.shape[1]):
            xd = xd + fa[:, i]
            self.xd[:, i], self.xc[:, i] = xd, xc
            g, ek, eka = at(float(self.gap[i]))
            xc = g * xd + ek * xc
            xd = xd * eka
            self.xc_end[:, i] = xc

    @staticmethod
    def _g(t: np.ndarray, k: np.ndarray, ka: np.ndarray) -> np.ndarray:
        return _central_from_depot(t, k, ka)[0]

    def conc(self, i: int, tau: np.ndarray) -> np.ndarray:
        g, ek, _ = _central_from_depot(tau, self.k, self.ka)
        return (self.xd[:, i] * g + self.xc[:, i] * ek) / self.v

    def deriv(self, i: int, tau: np.ndarray) -> np.ndarray:
        g, ek, eka = _central_from_depot(tau, self.k, self.ka)
        ac = self.xd[:, i] * g + self.xc[:, i] * ek
        return (self.ka * self.xd[:, i] * eka - self.k * ac) / self.v

    def stationary(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(tau*, is_max) of the stationary point in segment i (nan when outside)."""
        k, ka = self.k, self.ka
        xd, xc = self.xd[:, i], self.xc[:, i]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = (ka * xd - k * xc) / (k * (ka * xd + (ka - k) * xc))
            tau = w * _log1p_ratio((ka - k) * w)
        inside = np.isfinite(tau) & (tau > 0) & (tau < self.gap[i])
        return np.where(inside, tau, np.nan), ka * xd - k * xc > 0

    def take(self, idx: np.ndarray) -> _FirstOrderSegments:
        """The same segments for a subset of individuals."""
        sub = object.__new__(_FirstOrderSegments)
        sub.__dict__.update(self.__dict__)
        for name in ("k", "ka", "v", "t_first"):
            setattr(sub, name, getattr(self, name)[idx])
        sub.xd, sub.xc = self.xd[idx], self.xc[idx]
        return sub

    def crossing(self, i: int, level: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 c_lo: np.ndarray, c_hi: np.ndarray, rising: bool) -> np.ndarray:
        """Root of C = level on a monotone piece [lo, hi] of segment i."""
        return _newton_root(self.k, self.ka, self.xd[:, i], self.xc[:, i], self.v, level,
                            lo, hi, c_lo, c_hi, rising)


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
                 c_hi: np.ndarray, rising: bool) -> np.ndarray:
    """Root of C(t) = level with C monotone on [lo, hi] (C(lo) = c_lo, C(hi) = c_hi).

    Newton on ln C (nearly linear in t once absorption is over) from a log-linear
    interpolation; a step leaving the bracket is replaced by bisection; converged
    rows leave the working set."""
    a, b = lo.astype(float, copy=True), hi.astype(float, copy=True)
    shape = a.shape
    k, ka, xd, xc, v, level, c_lo, c_hi = (
        np.broadcast_to(z, shape) for z in (k, ka, xd, xc, v, level, c_lo, c_hi))
    with np.errstate(divide="ignore", invalid="ignore"):
        if rising:
            # absorption phase: C - c_lo grows roughly like 1 - e^-(ka t)
            q = (level - c_lo) / (c_hi - c_lo)
            frac = -np.log1p(q * np.expm1(-ka * (b - a))) / (ka * (b - a))
        else:
            # elimination phase: ln C roughly linear in t
            frac = np.log(level / c_lo) / np.log(c_hi / c_lo)
    t = np.where(np.isfinite(frac) & (frac > 0) & (frac < 1), a + frac * (b - a), 0.5 * (a + b))
    root = t.copy()
    idx = np.arange(t.size)
    log_level = np.log(level)
    for _ in range(100):
        g, ek, eka = _central_from_depot(t, k, ka)
        ac = xd * g + xc * ek
        conc = ac / v
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.log(conc) - log_level
            df = (ka * xd * eka - k * ac) / ac
            step = t - f / df
        right = (f < 0) if rising else (f > 0)
        a = np.where(right, t, a)
        b = np.where(right, b, t)
        ok = (step > a) & (step < b)
        # a Newton step this small means t is the root to ~1e-12 h (before rounding can
        # push the step just outside the bracket and trigger a needless bisection)
        done = (np.abs(step - t) <= 1e-12 * (1.0 + np.abs(t))) | (b - a <= 1e-13 * (1.0 + b))
        t_new = np.where(done, np.clip(step, a, b), np.where(ok, step, 0.5 * (a + b)))
        root[idx] = t_new
        if np.all(done):
            break
        keep = ~done
        idx = idx[keep]
        t, a, b = t_new[keep], a[keep], b[keep]
        k, ka, xd, xc, v = k[keep], ka[keep], xd[keep], xc[keep], v[keep]
        log_level = log_level[keep]
    return root


def _metrics_first_order(par: Params, pattern: DosePattern, mic: Any) -> dict[str, np.ndarray]:
    fs = _FirstOrderSegments(par, pattern)
    n = par.size
    cmax = np.full(n, -np.inf)
    tmax = np.zeros(n)
    cmin = np.full(n, np.inf)
    tmin = np.zeros(n)
    above = np.zeros(n)
    level = None if mic is None else np.broadcast_to(np.asarray(mic, dtype=float), (n,))
    for i, gap in enumerate(fs.gap):
        start = np.zeros(n)
        end = np.full(n, gap)
        c0, c1 = fs.xc[:, i] / fs.v, fs.xc_end[:, i] / fs.v
        tau, is_max = fs.stationary(i)
        has = np.isfinite(tau)
        tau0 = np.where(has, tau, 0.0)
        cs = fs.conc(i, tau0)
        for cand, at in ((c0, start), (c1, end), (np.where(has, cs, np.nan), tau0)):
            bigger = cand > cmax
            cmax = np.where(bigger, cand, cmax)
            tmax = np.where(bigger, fs.d[i] + at, tmax)
            smaller = cand < cmin
            cmin = np.where(smaller, cand, cmin)
            tmin = np.where(smaller, fs.d[i] + at, tmin)
        if level is not None:
            # monotone pieces [0, tau*] and [tau*, gap] (one piece without tau*)
            mid = np.where(has, tau0, end)
            for lo, hi, c_lo, c_hi in ((start, mid, c0, np.where(has, cs, c1)),
                                       (mid, end, np.where(has, cs, c1), c1)):
                width = hi - lo
                both = (c_lo > level) & (c_hi > level)
                above += np.where(both & (width > 0), width, 0.0)
                cross = ((c_lo > level) != (c_hi > level)) & (width > 0)
                if np.any(cross):
                    idx = np.flatnonzero(cross)
                    rising = c_hi[idx] > c_lo[idx]
                    root = np.empty(idx.size)
                    for flag in (True, False):
                        sel = rising == flag
                        if np.any(sel):
                            sub = fs.take(idx[sel])
                            j = idx[sel]
                            root[sel] = sub.crossing(i, level[j], lo[j], hi[j], c_lo[j],
                                                     c_hi[j], flag)
                    part = np.where(rising, hi[idx] - root, root - lo[idx])
                    above[idx] += part
    # report times on the pattern clock (period start = 0)
    out = {
        "cmax": cmax,
        "tmax": np.mod(fs.t_first + tmax, fs.period),
        "cmin": cmin,
        "tmin": np.mod(fs.t_first + tmin, fs.period),
        "tmic_pct": np.full(n, np.nan) if level is None else 100.0 * above / fs.period,
    }
    # trough: just before the first dose of the period (pattern time offsets[0])
    tau_q = np.mod(pattern.offsets_h[0] - fs.t_first, fs.period)
    ctr = np.zeros(n)
    for i, gap in enumerate(fs.gap):
        rel = tau_q - fs.d[i]
        inside = (rel >= 0) & (rel < gap)
        ctr = np.where(inside, fs.conc(i, np.where(inside, rel, 0.0)), ctr)
    out["ctrough"] = ctr
    return out


def metrics(par: Params, pattern: DosePattern, mic_mg_l: Any = None) -> dict[str, np.ndarray]:
    """Steady-state exposure metrics per individual (see `steady_state_metrics`)."""
    if par.n_stages == 0:
        out = _metrics_first_order(par, pattern, mic_mg_l)
    else:
        out = _metrics_general(par, pattern, mic_mg_l)
    out["auc24"] = par.f * pattern.daily_dose_mg / par.cl_l_h
    out["auc_period"] = par.f * sum(pattern.amounts_mg) / par.cl_l_h
    return out
