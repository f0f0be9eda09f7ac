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


@dataclass(frozen=True, eq=False)
class ParameterMap:
    """Typical values for some covariates, computed once, and the η each parameter takes:
    `at(eta)` is then only exp(η) times the typical value (what a MAP search or a
    sampler calls thousands of times)."""

    typical: dict[str, np.ndarray]  # (n_cov,) per parameter name
    eta_index: dict[str, int]  # parameter name -> column of η
    n_eta: int
    n_stages: int

    @property
    def size(self) -> int:
        return int(next(iter(self.typical.values())).shape[0])

    def at(self, eta: np.ndarray) -> Params:
        e = np.asarray(eta, dtype=float)
        n = max(e.shape[0], self.size)
        if e.shape[0] not in (1, n) or self.size not in (1, n):
            raise ValueError(f"eta rows ({e.shape[0]}) and covariates ({self.size}) do not "
                             "broadcast")
        out: dict[str, np.ndarray] = {}
        for name, value in self.typical.items():
            j = self.eta_index.get(name)
            v = value * np.exp(e[:, j]) if j is not None else value
            # a new float array of the right length is already the copy
            fresh = v is not value and v.shape == (n,) and v.dtype == np.float64
            out[name] = v if fresh else np.broadcast_to(v, (n,)).astype(float, copy=True)
        return Params(n_stages=self.n_stages, **out)


def parameter_map(spec: ModelSpec, covariates: Covariates) -> ParameterMap:
    """Typical values of every parameter for these covariates (checked to be present)."""
    require(spec, covariates)
    typical: dict[str, np.ndarray] = {}
    index: dict[str, int] = {}
    for name in ("cl_l_h", "v_l", "ka_per_h", "tlag_h", "mtt_h", "f"):
        p = spec.parameters.get(name)
        if p is None:
            default = {"tlag_h": 0.0, "f": 1.0}.get(name, np.nan)
            typical[name] = np.full(covariates.size, default)
            continue
        typical[name] = np.broadcast_to(_typical(p, covariates), (covariates.size,)).astype(float)
        if p.eta is not None:
            index[name] = spec.eta_names.index(p.eta)
    return ParameterMap(typical=typical, eta_index=index, n_eta=len(spec.eta_names),
                        n_stages=spec.n_stages)


def individual_parameters(spec: ModelSpec, covariates: Covariates, eta: Any = None) -> Params:
    """Parameters for each individual: typical value x covariate effects x exp(eta)."""
    pmap = parameter_map(spec, covariates)
    eta_arr = np.asarray(eta, dtype=float) if eta is not None else None
    return pmap.at(as_eta(spec, eta_arr, pmap.size))
