"""Steady-state metrics of many dose patterns at once for a transit-absorption model.

The system is linear and time-invariant, so at steady state a pattern whose doses repeat
every 24 h is a sum of shifted copies of one periodic unit response U (a unit dose every
24 h, entering at 0): C(t) = sum_i a_i U(t - d_i mod 24). U starts from the analytic
steady state (`steady_state.steady_state_x0`) and is tabulated once per individual on a
grid of GRID_H steps by applying the one-step transition matrix Phi(GRID_H) (closed form)
again and again (Phi(j h) = Phi(h)^j; rounding grows by ~1e-16 a step); every pattern's
profile and slope on that grid are then weighted sums of shifted columns. Extremes (sign
changes of the slope) and threshold crossings found on the grid are refined on the exact
closed form from the state just after the last entry, by safeguarded Newton steps (the
first and second derivatives come from the absorption and last transit compartments), to
~1e-13 h, all patterns and individuals in one working set.

What it serves: the ranking of a candidate grid (q8h, q12h, q24h and 24 h cycles), where
the general grid-and-bisection path of `steady_state._metrics_general` costs about a
second per consult for a transit model. It applies when every pattern's period divides
24 h and its entries fall on the grid; otherwise `metrics_many` returns None and the
caller uses `steady_state.metrics` pattern by pattern.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from cyclodose.pk.params import Params
from cyclodose.pk.regimen import DosePattern
from cyclodose.pk.solution import (
    Rates,
    _chains_all,
    _separated,
    response,
    responses_to,
    transition,
)
from cyclodose.pk.steady_state import metrics_each, steady_state_x0

CYCLE_H = 24.0
GRID_H = 0.125  # the grid only has to separate extremes and crossings (8 per hour)
_N_GRID = int(round(CYCLE_H / GRID_H))


def _entries(pattern: DosePattern) -> tuple[np.ndarray, np.ndarray] | None:
    """Entry times within the 24 h cycle relative to the first dose, in grid steps, and the
    amounts; None when the period does not divide 24 h or an entry is off the grid."""
    reps = CYCLE_H / pattern.period_h
    if abs(reps - round(reps)) > 1e-9 or round(reps) < 1:
        return None
    offs = np.asarray(pattern.offsets_h, dtype=float) - pattern.offsets_h[0]
    d = (offs[None, :] + pattern.period_h * np.arange(round(reps))[:, None]).ravel()
    steps = d / GRID_H
    if np.any(np.abs(steps - np.round(steps)) > 1e-9):
        return None
    a = np.tile(np.asarray(pattern.amounts_mg, dtype=float), round(reps))
    return np.round(steps).astype(int), a


class _UnitResponse:
    """The periodic unit response of each individual: a unit dose every 24 h entering at 0
    (lag removed: it shifts the whole profile and changes none of the metrics)."""

    def __init__(self, par: Params):
        self.par = replace(par, tlag_h=np.zeros(par.size))
        self.m = par.n_stages
        self.rates = Rates.of(self.par)
        x = steady_state_x0(self.par, DosePattern(CYCLE_H, (0.0,), (1.0,)))
        x[:, 0] += self.par.f  # just after the entry
        self.x_start = x

    def grid(self) -> np.ndarray:
        """All compartment amounts (n, n_grid, n_states) at t = 0, h, 2h, ... < 24 h."""
        n, ns = self.x_start.shape
        phi = np.zeros((n, ns, ns))
        for (d, src), v in transition(self.rates, np.full((n, 1), GRID_H)).items():
            phi[:, d, src] = np.broadcast_to(v, (n, 1))[:, 0]
        out = np.empty((n, _N_GRID, ns))
        out[:, 0] = self.x_start
        done = 1
        while done < _N_GRID:  # doubling: the next `done` points from the first ones
            take = min(done, _N_GRID - done)
            out[:, done:done + take] = np.matmul(out[:, :take], phi.transpose(0, 2, 1))
            done += take
            if done < _N_GRID:
                phi = np.matmul(phi, phi)  # Phi(2^k h), for the next points
        return out

    def derivatives(self, rows: np.ndarray, x: np.ndarray, tau: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(C, C', C'') in mg/L, /h, /h² at tau (N,) after states x (N, n_states) of `rows`."""
        par = self.par.take(rows)
        r = Rates.of(par)
        t = tau[:, None]
        m = self.m
        # the last transit stage (for C'' alone, which only steers the Newton steps: one
        # exponential and running powers), the absorption and the central compartments
        kt = r.ktr * t
        erlang = [np.exp(-kt)]
        for j in range(1, m):
            erlang.append(erlang[-1] * kt / j)
        chains = _chains_all(m, r.ka, r.ktr, t)  # computed once for two rows
        # the absorption row as `responses_to(r, m, t)` builds it from these chains
        depot_row = (responses_to(r, m, t) if chains is None
                     else [chains[m - src - 1] for src in range(m)] + [np.exp(-r.ka * t)])
        rows_of = [[erlang[m - 1 - src] for src in range(m)], depot_row]
        if chains is None or np.any(_separated(r.ka, r.k) != r.ka):
            rows_of.append(responses_to(r, m + 1, t))
        else:  # the central row shares the absorption row's chains (`responses_to`)
            chains_k = _chains_all(m, r.k, r.ktr, t)
            if chains_k is None:
                rows_of.append(responses_to(r, m + 1, t))
            else:
                scale = r.ka / (r.ka - r.k)
                rows_of.append([scale * (chains_k[m - src - 1] - chains[m - src - 1])
                                for src in range(m)]
                               + [response(r, m, m + 1, t), np.exp(-r.k * t)])
        last, depot, central = (sum(resp[:, 0] * x[:, src] for src, resp in enumerate(row))
                                for row in rows_of)
        k, ka, v = par.k_per_h, par.ka_per_h, par.v_l
        d_depot = par.ktr_per_h * last - ka * depot
        d_central = ka * depot - k * central
        return central / v, d_central / v, (ka * d_depot - k * d_central) / v


