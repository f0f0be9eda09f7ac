"""`pta(spec, regimens, ...)`: probability of target attainment over a virtual population.

Research output for regimen design, not a dosing recommendation: regimens above the licensed
1 g/day are computed and marked (`above_licensed_maximum`)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from cyclodose.population import DEFAULT_CHUNK_SIZE, PopulationSpec, run_pta
from cyclodose.population.backends import Backend, Progress
from cyclodose.population.pta import DEFAULT_TARGETS_PCT, RegimenResult


class RegimenPta(BaseModel):
    """One regimen over the population (steady state, individual predictions)."""

    model_config = ConfigDict(frozen=True)

    regimen: str
    daily_dose_mg: float
    above_licensed_maximum: bool
    n: int
    model: str
    tmic_method: str
    cmax_mean: float
    cmax_median: float
    cmax_p05: float
    cmax_p95: float
    cmin_median: float
    auc24_mean: float
    auc24_median: float
    p_cmax_above_30: float
    p_cmax_above_35: float
    pta: dict[str, dict[str, float]] = Field(description="MIC (mg/L) → %T>MIC target → "
                                             "fraction of individuals attaining it")
    breakpoint: dict[str, float | None] = Field(description="target → highest MIC with PTA "
                                                "≥ 90 % (mg/L)")
    cfr: dict[str, float] | None = Field(description="target → cumulative fraction of response")
    units: dict[str, str]


class PtaResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    regimens: list[RegimenPta]
    _results: list[RegimenResult] = PrivateAttr(default_factory=list)

    @property
    def results(self) -> list[RegimenResult]:
        """The per-individual arrays (for the plots)."""
        return self._results


def pta(spec: PopulationSpec, regimens: Sequence[str], mics_mg_l: Sequence[float],
        targets_pct: Sequence[float] = DEFAULT_TARGETS_PCT, *, grid_h: float | None = None,
        backend: Backend = "numpy", scheduler: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        mic_frequencies: dict[float, float] | None = None, progress: Progress | None = None,
        workers: int = 1) -> PtaResult:
    results = run_pta(spec, regimens, mics_mg_l, targets_pct, grid_h=grid_h, backend=backend,
                      scheduler=scheduler, chunk_size=chunk_size,
                      mic_frequencies=mic_frequencies, progress=progress, workers=workers)
    out = PtaResult(regimens=[RegimenPta.model_validate(r.to_json()) for r in results])
    out._results = results
    return out
