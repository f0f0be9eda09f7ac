"""The one regimen policy (#8, #9 M6): one tie rule, one choice (divided doses, practical
schedules first within a margin), one template."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cyclodose import knowledge
from cyclodose.clinical import regimen_policy
from cyclodose.clinical.regimen_policy import (
    TIE_PROBABILITY,
    Choice,
    Option,
    Schedule,
    choose,
    not_recommended,
    practicality,
    rank_key,
    schedule_of,
)
from cyclodose.clinical.screening import Finding

BID, TID, ONCE = Schedule.TWICE_DAILY, Schedule.THREE_TIMES_DAILY, Schedule.ONCE_DAILY
UNEQUAL = Schedule.UNEQUAL_TWICE_DAILY


def test_one_tie_rule_of_one_percentage_point() -> None:
    assert TIE_PROBABILITY == 0.01
    # 0.4 pp apart: a tie, so fewer capsules decide; 2 pp apart: the goal decides
    assert rank_key(0.804, 0.0, 2, 500) > rank_key(0.800, 0.0, 1, 500)
    assert rank_key(0.80, 0.0, 1, 500) > rank_key(0.82, 0.0, 4, 750)


def _opt(label: str, goal: float, above: float, schedule: Schedule) -> Option:
    return Option(label=label, p_goal=goal, p_above_ceiling=above, schedule=schedule)


def _choose(opts: list[Option], *, severe_renal: bool = False) -> Choice[Option]:
    ranked = sorted(opts, key=lambda o: rank_key(o.p_goal, o.p_above_ceiling, 2, 500))
    return choose(ranked, lambda o: o, severe_renal=severe_renal)


def test_schedules_are_classified_by_doses_a_day_and_equal_amounts() -> None:
    assert schedule_of([250.0], 2) is Schedule.TWICE_DAILY
    assert schedule_of([250.0, 375.0], 2) is Schedule.UNEQUAL_TWICE_DAILY
    assert schedule_of([250.0], 3) is Schedule.THREE_TIMES_DAILY
    assert schedule_of([500.0], 1) is Schedule.ONCE_DAILY
    assert schedule_of([250.0, 250.0], 2, evenly_spaced=False) is Schedule.OTHER_DIVIDED


def test_once_daily_goes_after_the_best_divided_regimen() -> None:
    # Monograph §Uses and Administration / US label: "in divided doses"; the others keep
    # their order (replaces the test of the former divided_first)
    c = _choose([_opt("500 q24h", 0.80, 0.05, ONCE), _opt("250 q12h", 0.70, 0.05, BID),
                 _opt("750 q24h", 0.60, 0.05, ONCE), _opt("375 q12h", 0.50, 0.05, BID)])
    assert [o.label for o in c.ordered] == ["250 q12h", "500 q24h", "750 q24h", "375 q12h"]
    assert "divided doses" in (c.why_not(c.ordered[1]) or "")
    assert "500 q24h (P(goal) 80 %, P(>30 mg/L) 5 %)" in c.text
    only_once = _choose([_opt("500 q24h", 0.8, 0.0, ONCE), _opt("375 q24h", 0.7, 0.0, ONCE)])
    assert only_once.chosen.label == "500 q24h" and "no regimen in divided doses" in only_once.text


def test_symmetric_twice_daily_preferred_within_margin() -> None:
    # 87 % unequal against 85 % equal twice daily, same P(>30): within the 3-point margin
    c = _choose([_opt("250/375 q12h", 0.87, 0.08, UNEQUAL), _opt("250 q8h", 0.86, 0.08, TID),
                 _opt("375 q12h", 0.85, 0.08, BID)])
    assert practicality().margin_points == 3
    assert c.chosen.label == "375 q12h"
    assert [o.label for o in c.ordered] == ["375 q12h", "250/375 q12h", "250 q8h"]
    why = c.why_not(c.ordered[1]) or ""
    assert "unequal doses twice daily" in why and "more practical" in why
    assert c.practical == ""  # the most practical schedule won: nothing to excuse
    # 4 points below: outside the margin, the best stays first
    far = _choose([_opt("250/375 q12h", 0.87, 0.08, UNEQUAL), _opt("375 q12h", 0.83, 0.08, BID)])
    assert far.chosen.label == "250/375 q12h"


def test_practicality_never_buys_a_higher_ceiling_risk() -> None:
    # 250 mg q8h is 1 point below but 4 points more likely above 30 mg/L: beyond the tie step
    c = _choose([_opt("250/375 q12h", 0.87, 0.08, UNEQUAL), _opt("250 q8h", 0.86, 0.12, TID)])
    assert c.chosen.label == "250/375 q12h"
    tie = _choose([_opt("250/375 q12h", 0.87, 0.08, UNEQUAL), _opt("250 q8h", 0.86, 0.09, TID)])
    assert tie.chosen.label == "250 q8h"  # 1 point: the tie step of the ranking


def test_asymmetric_first_says_why() -> None:
    # examples/tdm_two_levels.yaml, as `cyclodose tdm` ranked it before #9 M6
    c = _choose([_opt("250/375 mg q12h", 0.87, 0.08, UNEQUAL),
                 _opt("500 mg q24h", 0.86, 0.08, ONCE), _opt("250 mg q8h", 0.86, 0.12, TID),
                 _opt("375 mg q12h", 0.68, 0.32, BID)])
    assert c.chosen.label == "250/375 mg q12h" and c.passed_over == ()
    assert c.practical.startswith("250/375 mg q12h has unequal doses twice daily")
    assert ("no regimen with equal doses twice daily comes within 3 percentage points of "
            "P(goal) 87 % (best: 375 mg q12h, P(goal) 68 %, P(>30 mg/L) 32 %)") in c.practical
    assert "250 mg q8h (P(goal) 86 %, P(>30 mg/L) 12 %)" in c.practical


def test_never_more_likely_toxic_than_not_when_another_exists() -> None:
    c = _choose([_opt("500 q12h", 0.45, 0.55, BID), _opt("250 q12h", 0.30, 0.05, BID)])
    assert c.chosen.label == "250 q12h"
    assert "more likely than not" in (c.why_not(c.ordered[1]) or "")


def test_severe_renal_impairment_keeps_once_daily_eligible_and_first_within_margin() -> None:
    # ATS 2003 / J Thorac Dis 2018 Table 4: CrCl < 30 mL/min: 250 mg once daily
    opts = [_opt("250 q12h", 0.62, 0.10, BID), _opt("250 q24h", 0.60, 0.10, ONCE)]
    assert _choose(opts, severe_renal=True).chosen.label == "250 q24h"
    assert "severely reduced" in _choose(opts, severe_renal=True).text
    assert _choose(opts).chosen.label == "250 q12h"


def test_keep_order_leaves_the_ranking_as_it_is() -> None:
    ranked = [_opt("500 q24h", 0.8, 0.0, ONCE), _opt("250 q12h", 0.7, 0.0, BID)]
    c = choose(ranked, lambda o: o, severe_renal=False, keep_order=True)
    assert list(c.ordered) == ranked and c.passed_over == ()


def test_practicality_sources_exist() -> None:
    ids = {fact.id for fact in knowledge.facts()}
    assert set(practicality().sources) <= ids
    assert set(practicality().order) == set(Schedule) == set(practicality().order_severe_renal)


_SCHEDULES = st.sampled_from(list(Schedule))
_PROB = st.integers(0, 100).map(lambda k: k / 100)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_PROB, _PROB, _SCHEDULES), min_size=1, max_size=12), st.booleans())
def test_choice_is_a_safe_reordering_of_the_ranking(rows, severe_renal) -> None:
    opts = [_opt(f"r{i}", g, a, s) for i, (g, a, s) in enumerate(rows)]
    c = _choose(opts, severe_renal=severe_renal)
    ranked = sorted(opts, key=lambda o: rank_key(o.p_goal, o.p_above_ceiling, 2, 500))
    assert sorted(o.label for o in c.ordered) == sorted(o.label for o in opts)
    # every row the ranking put above the recommendation is explained, and only those
    above = ranked[:ranked.index(c.chosen)]
    assert [p.item for p in c.passed_over] == above
    assert all(p.why for p in c.passed_over)
    assert list(c.ordered[1:]) == [o for o in ranked if o is not c.chosen]
    eligible = [o for o in opts if severe_renal or o.schedule is not ONCE] or opts
    if c.chosen.p_above_ceiling > 0.5:  # never more likely toxic than not, if avoidable
        assert all(o.p_above_ceiling > 0.5 for o in eligible)
    if not severe_renal and any(o.schedule is not ONCE for o in opts):
        assert c.chosen.schedule is not ONCE


def test_not_recommended_names_the_codes_and_cites_existing_sources() -> None:
    f = Finding(code="contraindication.epilepsy", severity="contraindicated", message="m",
                sources=())
    for subject in ("guideline", "model_informed", "tdm"):
        text = not_recommended([f], subject)  # type: ignore[arg-type]
        assert text.startswith("Not recommended: the screening found contraindication.epilepsy")
    ids = {fact.id for fact in knowledge.facts()}
    assert set(regimen_policy._template().sources) <= ids
