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
