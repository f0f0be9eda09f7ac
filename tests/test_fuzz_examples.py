"""Mutation fuzz of the examples (issue #8): parse → assess → render text and JSON.

Every mutated case must end as an Assessment or a CaseError; the JSON and the text carry no
NaN or infinity; no regimen shown is above 1 g/day. Bounded: a fixed number of examples,
derandomised, so the suite's time stays predictable."""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cyclodose import CaseError, assess, parse_case
from cyclodose.cli.app import console
from cyclodose.cli.assess import render
from cyclodose.limits import MAX_DAILY_DOSE_MG

EXAMPLES = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))
            for p in sorted((Path(__file__).parents[1] / "examples").glob("*.yaml"))
            if p.stem != "population"}
NON_FINITE = re.compile(r"\b(nan|inf|infinity)\b", re.IGNORECASE)

ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "\x00", "mg/\x00L", "umol/L", "mg/dL", "kg", "[lb_av]", "g", "mg",
                     "dialysis", "ICD10:Z99.2", "2026-03-10T10:00:00", "BLQ", "nan", "-1",
                     "1e308", "0.00025"]),
    st.text(max_size=8), st.lists(st.integers(0, 3), max_size=2), st.just({}),
)


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _leaves(v, (*path, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


@st.composite
def mutated_case(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(EXAMPLES)))
    doc = copy.deepcopy(EXAMPLES[name])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_leaves(doc)))
        _set(doc, path, draw(ODD_VALUES))
    return doc


def _daily_doses(data: Any) -> list[float]:
    """Every `daily_dose_mg` in the result, wherever it sits."""
    out: list[float] = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k == "daily_dose_mg" and isinstance(v, int | float):
                out.append(float(v))
            out += _daily_doses(v)
    elif isinstance(data, list):
        for v in data:
            out += _daily_doses(v)
    return out


@settings(max_examples=70, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_case())
def test_mutated_examples_end_as_an_assessment_or_a_case_error(doc: dict[str, Any]) -> None:
    try:
        case = parse_case(doc)
        result = assess(case)
    except CaseError as exc:
        assert exc.problems and all(p.field and p.reason for p in exc.problems)
        return
    data = result.model_dump(mode="json")
    text_json = json.dumps(data, allow_nan=False)  # raises on NaN or infinity
    assert not NON_FINITE.search(text_json.replace('"', " "))
    with console.capture() as captured:
        render(result)
    assert not NON_FINITE.search(captured.get())
    assert all(math.isfinite(d) and d <= MAX_DAILY_DOSE_MG for d in _daily_doses(data))
