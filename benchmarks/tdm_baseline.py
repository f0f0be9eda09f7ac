"""Baseline of the TDM benchmark: the MAP search as it was before the batched
Levenberg–Marquardt (`cyclodose.tdm.optimise`), kept callable to be measured in the
same run: L-BFGS-B with central-difference gradients, restarted from several points.

Alghamdi 2019's ka prior is very wide (log-scale SD 1.52), so a 2 h and a 6 h
level can leave two modes (fast against delayed absorption). One local search
from the typical values can stop at the wrong one: we start along the ka axis
as well, restart when an estimate sits at a bound, and keep the lowest OFV.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from cyclodose.tdm.objective import Objective
from cyclodose.tdm.optimise import LocalOptimum, MapFit
from cyclodose.tdm.preprocess import FloatArray

BOUND_SD = 5.0  # search box: ±5 prior SDs per η
KA_START_SD = (-2.0, -1.0, 1.0, 2.0)  # extra starts along the absorption-rate axis
DISTINCT_MODE_TOL = 0.05  # η distance (in prior SDs) below which two optima are the same
MAX_BOUND_RESTARTS = 2


def starting_points(sd: FloatArray, ka_index: int | None) -> list[FloatArray]:
    """Typical values first, then points along ka (or along the first η without a ka)."""
    k = sd.size
    starts = [np.zeros(k)]
    axis = ka_index if ka_index is not None else 0
    for m in KA_START_SD:
        s = np.zeros(k)
        s[axis] = m * sd[axis]
        starts.append(s)
    return starts


def _local(obj: Objective, x0: FloatArray, bounds: list[tuple[float, float]]) -> LocalOptimum:
    res = minimize(obj.value_and_grad, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 500, "ftol": 1e-12, "gtol": 1e-7})
    eta = np.asarray(res.x, dtype=float)
    at = tuple(bool(abs(e - lo) < 1e-6 or abs(e - hi) < 1e-6) for e, (lo, hi) in zip(eta, bounds,
                                                                                      strict=True))
    return LocalOptimum(eta=eta, ofv=float(obj(eta)), at_bound=at)


def legacy_fit_map(obj: Objective, ka_index: int | None = None) -> MapFit:
    """Lowest-OFV η over several starts. With no levels the answer is η = 0 exactly."""
    k = obj.prior.k
    if obj.obs.n == 0:
        zero = np.zeros(k)
        return MapFit(eta=zero, ofv=0.0, converged=True, at_bound=(False,) * k, n_starts=0,
                      optima=[LocalOptimum(zero, 0.0, (False,) * k)])
    sd = obj.prior.sd
    bounds = [(-BOUND_SD * s, BOUND_SD * s) for s in sd]
    starts = starting_points(sd, ka_index)
    found: list[LocalOptimum] = []
    n_starts = 0
    queue = list(starts)
    restarts = 0
    while queue:
        x0 = queue.pop(0)
        n_starts += 1
        # L-BFGS-B's tiny BLAS calls only lose time to a multi-threaded BLAS (10x slower on
        # a busy machine): one BLAS thread while optimising.
        with threadpool_limits(limits=1, user_api="blas"):
            opt = _local(obj, x0, bounds)
        found.append(opt)
        if any(opt.at_bound) and restarts < MAX_BOUND_RESTARTS:
            # An estimate on the box edge is usually a stalled search: restart halfway back.
            restarts += 1
            queue.append(np.where(opt.at_bound, 0.5 * opt.eta, opt.eta))
    found.sort(key=lambda o: o.ofv)
    distinct: list[LocalOptimum] = []
    for opt in found:
        if not np.isfinite(opt.ofv):
            continue
        if all(np.max(np.abs((opt.eta - d.eta) / sd)) > DISTINCT_MODE_TOL for d in distinct):
            distinct.append(opt)
    best = distinct[0] if distinct else found[0]
    return MapFit(eta=best.eta, ofv=best.ofv, converged=bool(np.isfinite(best.ofv)),
                  at_bound=best.at_bound, n_starts=n_starts, optima=distinct)
