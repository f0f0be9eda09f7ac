"""`pta(spec, regimens, ...)`: probability of target attainment over a virtual population.

The PTA use case: files and options → engine inputs → results with provenance.

Reads the regimens file (weight bands, mg/kg regimens) and the MIC distribution
file into engine inputs, runs `population.run_population`, and assembles the
provenance a methods section needs (versions, seed, spec, variability, the
exact definition of every index). Research output for regimen design, not a
dosing recommendation.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from cyclodose import pk
from cyclodose.errors import CaseError, Problem
from cyclodose.intake.documents import read_document
from cyclodose.limits import MAX_DAILY_DOSE_MG_PER_KG
from cyclodose.population import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_TARGETS_PCT,
    PTA_BREAKPOINT_FRACTION,
    PopulationRun,
    PopulationSpec,
    RegimenPlan,
    check_mic_frequencies,
    per_kg,
    run_population,
    weight_bands,
)
from cyclodose.population import regimens as regimens_mod
from cyclodose.population.backends import Backend, Progress
from cyclodose.population.pta import RegimenResult
from cyclodose.population.spec import problems_from
from cyclodose.version import __version__


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


# ---- regimens file -----------------------------------------------------------------


class BandEntry(_Strict):
    weight_kg: tuple[float | None, float | None] = Field(
        description="[min, max) kg: lower bound inclusive, upper exclusive, null = unbounded")
    regimen: str


class RegimenEntry(_Strict):
    """One regimen: `regimen` text, weight `bands`, or `mg_per_kg_day` (with
    `doses_per_day` and `round_to_mg`)."""

    name: str | None = None
    regimen: str | None = None
    bands: list[BandEntry] | None = None
    mg_per_kg_day: float | None = None
    doses_per_day: int | None = None
    round_to_mg: float | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> RegimenEntry:
        kinds = [k for k in ("regimen", "bands", "mg_per_kg_day") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of regimen, bands or mg_per_kg_day")
        weight_fields = ("doses_per_day", "round_to_mg")
        if kinds[0] == "mg_per_kg_day":
            missing = [f for f in weight_fields if getattr(self, f) is None]
            if missing:
                raise ValueError(f"mg_per_kg_day needs {' and '.join(missing)}")
        elif any(getattr(self, f) is not None for f in weight_fields):
            raise ValueError("doses_per_day and round_to_mg go with mg_per_kg_day")
        return self


class RegimensFile(_Strict):
    regimens: list[RegimenEntry] = Field(min_length=1)


def _plan(entry: RegimenEntry, field: str) -> RegimenPlan:
    if entry.regimen is not None:
        plan = regimens_mod.fixed(entry.regimen, f"{field}.regimen")
        return plan if entry.name is None else RegimenPlan(name=entry.name, pattern=plan.pattern)
    if entry.bands is not None:
        name = entry.name or "; ".join(f"{b.weight_kg}: {b.regimen}" for b in entry.bands)
        return weight_bands(name, [(b.weight_kg[0], b.weight_kg[1], b.regimen)
                                   for b in entry.bands], field=field)
    assert entry.mg_per_kg_day and entry.doses_per_day and entry.round_to_mg
    name = entry.name or (f"{entry.mg_per_kg_day:g} mg/kg/day in {entry.doses_per_day} doses, "
                          f"rounded to {entry.round_to_mg:g} mg")
    return per_kg(name, entry.mg_per_kg_day, entry.doses_per_day, entry.round_to_mg,
                  field=field)


def parse_regimens(data: Any) -> tuple[RegimenPlan, ...]:
    """A regimens document (see docs/population.md) as engine plans."""
    try:
        doc = RegimensFile.model_validate(data)
    except ValidationError as exc:
        raise CaseError([Problem(p.field if p.field.startswith("regimens") else
                                 f"regimens.{p.field}", p.reason)
                         for p in problems_from(exc)]) from None
    return tuple(_plan(e, f"regimens[{i}]") for i, e in enumerate(doc.regimens))


def load_regimens(path: str | Path) -> tuple[RegimenPlan, ...]:
    return parse_regimens(read_document(Path(path), "regimens"))


# ---- MIC distribution file ---------------------------------------------------------


class MicDistributionFile(_Strict):
    """A published MIC distribution: `counts` (isolates per MIC, normalised here) or
    `frequencies` (fractions summing to 1), with its `source`."""

    source: str = Field(min_length=1)
    counts: dict[float, float] | None = None
    frequencies: dict[float, float] | None = None

    @model_validator(mode="after")
    def _one(self) -> MicDistributionFile:
        if (self.counts is None) == (self.frequencies is None):
            raise ValueError("give counts or frequencies (not both)")
        values = self.counts if self.counts is not None else self.frequencies
        assert values is not None
        if not values:
            raise ValueError("the distribution is empty")
        if any(not math.isfinite(v) or v < 0 for v in values.values()):
            raise ValueError("counts and frequencies must be >= 0")
        if any(not math.isfinite(m) or m <= 0 for m in values):
            raise ValueError("MICs must be > 0 mg/L")
        if self.counts is not None and sum(self.counts.values()) <= 0:
            raise ValueError("the counts sum to 0")
        return self


class MicDistribution(BaseModel):
    model_config = ConfigDict(frozen=True)

    frequencies: dict[float, float]
    source: str | None = None
    file: str | None = None
    sha256: str | None = None
    given_as: Literal["counts", "frequencies"] = "frequencies"


def load_mic_distribution(path: str | Path) -> MicDistribution:
    p = Path(path)
    data = read_document(p, "mic_dist_file")
    try:
        doc = MicDistributionFile.model_validate(data)
    except ValidationError as exc:
        raise CaseError([Problem(f"mic_dist_file.{p_.field}".replace(".population", ""),
                                 p_.reason) for p_ in problems_from(exc)]) from None
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    if doc.counts is not None:
        total = math.fsum(doc.counts.values())
        freqs = {m: c / total for m, c in doc.counts.items()}
        return MicDistribution(frequencies=freqs, source=doc.source, file=str(p), sha256=digest,
                               given_as="counts")
    assert doc.frequencies is not None
    check_mic_frequencies(doc.frequencies, "mic_dist_file.frequencies")
    return MicDistribution(frequencies=doc.frequencies, source=doc.source, file=str(p),
                           sha256=digest)


# ---- provenance --------------------------------------------------------------------


TMIC_DEFINITION = (
    "%T>MIC: percentage of time with the total plasma concentration above the MIC (no "
    "protein-binding correction: cycloserine is hardly bound), individual predictions "
    "without residual error, "
    "{window}; target attained when %T>MIC >= target")
STEADY_STATE_WINDOW = ("at steady state over each patient's dosing period (the 24 h cycle of "
                       "an alternating pattern such as 250/500 mg q12h; for a uniform pattern "
                       "the period and 24 h give the same percentage)")
DAY_WINDOW = ("over day {day} of treatment, the 24 h from {start:g} h to {end:g} h after the "
              "first dose, dosing from t = 0 without a loading dose or prior drug")


class Provenance(BaseModel):
    """Everything needed to reproduce and cite a run."""

    model_config = ConfigDict(frozen=True)

    cyclodose_version: str
    model: dict[str, str]
    seed: int
    n: int
    population_spec: dict[str, Any]
    population_file: dict[str, str] | None
    resample: dict[str, Any] | None
    between_subject_variability: dict[str, Any]
    between_occasion_variability: dict[str, Any]
    residual_error: str
    exposure: str
    tmic_definition: str
    tmic_method: str
    auc24_mic_definition: str
    cmax_mic_definition: str
    regimens: list[dict[str, Any]]
    targets: dict[str, list[float]]
    mics_mg_l: list[float]
    mic_distribution: dict[str, Any] | None
    breakpoint_rule: str
    intervals: str
    licensed_maximum: str


def _regimen_provenance(plan: RegimenPlan) -> dict[str, Any]:
    def pattern(p: pk.DosePattern) -> dict[str, Any]:
        gaps = np.diff(np.append(p.offsets_h, p.offsets_h[0] + p.period_h))
        return {"doses_mg": list(p.amounts_mg), "dosing_interval_h": float(gaps[0])
                if np.allclose(gaps, gaps[0]) else [float(g) for g in gaps],
                "period_h": p.period_h, "daily_dose_mg": p.daily_dose_mg}

    out: dict[str, Any] = {"name": plan.name, "kind": plan.kind}
    if plan.pattern is not None:
        out.update(pattern(plan.pattern))
    elif plan.bands:
        out["bands"] = [{"weight_kg": [b.min_kg, b.max_kg], "rule": "min inclusive, "
                         "max exclusive", "regimen": b.regimen, **pattern(b.pattern)}
                        for b in plan.bands]
    else:
        out.update({"mg_per_kg_day": plan.mg_per_kg_day, "doses_per_day": plan.doses_per_day,
                    "dosing_interval_h": plan.interval_h, "round_to_mg": plan.round_to_mg,
                    "rounding": "each dose = mg/kg/day x weight / doses per day, to the "
                                "nearest multiple of round_to_mg (halves up), at least one "
                                "multiple"})
    return out


def provenance(spec: PopulationSpec, plans: Sequence[RegimenPlan], *, mics: Sequence[float],
               targets: Sequence[float], auc_targets: Sequence[float],
               cmax_targets: Sequence[float], grid_h: float | None, day: int | None,
               mic_distribution: MicDistribution | None,
               spec_file: Path | None = None) -> Provenance:
    model = pk.get_model(spec.model)
    iiv = {name: float(np.sqrt(model.omega[i, i])) for i, name in enumerate(model.eta_names)}
    data = spec.resampled
    window = (STEADY_STATE_WINDOW if day is None
              else DAY_WINDOW.format(day=day, start=24.0 * (day - 1), end=24.0 * day))
    return Provenance(
        cyclodose_version=__version__,
        model={"name": model.name, "version": model.version, "citation": model.citation},
        seed=spec.seed, n=spec.n,
        population_spec=spec.model_dump(mode="json", exclude_none=True),
        population_file=None if spec_file is None else {
            "path": str(spec_file), "sha256": hashlib.sha256(spec_file.read_bytes()).hexdigest()},
        resample=None if data is None else {
            "path": data.source, "sha256": data.sha256, "rows_used": data.n_rows,
            "rows_dropped_for_missing_values": len(data.dropped_lines),
            "dropped_lines": list(data.dropped_lines),
            "ignored_columns": list(data.ignored_columns),
            "sex_rule": "sex M/male -> male = 1, F/female -> male = 0" if data.sex_column
            else None,
            "sampling": "whole rows drawn with replacement"},
        between_subject_variability={
            "used": spec.bsv, "sd_log_scale": iiv if spec.bsv else {},
            "note": "log-normal etas with the model's omega" if spec.bsv
            else "every patient has the typical parameters (etas 0)"},
        between_occasion_variability={
            "used": spec.iov, "sd_log_scale": dict(model.iov) if spec.iov else {},
            "available_in_model": dict(model.iov),
            "scheme": ("one occasion per patient: the exposures are those of an occasion "
                       "whose parameters are the patient's times exp(kappa), kappa ~ N(0, "
                       "sd^2), held over the simulated interval") if spec.iov
            else "not sampled (parameters the same on every occasion)"},
        residual_error="not added: individual predictions",
        exposure="steady state" if day is None else f"day {day} of treatment",
        tmic_definition=TMIC_DEFINITION.format(window=window),
        tmic_method=("exact threshold crossings of the closed-form curve" if grid_h is None
                     else f"share of a {grid_h:g} h grid (t = 0, {grid_h:g}, ... h) above "
                     "the MIC"),
        auc24_mic_definition=("AUC0-24 (mg·h/L) divided by the MIC (mg/L), "
                              + ("at steady state" if day is None else f"over day {day}")
                              + "; attained when >= target"),
        cmax_mic_definition=("highest concentration divided by the MIC, "
                             + ("at steady state" if day is None else f"on day {day}")
                             + "; attained when >= target"),
        regimens=[_regimen_provenance(p) for p in plans],
        targets={"tmic_pct": sorted(set(targets)), "auc24_mic": sorted(set(auc_targets)),
                 "cmax_mic": sorted(set(cmax_targets))},
        mics_mg_l=sorted(set(mics) | set(mic_distribution.frequencies if mic_distribution
                                          else ())),
        mic_distribution=None if mic_distribution is None else {
            "frequencies": {f"{m:g}": f for m, f in sorted(mic_distribution.frequencies.items())},
            "given_as": mic_distribution.given_as, "source": mic_distribution.source,
            "file": mic_distribution.file, "sha256": mic_distribution.sha256},
        breakpoint_rule=(f"highest MIC tested with PTA >= {PTA_BREAKPOINT_FRACTION:.0%} at it "
                         "and every lower MIC (Alghamdi 2019); stable when the 95 % interval "
                         "at the breakpoint lies at or above 90 % and the one at the next "
                         "MIC below"),
        intervals=("95 % Wilson score intervals with n = the individuals of the population or "
                   "group (Wilson 1927); for a CFR the same interval is conservative"),
        licensed_maximum=(f"1 g/day (monograph, US label); weight-based maximum "
                          f"{MAX_DAILY_DOSE_MG_PER_KG:g} mg/kg/day (WHO paediatric 15-20 "
                          "mg/kg/day; ATS/CDC/IDSA 2003 adults 10-15 mg/kg/day)"),
    )


# ---- typed results ------------------------------------------------------------------

Interval = tuple[float, float]


class PtaAtMic(BaseModel):
    model_config = ConfigDict(frozen=True)

    mic: float
    pta: float
    ci95: Interval


class BreakpointCertainty(BaseModel):
    """The PTA interval at the breakpoint MIC and at the next MIC tested."""

    model_config = ConfigDict(frozen=True)

    breakpoint: float | None
    at_breakpoint: PtaAtMic | None = None
    next_mic: PtaAtMic | None = None
    stable: bool = Field(description="the first interval wholly >= 90 %, the second < 90 %")


class IndexPta(BaseModel):
    """PTA of one exposure index (AUC24/MIC or Cmax/MIC) over MICs and targets."""

    model_config = ConfigDict(frozen=True)

    pta: dict[str, dict[str, float]] = Field(description="MIC (mg/L) → target → fraction")
    pta_ci95: dict[str, dict[str, Interval]]
    breakpoint: dict[str, float | None]
    breakpoint_certainty: dict[str, BreakpointCertainty]
    cfr: dict[str, float] | None
    cfr_ci95: dict[str, Interval] | None


class Quantiles(BaseModel):
    model_config = ConfigDict(frozen=True)

    min: float
    p05: float
    median: float
    p95: float
    max: float


class DoseDistribution(BaseModel):
    model_config = ConfigDict(frozen=True)

    mg: Quantiles = Field(description="daily dose, mg")
    mg_per_kg: Quantiles = Field(description="daily dose, mg/kg/day")
    share_by_daily_dose_mg: dict[str, float]
    p_above_1g_per_day: float
    p_above_1g_per_day_ci95: Interval
    p_above_max_mg_per_kg_day: float
    p_above_max_mg_per_kg_day_ci95: Interval
    max_mg_per_kg_day: float


class GroupPta(IndexPta):
    """A band of a weight-band regimen, or a dose level of a weight-based one."""

    group: str
    n: int
    daily_dose_mg: float
    weight_kg_range: Interval
    cmax_median: float
    auc24_median: float
    p_cmax_above_30: float
    p_cmax_above_30_ci95: Interval
    p_cmax_above_35: float
    p_cmax_above_35_ci95: Interval
    auc24_mic: IndexPta | None = None
    cmax_mic: IndexPta | None = None


class RegimenPta(BaseModel):
    """One regimen over the population (individual predictions, no residual error)."""

    model_config = ConfigDict(frozen=True)

    regimen: str
    daily_dose_mg: float = Field(description="mg/day; the median for banded or mg/kg regimens")
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
    kind: Literal["fixed", "weight_bands", "mg_per_kg"]
    above_weight_based_maximum: bool
    flagged: bool = Field(description="above 1 g/day or the weight-based maximum for some "
                          "patients (see flags)")
    flags: list[str] = Field(description="why the regimen is marked, with the shares")
    dose_summary: str = Field(description="the daily dose distribution in one sentence")
    p_cmax_above_30_ci95: Interval
    p_cmax_above_35_ci95: Interval
    pta_ci95: dict[str, dict[str, Interval]]
    breakpoint_certainty: dict[str, BreakpointCertainty]
    cfr_ci95: dict[str, Interval] | None
    daily_dose: DoseDistribution
    auc24_mic: IndexPta | None = None
    cmax_mic: IndexPta | None = None
    groups: list[GroupPta] | None = None


class PtaResult(BaseModel):
    """A PTA run with its provenance: what `cyclodose pta --json` prints. The engine's
    per-individual arrays (for plots and the export) are in `run` / `results`."""

    model_config = ConfigDict(frozen=True)

    provenance: Provenance
    warnings: list[str]
    notes: list[str]
    regimens: list[RegimenPta]
    _run: PopulationRun | None = PrivateAttr(default=None)

    @property
    def run(self) -> PopulationRun:
        assert self._run is not None
        return self._run

    @property
    def results(self) -> list[RegimenResult]:
        """The per-individual arrays (for the plots)."""
        return self.run.results


# ---- the use case ------------------------------------------------------------------


def _dose_summary(res: RegimenResult) -> str:
    dd = res.dose_distribution()
    mg, kg = dd["mg"], dd["mg_per_kg"]
    return (f"{res.regimen}: daily dose median {mg['median']:g} mg (5-95 % {mg['p05']:g}-"
            f"{mg['p95']:g} mg), {kg['median']:.1f} mg/kg/day (5-95 % {kg['p05']:.1f}-"
            f"{kg['p95']:.1f}, max {kg['max']:.1f})")


def _flags(res: RegimenResult) -> list[str]:
    """Why a regimen is marked: above 1 g/day or above the weight-based maximum."""
    dd = res.dose_distribution()
    out = []
    if res.above_licensed_maximum and res.kind == "fixed":
        out.append(f"{res.regimen}: {res.daily_dose_mg:g} mg/day is above the licensed maximum "
                   "of 1 g/day (monograph; US label); shown for research only")
    elif res.above_licensed_maximum:
        out.append(f"{res.regimen}: {dd['p_above_1g_per_day']:.1%} of patients get more than "
                   f"the licensed maximum of 1 g/day (up to {dd['mg']['max']:g} mg/day; "
                   "monograph, US label); shown for research only")
    if res.above_weight_based_maximum:
        out.append(f"{res.regimen}: {dd['p_above_max_mg_per_kg_day']:.1%} of patients get more "
                   f"than {dd['max_mg_per_kg_day']:g} mg/kg/day (up to "
                   f"{dd['mg_per_kg']['max']:.1f} mg/kg/day; WHO paediatric maximum); shown "
                   "for research only")
    return out


def _warnings(run: PopulationRun) -> list[str]:
    out = list(run.warnings)
    for res in run.results:
        for key, cert in res.details_json()["breakpoint_certainty"].items():
            if not cert["stable"]:
                out.append(_unstable(res.regimen, key, cert, res.n))
    return out


def _unstable(regimen: str, target: str, cert: dict[str, Any], n: int) -> str:
    parts = []
    for key in ("at_breakpoint", "next_mic"):
        if key in cert:
            c = cert[key]
            parts.append(f"PTA at {c['mic']:g} mg/L {c['pta']:.1%} (95 % CI "
                         f"{c['ci95'][0]:.1%}-{c['ci95'][1]:.1%})")
    bp = cert["breakpoint"]
    shown = "none" if bp is None else f"{bp:g} mg/L"
    return (f"{regimen}: the breakpoint for %T>MIC {target} % ({shown}) is not stable at "
            f"n = {n:,}: {'; '.join(parts)} - an interval reaches across 90 %; increase n")


def pta(spec: PopulationSpec, regimens: Sequence[str | RegimenPlan],
        mics_mg_l: Sequence[float], targets_pct: Sequence[float] = DEFAULT_TARGETS_PCT, *,
        auc_targets: Sequence[float] = (), cmax_targets: Sequence[float] = (),
        grid_h: float | None = None, day: int | None = None,
        mic_distribution: MicDistribution | None = None,
        mic_frequencies: dict[float, float] | None = None, export: bool = False,
        backend: Backend = "numpy", scheduler: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE, progress: Progress | None = None,
        workers: int = 1, spec_file: Path | None = None) -> PtaResult:
    """Research output for regimen design, not a dosing recommendation: regimens above the
    licensed 1 g/day (or 20 mg/kg/day) are computed and marked."""
    if mic_distribution is None and mic_frequencies is not None:
        mic_distribution = MicDistribution(frequencies=mic_frequencies)
    plans = tuple(r if isinstance(r, RegimenPlan) else regimens_mod.fixed(r) for r in regimens)
    run = run_population(spec, plans, mics_mg_l, targets_pct, grid_h=grid_h, backend=backend,
                         scheduler=scheduler, chunk_size=chunk_size,
                         mic_frequencies=None if mic_distribution is None
                         else dict(mic_distribution.frequencies),
                         progress=progress, workers=workers, auc_targets=auc_targets,
                         cmax_targets=cmax_targets, day=day, export=export)
    prov = provenance(spec, plans, mics=mics_mg_l, targets=targets_pct,
                      auc_targets=auc_targets, cmax_targets=cmax_targets, grid_h=grid_h,
                      day=day, mic_distribution=mic_distribution, spec_file=spec_file)
    out = PtaResult(provenance=prov, warnings=_warnings(run), notes=run.notes,
                    regimens=[RegimenPta.model_validate({
                        **r.to_json(), **r.details_json(), "flags": _flags(r),
                        "dose_summary": _dose_summary(r)}) for r in run.results])
    out._run = run
    return out
