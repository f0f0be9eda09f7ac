"""Which regimen leads (issue #9, Misleading 2): with levels the TDM result, without them the
guideline regimen; an unusable TDM result says what to do and nothing takes its place."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from cyclodose import Assessment, assess, parse_case
from cyclodose.clinical.status import RegimenStatus
from cyclodose.errors import CaseError
from cyclodose.workflows.tdm import TdmUnavailable

EXAMPLES = Path(__file__).parents[2] / "examples"


def _doc(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    return doc


def _titles(a: Assessment) -> list[tuple[str, str]]:
    return [(s.name, s.role) for s in a.lead.sections]


@pytest.fixture(scope="module")
def with_levels() -> Assessment:
    return assess(parse_case(_doc("tdm_two_levels.yaml")))


def test_without_levels_guideline_leads() -> None:
    a = assess(parse_case(_doc("adult_start.yaml")))
    assert a.lead.section == "guideline" and a.lead.status == a.recommendation.status
    assert _titles(a) == [("guideline", "lead"), ("model_informed", "reference")]
    assert a.lead.headline.startswith("Guideline regimen — recommended: 250 mg every 12 h")
    assert "titration" in a.lead.headline  # a patient who has not started gets the start
    assert not any(s.uses_levels for s in a.lead.sections)


def test_with_levels_tdm_result_leads(with_levels: Assessment) -> None:
    a = with_levels
    assert a.lead.section == "tdm" and a.lead.status == RegimenStatus.RECOMMENDED
    assert _titles(a) == [("tdm", "lead"), ("guideline", "reference"),
                          ("model_informed", "reference")]
    assert a.lead_tdm is not None
    assert a.lead.regimen == f"{a.lead_tdm.regimen} ({a.lead_tdm.daily_dose_mg:g} mg/day)"
    assert a.lead.headline.startswith(f"TDM result — recommended: {a.lead_tdm.advice.action}: "
                                      f"{a.lead.regimen}")
    assert "warning(s) apply" in a.lead.headline  # the low-level finding travels with it
    titles = {s.name: s.title for s in a.lead.sections}
    assert "does not use the measured levels" in titles["guideline"]
    assert "ignores the measured levels" in titles["model_informed"]
    assert a.prediction is not None
    assert a.prediction.rationale[0].startswith("Population-model regimen: it ignores the "
                                                "measured levels")


def estimate_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """The estimator fails as it does on levels it cannot fit (pipeline: EstimationFailed)."""
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise CaseError.single("levels", "no Bayesian estimate can be made from these levels "
                               "and this dose history: the fit did not converge")
    monkeypatch.setattr("cyclodose.workflows.tdm.estimate", fail)


def test_tdm_unavailable_lead_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    estimate_fails(monkeypatch)
    a = assess(parse_case(_doc("tdm_two_levels.yaml")))
    assert isinstance(a.tdm, TdmUnavailable)
    assert a.lead.section == "tdm" and a.lead.status == RegimenStatus.NOT_MODELLED
    assert a.lead.regimen is None and a.lead_tdm is None
    assert a.lead.headline.startswith("TDM result — unavailable: levels: no Bayesian estimate")
    assert "Interpret the measured levels by hand" in a.lead.headline
    assert "do not replace the TDM result" in a.lead.headline
    assert [s.role for s in a.lead.sections] == ["lead", "reference", "reference"]
    # the guideline regimen stays a reference, its own status unchanged and labelled
    assert a.recommendation.status == RegimenStatus.RECOMMENDED
    assert "does not use the measured levels" in a.lead.sections[1].title


def test_tdm_verify_lead_says_what_to_do() -> None:
    doc = _doc("tdm_two_levels.yaml")
    doc["levels"][0]["value"], doc["levels"][1]["value"] = 8.0, 5.5  # not explained: verify
    a = assess(parse_case(doc))
    assert a.lead.section == "tdm" and a.lead.status == RegimenStatus.VERIFY
    assert a.lead.headline.startswith("TDM result — verify before any dose change")
    assert "is shown for the reviewer, not to give as written" in a.lead.headline
    assert "do not replace the TDM result" in a.lead.headline


def test_tdm_hold_lead_says_hold_and_review() -> None:
    doc = _doc("tdm_two_levels.yaml")
    doc["patient"]["symptoms"] = ["tremor", "confusion"]
    a = assess(parse_case(doc))
    assert a.lead.status == RegimenStatus.HOLD
    assert a.lead.headline.startswith("TDM result — hold and review: toxicity on treatment")


def test_an_assessment_stored_before_the_lead_still_renders(with_levels: Assessment) -> None:
    for a in (with_levels, assess(parse_case(_doc("adult_start.yaml")))):
        old = a.model_dump(mode="json")
        del old["lead"]
        again = Assessment.model_validate(copy.deepcopy(old))
        assert again.lead == a.lead


def test_lead_is_described_in_the_schema() -> None:
    schema = Assessment.model_json_schema()
    assert "lead" in schema["required"]
    assert set(schema["$defs"]["Lead"]["properties"]) == {
        "section", "status", "regimen", "headline", "reason", "sections"}
