"""Regimens as the engine sees them: one dose pattern for everyone, a pattern per
weight band, or a weight-based dose rounded to a capsule step.

Each virtual patient gets one `DosePattern` from its covariates; patients with
the same pattern form a *group* (a band, or a dose level of a weight-based
regimen) that is simulated together and reported on its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cyclodose import pk
from cyclodose.errors import CaseError

FloatArray = NDArray[np.float64]
# the one reading of a multi-dose pattern: the amounts alternate dose by dose and the
# cycle fills one day ("250/500mg q12h" = 250 mg, then 500 mg 12 h later, every day)
CYCLE_H = 24.0


def parse_pattern(text: str, field: str = "regimen") -> pk.DosePattern:
    """A regimen text as a dose pattern; an alternating pattern must fill exactly 24 h.

    "250/500mg q24h" could mean 250 mg and 500 mg on alternate days or 250 mg
    morning / 500 mg evening; both readings are common, so it is refused.
    """
    pattern = pk.parse_regimen(text, field=field)
    if not pattern.is_uniform and not math.isclose(pattern.period_h, CYCLE_H):
        amounts = "/".join(f"{a:g}" for a in pattern.amounts_mg)
        per_day = round(CYCLE_H / len(pattern.amounts_mg), 6)
        raise CaseError.single(field, (
            f"{text.strip()!r} is ambiguous: the amounts alternate dose by dose, so this "
            f"cycle takes {pattern.period_h:g} h, not one day. For {amounts} mg within each "
            f"day write '{amounts}mg q{per_day:g}h'; alternate-day dosing is not supported"))
    return pattern


@dataclass(frozen=True)
class WeightBand:
    """Patients with min_kg <= weight < max_kg (None: unbounded) get `pattern`."""

    min_kg: float | None
    max_kg: float | None
    regimen: str
    pattern: pk.DosePattern

    @property
    def label(self) -> str:
        if self.min_kg is None and self.max_kg is None:
            return "all weights"
        if self.min_kg is None:
            return f"weight < {self.max_kg:g} kg"
        if self.max_kg is None:
            return f"weight >= {self.min_kg:g} kg"
        return f"{self.min_kg:g} <= weight < {self.max_kg:g} kg"

    def contains(self, weight_kg: FloatArray) -> NDArray[np.bool_]:
        inside = np.ones(weight_kg.shape, dtype=bool)
        if self.min_kg is not None:
            inside &= weight_kg >= self.min_kg
        if self.max_kg is not None:
            inside &= weight_kg < self.max_kg
        return inside


@dataclass(frozen=True)
class RegimenPlan:
    """One regimen of a run: exactly one of `pattern`, `bands`, or `mg_per_kg_day`."""

    name: str
    pattern: pk.DosePattern | None = None
    bands: tuple[WeightBand, ...] = ()
    mg_per_kg_day: float | None = None
    doses_per_day: int | None = None
    round_to_mg: float | None = None

    @property
    def kind(self) -> str:
        if self.pattern is not None:
            return "fixed"
        return "weight_bands" if self.bands else "mg_per_kg"

    @property
    def interval_h(self) -> float | None:
        if self.doses_per_day is not None:
            return 24.0 / self.doses_per_day
        return None

    def dose_per_administration_mg(self, weight_kg: FloatArray) -> FloatArray:
        """mg/kg/day × weight / doses per day, to the nearest multiple of round_to_mg
        (halves up), never below one step."""
        assert self.mg_per_kg_day and self.doses_per_day and self.round_to_mg
        step = self.round_to_mg
        raw = self.mg_per_kg_day * weight_kg / self.doses_per_day
        return np.maximum(step, np.floor(raw / step + 0.5) * step)

    def assign(self, covariates: dict[str, FloatArray], m: int
               ) -> list[tuple[float, pk.DosePattern, NDArray[np.intp] | None]]:
        """(group key, pattern, row indices or None for all rows) for m patients.

        The key is the band's index (weight bands) or the dose per administration
        in mg (weight-based); a fixed regimen is one group over all rows."""
        if self.pattern is not None:
            return [(0.0, self.pattern, None)]
        weight = covariates["weight_kg"]
        if self.bands:
            out: list[tuple[float, pk.DosePattern, NDArray[np.intp] | None]] = []
            covered = np.zeros(m, dtype=bool)
            for b, band in enumerate(self.bands):
                inside = band.contains(weight)
                covered |= inside
                idx = np.flatnonzero(inside)
                if idx.size:
                    out.append((float(b), band.pattern, idx))
            if not covered.all():
                w = float(weight[~covered][0])
                raise CaseError.single(f"regimens.{self.name}.bands",
                                       f"no band holds a patient of {w:g} kg")
            return out
        dose = self.dose_per_administration_mg(weight)
        assert self.interval_h is not None
        return [(float(d), pk.DosePattern.every(float(d), self.interval_h),
                 np.flatnonzero(dose == d)) for d in np.unique(dose)]

    def daily_dose_mg(self, key: float) -> float:
        """Daily dose of a group (its pattern's)."""
        if self.pattern is not None:
            return self.pattern.daily_dose_mg
        if self.bands:
            return self.bands[int(key)].pattern.daily_dose_mg
        assert self.doses_per_day is not None
        return key * self.doses_per_day

    def group_label(self, key: float) -> str:
        if self.bands:
            band = self.bands[int(key)]
            return f"{band.label}: {band.regimen}"
        if self.pattern is not None:
            return self.name
        return f"{key:g} mg q{self.interval_h:g}h"


def fixed(text: str, field: str = "regimen") -> RegimenPlan:
    """A plain regimen text ("250mg q12h") as a plan."""
    return RegimenPlan(name=str(text).strip(), pattern=parse_pattern(text, field))


def weight_bands(name: str, bands: Sequence[tuple[float | None, float | None, str]],
                 field: str = "regimens") -> RegimenPlan:
    """Bands (min_kg inclusive, max_kg exclusive, regimen text), in order, contiguous."""
    if not bands:
        raise CaseError.single(f"{field}.bands", "give at least one band")
    out: list[WeightBand] = []
    for i, (lo, hi, text) in enumerate(bands):
        where = f"{field}.bands[{i}]"
        for bound in (lo, hi):
            if bound is not None and not (math.isfinite(bound) and bound >= 0):
                raise CaseError.single(f"{where}.weight_kg", "bounds are kg >= 0 or null")
        if lo is not None and hi is not None and not lo < hi:
            raise CaseError.single(f"{where}.weight_kg", f"{lo:g} must be below {hi:g}")
        if i and out[-1].max_kg != lo:
            raise CaseError.single(f"{where}.weight_kg", (
                "bands must follow each other without gap or overlap: this band starts at "
                f"{'null' if lo is None else f'{lo:g}'} kg, the previous one ends at "
                f"{'null' if out[-1].max_kg is None else f'{out[-1].max_kg:g}'} kg"))
        if i and lo is None:
            raise CaseError.single(f"{where}.weight_kg", "only the first band may start at null")
        out.append(WeightBand(lo, hi, str(text).strip(), parse_pattern(text, f"{where}.regimen")))
    return RegimenPlan(name=name, bands=tuple(out))


def per_kg(name: str, mg_per_kg_day: float, doses_per_day: int, round_to_mg: float,
           field: str = "regimens") -> RegimenPlan:
    """mg/kg/day in doses_per_day equal doses, each rounded to round_to_mg."""
    if not (math.isfinite(mg_per_kg_day) and 0 < mg_per_kg_day <= 100):
        raise CaseError.single(f"{field}.mg_per_kg_day", "must be > 0 and <= 100 mg/kg/day")
    if doses_per_day not in (1, 2, 3, 4):
        raise CaseError.single(f"{field}.doses_per_day", "must be 1, 2, 3 or 4")
    if not (math.isfinite(round_to_mg) and 0 < round_to_mg <= 1000):
        raise CaseError.single(f"{field}.round_to_mg", "must be > 0 and <= 1000 mg")
    return RegimenPlan(name=name, mg_per_kg_day=float(mg_per_kg_day),
                       doses_per_day=int(doses_per_day), round_to_mg=float(round_to_mg))


def check_bands_cover(plan: RegimenPlan, weight_kg: tuple[float, float], field: str) -> None:
    """Refuse bands that leave out weights the population can hold (lo..hi kg)."""
    if not plan.bands:
        return
    lo, hi = weight_kg
    first, last = plan.bands[0].min_kg, plan.bands[-1].max_kg
    if (first is not None and lo < first) or (last is not None and hi >= last):
        def show(x: float | None, none: str) -> str:
            return none if x is None or math.isinf(x) else f"{x:g} kg"
        raise CaseError.single(f"{field}.bands", (
            f"the population's weights run from {show(lo, '0 kg')} to {show(hi, 'unbounded')}, "
            f"the bands cover {show(first, '0 kg')} to {show(last, 'unbounded')} (upper bound "
            "exclusive): extend the first or last band (null = unbounded)"))
