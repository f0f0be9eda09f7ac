"""Levels from several occasions: between-occasion variability (IOV) as extra random effects.

An occasion is a sampling period: levels more than OCCASION_GAP_H apart start a new one.
Each occasion after the first begins at the last change of dose between the two periods
(a new amount or interval: the patient's pharmacokinetics are compared under each regimen),
or, without a change, at the dose that precedes its first level (the OCC convention: the
dosing interval that the samples describe). The caller may give the starts instead
(explicit occasion labels or boundary times). When the model
gives IOV on a parameter that has a between-subject η (Alghamdi 2019: CL, SD 0.190),
every occasion gets its own η_occ ~ N(0, IOV²) added to that η from the occasion's
start. The levels inform the sum; forecasts use the between-subject η alone (IOV = 0).
With one occasion IOV and IIV cannot be told apart and no IOV η is added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import block_diag

from cyclodose import pk
from cyclodose.pk.solution import Segment, concentration_mg_l
from cyclodose.tdm.preprocess import DoseHistory, FloatArray, Observations

OCCASION_GAP_H = 24.0


@dataclass(frozen=True)
class OccasionModel:
    """How the full η vector (IIV first, then IOV by occasion) maps onto the PK model."""

    n_iiv: int
    starts_h: tuple[float, ...]  # start of occasions 2..K (occasion 1 runs from -inf)
    targets: tuple[int, ...]  # IIV η indices that carry IOV
    iov_sd: tuple[float, ...]
    eta_names: tuple[str, ...]
    rule: str = ""

    @property
    def n_occasions(self) -> int:
        return len(self.starts_h) + 1 if self.targets else 1

    @property
    def k(self) -> int:
        return len(self.eta_names)

    def omega(self, omega_iiv: FloatArray) -> FloatArray:
        if not self.targets:
            return omega_iiv
        iov = np.diag(np.tile(np.square(self.iov_sd), self.n_occasions))
        return np.asarray(block_diag(omega_iiv, iov), dtype=float)

    def segment_etas(self, etas: FloatArray, occasion: int) -> FloatArray:
        """IIV η plus the IOV η of `occasion` (0-based), rows as in `etas`."""
        out = np.array(etas[:, : self.n_iiv], dtype=float)
        for j, target in enumerate(self.targets):
            out[:, target] += etas[:, self.n_iiv + occasion * len(self.targets) + j]
        return out


RULE_GAP = (f"levels more than {OCCASION_GAP_H:g} h apart start an occasion, at the last "
            "change of dose between them (else at the dose before the first level)")
RULE_GIVEN = "occasions as given (labels on the levels or boundary times)"


def _last_change_h(doses: DoseHistory, after_h: float, until_h: float) -> float | None:
    """The last dose in (after_h, until_h] whose amount or interval differs from the one
    before it."""
    t, a = doses.time_h, doses.amount_mg
    change = None
    for i in range(1, t.size):
        if not after_h < t[i] <= until_h:
            continue
        new_amount = not np.isclose(a[i], a[i - 1])
        new_gap = i >= 2 and abs((t[i] - t[i - 1]) - (t[i - 1] - t[i - 2])) > 3.0
        if new_amount or new_gap:
            change = float(t[i - 1] if new_gap and not new_amount else t[i])
    return change


def occasion_starts_h(obs: Observations, doses: DoseHistory) -> tuple[float, ...]:
    """Start times of occasions 2..K (empty for a single occasion)."""
    starts: list[float] = []
    t = np.sort(obs.time_h)
    for prev, cur in zip(t[:-1], t[1:], strict=True):
        if cur - prev > OCCASION_GAP_H:
            before = doses.time_h[doses.time_h <= cur]
            change = _last_change_h(doses, float(prev), float(cur))
            start = change if change is not None else (
                float(before.max()) if before.size else float(cur))
            # never start an occasion before the previous level (it belongs to the last one)
            starts.append(max(start, float(prev) + 1e-9))
    return tuple(starts)


def occasion_model(spec: pk.ModelSpec, obs: Observations, doses: DoseHistory,
                   starts_h: tuple[float, ...] | None = None) -> OccasionModel:
    """`starts_h`: the starts of occasions 2..K when the caller knows them."""
    starts = occasion_starts_h(obs, doses) if starts_h is None else tuple(sorted(starts_h))
    targets = tuple(i for i, n in enumerate(spec.eta_names) if n in spec.iov) if starts else ()
    sds = tuple(spec.iov[spec.eta_names[i]] for i in targets)
    names = list(spec.eta_names)
    for occ in range(len(starts) + 1 if targets else 0):
        names += [f"{spec.eta_names[i]}_occ{occ + 1}" for i in targets]
    return OccasionModel(n_iiv=len(spec.eta_names), starts_h=starts, targets=targets,
                         iov_sd=sds, eta_names=tuple(names),
                         rule=RULE_GAP if starts_h is None else RULE_GIVEN)


def predictor(spec: pk.ModelSpec, cov: pk.Covariates | pk.CovariateTimeline, occ: OccasionModel,
              doses: DoseHistory, times_h: FloatArray) -> Callable[[FloatArray], FloatArray]:
    """`concentrations` at fixed times as a function of the full η rows alone; without IOV
    the typical values are computed once (`pk.predictor`)."""
    if occ.targets:
        return lambda etas: concentrations(spec, cov, occ, etas, doses, times_h)
    bound = pk.predictor(spec, cov, doses.time_h, doses.amount_mg, times_h)
    return lambda etas: np.asarray(bound(np.atleast_2d(etas)[:, : occ.n_iiv]), dtype=float)


def concentrations(spec: pk.ModelSpec, cov: pk.Covariates | pk.CovariateTimeline,
                   occ: OccasionModel, etas: FloatArray, doses: DoseHistory,
                   times_h: FloatArray) -> FloatArray:
    """Concentrations (n, n_times) with occasion-specific parameters (full η rows)."""
    etas = np.atleast_2d(np.asarray(etas, dtype=float))
    if not occ.targets:
        return np.asarray(pk.predict(spec, cov, etas[:, : occ.n_iiv], doses.time_h,
                                     doses.amount_mg, times_h), dtype=float)
    cov_starts: tuple[float, ...] = (
        cov.start_h if isinstance(cov, pk.CovariateTimeline) else (-np.inf,))
    breaks = sorted(set(cov_starts) | set(occ.starts_h) | {-np.inf})
    segments = []
    for start in breaks:
        c: Any = cov.at(start) if isinstance(cov, pk.CovariateTimeline) else cov
        occasion = int(np.searchsorted(np.asarray(occ.starts_h), start, side="right"))
        params = pk.individual_parameters(spec, c, occ.segment_etas(etas, occasion))
        segments.append(Segment(float(start), params))
    return np.asarray(concentration_mg_l(segments, doses.time_h, doses.amount_mg,
                                         np.asarray(times_h, dtype=float)), dtype=float)
