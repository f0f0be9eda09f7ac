"""The dose policy's bounds (knowledge/data/dose_policy.yaml): capsule rounding and the
paediatric mg/kg maximum, each in one place with its sources."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict

from cyclodose.limits import MAX_DAILY_DOSE_MG_PER_KG


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CapsuleRounding(_Frozen):
    max_deviation_pct: float
    sources: tuple[str, ...]


class Paediatric(_Frozen):
    max_sources: tuple[str, ...]
    who_mg_kg_day: tuple[float, float]
    who_sources: tuple[str, ...]

    @property
    def max_mg_kg_day(self) -> float:
        """The one paediatric mg/kg maximum (limits), AAP 10 mg/kg twice daily / WHO 20."""
        return MAX_DAILY_DOSE_MG_PER_KG


class DosePolicy(_Frozen):
    capsule_rounding: CapsuleRounding
    paediatric: Paediatric


@cache
def dose_policy() -> DosePolicy:
    path = resources.files("cyclodose").joinpath("knowledge/data/dose_policy.yaml")
    return DosePolicy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
