"""Closed-form solution of the linear absorption chain, any dose history.

States (amounts, mg): chain stages 0..S-1 (rate ktr each; S = N + 1 for a
transit model: the dose compartment and N transit compartments), the
absorption compartment S (rate ka) and the central compartment S+1 (rate
k = CL/V). A dose enters compartment 0 at its time + lag, times F. Without
a chain (S = 0) this is first-order absorption with lag.

Every entry of the transition matrix Phi(t) = exp(M t) has a closed form:
- stage j from stage i: Erlang, (ktr t)^(j-i)/(j-i)! e^(-ktr t);
- absorption or central from stage i after q = S - i stages: integrals of an
  Erlang(q, ktr) input, written with the regularised incomplete gamma function
  (or the confluent hypergeometric 1F1 when the rates cross);
- central from absorption: ka t e^(-k t) (1 - e^(-(ka-k)t))/((ka-k)t), stable as ka -> k.
Concentrations are superpositions over doses (vectorised over individuals and
times); covariates that change over time are handled by propagating the
compartment amounts exactly from one covariate segment to the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import factorial

import numpy as np
from scipy import special

from cyclodose.pk.params import Params

_CHUNK = 2_000_000  # elements per (individual x dose x time) block
SEQUENTIAL_BLOCK = 16_384  # individuals x times per block of the final superposition
SEQUENTIAL_ELEMENTS = 16_000  # individuals x doses x times above which `amounts_sequential` wins
# (measured crossover, both bundled models, with its first-order shortcut: ~10-20k)


def phi1(x: np.ndarray) -> np.ndarray:
    """(1 - e^-x)/x; expm1 keeps it accurate near 0, and x == 0 gives the limit 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.expm1(-x) / x
    return np.where(x == 0.0, 1.0, out)


def gamma_p_int(q: int, z: np.ndarray) -> np.ndarray:
    """Regularised lower incomplete gamma P(q, z) for integer q >= 1 and z >= 0.

    1 - e^-z sum_{j<q} z^j/j! for z >= 1 (relative error < 1e-12 for q <= 8), and
    e^-z z^q/q! sum_j z^j q!/(q+j)! (20 terms, converged to 1e-17) below 1: several
    times faster than scipy's general gammainc, which matters in the transit model."""
    z = np.asarray(z, dtype=float)
    head = np.ones_like(z)
    term = np.ones_like(z)
    for j in range(1, q):
        term = term * z / j
        head = head + term
    out = 1.0 - np.exp(-z) * head
    small = z < 1.0
    if np.any(small):
        zs = z[small]
        series = np.ones_like(zs)
        for j in range(20, 0, -1):
            series = 1.0 + series * zs / (q + j)
        out[small] = np.exp(-zs) * zs**q / factorial(q) * series
    return out


