"""Stage 4: maximum a posteriori η by a batched Levenberg–Marquardt search from many starts.

Several modes are common: Alghamdi 2019's ka prior is very wide (log-scale SD 1.52), so a
2 h and a 6 h level can leave two (fast against delayed absorption); a first-dose sample
inside the typical lag time predicts exactly 0 and leaves the surface flat in tlag, so a
search from the typical values never finds the lag that explains it. One local search
from the typical values can stop at the wrong place. So:

1. starts: the typical values, points along ka (±1, ±2 prior SDs), and the local minima
   of a profile of the OFV along every η (−3 … +3 prior SDs, the others at 0), which
   places starts along tlag (and any other η whose prior is wide) where the levels
   pull;
2. all starts descend at once: Levenberg–Marquardt steps on the Fisher-scoring
   curvature (`Objective.derivatives`: one batched prediction call per iteration for
   every start), inside the box of ±5 prior SDs;
3. if a quantified level is still implausible at the best optimum (|IWRES| > 3), a grid
   over the widest η adds starts: the best grid points, and for each such level the
   grid point that fits it best; a level is flagged only after a start that fits it
   has been tried;
4. the distinct optima are polished by Newton steps on the exact (finite-difference)
   Hessian and the lowest OFV wins.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from cyclodose.tdm.diagnostics import IWRES_FLAG
from cyclodose.tdm.objective import Objective
from cyclodose.tdm.preprocess import FloatArray

BOUND_SD = 5.0  # search box: ±5 prior SDs per η
KA_START_SD = (-2.0, -1.0, 1.0, 2.0)  # extra starts along the absorption-rate axis
PROFILE_SD = np.linspace(-3.0, 3.0, 13)  # profile points along each η (prior SDs)
START_SEPARATION_SD = 0.25  # starts closer than this (max over η, prior SDs) are one start
GRID_SD = (-2.0, -1.0, 0.0, 1.0, 2.0)  # wide search: grid points per η
GRID_AXES = 4  # the wide search grids the η with the largest prior SDs, at most this many
GRID_STARTS = 6  # best grid points started from in the wide search
DISTINCT_MODE_TOL = 0.05  # η distance (in prior SDs) below which two optima are the same
MAX_ITER = 100
FTOL_OFV = 1e-6  # OFV decrease below which a start has converged (Newton polishes after)
XTOL_SD = 1e-7  # step (max over η, prior SDs) below which a start has converged
MAX_STEP_SD = 0.5  # longest step of one iteration (max over η, prior SDs)
MU_START, MU_MAX = 1e-3, 1e10  # Levenberg–Marquardt damping
POLISH_STEPS = 4
POLISH_TOL_OFV = 1e-16  # Newton decrement below which an optimum needs no more polish


@dataclass(frozen=True)
class LocalOptimum:
    eta: FloatArray
    ofv: float
    at_bound: tuple[bool, ...]
    # `Objective.hessian(eta)` when the search has already computed it (else None)
    hessian: FloatArray | None = None


@dataclass(frozen=True)
class MapFit:
    eta: FloatArray
    ofv: float
    converged: bool
    at_bound: tuple[bool, ...]
    n_starts: int
    optima: list[LocalOptimum] = field(default_factory=list)  # distinct local optima, best first
    wide_search: bool = False  # the grid search of step 3 ran (a level was implausible)
    hessian: FloatArray | None = None  # `Objective.hessian(eta)` if already computed (else None)


def _distinct(points: FloatArray, sd: FloatArray, tol: float, limit: int | None = None
              ) -> list[int]:
    """Indices of rows that differ from every earlier kept row by more than tol SDs (only
    the first `limit` of them when given)."""
    kept: list[int] = []
    for i, p in enumerate(points):
        if len(kept) == limit:
            break
        if not kept or np.all(np.max(np.abs((p - points[kept]) / sd), axis=1) > tol):
            kept.append(i)
    return kept


def profile_starts(obj: Objective, sd: FloatArray) -> FloatArray:
    """Local minima of the OFV along each η axis through the typical values (one call)."""
    k = sd.size
    pts = np.zeros((k, PROFILE_SD.size, k))
    for i in range(k):
        pts[i, :, i] = PROFILE_SD * sd[i]
    v = obj.many(pts.reshape(-1, k)).reshape(k, PROFILE_SD.size)
    out = []
    for i in range(k):
        prof = v[i]
        left = np.r_[np.inf, prof[:-1]]
        right = np.r_[prof[1:], np.inf]
        for j in np.flatnonzero((prof < left) & (prof < right) & np.isfinite(prof)):
            out.append(pts[i, j])
    return np.asarray(out, dtype=float).reshape(-1, k)


def starting_points(obj: Objective, sd: FloatArray, ka_index: int | None) -> FloatArray:
    """Typical values first, then points along ka, then the profile minima (deduplicated)."""
    k = sd.size
    starts = [np.zeros(k)]
    if ka_index is not None:
        for m in KA_START_SD:
            s = np.zeros(k)
            s[ka_index] = m * sd[ka_index]
            starts.append(s)
    pts = np.vstack([np.asarray(starts), profile_starts(obj, sd)])
    return pts[_distinct(pts, sd, START_SEPARATION_SD)]


def _descend(obj: Objective, x0: FloatArray, lo: FloatArray, hi: FloatArray,
             sd: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Levenberg–Marquardt from every row of x0 at once (projected on the box).

    Each iteration evaluates the trial points of the unfinished starts together with
    their Jacobian stencils, so an accepted step needs no second call."""
    x = np.clip(np.array(x0, dtype=float), lo, hi)
    n, k = x.shape
    d = obj.derivatives(x)
    ofv, grad, fisher, iwres = d.ofv.copy(), d.grad.copy(), d.fisher.copy(), d.iwres.copy()
    mu = np.full(n, MU_START)
    done = ~np.isfinite(ofv)
    eye = np.eye(k)
    for _ in range(MAX_ITER):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        xa, ga = x[act], grad[act]
        # a component on the box edge whose gradient points outwards stays where it is
        fixed = ((xa <= lo + 1e-12) & (ga > 0)) | ((xa >= hi - 1e-12) & (ga < 0))
        free = (~fixed).astype(float)
        diag = np.diagonal(fisher[act], axis1=1, axis2=2)
        a = fisher[act] + mu[act, None, None] * (diag[:, :, None] * eye)
        a = a * free[:, :, None] * free[:, None, :] + fixed[:, :, None] * eye
        step = -np.linalg.solve(a, (ga * free)[:, :, None])[:, :, 0]
        # a trust radius in prior SDs keeps each start in its own basin (a full Fisher step
        # from the slow-absorption start would jump over the ridge to the fast mode)
        longest = np.max(np.abs(step) / sd, axis=1, keepdims=True)
        step = step * np.minimum(1.0, MAX_STEP_SD / np.maximum(longest, 1e-300))
        trial = np.clip(xa + step, lo, hi)
        dt = obj.derivatives(trial)
        gain = ofv[act] - dt.ofv
        better = gain > 0
        moved = np.max(np.abs(trial - xa) / sd, axis=1)
        acc = act[better]
        x[acc], ofv[acc] = trial[better], dt.ofv[better]
        grad[acc], fisher[acc] = dt.grad[better], dt.fisher[better]
        mu[acc] = np.maximum(mu[acc] * 0.2, 1e-12)
        mu[act[~better]] *= 10.0
        iwres[acc] = dt.iwres[better]
        small = np.abs(gain) <= FTOL_OFV
        stalled = (~better & (mu[act] > MU_MAX)) | (moved <= XTOL_SD)
        done[act[small | stalled]] = True
        # a start that has reached the basin of another, no higher, adds nothing: drop it
        # (in turn, so that one of two such starts stays)
        live = act[~done[act]]
        near = np.max(np.abs(x[live, None, :] - x[None, :, :]) / sd, axis=2) < DISTINCT_MODE_TOL
        near[np.arange(live.size), live] = False
        for i, near_i in zip(live, near, strict=True):
            if near_i.any() and np.any(near_i & (ofv <= ofv[i]) & np.isfinite(ofv)):
                done[i] = True
                ofv[i] = np.inf
    return x, ofv, iwres


