"""The use cases, one function each; every interface (CLI, service, pages, FHIR, CDS Hooks)
calls these and renders what they return:

- `assess(case) -> Assessment`: screening, guideline regimen, monitoring, the model-informed
  regimen and (with levels) the Bayesian TDM section.
- `tdm_consult(case, *, model=None) -> TdmConsult`: the Bayesian estimate from levels and the
  recommended regimen (a typed result, or `unavailable` with the reasons).
- `apriori(case, *, model=None) -> AprioriResult`: ranked model-informed regimens, no levels.
- `simulate(case, *, model=None, days=None) -> Simulation`: the concentration-time curve.
- `pta(spec, regimens, mics_mg_l, targets_pct, **options) -> PtaResult`: target attainment
  over a virtual population.

Names load on first use, so that importing one use case does not load the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_PUBLIC = {
    "Assessment": "cyclodose.workflows.assessment",
    "assess": "cyclodose.workflows.assessment",
    "TdmConsult": "cyclodose.workflows.tdm.consult",
    "tdm_consult": "cyclodose.workflows.tdm.consult",
    "AprioriResult": "cyclodose.workflows.model_informed",
    "apriori": "cyclodose.workflows.model_informed",
    "Simulation": "cyclodose.workflows.simulation",
    "simulate": "cyclodose.workflows.simulation",
    "PtaResult": "cyclodose.workflows.population",
    "pta": "cyclodose.workflows.population",
}

if TYPE_CHECKING:
    from cyclodose.workflows.assessment import Assessment, assess
    from cyclodose.workflows.model_informed import AprioriResult, apriori
    from cyclodose.workflows.population import PtaResult, pta
    from cyclodose.workflows.simulation import Simulation, simulate
    from cyclodose.workflows.tdm.consult import TdmConsult, tdm_consult


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'cyclodose.workflows' has no attribute {name!r}")


__all__ = ["AprioriResult", "Assessment", "PtaResult", "Simulation", "TdmConsult",
           "apriori", "assess", "pta", "simulate", "tdm_consult"]
