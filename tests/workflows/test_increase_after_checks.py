"""A low level never goes straight to an increase (issue #9, Misleading 3): the TDM result
that raises the dose says that the checks of the low-level finding come first, in its reason
and in the lead; a decrease or an unchanged dose carries no such condition."""

from __future__ import annotations

from pathlib import Path

from cyclodose import assess, load_case
from cyclodose.clinical.status import RegimenStatus
from cyclodose.workflows.tdm import TdmSection

ROOT = Path(__file__).parents[2]


def _tdm(path: Path) -> tuple[TdmSection, str]:
    a = assess(load_case(path))
    assert isinstance(a.tdm, TdmSection)
    return a.tdm, a.lead.headline


def test_low_levels_increase_waits_for_adherence_and_sample_checks() -> None:
    tdm, headline = _tdm(ROOT / "examples" / "tdm_two_levels.yaml")
    r = tdm.recommendation
    assert r.status == RegimenStatus.RECOMMENDED
    assert r.daily_dose_mg > 500  # the patient takes 250 mg q12h: an increase
    assert r.before_increase == ["level.below_target"]
    assert r.reason.startswith("Increase only after the checks asked for by level.below_target")
    assert "Increase only after the checks of level.below_target" in headline


def test_high_levels_decrease_has_no_pre_increase_condition() -> None:
    tdm, headline = _tdm(ROOT / "tests" / "golden" / "cases" / "levels_high.yaml")
    assert tdm.recommendation.before_increase == []
    assert "Increase only after" not in tdm.recommendation.reason + headline


def test_on_treatment_guideline_regimen_is_not_called_a_titration() -> None:
    on_treatment = assess(load_case(ROOT / "examples" / "tdm_two_levels.yaml"))
    assert on_treatment.recommendation.guideline == "adult maintenance (monograph; US label)"
    assert [p.label for p in on_treatment.recommendation.phases] == ["maintenance"]
    starting = assess(load_case(ROOT / "examples" / "adult_start.yaml"))
    assert starting.recommendation.guideline == "adult titration (monograph; US label)"
