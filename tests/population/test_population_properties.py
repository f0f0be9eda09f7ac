"""Property checks (modest Hypothesis budgets): truncation and breakpoint definitions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cyclodose.population.copula import inverse_cdf
from cyclodose.population.pta import breakpoint_mic
from cyclodose.population.spec import CovariateDist


@settings(max_examples=40, deadline=None)
@given(mean=st.floats(1, 200), sd=st.floats(0.1, 80), lo_q=st.floats(-3, 2),
       width=st.floats(0.05, 5), dist=st.sampled_from(["normal", "lognormal"]))
def test_truncated_draws_stay_inside_bounds(mean: float, sd: float, lo_q: float, width: float,
                                            dist: str) -> None:
    lo = max(0.0, mean + lo_q * sd)
    hi = lo + width * sd
    d = CovariateDist(dist=dist, mean=mean, sd=sd, min=lo, max=hi)  # type: ignore[arg-type]
    u = np.concatenate([np.linspace(0.0, 1.0, 501), np.random.default_rng(0).random(500)])
    x = inverse_cdf(d, u)
    assert np.all(np.isfinite(x)) and x.min() >= lo and x.max() <= hi
    assert np.all(np.diff(inverse_cdf(d, np.linspace(0, 1, 201))) >= 0)  # monotone in u


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_breakpoint_definition(pta_unsorted: list[float]) -> None:
    pta = sorted(pta_unsorted, reverse=True)  # PTA falls with MIC
    mics = [2.0**i for i in range(len(pta))]
    bp = breakpoint_mic(mics, pta)
    passing = [m for m, p in zip(mics, pta, strict=True) if p >= 0.9]
    assert bp == (max(passing) if passing else None)
