"""Population PK model specifications, loaded from `pk/models/*.yaml`.

A model is data: parameters with units, covariate equations (power,
exponential and additive-linear terms), between-subject and between-occasion
variability, residual error, citation and validity domain. This module turns
the YAML into an immutable `ModelSpec`; nothing here simulates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import numpy as np
import yaml

from cyclodose.errors import CaseError

DEFAULT_MODEL = "alghamdi2019"
PARAMETER_NAMES = ("cl_l_h", "v_l", "ka_per_h", "tlag_h", "mtt_h", "f")


@dataclass(frozen=True)
class Effect:
    """Multiplicative covariate effect: power (cov/ref)^exponent or exp(coefficient*cov)."""

    covariate: str
    form: Literal["power", "exponential"]
    reference: float = 1.0
    exponent: float = 0.0
    coefficient: float = 0.0


@dataclass(frozen=True)
class Term:
    """Additive term inside the typical value: + coefficient * cov / reference."""

    covariate: str
    reference: float
    coefficient: float


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    typical: float
    unit: str
    eta: str | None = None
    effects: tuple[Effect, ...] = ()
    terms: tuple[Term, ...] = ()

    @property
    def covariates(self) -> tuple[str, ...]:
        return tuple(e.covariate for e in self.effects) + tuple(t.covariate for t in self.terms)


@dataclass(frozen=True)
class Validity:
    population: str
    min_age_years: float
    min_crcl_ml_min: float
    dialysis: bool
    covariate_iqr: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class ModelSpec:
    name: str
    version: str
    title: str
    citation: str
    population: str
    structure: str
    absorption: Literal["first_order", "transit"]
    n_transit: int
    has_lag: bool
    parameters: dict[str, ParameterSpec]
    eta_names: tuple[str, ...]
    omega: np.ndarray  # covariance of the etas (variances on the diagonal)
    iov: dict[str, float]  # SDs of between-occasion etas; informational, forecasts use 0
    prop_sd: float
    add_sd_mg_l: float
    validity: Validity

    @property
    def covariates(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for p in self.parameters.values():
            for c in p.covariates:
                seen[c] = None
        return tuple(seen)

    @property
    def n_stages(self) -> int:
        """Chain stages before the absorption compartment: the dose compartment plus N transit
        compartments (Savic 2007), none for first-order absorption."""
        return self.n_transit + 1 if self.absorption == "transit" else 0

    @property
    def n_states(self) -> int:
        """Compartments: chain stages, absorption (depot), central."""
        return self.n_stages + 2

    def residual_sd(self, pred_mg_l: Any) -> np.ndarray:
        """SD of an observation around the prediction (combined proportional + additive)."""
        pred = np.asarray(pred_mg_l, dtype=float)
        return np.sqrt((self.prop_sd * pred) ** 2 + self.add_sd_mg_l**2)

    def summary(self) -> dict[str, Any]:
        """Plain-data description (for `cyclodose models --json` and reports)."""
        return {
            "name": self.name,
            "version": self.version,
            "title": self.title,
            "citation": self.citation,
            "population": self.population,
            "structure": self.structure,
            "absorption": self.absorption,
            "n_transit": self.n_transit,
            "parameters": {
                p.name: {
                    "typical": p.typical,
                    "unit": p.unit,
                    "eta": p.eta,
                    "covariates": list(p.covariates),
                }
                for p in self.parameters.values()
            },
            "iiv_sd": {n: float(np.sqrt(self.omega[i, i])) for i, n in enumerate(self.eta_names)},
            "iov_sd": dict(self.iov),
            "residual": {"proportional": self.prop_sd, "additive_mg_l": self.add_sd_mg_l},
            "validity": {
                "population": self.validity.population,
                "min_age_years": self.validity.min_age_years,
                "min_crcl_ml_min": self.validity.min_crcl_ml_min,
                "dialysis_in_data": self.validity.dialysis,
                "covariate_iqr": {k: list(v) for k, v in self.validity.covariate_iqr.items()},
            },
        }


def _parameter(name: str, raw: dict[str, Any]) -> ParameterSpec:
    effects = tuple(
        Effect(
            covariate=e["covariate"],
            form=e["form"],
            reference=float(e.get("reference", 1.0)),
            exponent=float(e.get("exponent", 0.0)),
            coefficient=float(e.get("coefficient", 0.0)),
        )
        for e in raw.get("effects", [])
    )
    for e in effects:
        if e.form not in ("power", "exponential"):
            raise ValueError(f"{name}: unknown covariate form {e.form!r}")
    terms = tuple(
        Term(t["covariate"], float(t["reference"]), float(t["coefficient"]))
        for t in raw.get("terms", [])
    )
    return ParameterSpec(
        name=name, typical=float(raw["typical"]), unit=str(raw["unit"]), eta=raw.get("eta"),
        effects=effects, terms=terms,
    )


def _build(raw: dict[str, Any]) -> ModelSpec:
    params = {n: _parameter(n, p) for n, p in raw["parameters"].items()}
    unknown = set(params) - set(PARAMETER_NAMES)
    if unknown:
        raise ValueError(f"{raw['name']}: unknown parameters {sorted(unknown)}")
    var = raw["variability"]
    scale = var.get("scale", "sd")
    iiv = {k: float(v) for k, v in var["iiv"].items()}
    eta_names = tuple(iiv)
    values = np.array([iiv[n] for n in eta_names])
    # Published as SDs of log-normal etas: the covariance holds their squares.
    omega = np.diag(values**2 if scale == "sd" else values)
    declared = {p.eta for p in params.values() if p.eta}
    if declared != set(eta_names):
        raise ValueError(f"{raw['name']}: etas {sorted(declared)} do not match IIV {eta_names}")
    st = raw["structure"]
    v = raw["validity"]
    return ModelSpec(
        name=raw["name"], version=str(raw["version"]), title=raw["title"],
        citation=" ".join(raw["citation"].split()), population=" ".join(raw["population"].split()),
        structure=" ".join(st["description"].split()), absorption=st["absorption"],
        n_transit=int(st["n_transit"]), has_lag=bool(st["has_lag"]), parameters=params,
        eta_names=eta_names, omega=omega, iov={k: float(x) for k, x in var.get("iov", {}).items()},
        prop_sd=float(raw["residual"]["proportional"]),
        add_sd_mg_l=float(raw["residual"]["additive_mg_l"]),
        validity=Validity(
            population=v["population"], min_age_years=float(v["min_age_years"]),
            min_crcl_ml_min=float(v["min_crcl_ml_min"]), dialysis=bool(v["dialysis"]),
            covariate_iqr={k: (float(a), float(b))
                           for k, (a, b) in v.get("covariate_iqr", {}).items()},
        ),
    )


@functools.cache
def _registry() -> dict[str, ModelSpec]:
    out: dict[str, ModelSpec] = {}
    for entry in sorted(resources.files("cyclodose.pk").joinpath("models").iterdir(),
                        key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            spec = _build(yaml.safe_load(entry.read_text(encoding="utf-8")))
            out[spec.name] = spec
    return out


def list_models() -> list[ModelSpec]:
    """All bundled models, default first."""
    reg = _registry()
    return sorted(reg.values(), key=lambda s: (s.name != DEFAULT_MODEL, s.name))


def get_model(name: str | None = None) -> ModelSpec:
    """The model called `name` (default alghamdi2019); unknown names are a CaseError."""
    key = (name or DEFAULT_MODEL).strip().lower()
    reg = _registry()
    if key not in reg:
        raise CaseError.single(
            "settings.model", f"unknown model {name!r}; valid: {', '.join(sorted(reg))}"
        )
    return reg[key]