def _slope_conc(u: _UnitResponse, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = u.m
    v = u.par.v_l[:, None]
    central, depot = grid[:, :, m + 1], grid[:, :, m]
    return central / v, (u.par.ka_per_h[:, None] * depot - u.par.k_per_h[:, None] * central) / v


def _superpose(twice: np.ndarray, weight: np.ndarray, shifts: Sequence[int],
               grid: np.ndarray, term: np.ndarray) -> None:
    """One pattern's grid (n, n_grid + 1, closed by t = 24 = t = 0): the sum over the shifts
    s (in order) of weight[s] x U rolled by s steps, U rolled being a view of U twice over.
    Terms of zero weight are left out: the same sums as einsum("ps,snt->pnt") over every
    shift, without a stack of every row's shifted copies or a temporary per term (both
    cost more than the arithmetic)."""
    into = grid[:, :-1]
    into[...] = 0.0
    for w, s in zip(weight, shifts, strict=True):
        if w:
            np.multiply(w, twice[:, _N_GRID - s:2 * _N_GRID - s], out=term)
            into += term
    grid[:, -1] = grid[:, 0]


def _extreme_brackets(ud: np.ndarray, weight: np.ndarray, shifts: Sequence[int]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Grid intervals where a pattern's slope changes sign: (pattern * n + row, column, slope
    at the interval's ends), in row-major order; one pattern's slope at a time (the slopes
    themselves are not kept)."""
    n = ud.shape[0]
    twice = np.concatenate([ud, ud], axis=1)
    term = np.empty_like(ud)
    slope = np.empty((n, _N_GRID + 1))
    parts = []
    for j in range(weight.shape[0]):
        _superpose(twice, weight[j], shifts, slope, term)
        rising = slope > 0  # (a zero slope at a grid point: that point's value)
        row, col = np.nonzero(rising[:, :-1] != rising[:, 1:])
        parts.append((row + j * n, col, slope[row, col], slope[row, col + 1]))
    pair, col, s0, s1 = (np.concatenate(z) for z in zip(*parts, strict=True))
    return pair, col, s0, s1


def metrics_many(par: Params, patterns: Sequence[DosePattern],
                 levels: Sequence[Sequence[float]] | None = None
                 ) -> list[dict[str, np.ndarray]] | None:
    """cmax, cmin (mg/L), auc24, auc_period (mg·h/L) per individual for each pattern, and
    `tmic_pct` (n, len(levels[j])) of pattern j above each of its levels (mg/L) when
    `levels` is given. None when the shortcut does not apply (see the module)."""
    if par.n_stages == 0 or not patterns:
        return None
    entries = [_entries(p) for p in patterns]
    if any(e is None for e in entries):
        return None
    n = par.size
    u = _UnitResponse(par)
    states = u.grid()
    uc, ud = _slope_conc(u, states)
    n_pat = len(patterns)
    n_ent = max(len(e[0]) for e in entries if e is not None)
    start = np.full((n_pat, n_ent), np.inf)  # entry times (h), unused entries at inf
    after = np.zeros((n_pat, n_ent, n, states.shape[2]))  # the state just after each entry
    conc = np.empty((n_pat, n, _N_GRID + 1))  # the grid, closed by t = 24 (= t = 0)
    shifts = sorted({int(s) for e in entries if e is not None for s in e[0]})
    weight = np.zeros((n_pat, len(shifts)))  # each pattern's amount at each shift
    for j, e in enumerate(entries):
        assert e is not None
        steps, amts = e
        start[j, :steps.size] = steps * GRID_H
        for s, a in zip(steps, amts, strict=True):
            weight[j, shifts.index(int(s))] += a
    twice, term = np.concatenate([uc, uc], axis=1), np.empty_like(uc)
    for j in range(n_pat):
        _superpose(twice, weight[j], shifts, conc[j], term)
    for j, e in enumerate(entries):
        assert e is not None
        steps, amts = e
        for i, si in enumerate(steps):  # superposition of every entry's unit response
            for s, a in zip(steps, amts, strict=True):
                after[j, i] += a * states[:, int((si - s) % _N_GRID)]

    def exact(t: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(C, C', C'') of (pattern, row) pairs `flat` (pattern * n + row) at times t in
        [0, 24]: from the state just after the last entry at or before t."""
        j, row = np.divmod(flat, n)
        piece = np.sum(start[j] <= t[:, None], axis=1) - 1
        return u.derivatives(row, after[j, piece, row], t - start[j, piece])

    flat_conc = conc.reshape(n_pat * n, -1)
    cmax = flat_conc.max(axis=1)
    cmin = flat_conc.min(axis=1)
    # local extremes between grid points: a sign change of the slope
    pair, col, s0, s1 = _extreme_brackets(ud, weight, shifts)
    # Only an extreme that may beat the grid's highest (lowest) value, or that a level may
    # pass near, needs refining: within a bracket the profile moves about |slope| x GRID_H
    # beyond its ends at most (twice that is kept, a margin for a slope that is not
    # monotone there). Elsewhere the bracket's ends tell on which side of every level the
    # whole bracket lies.
    c0, c1 = flat_conc[pair, col], flat_conc[pair, col + 1]
    reach = 2.0 * GRID_H * np.maximum(np.abs(s0), np.abs(s1))
    top, bottom = np.maximum(c0, c1) + reach, np.minimum(c0, c1) - reach
    keep = (top >= cmax[pair]) | (bottom <= cmin[pair])
    if levels is None:
        # a pattern repeating within the day (q12h, q8h) has the same extremes every
        # period: those of its first period suffice (with levels every split is needed)
        first = np.array([round(p.period_h / GRID_H) for p in patterns])[pair // n]
        keep &= col < first
    if levels is not None:
        width = max((len(lv) for lv in levels), default=0)
        grid_levels = np.full((n_pat, max(width, 1)), np.nan)
        for j, lv in enumerate(levels):
            grid_levels[j, :len(lv)] = lv
        near = grid_levels[pair // n]
        keep |= np.any((near >= bottom[:, None]) & (near <= top[:, None]), axis=1)
    pair, col, s0, s1 = pair[keep], col[keep], s0[keep], s1[keep]
    if levels is not None:  # the brackets refined below (`_time_above` splits them there)
        change = np.zeros(flat_conc[:, 1:].shape, dtype=bool)
        change[pair, col] = True
    ext_t = np.zeros(0)
    ext_c = np.zeros(0)
    if pair.size:
        a = col * GRID_H
        # the peak's time to 1e-9 h leaves its value ~C'' x 1e-18 from exact: enough for
        # cmax and cmin, while the crossings below keep 1e-13 h (time above is linear in it)
        ext_t = _newton(lambda t, i: exact(t, pair[i])[1:], a, a + GRID_H, s0, s1,
                        xtol=1e-9 if levels is None else 1e-13)
        ext_c = exact(ext_t, pair)[0]
        np.maximum.at(cmax, pair, ext_c)
        np.minimum.at(cmin, pair, ext_c)
    out = []
    for j, p in enumerate(patterns):
        rows = slice(j * n, (j + 1) * n)
        out.append({"cmax": cmax[rows], "cmin": cmin[rows],
                    "auc24": par.f * p.daily_dose_mg / par.cl_l_h,
                    "auc_period": par.f * sum(p.amounts_mg) / par.cl_l_h})
    if levels is not None:
        tm = _time_above(flat_conc, change, pair, ext_t, ext_c, n,
                         [np.asarray(lv, dtype=float) for lv in levels],
                         lambda t, i: exact(t, i)[:2])
        for m, t_pct in zip(out, tm, strict=True):
            m["tmic_pct"] = t_pct
    return out


def _newton(fn: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
            a: np.ndarray, b: np.ndarray, fa: np.ndarray, fb: np.ndarray,
            max_iter: int = 60, xtol: float = 1e-13) -> np.ndarray:
    """Roots of f bracketed by [a, b] (fa, fb of opposite signs) to xtol (1 + |t|) h;
    `fn(t, idx)` gives f and f' of entries idx. Newton from the secant point; a step
    leaving the bracket bisects; the bracket shrinks with every evaluation, so it always
    converges."""
    a, b = np.array(a, dtype=float), np.array(b, dtype=float)
    rising = np.asarray(fb) > np.asarray(fa)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (a * fb - b * fa) / (fb - fa)
    t = np.where(np.isfinite(t) & (t > a) & (t < b), t, 0.5 * (a + b))
    root = t.copy()
    work = np.arange(a.size)
    # |f| this small is rounding noise at the root: stop there (as `refine.illinois` does)
    ftol = 1e-13 * np.maximum(np.abs(fa), np.abs(fb))
    for _ in range(max_iter):
        if work.size == 0:
            break
        tw = t[work]
        f, d = fn(tw, work)
        right = (f < 0) == rising[work]  # the root lies to the right of tw
        aw = np.where(right, tw, a[work])
        bw = np.where(right, b[work], tw)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = tw - f / d
        ok = np.isfinite(step) & (step > aw) & (step < bw)
        new = np.where(ok, step, 0.5 * (aw + bw))
        done = ((np.abs(new - tw) <= xtol * (1.0 + np.abs(tw))) | (np.abs(f) <= ftol[work])
                | (bw - aw <= 1e-13 * (1.0 + np.abs(aw))))
        a[work], b[work] = aw, bw
        root[work] = np.where(np.abs(f) <= ftol[work], tw, new)
        t[work] = new
        work = work[~done]
    return root


def _time_above(conc: np.ndarray, change: np.ndarray, pair: np.ndarray, ext_t: np.ndarray,
                ext_c: np.ndarray, n: int, levels: list[np.ndarray],
                exact: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
                ) -> list[np.ndarray]:
    """% of the 24 h cycle above each of pattern j's levels (n, n_levels), every pattern,
    level and crossing at once. A grid interval holding an extreme is split there, so the
    profile is monotone on every piece and crosses a level at most once."""
    pcol = np.nonzero(change)[1]
    # monotone pieces: (owner, lo, hi, c_lo, c_hi) for split intervals (the rest: the grid)
    sp_owner = np.concatenate([pair, pair])
    sp_lo = np.concatenate([pcol * GRID_H, ext_t])
    sp_hi = np.concatenate([ext_t, (pcol + 1) * GRID_H])
    sp_clo = np.concatenate([conc[pair, pcol], ext_c])
    sp_chi = np.concatenate([ext_c, conc[pair, pcol + 1]])
    owners, los, his, clos, chis, lvls, slots = [], [], [], [], [], [], []
    totals = []
    slot = 0
    for j, lv_j in enumerate(levels):
        rows = slice(j * n, (j + 1) * n)
        c = conc[rows]
        whole = ~change[rows]
        mine = (sp_owner >= j * n) & (sp_owner < (j + 1) * n)
        for lv in lv_j:
            above = c > lv
            both = above[:, :-1] & above[:, 1:] & whole
            total = both.sum(axis=1) * GRID_H
            sp_above_lo, sp_above_hi = sp_clo[mine] > lv, sp_chi[mine] > lv
            sp_both = sp_above_lo & sp_above_hi
            np.add.at(total, sp_owner[mine][sp_both] - j * n, (sp_hi - sp_lo)[mine][sp_both])
            totals.append(total)
            r_, c_ = np.nonzero((above[:, :-1] != above[:, 1:]) & whole)
            sp = np.flatnonzero(sp_above_lo != sp_above_hi)
            owners.append(np.concatenate([r_ + j * n, sp_owner[mine][sp]]))
            los.append(np.concatenate([c_ * GRID_H, sp_lo[mine][sp]]))
            his.append(np.concatenate([(c_ + 1) * GRID_H, sp_hi[mine][sp]]))
            clos.append(np.concatenate([c[r_, c_], sp_clo[mine][sp]]))
            chis.append(np.concatenate([c[r_, c_ + 1], sp_chi[mine][sp]]))
            lvls.append(np.full(owners[-1].size, lv))
            slots.append(np.full(owners[-1].size, slot))
            slot += 1
    owner, lo, hi, c_lo, c_hi, lvl, where = (np.concatenate(z) for z in
                                             (owners, los, his, clos, chis, lvls, slots))
    if owner.size:
        root = _newton(lambda t, i: (exact(t, owner[i])[0] - lvl[i], exact(t, owner[i])[1]),
                       lo, hi, c_lo - lvl, c_hi - lvl)
        part = np.where(c_lo > lvl, root - lo, hi - root)
        for s_ in range(slot):
            sel = where == s_
            np.add.at(totals[s_], owner[sel] % n, part[sel])
    out = []
    slot = 0
    for lv_j in levels:
        cols = [100.0 * totals[slot + li] / CYCLE_H for li in range(lv_j.size)]
        slot += lv_j.size
        out.append(np.stack(cols, axis=1) if cols else np.zeros((n, 0)))
    return out


def metrics_patterns(par: Params, patterns: Sequence[DosePattern],
                     levels: Sequence[Sequence[float]] | None = None
                     ) -> list[dict[str, np.ndarray]]:
    """`metrics_many` where it applies, else `steady_state.metrics_each`
    (cmax, cmin, auc24, auc_period and, with `levels`, tmic_pct (n, len(levels[j])))."""
    fast = metrics_many(par, patterns, levels)
    return metrics_each(par, patterns, levels) if fast is None else fast
