"""Stage 5: posterior uncertainty around the MAP.

Laplace: a Gaussian with covariance 2 H⁻¹, H the Hessian of the OFV at the MAP
(OFV = −2 log posterior). Sampling-importance-resampling (Rubin 1988; as used
by posologyr): draw from a heavy-tailed proposal built from the Laplace fits of
every distinct mode, weight each draw by posterior/proposal and resample
without replacement. SIR captures skewness and the second absorption mode that
the Laplace approximation misses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh
from scipy.special import gammaln

from cyclodose.tdm.errors import EstimationFailed
from cyclodose.tdm.objective import Objective
from cyclodose.tdm.optimise import MapFit
from cyclodose.tdm.preprocess import FloatArray
from cyclodose.tdm.quantiles import percentiles

PROPOSAL_DF = 5  # multivariate t degrees of freedom: heavier tails than the Laplace Gaussian
# proposal covariance = inflation × Laplace covariance; widened when the first pass has a
# low effective sample size
PROPOSAL_INFLATIONS = (1.5, 4.0, 12.0)
PRIOR_SHARE = 0.1  # share of proposals drawn from the prior (defensive mixture)
MIN_ESS = 200.0
MODE_OFV_WINDOW = 10.0  # modes within this OFV of the best join the proposal mixture
N_PROPOSALS = 10_000
N_DRAWS = 1_000


@dataclass(frozen=True)
class Laplace:
    mean: FloatArray
    cov: FloatArray
    positive_definite: bool

    @property
    def sd(self) -> FloatArray:
        return np.sqrt(np.diag(self.cov))


@dataclass(frozen=True)
class SirSample:
    draws: FloatArray  # (N_DRAWS, k) resampled η
    ess: float  # effective sample size of the importance weights
    n_proposals: int
    n_modes: int


def _psd_inverse(hess: FloatArray, floor: float) -> tuple[FloatArray, bool]:
    w, v = np.linalg.eigh(0.5 * (hess + hess.T))
    ok = bool(np.all(w > floor))
    w = np.maximum(w, floor)
    return np.asarray((v / w) @ v.T, dtype=float), ok


def laplace(obj: Objective, eta_map: FloatArray, hessian: FloatArray | None = None) -> Laplace:
    """Gaussian approximation at the MAP; falls back to the prior where curvature is missing.
    `hessian`: `obj.hessian(eta_map)` when already known (`MapFit.hessian`)."""
    if obj.obs.n == 0:
        return Laplace(mean=np.asarray(eta_map, dtype=float), cov=obj.prior.omega.copy(),
                       positive_definite=True)
    hess = obj.hessian(eta_map) if hessian is None else hessian
    # The prior alone gives curvature 2 Ω⁻¹; far less than that is numerical noise.
    floor = 1e-3 * 2.0 * float(np.min(np.linalg.eigvalsh(obj.prior.omega_inv)))
    inv, ok = _psd_inverse(hess, floor)
    return Laplace(mean=np.asarray(eta_map, dtype=float), cov=2.0 * inv, positive_definite=ok)


# The proposal densities, written out rather than built as scipy.stats frozen distributions
# (whose construction and checks cost more than the arithmetic on 10,000 proposals). They
# draw with the same generator calls in the same order and evaluate the same formulas, so
# the draws and densities are those of scipy.stats.multivariate_t / multivariate_normal.

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class _Scale:
    """A symmetric positive-definite scale matrix S, with W such that xᵀS⁻¹x = |xW|² and
    log det S, from one symmetric eigendecomposition S = U diag(s) Uᵀ (W = U diag(s)^−½)."""

    matrix: FloatArray
    whiten: FloatArray
    log_det: float

    @classmethod
    def of(cls, matrix: FloatArray) -> _Scale:
        s, u = eigh(matrix, lower=True)  # a ValueError on non-finite entries
        # eigenvalues below this are rounding noise: the matrix is singular (scipy's cut-off)
        tiny = 1e6 * np.finfo(float).eps * np.max(np.abs(s))
        if np.min(s) <= tiny:
            raise np.linalg.LinAlgError("the covariance is not positive definite")
        return cls(matrix=matrix, whiten=u * np.sqrt(1.0 / s), log_det=float(np.sum(np.log(s))))


@dataclass(frozen=True)
class _StudentT:
    """Multivariate t with location `loc`, scale matrix S and `df` degrees of freedom."""

    loc: FloatArray
    scale: _Scale
    df: int

    def draw(self, rng: np.random.Generator, n: int) -> FloatArray:
        # a normal draw divided by √(χ²_df / df) (Hofert 2013, eq. 3)
        chi = rng.chisquare(self.df, size=n) / self.df
        z = rng.multivariate_normal(np.zeros(self.loc.size), self.scale.matrix, size=n)
        return np.asarray(self.loc + z / np.sqrt(chi)[:, None], dtype=float)

    def log_density(self, x: FloatArray) -> FloatArray:
        k, df = self.loc.size, self.df
        maha = np.square(np.dot(x - self.loc, self.scale.whiten)).sum(axis=-1)
        half = 0.5 * (df + k)
        log_norm = (gammaln(half) - gammaln(0.5 * df) - k / 2.0 * np.log(df * np.pi)
                    - 0.5 * self.scale.log_det)
        return np.asarray(log_norm + -half * np.log(1 + (1.0 / df) * maha), dtype=float)


@dataclass(frozen=True)
class _Normal:
    """Multivariate normal with mean 0 and covariance S (the prior of η)."""

    cov: _Scale

    def draw(self, rng: np.random.Generator, n: int) -> FloatArray:
        k = self.cov.matrix.shape[0]
        return np.asarray(rng.multivariate_normal(np.zeros(k), self.cov.matrix, size=n),
                          dtype=float)

    def log_density(self, x: FloatArray) -> FloatArray:
        k = self.cov.matrix.shape[0]
        maha = np.sum(np.square(x @ self.cov.whiten), axis=-1)
        return np.asarray(-0.5 * (k * LOG_2PI + self.cov.log_det + maha), dtype=float)


def sir(obj: Objective, fit: MapFit, lap: Laplace, seed: int = 20260301,
        n_proposals: int = N_PROPOSALS, n_draws: int = N_DRAWS) -> SirSample:
    """Posterior draws of η by sampling-importance-resampling (seeded, reproducible)."""
    rng = np.random.default_rng(seed)
    k = obj.prior.k
    if obj.obs.n == 0:
        # The posterior is the prior: sample it directly.
        draws = rng.multivariate_normal(np.zeros(k), obj.prior.omega, size=n_draws)
        return SirSample(draws=draws, ess=float(n_draws), n_proposals=n_draws, n_modes=1)
    modes = [(lap.mean, lap.cov)]
    for opt in fit.optima[1:]:
        if opt.ofv - fit.ofv < MODE_OFV_WINDOW:
            modes.append((opt.eta, laplace(obj, opt.eta, opt.hessian).cov))
    prior = _Normal(_Scale.of(obj.prior.omega))
    best: SirSample | None = None
    for inflation in PROPOSAL_INFLATIONS:
        sample = _sir_once(obj, modes, prior, inflation, rng, n_proposals, n_draws)
        if best is None or sample.ess > best.ess:
            best = sample
        if sample.ess >= MIN_ESS:
            break
    assert best is not None
    return best


def _sir_once(obj: Objective, modes: list[tuple[FloatArray, FloatArray]], prior: _Normal,
              inflation: float, rng: np.random.Generator, n_proposals: int, n_draws: int
              ) -> SirSample:
    """One SIR pass. The proposal is a defensive mixture (Hesterberg 1995): multivariate t
    around each mode plus the prior itself, so that a posterior far from the Laplace
    approximation (e.g. only below-quantification levels) is still covered."""
    try:
        parts: list[_StudentT | _Normal] = [
            _StudentT(m, _Scale.of(inflation * c), PROPOSAL_DF) for m, c in modes]
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise EstimationFailed("the posterior around the best fit is not a usable "
                               f"distribution ({exc})") from exc
    parts.append(prior)
    mix = np.full(len(parts), (1.0 - PRIOR_SHARE) / (len(parts) - 1))
    mix[-1] = PRIOR_SHARE
    counts = rng.multinomial(n_proposals, mix)
    proposals = np.vstack([d.draw(rng, int(n)) for d, n in zip(parts, counts, strict=True)
                           if n > 0])
    log_q = logsumexp_columns(np.stack([d.log_density(proposals) for d in parts])
                              + np.log(mix)[:, None])
    log_p = -0.5 * obj.many(proposals)
    log_w = log_p - log_q
    log_w = np.where(np.isfinite(log_w), log_w, -np.inf)
    w = np.exp(log_w - np.max(log_w))
    w /= w.sum()
    ess = float(1.0 / np.sum(w**2))
    nonzero = int(np.count_nonzero(w))
    replace = nonzero < n_draws
    # Weighted selection without replacement picks heavy draws first: shuffle so that any
    # leading subset of the draws is a fair subsample.
    idx = rng.permutation(rng.choice(proposals.shape[0], size=n_draws, replace=replace, p=w))
    return SirSample(draws=proposals[idx], ess=ess, n_proposals=int(proposals.shape[0]),
                     n_modes=len(modes))


def logsumexp_columns(a: FloatArray) -> FloatArray:
    """`scipy.special.logsumexp(a, axis=0)` for a real 2-D array, with scipy's arithmetic
    (the maxima taken out of the sum, log1p of the rest): the same numbers, without the
    array-API machinery that costs several milliseconds on 10,000 proposals. Down the
    columns, so that every step is one vector operation over the proposals."""
    a = np.asarray(a, dtype=float)
    a_max = np.max(a, axis=0)
    top = a == a_max
    m = np.sum(top, axis=0, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.exp(np.where(top, -np.inf, a) - a_max)
        s = np.sum(e, axis=0)
        s = np.where(s == 0, s, s / m)
        out = np.log1p(s) + np.log(m) + a_max
        bad = ~np.isfinite(out)
        if np.any(bad):  # scipy's fallback where that is not finite: log(sum(exp(a)))
            out[bad] = np.log(np.sum(np.exp(a[:, bad]), axis=0))
    return np.asarray(out, dtype=float)


def interval(values: FloatArray, level: float = 0.90) -> tuple[float, float, float]:
    """(median, lower, upper) of the central `level` interval along axis 0."""
    lo, hi = 50.0 * (1.0 - level), 50.0 * (1.0 + level)
    q = np.percentile(values, [50.0, lo, hi], axis=0)
    return float(q[0]), float(q[1]), float(q[2])


def intervals(columns: FloatArray, level: float = 0.90) -> list[tuple[float, float, float]]:
    """`interval` of each column of a 2-D array (the same numbers: `percentiles` is
    `np.percentile`'s arithmetic), from one sort."""
    lo, hi = 50.0 * (1.0 - level), 50.0 * (1.0 + level)
    q = percentiles(columns, [50.0, lo, hi]).T.tolist()
    return [(med, low, high) for med, low, high in q]
