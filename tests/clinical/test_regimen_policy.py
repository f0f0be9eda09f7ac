"""The one regimen policy (#8): one tie rule, one divided-dose preference, one template."""

from __future__ import annotations

from cyclodose import knowledge
from cyclodose.clinical import regimen_policy
from cyclodose.clinical.regimen_policy import (
    TIE_PROBABILITY,
    divided_first,
    not_recommended,
    rank_key,
)
from cyclodose.clinical.screening import Finding


def test_one_tie_rule_of_one_percentage_point() -> None:
    assert TIE_PROBABILITY == 0.01
    # 0.4 pp apart: a tie, so fewer capsules decide; 2 pp apart: the goal decides
    assert rank_key(0.804, 0.0, 2, 500) > rank_key(0.800, 0.0, 1, 500)
    assert rank_key(0.80, 0.0, 1, 500) > rank_key(0.82, 0.0, 4, 750)


def test_divided_first_moves_only_the_best_divided_regimen() -> None:
    ranked = ["500 q24h", "250 q12h", "750 q24h", "375 q12h"]
    divided = lambda r: r.endswith("q12h")  # noqa: E731
    assert divided_first(ranked, divided) == ["250 q12h", "500 q24h", "750 q24h", "375 q12h"]
    assert divided_first(ranked, divided, keep_order=True) == ranked
    assert divided_first(["500 q24h"], divided) == ["500 q24h"]


def test_not_recommended_names_the_codes_and_cites_existing_sources() -> None:
    f = Finding(code="contraindication.epilepsy", severity="contraindicated", message="m",
                sources=())
    for subject in ("guideline", "model_informed", "tdm"):
        text = not_recommended([f], subject)  # type: ignore[arg-type]
        assert text.startswith("Not recommended: the screening found contraindication.epilepsy")
    ids = {fact.id for fact in knowledge.facts()}
    assert set(regimen_policy._template().sources) <= ids
