"""Individual PK parameters from a model, covariates and etas."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cyclodose.pk.covariates import Covariates, require
from cyclodose.pk.spec import ModelSpec, ParameterSpec


@dataclass(frozen=True, eq=False)
class Params:
    """Per-individual parameters, arrays of shape (n,). `mtt_h` is nan without transit."""

    cl_l_h: np.ndarray
    v_l: np.ndarray
    ka_per_h: np.ndarray
    tlag_h: np.ndarray
    mtt_h: np.ndarray
    f: np.ndarray
    n_stages: int = 0  # first-order stages before the absorption compartment (N + 1; 0 = none)

    @property
    def k_per_h(self) -> np.ndarray:
        return self.cl_l_h / self.v_l

    @property
    def ktr_per_h(self) -> np.ndarray:
        # Savic 2007: the dose compartment and N transit compartments make N + 1 stages,
        # each at ktr = (N + 1) / MTT, so their mean total time is MTT
        return self.n_stages / self.mtt_h

    @property
    def half_life_h(self) -> np.ndarray:
        return np.log(2.0) / self.k_per_h

    @property
    def size(self) -> int:
        return int(self.cl_l_h.shape[0])

    def take(self, index: Any) -> Params:
        return replace(self, cl_l_h=self.cl_l_h[index], v_l=self.v_l[index],
                       ka_per_h=self.ka_per_h[index], tlag_h=self.tlag_h[index],
                       mtt_h=self.mtt_h[index], f=self.f[index])


def as_eta(spec: ModelSpec, eta: Any, n: int = 1) -> np.ndarray:
    """Etas as an (n, n_eta) array; None means the typical individual."""
    if eta is None:
        return np.zeros((n, len(spec.eta_names)))
    e = np.asarray(eta, dtype=float)
    if e.ndim == 1:
        e = e[None, :]
    if e.ndim != 2 or e.shape[1] != len(spec.eta_names):
        raise ValueError(f"eta must have shape (n, {len(spec.eta_names)}) for {spec.name} "
                         f"({', '.join(spec.eta_names)}); got {np.shape(eta)}")
    return e


def _typical(p: ParameterSpec, cov: Covariates) -> np.ndarray:
    value = np.asarray(p.typical, dtype=float)
    for t in p.terms:
        value = value + t.coefficient * cov.value(t.covariate) / t.reference
    for e in p.effects:
        c = cov.value(e.covariate)
        if e.form == "power":
            value = value * (c / e.reference) ** e.exponent
        else:
            value = value * np.exp(e.coefficient * c)
    return np.atleast_1d(value)


def individual_parameters(spec: ModelSpec, covariates: Covariates, eta: Any = None) -> Params:
    """Parameters for each individual: typical value x covariate effects x exp(eta)."""
    require(spec, covariates)
    eta_arr = np.asarray(eta, dtype=float) if eta is not None else None
    n_cov = covariates.size
    e = as_eta(spec, eta_arr, n_cov)
    n = max(e.shape[0], n_cov)
    if e.shape[0] not in (1, n) or n_cov not in (1, n):
        raise ValueError(f"eta rows ({e.shape[0]}) and covariates ({n_cov}) do not broadcast")
    out: dict[str, np.ndarray] = {}
    for name in ("cl_l_h", "v_l", "ka_per_h", "tlag_h", "mtt_h", "f"):
        p = spec.parameters.get(name)
        if p is None:
            default = {"tlag_h": 0.0, "f": 1.0}.get(name, np.nan)
            out[name] = np.full(n, default)
            continue
        value = _typical(p, covariates)
        if p.eta is not None:
            value = value * np.exp(e[:, spec.eta_names.index(p.eta)])
        out[name] = np.broadcast_to(value, (n,)).astype(float, copy=True)
    return Params(n_stages=spec.n_stages, **out)
