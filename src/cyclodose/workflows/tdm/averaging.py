"""Model averaging for the TDM consult (`settings.model: auto`, `--model auto`).

Every bundled model that can describe the patient (its covariates are available) is fitted
to the levels; each gets the weight exp(−OFV/2) × prior (equal priors), OFV its MAP
objective (Uster et al., Clin Pharmacol Ther 2021;109:175; `cyclodose.tdm.averaging`).
Forecasts and the ranking use the weighted mixture of the models' posterior draws. A model
that extrapolates for this patient (outside its validity domain) keeps its weight and is
flagged; a model that cannot be used (a covariate missing, no estimate) is listed with the
reason and weight 0. Nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from cyclodose import pk
from cyclodose.errors import CaseError
from cyclodose.intake.case import Case
from cyclodose.tdm.averaging import allocate_draws, model_weights

AUTO_MODEL = "auto"
METHOD = ("weights ∝ exp(−OFV/2) × prior weight (equal priors), OFV = each model's MAP "
          "objective for these levels; forecasts and ranking from the weighted mixture of "
          "the models' posterior draws (Uster 2021, Clin Pharmacol Ther 109:175)")

class _Fit(Protocol):
    @property
    def ofv(self) -> float: ...


class _Posterior(Protocol):
    @property
    def fit(self) -> _Fit: ...

    @property
    def validity(self) -> list[str]: ...


P = TypeVar("P", bound=_Posterior)


def is_auto(name: str | None) -> bool:
    return name is not None and name.strip().lower() == AUTO_MODEL


def single_model(name: str | None) -> pk.ModelSpec:
    """The model of a use case that does not average (a priori dosing, simulation): `auto`
    means the default model there."""
    return pk.get_model(pk.DEFAULT_MODEL if is_auto(name) else name)


@dataclass(frozen=True)
class ModelWeight:
    name: str
    version: str
    citation: str
    weight: float  # 0 when the model could not be used
    ofv: float | None  # MAP objective for the levels (None: not fitted)
    prior_weight: float
    n_draws: int  # posterior draws of the mixture from this model
    extrapolation: list[str]  # why the patient lies outside the model's validity domain
    unavailable: str | None = None  # why the model could not be used


@dataclass(frozen=True)
class Averaging:
    weights: list[ModelWeight]  # highest weight first, then the unavailable ones
    method: str
    why: str
    warnings: list[str]

    @property
    def fitted(self) -> list[ModelWeight]:
        return [w for w in self.weights if w.unavailable is None]

    @property
    def label(self) -> str:
        return "model average: " + ", ".join(f"{w.name} v{w.version} (weight {w.weight:.2f})"
                                             for w in self.fitted)


def average(case: Case, fit: Callable[[pk.ModelSpec], P], n_draws: int
            ) -> tuple[Averaging, list[P]]:
    """Fit every bundled model (`fit(spec)` returns its posterior, with `.fit.ofv` and
    `.validity`), weight them and share the mixture's draws; posteriors highest weight first.
    A CaseError only when no model can be used (the default model's reasons)."""
    specs = pk.list_models()
    fitted: list[tuple[pk.ModelSpec, P]] = []
    unusable: list[tuple[pk.ModelSpec, str]] = []
    first_error: CaseError | None = None
    for spec in specs:
        try:
            fitted.append((spec, fit(spec)))
        except CaseError as exc:
            first_error = first_error or exc
            unusable.append((spec, "; ".join(f"{p.field}: {p.reason}" for p in exc.problems)))
    if not fitted:
        assert first_error is not None
        raise first_error
    ofvs = [float(post.fit.ofv) for _, post in fitted]
    prior = [1.0 / len(fitted)] * len(fitted)
    weights = model_weights(ofvs, prior)
    counts = allocate_draws([float(w) for w in weights], n_draws)
    order = sorted(range(len(fitted)), key=lambda i: -weights[i])
    rows = []
    warnings = []
    for i in order:
        spec, post = fitted[i]
        validity = list(post.validity)
        rows.append(ModelWeight(name=spec.name, version=spec.version, citation=spec.citation,
                                weight=float(weights[i]), ofv=ofvs[i], prior_weight=prior[i],
                                n_draws=counts[i], extrapolation=validity))
        if validity and i != order[0]:
            warnings.append(f"model {spec.name} extrapolates for this patient ("
                            + "; ".join(validity) + f"); it stays in the average with weight "
                            f"{weights[i]:.2f}: confirm with the next levels.")
    for spec, why in unusable:
        rows.append(ModelWeight(name=spec.name, version=spec.version, citation=spec.citation,
                                weight=0.0, ofv=None, prior_weight=0.0, n_draws=0,
                                extrapolation=[], unavailable=why))
        warnings.append(f"model {spec.name} is not part of the average: {why}.")
    best = rows[0]
    if len(fitted) == 1:
        why = (f"only {best.name} can be used for this patient, so it carries all the weight"
               + (f" ({unusable[0][0].name}: {unusable[0][1]})" if unusable else ""))
    elif case.levels:
        ratio = ", ".join(f"{r.name} OFV {r.ofv:.2f} → weight {r.weight:.2f}"
                          for r in rows if r.unavailable is None)
        why = (f"the levels fit {best.name} best ({ratio}); weights ∝ exp(−OFV/2), so an OFV "
               "lower by 2 units is e ≈ 2.7 times the weight")
    else:
        why = "no levels: every model keeps its prior weight"
    posts = [fitted[i][1] for i in order]
    return Averaging(weights=rows, method=METHOD, why=why, warnings=warnings), posts
