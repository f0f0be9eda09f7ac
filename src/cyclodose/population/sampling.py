"""Virtual patients: covariates and between-subject random effects (etas).

Reproducibility whatever the chunk size or backend: the population is cut into
fixed canonical blocks of BLOCK_SIZE individuals; block b draws from its own
random streams, derived from (seed, b) by numpy's SeedSequence, always for the
whole block. A chunk of any size is the concatenation of the block slices it
covers, so individual i gets the same numbers however the work is split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from cyclodose.errors import CaseError
from cyclodose.population.copula import correlated_uniforms, correlation_cholesky, inverse_cdf
from cyclodose.population.spec import PopulationSpec

FloatArray = NDArray[np.float64]
BLOCK_SIZE = 65_536
_COVARIATES, _ETAS, _ROWS, _IOV = 0, 1, 2, 3  # stream index within a block's SeedSequence


@dataclass(frozen=True)
class Sample:
    """Individuals [start, stop) of a population."""

    start: int
    covariates: dict[str, FloatArray]  # name -> (m,)
    eta: FloatArray  # (m, n_eta)
    kappa: FloatArray | None = None  # (m, n_iov) one occasion's between-occasion etas

    @property
    def size(self) -> int:
        return int(self.eta.shape[0])


def omega_factor(omega: FloatArray) -> FloatArray:
    """A matrix L with L Lᵀ = omega; omega may be singular (fixed or zeroed effects)."""
    omega = np.asarray(omega, dtype=np.float64)
    if omega.size == 0:
        return omega.reshape(0, 0)
    try:
        chol: FloatArray = np.linalg.cholesky(omega).astype(np.float64, copy=False)
        return chol
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(omega)
        if w.min() < -1e-12 * max(1.0, float(np.abs(w).max())):
            raise ValueError("the model's omega matrix is not positive semi-definite") from None
        return v * np.sqrt(np.clip(w, 0.0, None))


def normal_scores(column: FloatArray) -> FloatArray:
    """Φ⁻¹ of the mid-ranks (ties averaged) of a resampled column: its copula coordinate."""
    return np.asarray(ndtri((rankdata(column) - 0.5) / column.size), dtype=np.float64)


class _Conditional:
    """Parametric latent normals given the resampled rows' normal scores.

    The joint latent correlation is R = [[R_dd, R_dp], [R_pd, R_pp]] over the
    resampled columns d (R_dd: the data's own normal-score correlation) and the
    parametric covariates p (R_pp, R_pd: the spec's); then
    z_p = B z_d + L ε with B = R_pd R_dd⁻¹ and L Lᵀ = R_pp − B R_dp.
    """

    def __init__(self, spec: PopulationSpec, random_names: list[str]):
        assert spec.resampled is not None
        data = spec.resampled.columns
        linked = [c for c in spec.correlations if (c.a in data) != (c.b in data)]
        self.drawn = sorted({c.a if c.a in data else c.b for c in linked})
        self.scores = np.column_stack([normal_scores(np.asarray(data[d])) for d in self.drawn])
        if np.any(np.ptp(self.scores, axis=0) == 0):
            const = [d for d, s in zip(self.drawn, self.scores.T, strict=True) if np.ptp(s) == 0]
            raise CaseError.single("correlations", f"{const} do not vary in the CSV, so "
                                   "nothing can be correlated with them")
        r_dd = np.atleast_2d(np.corrcoef(self.scores, rowvar=False))
        r_pd = np.zeros((len(random_names), len(self.drawn)))
        for c in linked:
            p, d = (c.a, c.b) if c.b in data else (c.b, c.a)
            r_pd[random_names.index(p), self.drawn.index(d)] = c.rho
        own = [c for c in spec.correlations if c.a not in data and c.b not in data]
        r_pp_chol = correlation_cholesky(random_names, own)
        self.b = r_pd @ np.linalg.inv(r_dd)
        cond = r_pp_chol @ r_pp_chol.T - self.b @ r_pd.T
        try:
            self.chol: FloatArray = np.linalg.cholesky(cond).astype(np.float64)
        except np.linalg.LinAlgError:
            raise CaseError.single("correlations", "the correlations with resampled columns "
                                   "are inconsistent with the CSV's own (matrix not positive "
                                   "definite)") from None

    def uniforms(self, eps: FloatArray, rows: NDArray[np.int64]) -> FloatArray:
        return np.asarray(ndtr(self.scores[rows] @ self.b.T + eps @ self.chol.T))


class Sampler:
    """Draws any range of a spec's population; cheap to build and to pickle."""

    def __init__(self, spec: PopulationSpec, omega: FloatArray,
                 iov_sd: dict[str, float] | None = None):
        self.spec = spec
        self.n_eta = int(np.asarray(omega).shape[0])
        self.eta_factor = (omega_factor(omega) if spec.bsv
                           else np.zeros((self.n_eta, self.n_eta)))
        self.random_names = [k for k, d in spec.covariates.items() if d.dist != "constant"]
        data = spec.resampled.columns if spec.resampled is not None else {}
        self.conditional = None
        if any((c.a in data) != (c.b in data) for c in spec.correlations):
            self.conditional = _Conditional(spec, self.random_names)
            self.chol: FloatArray = self.conditional.chol
        else:
            self.chol = correlation_cholesky(self.random_names, spec.correlations)
        # one occasion's between-occasion etas (SDs), drawn only when the spec asks for them
        self.iov_sd = dict(iov_sd or {}) if spec.iov else {}

    def _streams(self, block: int) -> list[np.random.Generator]:
        seq = np.random.SeedSequence(entropy=self.spec.seed, spawn_key=(block,))
        # spawn(4) begins with the same three children as spawn(3): streams never move
        return [np.random.Generator(np.random.PCG64(s)) for s in seq.spawn(4)]

    def _block(self, block: int) -> tuple[dict[str, FloatArray], FloatArray, FloatArray | None]:
        m = min(BLOCK_SIZE, self.spec.n - block * BLOCK_SIZE)
        streams = self._streams(block)
        cov: dict[str, FloatArray] = {}
        data = self.spec.resampled
        rows = streams[_ROWS].integers(0, data.n_rows, size=m) if data is not None else None
        if self.random_names:
            eps = streams[_COVARIATES].standard_normal((m, len(self.random_names)))
            if self.conditional is not None:
                assert rows is not None
                u = self.conditional.uniforms(eps, rows)
            else:
                u = correlated_uniforms(eps, self.chol)
            for j, name in enumerate(self.random_names):
                cov[name] = inverse_cdf(self.spec.covariates[name], u[:, j])
        for name, dist in self.spec.covariates.items():
            if dist.dist == "constant":
                cov[name] = inverse_cdf(dist, np.zeros(m))
        if data is not None:
            for name, column in data.columns.items():
                cov[name] = np.asarray(column)[rows]
        eta = streams[_ETAS].standard_normal((m, self.n_eta)) @ self.eta_factor.T
        kappa = None
        if self.iov_sd:
            sd = np.array(list(self.iov_sd.values()))
            kappa = streams[_IOV].standard_normal((m, sd.size)) * sd
        return cov, eta, kappa

    def sample(self, start: int, stop: int) -> Sample:
        """Individuals [start, stop), identical to the same rows of any other split."""
        if not 0 <= start < stop <= self.spec.n:
            raise ValueError(f"bad range [{start}, {stop}) for n={self.spec.n}")
        covs: list[dict[str, FloatArray]] = []
        etas: list[FloatArray] = []
        kappas: list[FloatArray] = []
        for block in range(start // BLOCK_SIZE, (stop - 1) // BLOCK_SIZE + 1):
            cov, eta, kappa = self._block(block)
            lo = max(start - block * BLOCK_SIZE, 0)
            hi = min(stop - block * BLOCK_SIZE, eta.shape[0])
            covs.append({k: v[lo:hi] for k, v in cov.items()})
            etas.append(eta[lo:hi])
            if kappa is not None:
                kappas.append(kappa[lo:hi])
        names = self.spec.covariate_names
        merged = {k: np.concatenate([c[k] for c in covs]) for k in names}
        return Sample(start=start, covariates=merged, eta=np.concatenate(etas, axis=0),
                      kappa=np.concatenate(kappas, axis=0) if kappas else None)


def chunk_ranges(n: int, chunk_size: int) -> list[tuple[int, int]]:
    """[start, stop) ranges of at most chunk_size individuals covering 0..n."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    return [(s, min(s + chunk_size, n)) for s in range(0, n, chunk_size)]
