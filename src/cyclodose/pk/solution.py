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
SHARED_SEARCH = 2048  # individuals x times above which one search over shared times wins
SEQUENTIAL_ELEMENTS = 16_000  # individuals x doses x times above which `amounts_sequential` wins
# (measured crossover, both bundled models, with its first-order shortcut: ~10-20k)


def phi1(x: np.ndarray) -> np.ndarray:
    """(1 - e^-x)/x; expm1 keeps it accurate near 0, and x == 0 gives the limit 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.expm1(-x) / x
    return np.where(x == 0.0, 1.0, out)


def gamma_p_int(q: int, z: np.ndarray, ez: np.ndarray | None = None) -> np.ndarray:
    """Regularised lower incomplete gamma P(q, z) for integer q >= 1 and z >= 0 (`ez`:
    e^-z when the caller has it already).

    1 - e^-z sum_{j<q} z^j/j! for z >= 1 (relative error < 1e-12 for q <= 8), and
    e^-z z^q/q! sum_j z^j q!/(q+j)! (20 terms, converged to 1e-17) below 1: several
    times faster than scipy's general gammainc, which matters in the transit model."""
    z = np.asarray(z, dtype=float)
    ez = np.exp(-z) if ez is None else ez
    # head = 1 + z + z^2/2 + ... (q terms), in place; the term 1 * z / 1 is z exactly
    head = np.ones_like(z)
    if q > 1:
        head += z
        term = z.copy()
        for j in range(2, q):
            term *= z
            term /= j
            head += term
    out = ez * head
    np.subtract(1.0, out, out=out)
    small = z < 1.0
    if np.any(small):
        zs = z[small]
        series = np.ones_like(zs)
        for j in range(20, 0, -1):
            series = 1.0 + series * zs / (q + j)
        out[small] = ez[small] * zs**q / factorial(q) * series
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


def _chains_all(s_max: int, lam: np.ndarray, ktr: np.ndarray, t: np.ndarray,
                base: np.ndarray | None = None) -> list[np.ndarray] | None:
    """[I_1, ..., I_s_max] of `_chain` sharing one exponential: P(s_max, z) directly, then
    P(q, z) = P(q + 1, z) + e^-z z^q / q! downwards (adding positive terms: stable).
    None when the rates cross somewhere (the caller then uses `_chain` per q). `base`:
    e^(-lam t) when the caller has it already."""
    c = ktr - lam
    if not np.all(c > 1e-6 * ktr):
        return None
    z = c * t
    ez = np.exp(-z)
    base = np.exp(-lam * t) if base is None else base
    p = gamma_p_int(s_max, z, ez)
    out = [np.empty(0)] * s_max
    out[s_max - 1] = (ktr / c) ** s_max * base * p
    for q in range(s_max - 1, 0, -1):
        step = z**q  # e^-z z^q / q!, in place (the same products in the same order)
        np.multiply(ez, step, out=step)
        step /= factorial(q)
        p += step
        out[q - 1] = (ktr / c) ** q * base * p
    return out


def responses_to(r: Rates, dst: int, t: np.ndarray) -> list[np.ndarray]:
    """[response(r, src, dst, t) for src in 0..dst], sharing the chain integrals."""
    m = r.n_stages
    if m == 0 and dst == 1:
        ek = np.exp(-r.k * t)
        return [_central_from_absorption(r, t, ek), ek]
    if dst < m or m == 0:
        return [response(r, src, dst, t) for src in range(dst + 1)]
    if dst == m:
        e_ka = np.exp(-r.ka * t)  # absorption <- absorption, and the chains' e^(-ka t)
        chains_ka = _chains_all(m, r.ka, r.ktr, t, base=e_ka)
        if chains_ka is None:
            return [response(r, src, dst, t) for src in range(dst + 1)]
        return [chains_ka[m - src - 1] for src in range(m)] + [e_ka]
    # the central compartment: the chains at ka only where it is not nudged apart from k
    # (`_separated` leaves every other entry as it is, so the chains are the same numbers)
    ka = _separated(r.ka, r.k)
    if np.array_equal(ka, r.ka):
        ka = r.ka
    if not np.all(r.ktr - r.ka > 1e-6 * r.ktr):  # rates crossing: the general forms
        return [response(r, src, dst, t) for src in range(dst + 1)]
    ek = np.exp(-r.k * t)  # central <- central, and the chains' e^(-k t)
    chains_k = _chains_all(m, r.k, r.ktr, t, base=ek)
    chains_kas = _chains_all(m, ka, r.ktr, t)
    if chains_k is None or chains_kas is None:
        return [response(r, src, dst, t) for src in range(dst + 1)]
    scale = ka / (ka - r.k)
    out = [scale * (chains_k[m - src - 1] - chains_kas[m - src - 1]) for src in range(m)]
    out.append(_central_from_absorption(r, t, ek))
    out.append(ek)
    return out


