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

from cyclodose.population.copula import correlated_uniforms, correlation_cholesky, inverse_cdf
from cyclodose.population.spec import PopulationSpec

FloatArray = NDArray[np.float64]
BLOCK_SIZE = 65_536
_COVARIATES, _ETAS, _ROWS = 0, 1, 2  # stream index within a block's SeedSequence


@dataclass(frozen=True)
class Sample:
    """Individuals [start, stop) of a population."""

    start: int
    covariates: dict[str, FloatArray]  # name -> (m,)
    eta: FloatArray  # (m, n_eta)

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


class Sampler:
    """Draws any range of a spec's population; cheap to build and to pickle."""

    def __init__(self, spec: PopulationSpec, omega: FloatArray):
        self.spec = spec
        self.n_eta = int(np.asarray(omega).shape[0])
        self.eta_factor = (omega_factor(omega) if spec.bsv
                           else np.zeros((self.n_eta, self.n_eta)))
        self.random_names = [k for k, d in spec.covariates.items() if d.dist != "constant"]
        self.chol = correlation_cholesky(self.random_names, spec.correlations)

    def _streams(self, block: int) -> list[np.random.Generator]:
        seq = np.random.SeedSequence(entropy=self.spec.seed, spawn_key=(block,))
        return [np.random.Generator(np.random.PCG64(s)) for s in seq.spawn(3)]

    def _block(self, block: int) -> tuple[dict[str, FloatArray], FloatArray]:
        m = min(BLOCK_SIZE, self.spec.n - block * BLOCK_SIZE)
        streams = self._streams(block)
        cov: dict[str, FloatArray] = {}
        if self.random_names:
            eps = streams[_COVARIATES].standard_normal((m, len(self.random_names)))
            u = correlated_uniforms(eps, self.chol)
            for j, name in enumerate(self.random_names):
                cov[name] = inverse_cdf(self.spec.covariates[name], u[:, j])
        for name, dist in self.spec.covariates.items():
            if dist.dist == "constant":
                cov[name] = inverse_cdf(dist, np.zeros(m))
        data = self.spec.resampled
        if data is not None:
            rows = streams[_ROWS].integers(0, data.n_rows, size=m)
            for name, column in data.columns.items():
                cov[name] = np.asarray(column)[rows]
        eta = streams[_ETAS].standard_normal((m, self.n_eta)) @ self.eta_factor.T
        return cov, eta

    def sample(self, start: int, stop: int) -> Sample:
        """Individuals [start, stop), identical to the same rows of any other split."""
        if not 0 <= start < stop <= self.spec.n:
            raise ValueError(f"bad range [{start}, {stop}) for n={self.spec.n}")
        covs: list[dict[str, FloatArray]] = []
        etas: list[FloatArray] = []
        for block in range(start // BLOCK_SIZE, (stop - 1) // BLOCK_SIZE + 1):
            cov, eta = self._block(block)
            lo = max(start - block * BLOCK_SIZE, 0)
            hi = min(stop - block * BLOCK_SIZE, eta.shape[0])
            covs.append({k: v[lo:hi] for k, v in cov.items()})
            etas.append(eta[lo:hi])
        names = self.spec.covariate_names
        merged = {k: np.concatenate([c[k] for c in covs]) for k in names}
        return Sample(start=start, covariates=merged, eta=np.concatenate(etas, axis=0))


def chunk_ranges(n: int, chunk_size: int) -> list[tuple[int, int]]:
    """[start, stop) ranges of at most chunk_size individuals covering 0..n."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    return [(s, min(s + chunk_size, n)) for s in range(0, n, chunk_size)]
