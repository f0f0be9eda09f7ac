"""The one regimen policy of the guideline, model-informed and TDM paths: how candidates are
ranked (one tie rule), when divided doses go first, and the "not recommended" rationale.
What blocks a regimen is `blocking`; the statuses are `status.RegimenStatus`; the limits are
`cyclodose.limits`; candidates and capsules are `candidates`.

Tie rule: probabilities are compared in steps of 1 percentage point. Both paths estimate
them from about a thousand Monte Carlo draws, whose standard error near 50 % is about 1.6
percentage points: a finer step (the TDM path used 0.5) ranks noise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict

from cyclodose.clinical.screening import Finding

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


def divided_first(ranked: Sequence[T], divided: Callable[[T], bool], *,
                  keep_order: bool = False) -> list[T]:
    """The best regimen in divided doses first (monograph §Uses and Administration, US label:
    "in divided doses"); the others keep their order. `keep_order`: severe renal impairment
    (ATS 2003 documents once daily there) or another reason the ranking stands as it is."""
    out = list(ranked)
    first = None if keep_order else next((r for r in out if divided(r)), None)
    if first is None or first is out[0]:
        return out
    return [first, *(r for r in out if r is not first)]


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
