"""Independent reference: the same compartment chain integrated numerically by scipy.

Written from the model's differential equations (not from the closed forms under
test): stages at ktr, absorption compartment at ka, central at k = CL/V; doses
added to the first compartment at time + lag; parameters switch at segment
starts (amounts carried over).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.integrate import solve_ivp

from cyclodose.pk.params import Params

RTOL, ATOL = 1e-10, 1e-12


def _rhs(par: Params):
    s = par.n_stages
    k, ka = float(par.k_per_h[0]), float(par.ka_per_h[0])
    ktr = float(par.ktr_per_h[0]) if s else 0.0

    def rhs(_t: float, x: np.ndarray) -> np.ndarray:
        d = np.zeros_like(x)
        for i in range(s):
            d[i] -= ktr * x[i]
            d[i + 1] += ktr * x[i]
        d[s] += -ka * x[s]
        d[s + 1] += ka * x[s] - k * x[s + 1]
        return d

    return rhs


def ode_concentrations(segments: Sequence[tuple[float, Params]], dose_times_h: Sequence[float],
                       dose_amounts_mg: Sequence[float], times_h: Sequence[float]) -> np.ndarray:
    """Concentrations of one individual at times_h by numerical integration."""
    base = segments[0][1]
    lag, f = float(base.tlag_h[0]), float(base.f[0])
    events = sorted((t + lag, a * f) for t, a in zip(dose_times_h, dose_amounts_mg, strict=True))
    starts = [st for st, _ in segments]
    breaks = sorted({e for e, _ in events} | {st for st in starts[1:] if np.isfinite(st)})
    obs = np.asarray(times_h, dtype=float)
    t_cur = min([e for e, _ in events] + list(obs))
    x = np.zeros(base.n_stages + 2)
    out = np.full(obs.shape, np.nan)
    ev_i = 0

    def seg_at(t: float) -> Params:
        idx = int(np.searchsorted(np.asarray(starts), t, side="right")) - 1
        return segments[max(idx, 0)][1]

    for t_next in [*breaks, float(obs.max()) + 1.0]:
        # doses entering now, then integrate to the next event, observing on the way
        while ev_i < len(events) and events[ev_i][0] <= t_cur:
            x[0] += events[ev_i][1]
            ev_i += 1
        if t_next <= t_cur:
            continue
        par = seg_at(t_cur)
        sel = (obs >= t_cur) & (obs < t_next)
        sol = solve_ivp(_rhs(par), (t_cur, t_next), x, method="DOP853", rtol=RTOL, atol=ATOL,
                        t_eval=obs[sel] if np.any(sel) else None, dense_output=False)
        if np.any(sel):
            out[sel] = sol.y[-1, : int(np.sum(sel))] / float(par.v_l[0])
        end = solve_ivp(_rhs(par), (t_cur, t_next), x, method="DOP853", rtol=RTOL, atol=ATOL)
        x = end.y[:, -1].copy()
        t_cur = t_next
    return out
