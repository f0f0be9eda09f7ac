"""CDS Hooks with levels (issue #9, Misleading 2): the TDM result card comes before the
guideline regimen's card, which is labelled as not using the measured levels."""

from __future__ import annotations

from typing import Any

import pytest
from cds_helpers import call_service, draft_order, hook_request, prefetch, searchset

from cyclodose.service.ehr_settings import EhrSettings
from interop.fhir_builders import mg, obs, request

PUBLIC = "https://cds.example.org"


@pytest.fixture
def cds(make_service: Any) -> Any:
    svc = make_service()
    svc.app.state.ehr_settings = EhrSettings(cds_insecure=True, public_url=PUBLIC)
    return svc


def _on_cycloserine_with_levels() -> dict[str, Any]:
    on_cs = request("mr1", [{"timing": {"repeat": {"frequency": 2, "period": 1,
                                                   "periodUnit": "d",
                                                   "boundsPeriod": {"start": "2026-10-20"}}},
                             "doseAndRate": [{"doseQuantity": mg(250)}]}])
    levels = searchset(
        obs("lv1", None, 24.5, "mg/L", "2026-11-01T10:00:00Z", text="cycloserine level"),
        obs("lv2", None, 14.2, "mg/L", "2026-11-01T18:00:00Z", text="cycloserine level"))
    return prefetch(medications=searchset(on_cs), levels=levels)


def test_with_levels_the_tdm_card_comes_before_the_guideline_card(cds: Any) -> None:
    out = call_service(cds, "cyclodose-patient-view",
                       hook_request("patient-view", prefetch=_on_cycloserine_with_levels()))
    topics = [c["source"]["topic"]["code"] for c in out]
    assert "tdm" in topics and "dosing" in topics, [c["summary"] for c in out]
    assert topics.index("tdm") < topics.index("dosing")
    tdm_card = out[topics.index("tdm")]
    assert tdm_card["summary"].startswith("Cycloserine TDM result — ")
    assert "uses the measured levels" in tdm_card["detail"]
    guideline = out[topics.index("dosing")]
    assert guideline["summary"].startswith("Guideline regimen (for reference; does not use the "
                                           "measured levels)")
    assert "suggestions" not in guideline


def test_with_levels_only_the_tdm_card_may_rewrite_the_order(cds: Any) -> None:
    body = hook_request("order-select", draft_order(250, 2), prefetch=_on_cycloserine_with_levels())
    out = call_service(cds, "cyclodose-order-select", body)
    suggesting = [c for c in out if c.get("suggestions")]
    assert all(c["source"]["topic"]["code"] == "tdm" for c in suggesting)
    tdm = [c for c in out if c["source"]["topic"]["code"] == "tdm"]
    assert len(tdm) == 1 and tdm[0]["indicator"] == "info"  # recommended for these levels
    assert tdm[0]["summary"].startswith("Cycloserine TDM result — recommended")
    assert suggesting == tdm  # the guideline regimen does not compete with it
    (action,) = tdm[0]["suggestions"][0]["actions"]
    dosage = action["resource"]["dosageInstruction"]
    assert [d["doseAndRate"][0]["doseQuantity"]["value"] for d in dosage] == [250]
    assert dosage[0]["timing"]["repeat"]["frequency"] == 2


def test_with_levels_the_tdm_fits_only_the_doses_given_before_now(cds: Any,
                                                                 monkeypatch: Any) -> None:
    """The active order has no end: the reader reads it a week ahead (the dose checks see
    it), but the doses after the hook's time are planned: the fit stops at now and the new
    regimen starts at the next dose from now, not after the last planned dose."""
    from cyclodose import workflows
    from cyclodose.workflows.tdm import pipeline

    seen: dict[str, Any] = {}
    real_assess, real_history = workflows.assess, pipeline.dose_history

    def assess(case: Any) -> Any:
        seen["case"], seen["result"] = case, real_assess(case)
        return seen["result"]

    def dose_history(case: Any) -> Any:
        seen["fitted"] = real_history(case)
        return seen["fitted"]

    monkeypatch.setattr(workflows, "assess", assess)
    monkeypatch.setattr(pipeline, "dose_history", dose_history)
    for hook, orders in (("patient-view", ()), ("order-select", (draft_order(250, 2),))):
        body = hook_request(hook, *orders, prefetch=_on_cycloserine_with_levels())
        out = call_service(cds, f"cyclodose-{hook}", body)
        assert any(c["source"]["topic"]["code"] == "tdm" for c in out)
        case, tdm = seen["case"], seen["result"].tdm
        now = cds.clock()  # 2026-11-02 09:00 UTC
        # q12h from 2026-10-20 00:00 UTC: 00:00 and 12:00, up to 00:00 today
        assert seen["fitted"].n == 2 * 13 + 1, hook
        assert max(case.clock(float(t)) for t in seen["fitted"].time_h) < now
        assert len(case.doses) > seen["fitted"].n  # the week ahead is still read (and checked)
        assert tdm.new_regimen_start_clock == "2026-11-02T12:00+00:00", hook
        assert max(tdm.predictions.dose_times_h) < case.assessed_at_h
