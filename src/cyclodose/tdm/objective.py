"""Stage 3: the MAP objective (Kang et al., Korean J Physiol Pharmacol 2012;16:97).

    OFV(η) = Σ_quantified [(y − f)² / g² + ln g²]
           + Σ_BLQ −2 ln Φ((LLOQ − f) / g)          (Beal's M3 for censored samples)
           + ηᵀ Ω⁻¹ η

f = individual prediction, g = residual SD at f. OFV is −2 × the log posterior
up to a constant, so exp(−OFV/2) is the unnormalised posterior density used by
the importance sampler. Everything here is vectorised over rows of η.

`derivatives` gives, for many η at once, the OFV, its gradient and the
Fisher-scoring curvature (the expected Hessian, positive semi-definite) from one
batched prediction call: the Jacobian of the predictions by central differences,
then the chain rule through the likelihood written out by hand. This is what a
Gauss–Newton / Levenberg–Marquardt search needs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import log_ndtr

from cyclodose.tdm.preprocess import FloatArray, Observations

# Smallest residual SD (mg/L): with a purely proportional error a prediction of
# exactly zero (a sample inside the lag time) would otherwise divide by zero.
RESIDUAL_SD_FLOOR_MG_L = 1e-4

JACOBIAN_STEP = 1e-5  # central-difference step in η for the Jacobian of the predictions
HESSIAN_STEP = 1e-3  # relative central-difference step in η for the Hessian of the OFV
LOG_SQRT_2PI = 0.5 * float(np.log(2.0 * np.pi))
# rows from which the prior penalty is summed column by column (einsum's per-row loop is
# faster only on the optimiser's small batches)
PENALTY_BY_COLUMNS_FROM = 1_000

PredictFn = Callable[[FloatArray], FloatArray]  # etas (n, k) -> conc (n, n_obs) mg/L
ResidualSdFn = Callable[[FloatArray], FloatArray]  # conc mg/L -> SD mg/L, elementwise
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Prior:
    """Multivariate normal prior on η with covariance Ω (variances, not SDs)."""

    omega: FloatArray

    @property
    def k(self) -> int:
        return int(self.omega.shape[0])

    @functools.cached_property
    def omega_inv(self) -> FloatArray:
        return np.asarray(np.linalg.inv(self.omega), dtype=float)

    @functools.cached_property
    def curvature(self) -> FloatArray:
        """The Hessian of the penalty, 2 Ω⁻¹."""
        return 2.0 * self.omega_inv

    @functools.cached_property
    def sd(self) -> FloatArray:
        return np.sqrt(np.diag(self.omega))

    def penalty(self, etas: FloatArray) -> FloatArray:
        """ηᵀ Ω⁻¹ η for each row."""
        e = np.atleast_2d(etas)
        if e.shape[0] < PENALTY_BY_COLUMNS_FROM:
            return np.asarray(np.einsum("ni,ij,nj->n", e, self.omega_inv, e), dtype=float)
        # Many rows (the sampler's proposals): einsum's own sum, term by term in its order
        # (i, then j, from 0), as vector operations over the rows: the same bits, 4× faster.
        cols = e.T.copy()
        total = np.zeros(e.shape[0])
        term = np.empty(e.shape[0])
        for i, w_i in enumerate(self.omega_inv):
            for j, w_ij in enumerate(w_i):
                np.multiply(cols[i], w_ij, out=term)
                term *= cols[j]
                total += term
        return total


@dataclass(frozen=True)
class Derivatives:
    """Per row of η: OFV (n,), gradient (n, k), Fisher-scoring curvature (n, k, k), and the
    standardised residuals of the quantified levels (n, n_quantified)."""

    ofv: FloatArray
    grad: FloatArray
    fisher: FloatArray
    iwres: FloatArray


@dataclass(frozen=True)
class Objective:
    """The individual's OFV as a function of η, given a prediction function."""

    predict: PredictFn
    residual_sd: ResidualSdFn
    prior: Prior
    obs: Observations

    def data_term(self, pred: FloatArray) -> FloatArray:
        """−2 log-likelihood of the levels (without 2π constants) for predictions (n, n_obs)."""
        pred = np.atleast_2d(pred)
        return self._data_term(pred, np.maximum(self.residual_sd(pred), RESIDUAL_SD_FLOOR_MG_L))

    def _data_term(self, pred: FloatArray, g: FloatArray) -> FloatArray:
        """`data_term` given the floored residual SD g at pred."""
        total = np.zeros(pred.shape[0])
        q = self.obs.quantified
        if q.any():
            y = self.obs.conc_mg_l[q]
            f_q, g_q = (pred, g) if q.all() else (pred[:, q], g[:, q])
            var = g_q**2
            total += np.sum((y - f_q) ** 2 / var + np.log(var), axis=1)
        b = self.obs.blq
        if b.any():
            z = (self.obs.lloq_mg_l[b] - pred[:, b]) / g[:, b]
            total += np.sum(-2.0 * log_ndtr(z), axis=1)
        return total

    def many(self, etas: FloatArray) -> FloatArray:
        """OFV for each row of etas (n, k)."""
        etas = np.atleast_2d(np.asarray(etas, dtype=float))
        with np.errstate(all="ignore"):
            pred = self.predict(etas) if self.obs.n else None
        return self._ofv(etas, pred)

    def _ofv(self, etas: FloatArray, pred: FloatArray | None) -> FloatArray:
        """`many` given the predictions at etas (None without levels)."""
        ofv = self.prior.penalty(etas)
        if pred is not None:
            # Far in the tails a prediction can overflow to nan/inf; such η get OFV = inf.
            with np.errstate(all="ignore"):
                ofv = ofv + self.data_term(pred)
        return np.where(np.isfinite(ofv), ofv, np.inf)

    def _sd_and_slope(self, f: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Residual SD at f (floored) and its derivative dg/df (0 where the floor applies)."""
        delta = 1e-6 * np.maximum(1.0, np.abs(f))
        g, up, down = self.residual_sd(np.stack([f, f + delta, f - delta]))  # elementwise
        slope = (up - down) / (2.0 * delta)
        floored = g < RESIDUAL_SD_FLOOR_MG_L
        return np.where(floored, RESIDUAL_SD_FLOOR_MG_L, g), np.where(floored, 0.0, slope)

    def derivatives(self, etas: FloatArray, step: float = JACOBIAN_STEP) -> Derivatives:
        """OFV, gradient and Fisher-scoring curvature for each row of etas (n, k).

        One prediction call over the central-difference stencil of every row. Per level,
        with r = (y − f)/g and g' = dg/df: d OFV/df = −2r(1 + r g')/g + 2g'/g and the
        expected curvature 2(1 + 2g'²)/g²; for a BLQ level, z = (LLOQ − f)/g and
        λ = φ(z)/Φ(z): d/df = −2λ dz/df, curvature 2λ(z + λ)(dz/df)². Rows whose
        predictions are not finite get OFV = inf and a zero gradient.
        """
        etas = np.atleast_2d(np.asarray(etas, dtype=float))
        if not self.obs.n:
            return self._derivatives(etas, None, step)
        with np.errstate(all="ignore"):
            pred = self.predict(_jacobian_points(etas, step))
        return self._derivatives(etas, pred, step)

    def _derivatives(self, etas: FloatArray, pred: FloatArray | None, step: float
                     ) -> Derivatives:
        """`derivatives` given the predictions at `_jacobian_points(etas, step)`."""
        n, k = etas.shape
        prior = self.prior.curvature
        grad = etas @ prior
        ofv = self.prior.penalty(etas)
        q, b = self.obs.quantified, self.obs.blq
        if pred is None:
            return Derivatives(ofv, grad, np.broadcast_to(prior, (n, k, k)).copy(),
                               np.zeros((n, 0)))
        with np.errstate(all="ignore"):
            pred = np.asarray(pred, dtype=float).reshape(2 * k + 1, n, -1)
            f = pred[0]
            jac = ((pred[1:k + 1] - pred[k + 1:]) / (2.0 * step)).transpose(1, 2, 0)  # (n, m, k)
            g, slope = self._sd_and_slope(f)
            d1 = np.zeros_like(f)
            w = np.zeros_like(f)
            r = np.zeros((n, int(q.sum())))
            if q.any():
                fq, gq, sq = (f, g, slope) if q.all() else (f[:, q], g[:, q], slope[:, q])
                r = (self.obs.conc_mg_l[q] - fq) / gq
                d1[:, q] = -2.0 * r * (1.0 + r * sq) / gq + 2.0 * sq / gq
                w[:, q] = 2.0 * (1.0 + 2.0 * sq**2) / gq**2
            if b.any():
                gb, sb = g[:, b], slope[:, b]
                z = (self.obs.lloq_mg_l[b] - f[:, b]) / gb
                lam = np.exp(-0.5 * z**2 - LOG_SQRT_2PI - log_ndtr(z))
                dz = -(1.0 + z * sb) / gb
                d1[:, b] = -2.0 * lam * dz
                w[:, b] = 2.0 * lam * (z + lam) * dz**2
            ofv = ofv + self._data_term(f, g)
            grad = grad + np.einsum("nm,nmk->nk", d1, jac)
            fisher = prior + np.einsum("nm,nmi,nmj->nij", w, jac, jac)
        bad = ~(np.isfinite(ofv) & np.isfinite(grad).all(axis=1)
                & np.isfinite(fisher).all(axis=(1, 2)))
        if bad.any():
            ofv = np.where(bad, np.inf, ofv)
            grad[bad] = 0.0
            fisher[bad] = prior
        return Derivatives(ofv, grad, fisher, r)

    def local_model(self, etas: FloatArray) -> tuple[FloatArray, Derivatives, FloatArray]:
        """`many`, `derivatives` and `hessians` at each row of etas, from one prediction call:
        the numbers of the three calls wherever a row's predictions do not depend on the other
        rows of the call (pk's shared closed form for batches in which every ka >= k can move
        the last bits when the stencil of one row straddles ka = k)."""
        etas = np.atleast_2d(np.asarray(etas, dtype=float))
        if not self.obs.n:
            return self.many(etas), self.derivatives(etas), self.hessians(etas)
        n = etas.shape[0]
        jac_pts = _jacobian_points(etas, JACOBIAN_STEP)
        hess_pts, h = _hessian_points(etas, HESSIAN_STEP)
        with np.errstate(all="ignore"):
            pred = np.asarray(self.predict(np.vstack([etas, jac_pts, hess_pts])), dtype=float)
        m = n + jac_pts.shape[0]
        return (self._ofv(etas, pred[:n]), self._derivatives(etas, pred[n:m], JACOBIAN_STEP),
                _hessians_from(self._ofv(hess_pts, pred[m:]).reshape(-1, 4, n), h))

    def __call__(self, eta: FloatArray) -> float:
        return float(self.many(np.asarray(eta, dtype=float)[None, :])[0])

    def value_and_grad(self, eta: FloatArray, step: float = 1e-6) -> tuple[float, FloatArray]:
        """OFV and its central-difference gradient in one vectorised prediction call."""
        eta = np.asarray(eta, dtype=float)
        k = eta.size
        h = step * np.maximum(1.0, np.abs(eta))
        batch = np.vstack([eta, eta + np.diag(h), eta - np.diag(h)])
        v = self.many(batch)
        grad = (v[1 : k + 1] - v[k + 1 :]) / (2.0 * h)
        if not np.all(np.isfinite(grad)):
            grad = np.nan_to_num(grad, nan=0.0, posinf=1e12, neginf=-1e12)
        return float(v[0]), grad

    def hessian(self, eta: FloatArray, step: float = HESSIAN_STEP) -> FloatArray:
        """Central-difference Hessian of the OFV at eta (one batched prediction call)."""
        return self.hessians(np.asarray(eta, dtype=float)[None, :], step)[0]

    def hessians(self, etas: FloatArray, step: float = HESSIAN_STEP) -> FloatArray:
        """Central-difference Hessians (n, k, k) of the OFV at each row, in one call."""
        etas = np.atleast_2d(np.asarray(etas, dtype=float))
        pts, h = _hessian_points(etas, step)
        return _hessians_from(self.many(pts).reshape(-1, 4, etas.shape[0]), h)


@functools.lru_cache(maxsize=8)
def _jacobian_shifts(k: int, step: float) -> FloatArray:
    """0, then +step and −step along each η: the central-difference stencil, (2k + 1, k)."""
    shifts = np.vstack([np.zeros(k), step * np.eye(k), -step * np.eye(k)])
    shifts.setflags(write=False)  # shared between calls
    return shifts


def _jacobian_points(etas: FloatArray, step: float) -> FloatArray:
    """The stencil of every row of etas, stencil point by stencil point: ((2k + 1) n, k)."""
    k = etas.shape[1]
    return (etas[None, :, :] + _jacobian_shifts(k, step)[:, None, :]).reshape(-1, k)


@functools.lru_cache(maxsize=8)
def _hessian_stencil(k: int) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """The four points (+,+), (+,−), (−,+), (−,−) of each pair of η indices i ≤ j of a
    central-difference Hessian: first index, second index and the sign of each step."""
    pairs = [(i, j) for i in range(k) for j in range(i, k)]
    out = (np.repeat([i for i, _ in pairs], 4), np.repeat([j for _, j in pairs], 4),
           np.tile([1.0, 1.0, -1.0, -1.0], len(pairs)), np.tile([1.0, -1.0, 1.0, -1.0], len(pairs)))
    for a in out:
        a.setflags(write=False)  # shared between calls
    return out


def _hessian_points(etas: FloatArray, step: float) -> tuple[FloatArray, FloatArray]:
    """The Hessian stencil of every row of etas, point by point ((4 pairs) n, k), and the
    steps h (k, n)."""
    n, k = etas.shape
    h = step * np.maximum(1.0, np.abs(etas)).T
    first, second, sign_first, sign_second = _hessian_stencil(k)
    # point r: η with η[first[r]] += sign_first[r] h, then η[second[r]] += sign_second[r] h
    pts = np.repeat(etas[None, :, :], first.size, axis=0)
    rows = np.arange(first.size)
    pts[rows, :, first] += sign_first[:, None] * h[first]
    pts[rows, :, second] += sign_second[:, None] * h[second]
    return pts.reshape(-1, k), h


def _hessians_from(v: FloatArray, h: FloatArray) -> FloatArray:
    """Hessians (n, k, k) from the OFV at the points of `_hessian_points`, (pairs, 4, n)."""
    k, n = h.shape
    first, second, _, _ = _hessian_stencil(k)
    pp, pm, mp, mm = v[:, 0], v[:, 1], v[:, 2], v[:, 3]  # (pairs, n)
    i, j = first[::4], second[::4]
    upper = (pp - pm - mp + mm) / (4.0 * h[i] * h[j])  # ∂²/∂ηi∂ηj
    # ∂²/∂ηj∂ηi from the same points (the stencil of (j, i) is that of (i, j) with the two
    # middle points swapped); the diagonal has only the one
    lower = np.where((i == j)[:, None], upper, (pp - mp - pm + mm) / (4.0 * h[j] * h[i]))
    sym = 0.5 * (upper + lower)
    hess = np.empty((n, k, k))
    hess[:, i, j] = sym.T
    hess[:, j, i] = sym.T
    return hess
