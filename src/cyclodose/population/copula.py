"""Covariate marginals and the Gaussian copula that joins them.

Correlated standard normals z = L·ε (L L' = R, the latent correlation matrix)
become uniforms u = Φ(z) and then covariates x = F⁻¹(u) through each
(truncated) marginal's inverse CDF. Truncation is exact: u is mapped onto
[F(min), F(max)], so no draw is clipped or rejected and the copula's rank
correlation survives unchanged. A window that lies wholly in one tail is
mapped in log space on the lower side (the upper tail mirrored onto it),
where the normal CDF keeps its relative precision however far out the window
is: Φ(z) itself rounds to 1 beyond about 8 SD above the mean.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import log_ndtr, ndtr, ndtri, ndtri_exp

from cyclodose.errors import CaseError
from cyclodose.population.spec import Correlation, CovariateDist

FloatArray = NDArray[np.float64]


def correlation_cholesky(names: list[str], correlations: list[Correlation]) -> FloatArray:
    """Lower Cholesky factor of the latent correlation matrix over `names`."""
    k = len(names)
    r = np.eye(k)
    index = {name: i for i, name in enumerate(names)}
    for c in correlations:
        i, j = index[c.a], index[c.b]
        r[i, j] = r[j, i] = c.rho
    try:
        chol: FloatArray = np.linalg.cholesky(r).astype(np.float64, copy=False)
        return chol
    except np.linalg.LinAlgError:
        raise CaseError.single(
            "correlations", "the correlations are inconsistent (matrix not positive definite)"
        ) from None


def _truncated_normal_ppf(u: FloatArray, lo: float, hi: float) -> FloatArray:
    """Standard normal inverse CDF restricted to [lo, hi] (in z units), accurate in both tails."""
    if lo > 0:  # wholly in the upper tail: the mirror image of a lower-tail window
        return -_truncated_normal_ppf(1.0 - u, -hi, -lo)
    if hi < 0:  # wholly in the lower tail: F = exp(log F), interpolated in log space
        log_lo = float(log_ndtr(lo)) if np.isfinite(lo) else -np.inf
        log_hi = float(log_ndtr(hi))
        with np.errstate(divide="ignore"):
            log_p = np.logaddexp(np.log1p(-u) + log_lo, np.log(u) + log_hi)
        return np.clip(ndtri_exp(log_p), lo, hi)
    # the window holds the mean: F(lo) <= 0.5 <= F(hi), both well represented
    f_lo = float(ndtr(lo)) if np.isfinite(lo) else 0.0
    f_hi = float(ndtr(hi)) if np.isfinite(hi) else 1.0
    z: FloatArray = ndtri(f_lo + u * (f_hi - f_lo))
    return np.clip(z, lo, hi)


def inverse_cdf(dist: CovariateDist, u: FloatArray) -> FloatArray:
    """Covariate values for uniforms u under one (truncated) marginal."""
    lo = -np.inf if dist.min is None else dist.min
    hi = np.inf if dist.max is None else dist.max
    if dist.dist == "constant":
        assert dist.value is not None
        return np.full(u.shape, dist.value)
    if dist.dist == "bernoulli":
        assert dist.p is not None
        return (u < dist.p).astype(np.float64)
    if dist.dist == "uniform":
        assert dist.min is not None and dist.max is not None
        return dist.min + u * (dist.max - dist.min)
    assert dist.mean is not None and dist.sd is not None
    if dist.dist == "normal":
        z = _truncated_normal_ppf(u, (lo - dist.mean) / dist.sd, (hi - dist.mean) / dist.sd)
        return np.clip(dist.mean + dist.sd * z, lo, hi)
    # log-normal with the variable's own mean and sd: σ² = ln(1 + CV²), μ = ln(mean) − σ²/2
    sigma = float(np.sqrt(np.log1p((dist.sd / dist.mean) ** 2)))
    mu = float(np.log(dist.mean)) - sigma**2 / 2.0
    log_lo = -np.inf if lo <= 0 else float(np.log(lo))
    log_hi = float(np.log(hi)) if np.isfinite(hi) else np.inf
    z = _truncated_normal_ppf(u, (log_lo - mu) / sigma, (log_hi - mu) / sigma)
    return np.clip(np.exp(mu + sigma * z), lo, hi)


def correlated_uniforms(eps: FloatArray, chol: FloatArray) -> FloatArray:
    """Uniforms with a Gaussian copula from independent standard normals eps (m × k)."""
    return ndtr(eps @ chol.T)
