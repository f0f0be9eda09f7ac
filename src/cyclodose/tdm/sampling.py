"""Stage 9: when to draw the next levels.

Peak-window samples 2 h and 6 h after a dose (the 6 h sample catches delayed
absorption; Alsultan & Peloquin TDM practice), drawn once the new regimen has
reached steady state: about five half-lives of this patient (97 % of steady
state), the half-life from the individual estimate, ln 2 × V / CL, taken at the
upper bound of its 90 % interval so that an uncertain estimate does not send the
samples before steady state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HALF_LIVES_TO_STEADY_STATE = 5.0
SAMPLE_OFFSETS_H = (2.0, 6.0)
DAY_HOURS = (7.0, 20.0)  # clock hours in which both samples should fall when dates are known


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


def _clock(t0: datetime, time_h: float) -> datetime:
    """t0 + hours as an instant (an aware t0 keeps its zone across a daylight saving change)."""
    if t0.tzinfo is None:
        return t0 + timedelta(hours=time_h)
    return (t0.astimezone(UTC) + timedelta(hours=time_h)).astimezone(t0.tzinfo)


def _daytime(clock: datetime, day_hours: tuple[float, float]) -> bool:
    hour = clock.hour + clock.minute / 60.0
    return day_hours[0] <= hour <= day_hours[1]


def next_samples(start_h: float, period_h: float, offsets_h: list[float], amounts_mg: list[float],
                 t_half_h: float, t0: datetime | None,
                 day_hours: tuple[float, float] = DAY_HOURS,
                 half_life_text: str = "the estimated half-life",
                 sample_after_h: tuple[float, ...] = SAMPLE_OFFSETS_H) -> list[SampleAdvice]:
    """2 h and 6 h after a dose once steady state is reached (5 × `t_half_h`: pass a
    conservative half-life, e.g. the upper bound of its interval).

    The dose is the first after steady state whose two samples fall in the daytime when
    clock times are known (a 02:00 sample is rarely drawn), the largest administration
    preferred; without clock times, the first largest administration.
    """
    ss_h = start_h + HALF_LIVES_TO_STEADY_STATE * t_half_h
    offs = sorted(offsets_h)
    gaps = [(offs[(i + 1) % len(offs)] - offs[i]) % period_h or period_h for i in range(len(offs))]
    first_cycle = max(0, math.ceil((ss_h - start_h - max(offsets_h)) / period_h - 1e-9))
    n_cycles = max(1, math.ceil(48.0 / period_h))  # look two days ahead for a daytime pair
    options = []  # (not daytime, -amount, dose time, index)
    for cycle in range(first_cycle, first_cycle + n_cycles + 1):
        for k, off in enumerate(offsets_h):
            dose_h = start_h + cycle * period_h + off
            if dose_h < ss_h - 1e-9:
                continue
            gap = gaps[offs.index(off)]
            last_h = dose_h + min(max(sample_after_h), gap - 0.25)
            day = t0 is not None and all(
                _daytime(_clock(t0, t), day_hours)
                for t in (dose_h + min(min(sample_after_h), gap - 0.25), last_h))
            options.append((not day, -amounts_mg[k], dose_h, k))
    if t0 is None or not any(not o[0] for o in options):
        options = [(False, o[1], o[2], o[3]) for o in options]  # no clock: largest, earliest
        options.sort(key=lambda o: (o[1], o[2]))
        big = -options[0][1]
        options = [o for o in options if -o[1] == big][:1]
    else:
        options.sort(key=lambda o: (o[0], o[1], o[2]))
    _, _, dose_h, k = options[0]
    gap_after = gaps[offs.index(offsets_h[k])]
    days = (dose_h - start_h) / 24.0
    out = []
    for after in sorted(sample_after_h):
        after_h = min(after, gap_after - 0.25)  # always before the next dose
        label = f"C{after:g}h" if after_h == after else "pre-dose"
        why = (f"{after_h:g} h after the {amounts_mg[k]:g} mg dose, {days:.1f} days after the new "
               f"regimen starts (≥ {HALF_LIVES_TO_STEADY_STATE:g} × {t_half_h:.1f} h, "
               f"{half_life_text}: steady state)")
        if amounts_mg[k] < max(amounts_mg):
            why += (f"; the daytime dose: the estimate carries the levels over to the "
                    f"{max(amounts_mg):g} mg dose's peak")
        t = dose_h + after_h
        out.append(SampleAdvice(label=label, time_h=t, after_dose_h=after_h, dose_time_h=dose_h,
                                clock=None if t0 is None else _clock(t0, t), why=why))
    return out