def _chain(q: int, lam: np.ndarray, ktr: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Amount, at t, in a compartment (elimination rate lam) fed by q transit stages (ktr)
    from a unit dose at 0: the integral of the Erlang(q, ktr) density times e^(-lam (t-u))."""
    if q == 0:
        return np.exp(-lam * t)
    c = ktr - lam
    ct = c * t
    pos = c > 1e-6 * ktr
    shape = np.broadcast_shapes(np.shape(ct), np.shape(lam), np.shape(ktr))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.broadcast_to((ktr / np.where(pos, c, 1.0)) ** q * np.exp(-lam * t)
                              * gamma_p_int(q, np.where(pos, ct, 0.0)), shape)
        if np.all(pos):
            return out
        # rates crossing (ktr <= lam): Kummer form with a non-positive argument
        tb, kb, cb = (np.broadcast_to(z, shape) for z in (t, ktr, ct))
        neg = ~np.broadcast_to(pos, shape)
        out = out.copy()
        out[neg] = ((kb[neg] * tb[neg]) ** q / factorial(q) * np.exp(-kb[neg] * tb[neg])
                    * special.hyp1f1(1.0, q + 1.0, cb[neg]))
    return out


def _separated(ka: np.ndarray, k: np.ndarray) -> np.ndarray:
    # ka equal to k makes the transit->central difference quotient 0/0; nudging ka by
    # 1e-7 (relative) bounds the error near 1e-7 in that (clinically implausible) corner.
    close = np.abs(ka - k) < 1e-7 * np.maximum(ka, k)
    return np.where(close, k * (1.0 + 1e-7), ka)


@dataclass(frozen=True)
class Rates:
    """Per-row rates shaped for broadcasting against a time array."""

    ktr: np.ndarray
    ka: np.ndarray
    k: np.ndarray
    n_stages: int

    @classmethod
    def of(cls, par: Params, ndim: int = 2) -> Rates:
        shape = (-1,) + (1,) * (ndim - 1)
        k = par.k_per_h.reshape(shape)
        ka = par.ka_per_h.reshape(shape)
        ktr = (par.ktr_per_h if par.n_stages else np.full(par.size, np.nan)).reshape(shape)
        return cls(ktr=ktr, ka=ka, k=k, n_stages=par.n_stages)

    @property
    def n_states(self) -> int:
        return self.n_stages + 2


def response(r: Rates, src: int, dst: int, t: np.ndarray) -> np.ndarray:
    """Amount in compartment `dst` at t >= 0 from a unit amount in `src` at 0 (t >= 0 only)."""
    m = r.n_stages
    if dst < src:
        return np.zeros(np.broadcast_shapes(np.shape(t), np.shape(r.k)))
    if dst < m:  # transit <- transit
        j = dst - src
        return (r.ktr * t) ** j / factorial(j) * np.exp(-r.ktr * t)
    q = m - src if src < m else 0
    if dst == m:  # absorption compartment
        return _chain(q, r.ka, r.ktr, t)
    if src == m + 1:
        return np.exp(-r.k * t)
    if src == m:  # central <- absorption
        # e^(-min(ka,k) t) phi1(|ka-k| t): the same value either way round, and no overflow
        # when absorption is far slower than elimination (ka << k, as a MAP search may try).
        slow = np.minimum(r.ka, r.k)
        return r.ka * t * np.exp(-slow * t) * phi1(np.abs(r.ka - r.k) * t)
    ka = _separated(r.ka, r.k)
    return ka / (ka - r.k) * (_chain(q, r.k, r.ktr, t) - _chain(q, ka, r.ktr, t))


def _chains_all(s_max: int, lam: np.ndarray, ktr: np.ndarray, t: np.ndarray
                ) -> list[np.ndarray] | None:
    """[I_1, ..., I_s_max] of `_chain` sharing one exponential: P(s_max, z) directly, then
    P(q, z) = P(q + 1, z) + e^-z z^q / q! downwards (adding positive terms: stable).
    None when the rates cross somewhere (the caller then uses `_chain` per q)."""
    c = ktr - lam
    if not np.all(c > 1e-6 * ktr):
        return None
    z = c * t
    ez = np.exp(-z)
    base = np.exp(-lam * t)
    p = gamma_p_int(s_max, z)
    out = [np.empty(0)] * s_max
    out[s_max - 1] = (ktr / c) ** s_max * base * p
    for q in range(s_max - 1, 0, -1):
        p = p + ez * z**q / factorial(q)
        out[q - 1] = (ktr / c) ** q * base * p
    return out


def responses_to(r: Rates, dst: int, t: np.ndarray) -> list[np.ndarray]:
    """[response(r, src, dst, t) for src in 0..dst], sharing the chain integrals."""
    m = r.n_stages
    if m == 0 and dst == 1 and np.all(r.ka >= r.k):
        # first-order absorption, the usual ka >= k: central <- depot shares e^(-k t) with
        # central <- central (the same numbers as `response`, one exponential fewer)
        ek = np.exp(-r.k * t)
        return [r.ka * t * ek * phi1((r.ka - r.k) * t), ek]
    if dst < m or m == 0:
        return [response(r, src, dst, t) for src in range(dst + 1)]
    if dst == m:
        chains_ka = _chains_all(m, r.ka, r.ktr, t)
        if chains_ka is None:
            return [response(r, src, dst, t) for src in range(dst + 1)]
        return [chains_ka[m - src - 1] for src in range(m)] + [np.exp(-r.ka * t)]
    # the central compartment: the chains at ka only where it is not nudged apart from k
    # (`_separated` leaves every other entry as it is, so the chains are the same numbers)
    ka = _separated(r.ka, r.k)
    if np.array_equal(ka, r.ka):
        ka = r.ka
    if not np.all(r.ktr - r.ka > 1e-6 * r.ktr):  # rates crossing: the general forms
        return [response(r, src, dst, t) for src in range(dst + 1)]
    chains_k = _chains_all(m, r.k, r.ktr, t)
    chains_kas = _chains_all(m, ka, r.ktr, t)
    if chains_k is None or chains_kas is None:
        return [response(r, src, dst, t) for src in range(dst + 1)]
    scale = ka / (ka - r.k)
    out = [scale * (chains_k[m - src - 1] - chains_kas[m - src - 1]) for src in range(m)]
    out.append(response(r, m, dst, t))
    out.append(np.exp(-r.k * t))
    return out


def transition(r: Rates, t: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """All non-zero entries (dst, src) of Phi(t)."""
    return {(d, s): resp for d in range(r.n_states)
            for s, resp in enumerate(responses_to(r, d, t))}


def propagate(r: Rates, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """State after time t (per row) from state x (n, n_states): Phi(t) x."""
    ns = r.n_states
    tt = np.asarray(t, dtype=float).reshape(-1, 1)
    out = np.zeros_like(x)
    for d in range(ns):
        for s, resp in enumerate(responses_to(r, d, tt)):
            out[:, d] += resp[:, 0] * x[:, s]
    return out


def dose_response(r: Rates, comps: Sequence[int], s: np.ndarray, a: np.ndarray,
                  t: np.ndarray, lower: np.ndarray | float = -np.inf) -> np.ndarray:
    """Sum over doses entering at s (n, nd) with amounts a (n, nd) and lower <= s <= t,
    of the amounts in `comps` at times t (n, nt) -> (n, len(comps), nt)."""
    n, nd = s.shape
    nt = t.shape[1]
    out = np.zeros((n, len(comps), nt))
    if nd == 0:
        return out
    low = np.broadcast_to(np.asarray(lower, dtype=float).reshape(-1, 1), (n, 1))
    rows = max(1, _CHUNK // max(1, nd * nt))
    for i0 in range(0, n, rows):
        sl = slice(i0, i0 + rows)
        rr = Rates(ktr=r.ktr[sl, :, None] if r.ktr.shape[0] > 1 else r.ktr[..., None],
                   ka=r.ka[sl, :, None] if r.ka.shape[0] > 1 else r.ka[..., None],
                   k=r.k[sl, :, None] if r.k.shape[0] > 1 else r.k[..., None],
                   n_stages=r.n_stages)
        tau = t[sl, None, :] - s[sl, :, None]  # (rows, nd, nt)
        live = (tau >= 0.0) & (s[sl, :, None] >= low[sl, :, None])
        tau = np.where(live, tau, 0.0)
        w = np.where(live, a[sl, :, None], 0.0)
        for ci, c in enumerate(comps):
            out[sl, ci, :] = np.einsum("idt,idt->it", w, response(rr, 0, c, tau))
    return out


@dataclass(frozen=True)
class Segment:
    """Parameters in force from start_h (LOCF covariates)."""

    start_h: float
    params: Params


def _rows(x: np.ndarray, n: int) -> np.ndarray:
    return np.broadcast_to(x, (n,) + x.shape[1:]) if x.shape[0] == 1 else x


def amounts_sequential(par: Params, dose_times_h: np.ndarray, dose_amounts_mg: np.ndarray,
                       t: np.ndarray, comps: Sequence[int]) -> np.ndarray:
    """Same as `amounts` for one covariate segment, by propagating the state from entry to
    entry: O(times x compartments) instead of O(times x doses) for long histories.

    The lag shifts every entry of an individual equally, so entries keep the order of
    the doses and the gaps between them are shared by all individuals. A regular history
    has one gap: its transition matrix is computed once and applied at every dose. With
    fewer times than entries per row, only the states that some time follows are kept
    (one slot each, contiguous per slot)."""
    order = np.argsort(dose_times_h, kind="stable")
    td, ad = dose_times_h[order], dose_amounts_mg[order]
    n, nd, ns = par.size, td.size, par.n_stages + 2
    out = np.zeros((n, len(comps), t.shape[1]))
    last = np.searchsorted(td, t - par.tlag_h[:, None], side="right") - 1  # (n, nt)
    live = last >= 0
    all_live = bool(live.all())
    if not all_live and not live.any():
        return out
    k_idx = last if all_live else np.maximum(last, 0)
    if nd <= t.shape[1]:  # more times than entries per row: keep every state, no bookkeeping
        needed = np.ones(nd, dtype=bool)
        slot_of = np.arange(nd)
        k_slot = k_idx
    else:
        needed = np.zeros(nd, dtype=bool)
        needed[k_idx if all_live else k_idx[live]] = True
        slot_of = np.cumsum(needed) - 1
        # slot of each time's last entry (slot 0 where none: masked below)
        k_slot = slot_of[k_idx] if all_live else np.where(live, slot_of[k_idx], 0)
    states = np.empty((ns, int(needed.sum()), n))  # state just after each needed entry
    r = Rates.of(par)
    gaps, which = np.unique(np.diff(td), return_inverse=True)
    phis = [{ds: np.broadcast_to(v, (n, 1))[:, 0] for ds, v in
             transition(r, np.full((n, 1), g)).items()} for g in gaps]
    k_last = int(np.max(k_idx)) + 1
    if ns == 2:
        _propagate_first_order(phis, which, ad, par.f, needed, slot_of, states, k_last)
    else:
        x = [np.zeros(n) for _ in range(ns)]
        for k in range(k_last):
            if k:
                phi = phis[which[k - 1]]  # lower triangular: mass only moves down the chain
                x = [sum(phi[d, s] * x[s] for s in range(d + 1)) for d in range(ns)]
            x[0] = x[0] + ad[k] * par.f
            if needed[k]:
                for c in range(ns):
                    states[c, slot_of[k]] = x[c]
    first_order = ns == 2 and list(comps) == [1]
    live_rows = None if all_live else live
    # in blocks of rows that stay in the CPU cache (many times per row: a plotted band)
    rows = max(1, SEQUENTIAL_BLOCK // max(1, t.shape[1]))
    for i0 in range(0, n, rows):
        sl = slice(i0, i0 + rows)
        rb = Rates(ktr=_block(r.ktr, sl), ka=_block(r.ka, sl), k=_block(r.k, sl),
                   n_stages=r.n_stages)
        kb = k_idx[sl]
        flat = k_slot[sl] * n + np.arange(i0, i0 + kb.shape[0])[:, None]
        tau = t[sl] - (td[kb] + par.tlag_h[sl, None])
        lb = None if live_rows is None else live_rows[sl]
        if lb is not None:
            tau = np.where(lb, tau, 0.0)
        gathered = [states[src].ravel()[flat] for src in range(ns)]
        if first_order:
            out[sl, 0, :] = _central_first_order(rb, gathered[0], gathered[1], lb, tau)
            continue
        for ci, c in enumerate(comps):
            acc = np.zeros(tau.shape)
            for src, resp in enumerate(responses_to(rb, c, tau)):
                acc += resp * gathered[src]
            out[sl, ci, :] = acc if lb is None else np.where(lb, acc, 0.0)
    return out


def _propagate_first_order(phis: list[dict[tuple[int, int], np.ndarray]], which: np.ndarray,
                           ad: np.ndarray, f: np.ndarray, needed: np.ndarray,
                           slot_of: np.ndarray, states: np.ndarray, k_last: int) -> None:
    """The state loop of `amounts_sequential` for depot and central alone, in place: the
    same products and sums in the same order (every term is >= 0, so starting the sums at
    the first product instead of 0 changes no bit), fewer temporaries; the dose entering
    (amount x F) computed once per distinct amount."""
    depot = np.zeros(f.shape)
    central = np.zeros(f.shape)
    entering: dict[float, np.ndarray] = {}
    for k in range(k_last):
        if k:
            phi = phis[which[k - 1]]
            moved = phi[1, 0] * depot
            moved += phi[1, 1] * central
            central = moved
            depot *= phi[0, 0]
        a = float(ad[k])
        dose = entering.get(a)
        if dose is None:
            dose = entering[a] = ad[k] * f
        depot += dose
        if needed[k]:
            states[0, slot_of[k]] = depot
            states[1, slot_of[k]] = central


def _central_first_order(r: Rates, depot: np.ndarray, central: np.ndarray,
                         live: np.ndarray | None, tau: np.ndarray) -> np.ndarray:
    """The central amount (rows, nt) of a first-order model from the depot and central
    amounts just after each row's last entry (tau: the time since it, 0 where none; `live`
    None: every time follows an entry): the arithmetic of `responses_to` (rows with
    ka >= k) or of `response` (the other rows, as `responses_to` then uses) operation by
    operation, so the same numbers, with fewer temporaries (a plotted band, a forecast or
    the SIR proposals spend most of their time here)."""
    ka, k = r.ka, r.k
    if ka.shape[0] != tau.shape[0]:
        ka, k = (np.broadcast_to(z, (tau.shape[0], 1)) for z in (ka, k))
    ek = np.negative(k) * tau
    np.exp(ek, out=ek)
    # |ka - k| is ka - k where ka >= k: one formula for both kinds of rows
    x = np.abs(ka - k) * tau
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.negative(x)
        np.expm1(p, out=p)
        np.negative(p, out=p)
        p /= x
    zero = x == 0.0
    if np.any(zero):
        p[zero] = 1.0  # phi1's limit
    resp = ka * tau
    slow = np.flatnonzero(~(ka[:, 0] >= k[:, 0]))  # ka < k (or nan): e^(-min(ka, k) t)
    if slow.size:
        slow_rows = resp[slow]
        slow_rows *= np.exp(-np.minimum(ka[slow], k[slow]) * tau[slow])
    resp *= ek
    if slow.size:
        resp[slow] = slow_rows
    resp *= p
    resp *= depot
    ek *= central
    resp += ek
    return resp if live is None else np.where(live, resp, 0.0)


def _block(x: np.ndarray, sl: slice) -> np.ndarray:
    return x[sl] if x.shape[0] > 1 else x


def amounts(segments: Sequence[Segment], dose_times_h: np.ndarray, dose_amounts_mg: np.ndarray,
            times_h: np.ndarray, comps: Sequence[int], x0: np.ndarray | None = None,
            t0: float = -np.inf) -> np.ndarray:
    """Amounts (n, len(comps), nt) at times_h ((nt,) or (n, nt)).

    Doses enter at dose time + lag and are scaled by F, both taken from the first
    segment (neither depends on covariates in the bundled models). `x0` is an
    optional state (n, n_states) just before t0 (e.g. a steady state); doses
    entering before t0 are then ignored.
    """
    base = segments[0].params
    n = base.size
    td = np.asarray(dose_times_h, dtype=float)
    tt = np.asarray(times_h, dtype=float)
    # many doses and many times (or many individuals): propagate from dose to dose instead
    # of summing all doses; below these sizes the Python loop over doses costs more
    if len(segments) == 1 and x0 is None and td.ndim == 1 and td.size > 4 and (
            td.size * tt.shape[-1] > 4096 or n * td.size * tt.shape[-1] > SEQUENTIAL_ELEMENTS):
        tt = np.broadcast_to(tt, (n, tt.shape[-1])) if tt.ndim == 1 else _rows(tt, n)
        ad1 = np.broadcast_to(np.asarray(dose_amounts_mg, dtype=float), td.shape)
        return amounts_sequential(base, td, ad1, tt, comps)
    td = np.broadcast_to(td, (n, td.shape[-1])) if td.ndim == 1 else _rows(td, n)
    ad = np.asarray(dose_amounts_mg, dtype=float)
    ad = np.broadcast_to(ad, td.shape) if ad.ndim == 1 else _rows(ad, n)
    s = td + base.tlag_h[:, None]
    a = np.where(s >= t0, ad * base.f[:, None], 0.0)
    t = np.asarray(times_h, dtype=float)
    t = np.broadcast_to(t, (n, t.shape[-1])) if t.ndim == 1 else _rows(t, n)
    out = np.zeros((n, len(comps), t.shape[1]))
    ns = base.n_stages + 2
    x = None if x0 is None else np.array(_rows(np.asarray(x0, dtype=float), n))
    x_time = t0
    bounds = [t0] + [max(sg.start_h, t0) for sg in segments[1:]] + [np.inf]
    for k, sg in enumerate(segments):
        lo, hi = bounds[k], bounds[k + 1]
        if hi <= lo:
            continue
        r = Rates.of(sg.params)
        in_seg = (t >= lo) & (t < hi) if k else t < hi
        if np.any(in_seg):
            tt = np.where(in_seg, t, max(lo, -1e300))
            part = dose_response(r, comps, s, a, tt, lower=lo)
            if x is not None:
                dt = np.maximum(tt - x_time, 0.0)
                for ci, c in enumerate(comps):
                    for src, resp in enumerate(responses_to(r, c, dt)):
                        part[:, ci, :] += resp * x[:, src:src + 1]
            out += np.where(in_seg[:, None, :], part, 0.0)
        if np.isfinite(hi):
            contrib = dose_response(r, list(range(ns)), s, np.where(s < hi, a, 0.0),
                                    np.full((n, 1), hi), lower=lo)[:, :, 0]
            x = contrib if x is None else propagate(r, x, np.full(n, hi - x_time)) + contrib
            x_time = hi
    return out


def concentration_mg_l(segments: Sequence[Segment], dose_times_h: np.ndarray,
                       dose_amounts_mg: np.ndarray, times_h: np.ndarray,
                       x0: np.ndarray | None = None, t0: float = -np.inf) -> np.ndarray:
    """Central concentrations (n, nt)."""
    m = segments[0].params.n_stages
    amt = amounts(segments, dose_times_h, dose_amounts_mg, times_h, [m + 1], x0, t0)[:, 0, :]
    if len(segments) == 1 and np.all(np.isfinite(times_h)):
        # one segment: every finite time has its volume (`volume_at` without the masks)
        return amt / segments[0].params.v_l[:, None]
    return amt / volume_at(segments, times_h, amt.shape[0])


def volume_at(segments: Sequence[Segment], times_h: np.ndarray, n: int) -> np.ndarray:
    t = np.asarray(times_h, dtype=float)
    t = np.broadcast_to(t, (n, t.shape[-1])) if t.ndim == 1 else _rows(t, n)
    v = np.zeros(t.shape)
    for k, sg in enumerate(segments):
        hi = segments[k + 1].start_h if k + 1 < len(segments) else np.inf
        mask = (t >= sg.start_h) & (t < hi) if k else t < hi
        v = np.where(mask, np.broadcast_to(sg.params.v_l[:, None], t.shape), v)
    return v
