"""The regimen the patient is on and the clock times they usually take it (#14 item 3).

A real dose chart is irregular (08:15, 21:40, 07:50 ...) and a single late dose must not turn
250 mg q12h into "250/250 mg at 0,9 h every 24 h". So, in order:

1. the repeating regimen the case states, when it is the one running at the end of the
   history (its last scheduled dose is the last dose, give or take one interval);
2. otherwise the doses of the last RECENT_DAYS days, grouped by clock time of day: doses
   within JITTER_H of each other are the same usual time (a dose a few hours late is still
   the evening dose); a group with fewer than half the doses of the largest is an extra dose,
   not a usual time; each usual time is the median clock time of its group and its amount
   the group's latest. Usual times whose gaps are all within JITTER_H of 24 h / n are a plain
   q(24/n)h regimen;
3. intervals longer than a day (median gap above LONG_INTERVAL_H): every median gap.

Only the doses given count (`Case.given_doses`: before the assessment time when the case has
one, e.g. a FHIR reading; planned doses are not history). The new regimen starts at the next
usual time after the last dose given (at least half a usual interval after it, so that a late
dose is not followed by another a few hours later), not before the last level nor the
assessment time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cyclodose.clinical.candidates import capsule_text, fewest_capsules
from cyclodose.clinical.tdm_regimen import CandidateRegimen
from cyclodose.intake.case import Case
from cyclodose.pk.regimen import DosePattern

RECENT_DAYS = 3.0
JITTER_H = 3.0
LONG_INTERVAL_H = 30.0


@dataclass(frozen=True)
class UsualSchedule:
    """The current regimen and one period of the patient's usual dose times (hours from t0)."""

    regimen: CandidateRegimen
    slots_h: tuple[float, ...]  # one period of usual dose times, absolute
    period_h: float
    source: str  # how it was found, for the reason text

    def next_slot(self, earliest_h: float) -> float:
        """The first usual dose time at or after `earliest_h`."""
        return min(s + math.ceil((earliest_h - s) / self.period_h - 1e-9) * self.period_h
                   for s in self.slots_h)


def candidate_from_pattern(pattern: DosePattern,
                           strengths: tuple[float, ...]) -> CandidateRegimen:
    """A regimen as the ranking needs it, with the fewest whole capsules of each dose."""
    counts, texts = [], []
    for a in pattern.amounts_mg:
        caps = fewest_capsules(a, strengths)
        counts.append(sum(caps.values()) if caps else 0)
        texts.append(capsule_text(caps) if caps else f"{a:g} mg (no whole capsules)")
    return CandidateRegimen(label=pattern.label, period_h=pattern.period_h,
                            offsets_h=tuple(pattern.offsets_h),
                            amounts_mg=tuple(pattern.amounts_mg),
                            daily_dose_mg=pattern.daily_dose_mg,
                            capsules_per_administration=tuple(counts), capsules=tuple(texts))


def _hour_of_day(case: Case, time_h: float) -> float:
    clock = case.clock(time_h)
    if clock is None:  # no dates: hours of the day counted from the first dose
        return time_h % 24.0
    return clock.hour + clock.minute / 60.0 + clock.second / 3600.0


def _circular_median(hours: list[float]) -> float:
    """Median clock hour of a group that may straddle midnight."""
    ref = hours[0]
    unwrapped = [ref + ((h - ref + 12.0) % 24.0) - 12.0 for h in hours]
    return float(np.median(unwrapped)) % 24.0


def _groups(hours: list[tuple[float, float, float]]) -> list[list[tuple[float, float, float]]]:
    """(hour of day, time, amount) grouped by clock time, JITTER_H apart at most."""
    ordered = sorted(hours)
    groups: list[list[tuple[float, float, float]]] = [[ordered[0]]]
    for item in ordered[1:]:
        if item[0] - groups[-1][-1][0] <= JITTER_H:
            groups[-1].append(item)
        else:
            groups.append([item])
    # a group just before midnight and one just after are the same usual time
    if len(groups) > 1 and groups[0][0][0] + 24.0 - groups[-1][-1][0] <= JITTER_H:
        groups[0] = groups.pop() + groups[0]
    return groups


def _stated(case: Case, last_dose_h: float) -> UsualSchedule | None:
    st = case.stated_regimen
    if st is None or not st.amounts_mg or st.last_h < last_dose_h - st.interval_h - 1e-9:
        return None
    pattern = (DosePattern.every(st.amounts_mg[0], st.interval_h) if len(st.amounts_mg) == 1
               else DosePattern.cycle(st.amounts_mg, st.interval_h))
    slots = tuple(st.start_h + o for o in pattern.offsets_h)
    return UsualSchedule(candidate_from_pattern(pattern, case.settings.capsule_strengths_mg), slots,
                         pattern.period_h, "the stated repeating regimen")


def usual_schedule(case: Case) -> UsualSchedule | None:
    """The current regimen and usual dose times of the doses given (None without any)."""
    doses = sorted((d.time_h, d.amount_mg) for d in case.given_doses if d.amount_mg > 0)
    if not doses:
        return None
    last = doses[-1][0]
    stated = _stated(case, last)
    if stated is not None:
        return stated
    strengths = case.settings.capsule_strengths_mg
    times = [t for t, _ in doses]
    gaps = np.diff(times)
    if gaps.size and float(np.median(gaps[-6:])) > LONG_INTERVAL_H:
        interval = float(np.round(np.median(gaps[-6:])))
        pattern = DosePattern.every(doses[-1][1], interval)
        return UsualSchedule(candidate_from_pattern(pattern, strengths), (last,), interval,
                             f"the usual interval of the recent doses ({interval:g} h)")
    recent = [(t, a) for t, a in doses if t > last - RECENT_DAYS * 24.0]
    groups = _groups([(_hour_of_day(case, t), t, a) for t, a in recent])
    biggest = max(len(g) for g in groups)
    usual = [g for g in groups if len(g) >= 0.5 * biggest]
    hours = sorted((_circular_median([h for h, _, _ in g]), max(g, key=lambda x: x[1])[2])
                   for g in usual)
    n = len(hours)
    offsets = [h - hours[0][0] for h, _ in hours]
    amounts = [a for _, a in hours]
    day_gaps = np.diff([*offsets, 24.0])
    if np.all(np.abs(day_gaps - 24.0 / n) <= JITTER_H) and np.allclose(amounts, amounts[0]):
        pattern = DosePattern.every(amounts[0], 24.0 / n)
    else:
        pattern = DosePattern(24.0, tuple(offsets), tuple(amounts))
    midnight = last - _hour_of_day(case, last)  # the last dose's day, in hours from t0
    slots = tuple(midnight + h for h, _ in hours)
    clock = ", ".join(f"{int(h):02d}:{round(60 * (h % 1)) % 60:02d}" for h, _ in hours)
    return UsualSchedule(candidate_from_pattern(pattern, strengths), slots, 24.0,
                         f"the usual dose times of the last {RECENT_DAYS:g} days ({clock})")


def new_regimen_start_h(schedule: UsualSchedule | None, last_dose_h: float | None,
                        last_level_h: float | None, now_h: float | None = None) -> float:
    """The first usual dose time after the history, not before the last level nor the
    assessment time (`now_h`, when the case has one: the next scheduled dose from now)."""
    bounds = [t for t in (last_level_h, now_h) if t is not None]
    if schedule is None or last_dose_h is None:
        return max(bounds, default=0.0)
    reg = schedule.regimen
    interval = reg.period_h / len(reg.offsets_h)
    return schedule.next_slot(max([last_dose_h + 0.5 * interval, *bounds]))
