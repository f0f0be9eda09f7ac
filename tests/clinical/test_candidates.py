"""Candidate regimen grid from capsule strengths."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyclodose.clinical.candidates import achievable_doses_mg, candidate_grid, fewest_capsules
from cyclodose.limits import MAX_DAILY_DOSE_MG


def test_default_strengths_grid() -> None:
    labels = [c.label for c in candidate_grid((125.0, 250.0))]
    for expected in ["250 mg q12h", "500 mg q12h", "750 mg q24h", "250 mg q8h",
                     "250/500 mg q12h", "125/250 mg q12h", "1000 mg q24h"]:
        assert expected in labels
    assert "750 mg q12h" not in labels  # 1.5 g/day
    assert "125/875 mg q12h" not in labels  # split beyond 1:2
    assert len(labels) == len(set(labels))


def test_capsule_counts() -> None:
    assert fewest_capsules(375, (125, 250)) == {250.0: 1, 125.0: 1}
    assert fewest_capsules(500, (125, 250)) == {250.0: 2}
    assert fewest_capsules(375, (250,)) is None
    grid = {c.label: c for c in candidate_grid((125.0, 250.0))}
    assert grid["250/500 mg q12h"].capsules_per_day == 3
    assert grid["250/500 mg q12h"].capsules == ("1 × 250 mg", "2 × 250 mg")
    assert grid["375 mg q12h"].capsules_per_day == 4


def test_only_250_mg_capsules_gives_250_steps() -> None:
    assert achievable_doses_mg((250.0,)) == [250.0, 500.0, 750.0, 1000.0]
    assert all(a % 250 == 0 for c in candidate_grid((250.0,)) for a in c.pattern.amounts_mg)


def test_lower_cap_is_respected() -> None:
    assert max(c.daily_dose_mg for c in candidate_grid(max_daily_mg=500)) == 500


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([62.5, 125.0, 250.0, 500.0]), min_size=1, max_size=3),
       st.floats(min_value=100, max_value=5000))
def test_never_above_one_gram_a_day(strengths: list[float], cap: float) -> None:
    for cand in candidate_grid(strengths, max_daily_mg=cap):
        assert cand.daily_dose_mg <= MAX_DAILY_DOSE_MG
        assert cand.daily_dose_mg <= cap + 1e-9
        assert cand.doses_per_day in (1, 2, 3)


@pytest.mark.parametrize("dose", [125.0, 250.0, 625.0, 1000.0])
def test_fewest_capsules_sum(dose: float) -> None:
    caps = fewest_capsules(dose, (125.0, 250.0))
    assert caps is not None and sum(s * n for s, n in caps.items()) == dose
