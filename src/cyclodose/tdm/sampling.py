"""Stage 9: when to draw the next levels.

Peak-window samples 2 h and 6 h after a dose (the 6 h sample catches delayed
absorption; Alsultan & Peloquin TDM practice), drawn once the new regimen has
reached steady state: about five half-lives of this patient (97 % of steady
state), the half-life from the individual estimate, ln 2 × V / CL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

HALF_LIVES_TO_STEADY_STATE = 5.0
SAMPLE_OFFSETS_H = (2.0, 6.0)


@dataclass(frozen=True)
class SampleAdvice:
    label: str
    time_h: float  # hours from the first dose of the case
    after_dose_h: float  # time after the dose it follows
    dose_time_h: float
    clock: datetime | None
    why: str


def half_life_h(cl_l_h: float, v_l: float) -> float:
    return math.log(2.0) * v_l / cl_l_h


def regimen_start_h(dose_times_h: list[float], last_level_h: float | None) -> float:
    """The next scheduled dose after the history: last dose + its interval, not before a level."""
    if not dose_times_h:
        return 0.0
    times = sorted(dose_times_h)
    step = times[-1] - times[-2] if len(times) >= 2 and times[-1] > times[-2] else 24.0
    start = times[-1] + step
    if last_level_h is not None:
        while start < last_level_h:
            start += step
    return start


def next_samples(start_h: float, period_h: float, offsets_h: list[float], amounts_mg: list[float],
                 t_half_h: float, t0: datetime | None) -> list[SampleAdvice]:
    """2 h and 6 h after the largest administration once steady state is reached."""
    ss_h = start_h + HALF_LIVES_TO_STEADY_STATE * t_half_h
    big = max(range(len(amounts_mg)), key=lambda i: (amounts_mg[i], -offsets_h[i]))
    cycle = max(0, math.ceil((ss_h - start_h - offsets_h[big]) / period_h - 1e-9))
    dose_h = start_h + cycle * period_h + offsets_h[big]
    offs = sorted(offsets_h)
    gaps = [(offs[(i + 1) % len(offs)] - offs[i]) % period_h or period_h for i in range(len(offs))]
    gap_after = gaps[offs.index(offsets_h[big])]
    days = (dose_h - start_h) / 24.0
    out = []
    for after in SAMPLE_OFFSETS_H:
        after_h = min(after, gap_after - 0.25)  # always before the next dose
        label = f"C{after:g}h" if after_h == after else "pre-dose"
        why = (f"{after_h:g} h after the {amounts_mg[big]:g} mg dose, {days:.1f} days after the "
               "new "
               f"regimen starts (≥ {HALF_LIVES_TO_STEADY_STATE:g} × estimated half-life "
               f"{t_half_h:.1f} h: steady state)")
        t = dose_h + after_h
        out.append(SampleAdvice(label=label, time_h=t, after_dose_h=after_h, dose_time_h=dose_h,
                                clock=None if t0 is None else t0 + timedelta(hours=t), why=why))
    return out
