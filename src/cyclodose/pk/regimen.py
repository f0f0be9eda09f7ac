"""Dose histories and repeating dose patterns.

`DosePattern` is a pattern that repeats every `period_h` (250 mg q12h, or
250 mg morning / 500 mg evening = period 24 h, offsets 0 and 12 h).
`parse_regimen` reads the short text form used on the command line and in the
population work: "250mg q12h", "250/500mg q12h", "500 mg q24h", "250mg bid".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cyclodose.errors import CaseError

_PER_DAY = {"qd": 24.0, "od": 24.0, "daily": 24.0, "bid": 12.0, "tid": 8.0}


@dataclass(frozen=True)
class DosePattern:
    """Doses at offsets_h (hours from the period start) with amounts_mg, every period_h."""

    period_h: float
    offsets_h: tuple[float, ...]
    amounts_mg: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.period_h <= 0:
            raise ValueError("period_h must be positive")
        if len(self.offsets_h) != len(self.amounts_mg) or not self.offsets_h:
            raise ValueError("offsets_h and amounts_mg must have the same, non-zero length")
        if any(not 0 <= o < self.period_h for o in self.offsets_h):
            raise ValueError("offsets_h must lie in [0, period_h)")
        if any(a < 0 for a in self.amounts_mg):
            raise ValueError("amounts_mg must not be negative")
        if list(self.offsets_h) != sorted(self.offsets_h):
            raise ValueError("offsets_h must be sorted")

    @classmethod
    def every(cls, amount_mg: float, interval_h: float) -> DosePattern:
        return cls(float(interval_h), (0.0,), (float(amount_mg),))

    @classmethod
    def cycle(cls, amounts_mg: Sequence[float], interval_h: float) -> DosePattern:
        """Doses every interval_h whose amounts cycle through amounts_mg."""
        k = len(amounts_mg)
        return cls(interval_h * k, tuple(i * interval_h for i in range(k)),
                   tuple(float(a) for a in amounts_mg))

    @property
    def daily_dose_mg(self) -> float:
        return sum(self.amounts_mg) * 24.0 / self.period_h

    @property
    def doses_per_day(self) -> float:
        return len(self.amounts_mg) * 24.0 / self.period_h

    @property
    def is_uniform(self) -> bool:
        """One dose per period (a plain q-interval regimen)."""
        return len(self.amounts_mg) == 1

    @property
    def label(self) -> str:
        amounts = "/".join(f"{a:g}" for a in self.amounts_mg)
        if len(self.offsets_h) > 1:
            gaps = np.diff(np.append(self.offsets_h, self.offsets_h[0] + self.period_h))
            if np.allclose(gaps, gaps[0]):
                return f"{amounts} mg q{gaps[0]:g}h"
            offs = ",".join(f"{o:g}" for o in self.offsets_h)
            return f"{amounts} mg at {offs} h every {self.period_h:g} h"
        return f"{amounts} mg q{self.period_h:g}h"

    def doses(self, n_periods: int, start_h: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Explicit dose times and amounts for n_periods repetitions."""
        base = np.arange(n_periods)[:, None] * self.period_h + np.asarray(self.offsets_h)[None, :]
        amounts = np.broadcast_to(np.asarray(self.amounts_mg), base.shape)
        return start_h + base.ravel(), amounts.ravel().astype(float)


_RE = re.compile(
    r"^\s*(?P<amounts>\d+(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)*)\s*(?P<unit>mg|g)?\s*"
    r"(?:(?:q|every\s*)(?P<interval>\d+(?:\.\d+)?)\s*h(?:ours?)?|(?P<word>qd|od|daily|bid|tid))\s*$",
    re.IGNORECASE,
)


def parse_regimen(text: str, field: str = "regimen") -> DosePattern:
    """Parse "250mg q12h", "250/500mg q12h" (amounts cycle), "1 g q24h", "250 mg bid"."""
    m = _RE.match(text or "")
    if not m:
        raise CaseError.single(field, f"cannot read regimen {text!r}; expected e.g. "
                                      "'250mg q12h' or '250/500mg q12h'")
    scale = 1000.0 if (m["unit"] or "mg").lower() == "g" else 1.0
    amounts = [float(a) * scale for a in m["amounts"].split("/")]
    interval = float(m["interval"]) if m["interval"] else _PER_DAY[m["word"].lower()]
    if interval <= 0 or interval > 168:
        raise CaseError.single(field, f"interval {interval:g} h must be within 0-168 h")
    if any(a <= 0 for a in amounts):
        raise CaseError.single(field, "dose amounts must be positive")
    return DosePattern.cycle(amounts, interval)


def repeat_doses(amount_mg: float | Sequence[float], interval_h: float, *, start_h: float = 0.0,
                 count: int | None = None, end_h: float | None = None,
                 missed_h: Sequence[float] = (), extra: Sequence[tuple[float, float]] = ()
                 ) -> tuple[np.ndarray, np.ndarray]:
    """A dose history: repeating doses (count or end), minus missed ones, plus extra doses."""
    amounts = [float(amount_mg)] if isinstance(amount_mg, int | float) else [
        float(x) for x in amount_mg]
    if count is not None and end_h is None:
        n = count
    elif end_h is not None and count is None:
        n = int(np.floor((end_h - start_h) / interval_h + 1e-9)) + 1
    else:
        raise ValueError("give exactly one of count or end_h")
    times = start_h + interval_h * np.arange(max(n, 0))
    amt = np.array([amounts[i % len(amounts)] for i in range(len(times))])
    keep = ~np.isin(np.round(times, 9), np.round(np.asarray(missed_h, dtype=float), 9))
    times, amt = times[keep], amt[keep]
    if extra:
        ex = np.asarray(extra, dtype=float)
        times = np.concatenate([times, ex[:, 0]])
        amt = np.concatenate([amt, ex[:, 1]])
    order = np.argsort(times, kind="stable")
    return times[order], amt[order]
