"""Stage 3: the MAP objective (Kang et al., Korean J Physiol Pharmacol 2012;16:97).

    OFV(η) = Σ_quantified [(y − f)² / g² + ln g²]
           + Σ_BLQ −2 ln Φ((LLOQ − f) / g)          (Beal's M3 for censored samples)
           + ηᵀ Ω⁻¹ η

f = individual prediction, g = residual SD at f. OFV is −2 × the log posterior
up to a constant, so exp(−OFV/2) is the unnormalised posterior density used by
the importance sampler. Everything here is vectorised over rows of η.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr

from cyclodose.tdm.preprocess import FloatArray, Observations

# Smallest residual SD (mg/L): with a purely proportional error a prediction of
# exactly zero (a sample inside the lag time) would otherwise divide by zero.
RESIDUAL_SD_FLOOR_MG_L = 1e-4

PredictFn = Callable[[FloatArray], FloatArray]  # etas (n, k) -> conc (n, n_obs) mg/L
ResidualSdFn = Callable[[FloatArray], FloatArray]  # conc mg/L -> SD mg/L, elementwise


@dataclass(frozen=True)
class Prior:
    """Multivariate normal prior on η with covariance Ω (variances, not SDs)."""

    omega: FloatArray

    @property
    def k(self) -> int:
        return int(self.omega.shape[0])

    @property
    def omega_inv(self) -> FloatArray:
        return np.asarray(np.linalg.inv(self.omega), dtype=float)

    @property
    def sd(self) -> FloatArray:
        return np.sqrt(np.diag(self.omega))

    def penalty(self, etas: FloatArray) -> FloatArray:
        """ηᵀ Ω⁻¹ η for each row."""
        e = np.atleast_2d(etas)
        return np.asarray(np.einsum("ni,ij,nj->n", e, self.omega_inv, e), dtype=float)


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
        g = np.maximum(self.residual_sd(pred), RESIDUAL_SD_FLOOR_MG_L)
        total = np.zeros(pred.shape[0])
        q = self.obs.quantified
        if q.any():
            y = self.obs.conc_mg_l[q]
            total += np.sum((y - pred[:, q]) ** 2 / g[:, q] ** 2 + np.log(g[:, q] ** 2), axis=1)
        b = self.obs.blq
        if b.any():
            z = (self.obs.lloq_mg_l[b] - pred[:, b]) / g[:, b]
            total += np.sum(-2.0 * log_ndtr(z), axis=1)
        return total

    def many(self, etas: FloatArray) -> FloatArray:
        """OFV for each row of etas (n, k)."""
        etas = np.atleast_2d(np.asarray(etas, dtype=float))
        ofv = self.prior.penalty(etas)
        if self.obs.n:
            # Far in the tails a prediction can overflow to nan/inf; such η get OFV = inf.
            with np.errstate(all="ignore"):
                ofv = ofv + self.data_term(self.predict(etas))
        return np.where(np.isfinite(ofv), ofv, np.inf)

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

    def hessian(self, eta: FloatArray, step: float = 1e-3) -> FloatArray:
        """Central-difference Hessian of the OFV at eta (one batched prediction call)."""
        eta = np.asarray(eta, dtype=float)
        k = eta.size
        h = step * np.maximum(1.0, np.abs(eta))
        pts = [eta]
        for i in range(k):
            for j in range(k):
                for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    p = eta.copy()
                    p[i] += si * h[i]
                    p[j] += sj * h[j]
                    pts.append(p)
        v = self.many(np.vstack(pts))
        hess = np.empty((k, k))
        idx = 1
        for i in range(k):
            for j in range(k):
                pp, pm, mp, mm = v[idx : idx + 4]
                hess[i, j] = (pp - pm - mp + mm) / (4.0 * h[i] * h[j])
                idx += 4
        return 0.5 * (hess + hess.T)