def _polish(obj: Objective, x: FloatArray, ofv: FloatArray, lo: FloatArray, hi: FloatArray
            ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Newton steps on the exact Hessian (batched finite differences) with backtracking:
    Fisher scoring converges only linearly when the residuals are large. Stops once the
    Newton decrement (the OFV still to gain, quadratic model) is negligible. Returns the
    points, their OFV and the Hessian at each (nan where the OFV is not finite).

    Each trial point is evaluated with its gradient and Hessian (`Objective.local_model`,
    one prediction call), so that the next step from an accepted point needs no call."""
    x, ofv = x.copy(), ofv.copy()
    n, k = x.shape
    grad, hess = np.zeros((n, k)), np.full((n, k, k), np.nan)
    idx = np.flatnonzero(np.isfinite(ofv))
    if idx.size:
        _, d, h = obj.local_model(x[idx])
        grad[idx], hess[idx] = d.grad, h
    for _ in range(POLISH_STEPS):
        if idx.size == 0:
            break
        w, v = np.linalg.eigh(hess[idx])
        w = np.maximum(w, 1e-6 * np.max(np.abs(w), axis=1, keepdims=True) + 1e-12)
        step = -np.einsum("nij,nj->ni", (v / w[:, None, :]) @ np.swapaxes(v, 1, 2), grad[idx])
        decrement = -np.einsum("ni,ni->n", grad[idx], step)
        go = decrement > POLISH_TOL_OFV
        idx, step = idx[go], step[go]
        improved = []
        for scale in (1.0, 0.25):  # backtrack once; an optimum that gains nothing is done
            if idx.size == 0:
                break
            trial = np.clip(x[idx] + scale * step, lo, hi)
            val, d, h = obj.local_model(trial)
            better = val < ofv[idx]
            sel = idx[better]
            x[sel], ofv[sel] = trial[better], val[better]
            grad[sel], hess[sel] = d.grad[better], h[better]
            improved.append(sel)
            idx, step = idx[~better], step[~better]
        idx = np.sort(np.concatenate(improved)) if improved else idx[:0]
    return x, ofv, hess


def _grid_starts(obj: Objective, sd: FloatArray, best: FloatArray, iwres: FloatArray
                 ) -> FloatArray:
    """Wide search: the best points of a grid over the η with the largest prior SDs, and
    for each implausible level the grid point that fits that level best."""
    k = sd.size
    axes = np.argsort(-sd, kind="stable")[:GRID_AXES]
    combos = np.array(list(itertools.product(GRID_SD, repeat=axes.size)))
    grid = np.zeros((combos.shape[0], k))
    grid[:, axes] = combos * sd[axes]
    penalty = obj.prior.penalty(grid)
    with np.errstate(all="ignore"):
        pred = np.asarray(obj.predict(grid), dtype=float)
        total = penalty + obj.data_term(pred)
    total = np.where(np.isfinite(total), total, np.inf)
    order = np.argsort(total, kind="stable")
    picked = order[_distinct(grid[order], sd, 0.99, limit=GRID_STARTS)]
    starts = [grid[picked]]
    q = np.flatnonzero(obj.obs.quantified)
    for j in np.flatnonzero(np.abs(iwres) > IWRES_FLAG):
        i = q[j]
        with np.errstate(all="ignore"):
            g = np.maximum(obj.residual_sd(pred[:, i]), 1e-4)
            fit_one = (obj.obs.conc_mg_l[i] - pred[:, i]) ** 2 / g**2 + np.log(g**2) + penalty
        starts.append(grid[[int(np.nanargmin(np.where(np.isfinite(fit_one), fit_one, np.nan)))]])
    starts.append(best[None, :])
    return np.vstack(starts)


def fit_map(obj: Objective, ka_index: int | None = None) -> MapFit:
    """Lowest-OFV η over many starts. With no levels the answer is η = 0 exactly."""
    k = obj.prior.k
    if obj.obs.n == 0:
        zero = np.zeros(k)
        return MapFit(eta=zero, ofv=0.0, converged=True, at_bound=(False,) * k, n_starts=0,
                      optima=[LocalOptimum(zero, 0.0, (False,) * k)])
    sd = obj.prior.sd
    lo, hi = -BOUND_SD * sd, BOUND_SD * sd
    starts = starting_points(obj, sd, ka_index)
    x, ofv, iwres = _descend(obj, starts, lo, hi, sd)
    n_starts = starts.shape[0]
    wide = False
    best = int(np.argmin(ofv))
    if np.any(np.abs(iwres[best]) > IWRES_FLAG):
        wide = True
        more = _grid_starts(obj, sd, x[best], iwres[best])
        x2, ofv2, _ = _descend(obj, more, lo, hi, sd)
        x, ofv = np.vstack([x, x2]), np.concatenate([ofv, ofv2])
        n_starts += more.shape[0]
    order = np.argsort(ofv, kind="stable")
    x, ofv = x[order], ofv[order]
    keep = [i for i in _distinct(x, sd, DISTINCT_MODE_TOL) if np.isfinite(ofv[i])] or [0]
    x, ofv, hess = _polish(obj, x[keep], ofv[keep], lo, hi)
    order = np.argsort(ofv, kind="stable")
    x, ofv = x[order], ofv[order]
    optima = []
    for i in _distinct(x, sd, DISTINCT_MODE_TOL):
        at = tuple(bool(abs(e - a) < 1e-6 * s or abs(e - b) < 1e-6 * s)
                   for e, a, b, s in zip(x[i], lo, hi, sd, strict=True))
        h = hess[order[i]]
        optima.append(LocalOptimum(eta=x[i], ofv=float(ofv[i]), at_bound=at,
                                   hessian=h if np.all(np.isfinite(h)) else None))
    top = optima[0]
    return MapFit(eta=top.eta, ofv=top.ofv, converged=bool(np.isfinite(top.ofv)),
                  at_bound=top.at_bound, n_starts=n_starts, optima=optima, wide_search=wide,
                  hessian=top.hessian)