def _central_from_absorption(r: Rates, t: np.ndarray, ek: np.ndarray) -> np.ndarray:
    """`response` central <- absorption; when every ka >= k (the usual case) its
    e^(-min(ka, k) t) is e^(-k t), which the caller has already: the same numbers."""
    if np.all(r.ka >= r.k):
        return r.ka * t * ek * phi1((r.ka - r.k) * t)
    return response(r, r.n_stages, r.n_stages + 1, t)


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
    # no lower bound: NaN entries give NaN tau, not live either way
    low = None if np.ndim(lower) == 0 and lower == -np.inf else \
        np.broadcast_to(np.asarray(lower, dtype=float).reshape(-1, 1), (n, 1))
    rows = max(1, _CHUNK // max(1, nd * nt))
    for i0 in range(0, n, rows):
        sl = slice(i0, i0 + rows)
        rr = Rates(ktr=r.ktr[sl, :, None] if r.ktr.shape[0] > 1 else r.ktr[..., None],
                   ka=r.ka[sl, :, None] if r.ka.shape[0] > 1 else r.ka[..., None],
                   k=r.k[sl, :, None] if r.k.shape[0] > 1 else r.k[..., None],
                   n_stages=r.n_stages)
        tau = t[sl, None, :] - s[sl, :, None]  # (rows, nd, nt)
        live = tau >= 0.0
        if low is not None:
            live &= s[sl, :, None] >= low[sl, :, None]
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
    entry: O(times x compartments) instead of O(times x doses) for long histories. `t` is
    (nt,), shared by every individual, or (n, nt).

    The lag shifts every entry of an individual equally, so entries keep the order of
    the doses and the gaps between them are shared by all individuals. A regular history
    has one gap: its transition matrix is computed once and applied at every dose. Only
    the states that some time follows are kept (one slot each)."""
    order = np.argsort(dose_times_h, kind="stable")
    td, ad = dose_times_h[order], dose_amounts_mg[order]
    n, ns, nt = par.size, par.n_stages + 2, t.shape[-1]
    out = np.zeros((n, len(comps), nt))
    lag = par.tlag_h[:, None]
    td_pad = np.concatenate(([-np.inf], td))  # td_pad[k + 1] = td[k]; -inf: no entry
    last = _last_entries(td, td_pad, t, lag)
    needed = last.used(td.size)
    if not needed.any():
        return out
    slot_of = np.cumsum(needed) - 1
    slot_pad = np.concatenate(([0], slot_of))  # slot 0 where no entry (masked below)
    r = Rates.of(par)
    # written slot by slot, read individual by individual
    states = np.ascontiguousarray(_states(r, par.f, td, ad, needed, slot_of).transpose(0, 2, 1))
    first_order = ns == 2 and list(comps) == [1]
    # in blocks of rows that stay in the CPU cache (many times per row: a plotted band)
    rows = max(1, SEQUENTIAL_BLOCK // nt)
    for i0 in range(0, n, rows):
        sl = slice(i0, i0 + rows)
        rb = Rates(ktr=_block(r.ktr, sl), ka=_block(r.ka, sl), k=_block(r.k, sl),
                   n_stages=r.n_stages)
        tb = t if t.ndim == 1 else t[sl]
        lb = last.rows_of(sl)
        tau = lb.time_since(td_pad, tb, lag[sl])
        gathered = [lb.gather(states[src, sl], slot_pad) for src in range(ns)]
        if first_order:
            depot, central = gathered
            out[sl, 0, :] = lb.zero_dead(_central_first_order(rb, depot, central, tau))
            continue
        for ci, c in enumerate(comps):
            acc = np.zeros(tau.shape)
            for src, resp in enumerate(responses_to(rb, c, tau)):
                acc += resp * gathered[src]
            out[sl, ci, :] = lb.zero_dead(acc)
    return out


@dataclass(frozen=True)
class _LastEntries:
    """Each (individual, time)'s last entry at or before it: `base` ((nt,) shared, or
    (rows, nt)) except at (`rows`, `cols`) (sorted by row), whose entry is `back`; -1
    where no entry."""

    base: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    back: np.ndarray

    def used(self, nd: int) -> np.ndarray:
        """The entries some time follows (and the shared bases)."""
        needed = np.zeros(nd, dtype=bool)
        needed[self.base[self.base >= 0]] = True
        needed[self.back[self.back >= 0]] = True
        return needed

    def rows_of(self, sl: slice) -> _LastEntries:
        """The same for a block of rows."""
        i0 = sl.start
        lo, hi = np.searchsorted(self.rows, [i0, sl.stop])
        base = self.base if self.base.ndim == 1 else self.base[sl]
        return _LastEntries(base, self.rows[lo:hi] - i0, self.cols[lo:hi], self.back[lo:hi])

    def time_since(self, td_pad: np.ndarray, t: np.ndarray, lag: np.ndarray) -> np.ndarray:
        """t - (entry time + lag), the arithmetic of a per-element search exactly; 0 where
        no entry."""
        with np.errstate(invalid="ignore"):  # -inf (no entry) from -inf: masked below
            tau = t - (td_pad[self.base + 1] + lag)
        if self.back.size:
            t_back = t[self.cols] if t.ndim == 1 else t[self.rows, self.cols]
            tau[self.rows, self.cols] = t_back - (td_pad[self.back + 1] + lag[self.rows, 0])
        return self.zero_dead(tau)

    def gather(self, states: np.ndarray, slot_pad: np.ndarray) -> np.ndarray:
        """The states (rows, n_slots) just after each entry, at (rows, nt)."""
        slots = slot_pad[self.base + 1]
        # np.take: a C-ordered result (fancy indexing gives F order here, ~20 % slower
        # arithmetic on it afterwards)
        out = (np.take(states, slots, axis=1) if slots.ndim == 1
               else states.ravel()[slots + states.shape[1] * np.arange(states.shape[0])[:, None]])
        if self.back.size:
            out[self.rows, self.cols] = states[self.rows, slot_pad[self.back + 1]]
        return out

    def zero_dead(self, x: np.ndarray) -> np.ndarray:
        """x with 0 where no entry precedes the time (in place)."""
        dead = self.base < 0
        if np.any(dead):
            if dead.ndim == 1:
                x[:, dead] = 0.0
            else:
                x[dead] = 0.0
        if self.back.size:
            none = self.back < 0
            x[self.rows[none], self.cols[none]] = 0.0
        return x


def _last_entries(td: np.ndarray, td_pad: np.ndarray, t: np.ndarray, lag: np.ndarray
                  ) -> _LastEntries:
    """searchsorted(td, t - lag, 'right') - 1, each individual's last entry at or before
    each time. For shared times (nt,) and lags >= 0 the last entry at or before t - lag is
    at or before the last dose at or before t: one search over the nt times and a few
    steps back per individual replace a search over n x nt values (when there are enough
    of them to pay for the bookkeeping)."""
    x = t - lag
    if t.ndim == 2 or x.size <= SHARED_SEARCH or not np.all(lag >= 0.0):
        none = np.empty(0, dtype=np.intp)
        return _LastEntries(np.searchsorted(td, x, side="right") - 1, none, none, none)
    base = np.searchsorted(td, t, side="right") - 1
    # where the entry at base is after t - lag (flatnonzero: np.nonzero is ~15x slower)
    rows, cols = np.divmod(np.flatnonzero(td_pad[base + 1] > x), x.shape[1])
    back = base[cols] - 1
    x_back = x[rows, cols]
    while True:  # more steps back only when a lag is longer than a dose gap
        more = td_pad[back + 1] > x_back
        if not np.any(more):
            return _LastEntries(base, rows, cols, back)
        back -= more


def _states(r: Rates, f: np.ndarray, td: np.ndarray, ad: np.ndarray, needed: np.ndarray,
            slot_of: np.ndarray) -> np.ndarray:
    """The compartment amounts (n_states, n_slots, n) just after each needed entry."""
    n, ns = f.shape[0], r.n_states
    k_last = int(np.flatnonzero(needed)[-1]) + 1
    states = np.empty((ns, int(slot_of[k_last - 1]) + 1, n))
    gaps, which = np.unique(np.diff(td[:k_last]), return_inverse=True)
    phis = [{ds: np.broadcast_to(v, (n, 1))[:, 0] for ds, v in
             transition(r, np.full((n, 1), g)).items()} for g in gaps]
    if ns == 2:
        _propagate_first_order(phis, which, ad, f, needed, slot_of, states, k_last)
        return states
    x = [np.zeros(n) for _ in range(ns)]
    for k in range(k_last):
        if k:
            phi = phis[which[k - 1]]  # lower triangular: mass only moves down the chain
            x = [_row_times(phi, d, x) for d in range(ns)]
        x[0] = x[0] + ad[k] * f
        if needed[k]:
            for c in range(ns):
                states[c, slot_of[k]] = x[c]
    return states


def _row_times(phi: dict[tuple[int, int], np.ndarray], d: int, x: list[np.ndarray]
               ) -> np.ndarray:
    """Row d of Phi times x: the products summed in order, in place (every term is >= 0
    and the last one, from the diagonal, never -0, so starting at the first product
    instead of 0 changes no bit)."""
    acc = phi[d, 0] * x[0]
    for s in range(1, d + 1):
        acc += phi[d, s] * x[s]
    return acc


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
                         tau: np.ndarray) -> np.ndarray:
    """The central amount (rows, nt) of a first-order model from the depot and central
    amounts just after each row's last entry (tau: the time since it): the arithmetic of
    `responses_to` (rows with ka >= k) or of `response` (the other rows, as
    `responses_to` then uses) operation by operation, so the same numbers, with fewer
    temporaries (a plotted band, a forecast or the SIR proposals spend most of their
    time here). Sign changes are exact, so phi1(x) = -expm1(-x)/x is taken as
    expm1(y)/y with y = -x, two passes fewer."""
    ka, k = r.ka, r.k
    if ka.shape[0] != tau.shape[0]:
        ka, k = (np.broadcast_to(z, (tau.shape[0], 1)) for z in (ka, k))
    ek = np.multiply(np.negative(k), tau)
    np.exp(ek, out=ek)
    # |ka - k| is ka - k where ka >= k: one formula for both kinds of rows
    y = np.multiply(np.negative(np.abs(ka - k)), tau)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.expm1(y)
        p /= y
    if not y.all():
        p[y == 0.0] = 1.0  # phi1's limit
    resp = np.multiply(ka, tau)
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
    return resp


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
        tt = tt if tt.ndim == 1 else _rows(tt, n)
        ad1 = np.broadcast_to(np.asarray(dose_amounts_mg, dtype=float), td.shape)
        return amounts_sequential(base, td, ad1, tt, comps)
    td = np.broadcast_to(td, (n, td.shape[-1])) if td.ndim == 1 else _rows(td, n)
    ad = np.asarray(dose_amounts_mg, dtype=float)
    ad = np.broadcast_to(ad, td.shape) if ad.ndim == 1 else _rows(ad, n)
    s = td + base.tlag_h[:, None]
    t = np.broadcast_to(tt, (n, tt.shape[-1])) if tt.ndim == 1 else _rows(tt, n)
    if len(segments) == 1 and x0 is None and t0 == -np.inf and np.all(tt < np.inf):
        # one segment holding every time, every dose counting: the sum over doses alone,
        # the loop's numbers without its masks and copies (a MAP search's many small calls)
        return dose_response(Rates.of(base), comps, s, ad * base.f[:, None], t)
    a = np.where(s >= t0, ad * base.f[:, None], 0.0)
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
