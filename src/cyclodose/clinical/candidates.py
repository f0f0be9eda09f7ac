"""Candidate maintenance regimens from the available capsule strengths.

Doses per administration are whole-capsule combinations in 125 mg steps; 1, 2
or 3 administrations a day (q24h, q12h, q8h), plus asymmetric twice-daily
splits (a smaller morning and a larger evening dose, e.g. 250/500 mg; at steady
state the order does not change the peak, so only one order is listed). No
candidate exceeds 1 g/day (`case.MAX_DAILY_DOSE_MG`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from cyclodose.limits import MAX_DAILY_DOSE_MG
from cyclodose.pk.regimen import DosePattern

STEP_MG = 125.0
MAX_CAPSULES_PER_DOSE = 8


def fewest_capsules(dose_mg: float, strengths_mg: Sequence[float]) -> dict[float, int] | None:
    """Fewest whole capsules summing exactly to dose_mg ({strength: count}), or None."""
    strengths = sorted({float(s) for s in strengths_mg if s > 0}, reverse=True)
    best: dict[float, int] | None = None

    def search(i: int, left: float, used: dict[float, int]) -> None:
        nonlocal best
        count = sum(used.values())
        if abs(left) < 1e-9:
            if best is None or count < sum(best.values()):
                best = dict(used)
            return
        if i == len(strengths) or count >= MAX_CAPSULES_PER_DOSE:
            return
        s = strengths[i]
        for k in range(min(int(left // s + 1e-9), MAX_CAPSULES_PER_DOSE - count), -1, -1):
            search(i + 1, left - k * s, {**used, s: k} if k else used)

    search(0, float(dose_mg), {})
    return best


@cache
def whole_capsule_doses_mg(strengths_mg: tuple[float, ...]) -> tuple[float, ...]:
    """Every dose that whole capsules can make, up to MAX_CAPSULES_PER_DOSE per dose."""
    amounts = {0.0}
    for n in range(1, MAX_CAPSULES_PER_DOSE + 1):
        for combo in itertools.combinations_with_replacement(strengths_mg, n):
            amounts.add(float(sum(combo)))
    return tuple(sorted(amounts))


def capsule_text(capsules: dict[float, int]) -> str:
    return " + ".join(f"{n} × {s:g} mg" for s, n in sorted(capsules.items(), reverse=True))


def achievable_doses_mg(strengths_mg: Sequence[float], max_dose_mg: float = MAX_DAILY_DOSE_MG,
                        step_mg: float = STEP_MG) -> list[float]:
    """Doses in `step_mg` steps up to max_dose_mg that whole capsules can make."""
    out = []
    dose = step_mg
    while dose <= max_dose_mg + 1e-9:
        if fewest_capsules(dose, strengths_mg) is not None:
            out.append(dose)
        dose += step_mg
    return out


@dataclass(frozen=True)
class Candidate:
    pattern: DosePattern
    capsules_per_day: int
    capsules: tuple[str, ...]  # per administration, e.g. ("1 × 250 mg", "2 × 250 mg")

    @property
    def label(self) -> str:
        return self.pattern.label

    @property
    def daily_dose_mg(self) -> float:
        return self.pattern.daily_dose_mg

    @property
    def doses_per_day(self) -> int:
        return round(self.pattern.doses_per_day)


def _candidate(pattern: DosePattern, strengths: Sequence[float]) -> Candidate | None:
    per_admin = [fewest_capsules(a, strengths) for a in pattern.amounts_mg]
    if any(c is None for c in per_admin):
        return None
    caps = [c for c in per_admin if c is not None]
    per_period = sum(sum(c.values()) for c in caps)
    return Candidate(pattern=pattern,
                     capsules_per_day=round(per_period * 24.0 / pattern.period_h),
                     capsules=tuple(capsule_text(c) for c in caps))


def candidate_grid(strengths_mg: Sequence[float] = (125.0, 250.0),
                   max_daily_mg: float = MAX_DAILY_DOSE_MG, step_mg: float = STEP_MG,
                   asymmetric: bool = True, max_split_ratio: float = 2.0) -> list[Candidate]:
    """All candidate regimens, never above min(max_daily_mg, 1 g/day).

    Asymmetric twice-daily splits keep the evening dose at most `max_split_ratio` times
    the morning dose (250/500 mg yes, 125/875 mg no)."""
    cap = min(float(max_daily_mg), MAX_DAILY_DOSE_MG)
    doses = achievable_doses_mg(strengths_mg, cap, step_mg)
    patterns: list[DosePattern] = []
    for times, interval in ((1, 24.0), (2, 12.0), (3, 8.0)):
        patterns += [DosePattern.every(d, interval) for d in doses if d * times <= cap + 1e-9]
    if asymmetric:
        for morning in doses:
            for evening in doses:
                if (morning < evening <= max_split_ratio * morning + 1e-9
                        and morning + evening <= cap + 1e-9):
                    patterns.append(DosePattern.cycle([morning, evening], 12.0))
    out = [c for p in patterns if (c := _candidate(p, strengths_mg)) is not None]
    assert all(c.daily_dose_mg <= MAX_DAILY_DOSE_MG + 1e-9 for c in out)
    return out
