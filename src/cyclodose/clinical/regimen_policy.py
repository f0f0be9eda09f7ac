"""The one regimen policy of the guideline, model-informed and TDM paths: how candidates are
ranked (one tie rule), which one is recommended (`choose`: divided doses, never more likely
toxic than not when another exists, practical schedules first within a margin) and the
"not recommended" rationale.
What blocks a regimen is `blocking`; the statuses are `status.RegimenStatus`; the limits are
`cyclodose.limits`; candidates and capsules are `candidates`.

Tie rule: probabilities are compared in steps of 1 percentage point. Both paths estimate
them from about a thousand Monte Carlo draws, whose standard error near 50 % is about 1.6
percentage points: a finer step (the TDM path used 0.5) ranks noise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict

from cyclodose.clinical.screening import Finding
from cyclodose.limits import CEILING_MG_L, MAX_P_PEAK_ABOVE_CEILING

TIE_DIGITS = 2  # probabilities compared to 2 decimals: 1 percentage point
TIE_PROBABILITY = 10.0 ** -TIE_DIGITS
T = TypeVar("T")
Subject = Literal["guideline", "model_informed", "tdm"]


def rank_key(objective: float, p_above_ceiling: float, capsules_per_day: float,
             daily_dose_mg: float) -> tuple[float, float, float, float]:
    """Best first: the goal (in tie steps), then fewer peaks above the ceiling, then fewer
    capsules a day, then the lower daily dose."""
    return (-round(objective, TIE_DIGITS), round(p_above_ceiling, TIE_DIGITS),
            capsules_per_day, daily_dose_mg)


def too_likely_toxic(p_peak_above_ceiling: float) -> bool:
    """No section presents as recommended a regimen predicted more likely than not to peak
    above the ceiling (limits.MAX_P_PEAK_ABOVE_CEILING)."""
    return p_peak_above_ceiling > MAX_P_PEAK_ABOVE_CEILING + 1e-12


def too_toxic_text(p_peak_above_ceiling: float) -> str:
    return (f"Not recommended: the predicted probability of a peak above {CEILING_MG_L:g} mg/L "
            f"is {100 * p_peak_above_ceiling:.0f} %, above the "
            f"{100 * MAX_P_PEAK_ABOVE_CEILING:.0f} % that this tool accepts for a regimen "
            "it presents (monograph and US label: keep plasma levels below 30 µg/mL).")


def holding(findings: Sequence[Finding]) -> list[Finding]:
    """Findings that hold every regimen until a review (regimen_policy.yaml `hold_codes`)."""
    codes = set(_hold_codes())
    return [f for f in findings if f.code in codes]


@cache
def _hold_codes() -> tuple[str, ...]:
    path = resources.files("cyclodose").joinpath("knowledge/data/regimen_policy.yaml")
    return tuple(yaml.safe_load(path.read_text(encoding="utf-8"))["hold"]["codes"])


def hold_text(holds: Sequence[Finding]) -> str:
    return (f"Hold and review: the screening found {', '.join(f.code for f in holds)} (stop or "
            "reduce the dose, urgent plasma level). No regimen is recommended until the review; "
            "the numbers below are for the reviewer.")


class Schedule(StrEnum):
    """How a regimen is taken, for the practicality order (regimen_policy.yaml)."""

    TWICE_DAILY = "twice_daily"  # equal doses every 12 h: the monograph's schedule
    THREE_TIMES_DAILY = "three_times_daily"
    UNEQUAL_TWICE_DAILY = "unequal_twice_daily"  # e.g. 250/375 mg q12h
    OTHER_DIVIDED = "other_divided"
    ONCE_DAILY = "once_daily"  # q24h or less often: not divided dosing


def schedule_of(amounts_mg: Sequence[float], doses_per_day: float,
                evenly_spaced: bool = True) -> Schedule:
    if doses_per_day <= 1.0 + 1e-9:
        return Schedule.ONCE_DAILY
    equal = max(amounts_mg) - min(amounts_mg) < 1e-9
    if abs(doses_per_day - 2.0) < 1e-9 and evenly_spaced:
        return Schedule.TWICE_DAILY if equal else Schedule.UNEQUAL_TWICE_DAILY
    if abs(doses_per_day - 3.0) < 1e-9 and evenly_spaced and equal:
        return Schedule.THREE_TIMES_DAILY
    return Schedule.OTHER_DIVIDED


@dataclass(frozen=True)
class Option:
    """What the policy reads of one ranked regimen."""

    label: str
    p_goal: float
    p_above_ceiling: float
    schedule: Schedule


class _Practicality(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    margin_points: int
    order: tuple[Schedule, ...]
    order_severe_renal: tuple[Schedule, ...]
    names: dict[Schedule, str]
    sources: tuple[str, ...]


@cache
def practicality() -> _Practicality:
    path = resources.files("cyclodose").joinpath("knowledge/data/regimen_policy.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _Practicality.model_validate(data["practicality"])


def _pts(p: float) -> int:
    """A probability in whole percentage points, as every table shows it."""
    return round(100.0 * p)


@dataclass(frozen=True)
class PassedOver(Generic[T]):
    """A regimen that ranked above the recommended one, and why it is not first."""

    item: T
    numbers: str  # its probabilities, as the table shows them
    why: str


@dataclass(frozen=True)
class Choice(Generic[T]):
    """The recommendation order of a ranking: the recommended regimen first, the others in
    ranking order. `passed_over`: every regimen that ranked above the recommended one, with
    why it is not first; `practical`: why no more practical schedule was recommended (empty
    when the recommended schedule is the most practical one available)."""

    ordered: tuple[T, ...]
    passed_over: tuple[PassedOver[T], ...]
    practical: str

    @property
    def chosen(self) -> T:
        return self.ordered[0]

    def why_not(self, item: T) -> str | None:
        return next((p.why for p in self.passed_over if p.item is item), None)

    def passed_text(self, skip: T | None = None) -> str:
        """One sentence naming the regimens that ranked higher, grouped by the reason."""
        groups: dict[str, list[str]] = {}
        for p in self.passed_over:
            if p.item is not skip:
                groups.setdefault(p.why, []).append(p.numbers)
        if not groups:
            return ""
        lead = "Also ranked higher" if skip is not None else "Ranked higher"
        return (f"{lead} but not recommended: "
                + "; ".join(f"{' and '.join(names)}: {why}" for why, names in groups.items())
                + ".")

    @property
    def text(self) -> str:
        return " ".join(t for t in (self.passed_text(), self.practical) if t)


_DIVIDED_SOURCE = "monograph §Uses and Administration; US label"
_TIE_POINTS = round(100 * TIE_PROBABILITY)


def _once_daily_note(o: Option, severe_renal: bool, current: bool) -> str:
    if o.schedule is not Schedule.ONCE_DAILY:
        return ""
    if severe_renal:
        return ("Once daily: eligible because renal function is severely reduced (ATS 2003: "
                "250 mg once daily or 500 mg three times weekly).")
    if current:
        return (f"Once daily is the patient's current schedule; cycloserine is usually given "
                f"in divided doses ({_DIVIDED_SOURCE}).")
    return "Once daily: no regimen in divided doses is available."


def choose(ranked: Sequence[T], option: Callable[[T], Option], *, severe_renal: bool,
           keep_order: bool = False, goal: str = "P(goal)") -> Choice[T]:
    """The one regimen policy over a ranking (best first by `rank_key`).

    Eligible: regimens in divided doses (monograph, US label) unless renal function is
    severely reduced (ATS 2003 documents once daily there), and none more likely than not
    to peak above the ceiling while another exists. Among the eligible regimens within
    `margin_points` of the best one's P(goal) and at most the tie step above its P(peak >
    30 mg/L), the most practical schedule is recommended (regimen_policy.yaml), the best
    ranked of it. `keep_order`: the ranking stands (the patient's own regimen ranks first).
    `goal`: the name of the goal probability in the table the text sits beside."""
    items = list(ranked)
    if not items:
        return Choice((), (), "")
    opts = [option(r) for r in items]
    if keep_order:
        return Choice(tuple(items), (), _once_daily_note(opts[0], severe_renal, True))
    pol = practicality()
    order = pol.order_severe_renal if severe_renal else pol.order
    allowed = [i for i, o in enumerate(opts) if severe_renal or o.schedule is not
               Schedule.ONCE_DAILY] or list(range(len(items)))
    safe = [i for i in allowed if not too_likely_toxic(opts[i].p_above_ceiling)] or allowed
    ref = opts[safe[0]]

    def near_goal(o: Option) -> bool:
        return _pts(ref.p_goal) - _pts(o.p_goal) <= pol.margin_points

    def no_riskier(o: Option) -> bool:
        return _pts(o.p_above_ceiling) - _pts(ref.p_above_ceiling) <= _TIE_POINTS

    chosen = min((i for i in safe if near_goal(opts[i]) and no_riskier(opts[i])),
                 key=lambda i: (order.index(opts[i].schedule), i))
    best = opts[chosen]
    ceiling = f"P(>{CEILING_MG_L:g} mg/L)"

    def numbers(o: Option, bare: bool = False) -> str:
        p = f"{goal} {_pts(o.p_goal)} %, {ceiling} {_pts(o.p_above_ceiling)} %"
        return f"{o.label}, {p}" if bare else f"{o.label} ({p})"

    def why_not(i: int) -> str:
        o = opts[i]
        if i not in allowed:
            return (f"once daily, and cycloserine is given in divided doses ({_DIVIDED_SOURCE}); "
                    "kept in the table for a prescriber who chooses once-daily dosing")
        if i not in safe:
            return (f"more likely than not to peak above {CEILING_MG_L:g} mg/L while a "
                    "regimen less likely to exists")
        if not no_riskier(o):
            return (f"a higher {ceiling} than {ref.label} ({_pts(ref.p_above_ceiling)} %), "
                    f"beyond the {_TIE_POINTS}-point tie step")
        return (f"{pol.names[o.schedule]}; within {pol.margin_points} percentage points of "
                f"the best {goal}, {best.label} ({pol.names[best.schedule]}) is preferred as "
                "the more practical schedule")

    passed = tuple(PassedOver(items[i], numbers(opts[i]), why_not(i)) for i in range(chosen))
    reasons = []
    for kind in order[:order.index(best.schedule)]:
        # the best of that schedule that is not too likely toxic, else the best of it
        first = next((i for i in (*safe, *allowed) if opts[i].schedule is kind), None)
        if first is None:
            continue
        o = opts[first]
        if first not in safe:
            reasons.append(f"{numbers(o)} is more likely than not to peak above "
                           f"{CEILING_MG_L:g} mg/L")
        elif not near_goal(o):
            reasons.append(f"no regimen with {pol.names[kind]} comes within "
                           f"{pol.margin_points} percentage points of {goal} {_pts(ref.p_goal)} "
                           f"% (best: {numbers(o, bare=True)})")
        else:
            reasons.append(f"{numbers(o)}, with {pol.names[kind]}, comes within "
                           f"{pol.margin_points} points of {goal} but is more likely to peak "
                           f"above {CEILING_MG_L:g} mg/L ({_pts(o.p_above_ceiling)} % against "
                           f"{_pts(ref.p_above_ceiling)} %)")
    practical = (f"{best.label} has {pol.names[best.schedule]}, a less practical schedule, "
                 "because " + "; ".join(reasons) + "." if reasons
                 else _once_daily_note(best, severe_renal, False))
    ordered = (items[chosen], *(r for i, r in enumerate(items) if i != chosen))
    return Choice(ordered, passed, practical)


class _Subject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    subject: str
    monitoring: str


class _Template(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    template: str
    sources: tuple[str, ...]
    subjects: dict[Subject, _Subject]


@cache
def _template() -> _Template:
    path = resources.files("cyclodose").joinpath("knowledge/data/regimen_policy.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _Template.model_validate(data["not_recommended"])


def not_recommended(blocks: Sequence[Finding], subject: Subject) -> str:
    """The rationale line that marks a regimen the screening blocks."""
    t = _template()
    s = t.subjects[subject]
    return t.template.format(codes=", ".join(f.code for f in blocks), subject=s.subject,
                             monitoring=s.monitoring)
