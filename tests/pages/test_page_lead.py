"""The pages follow the assessment's lead (issue #9, Misleading 2): the patient page with
levels leads with the TDM result, then the guideline and population regimens labelled as not
using the levels; the /assess page without levels leads with the guideline regimen."""

from __future__ import annotations

import re

from pages_harness import csrf_in


def _positions(html: str, *marks: str) -> list[int]:
    at = [html.find(m) for m in marks]
    assert all(i >= 0 for i in at), [m for m, i in zip(marks, at, strict=True) if i < 0]
    return at


def test_with_levels_the_patient_page_leads_with_the_tdm_result(signed_in):  # type: ignore[no-untyped-def]
    csrf = csrf_in(signed_in.client.get("/").text)
    h = {"X-CSRF-Token": csrf}
    pid = signed_in.client.post("/api/v1/patients", headers=h, json={
        "mrn": "L-1", "name": "Lead Patient",
        "patient": {"age_years": 40, "sex": "male", "weight_kg": 60,
                    "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}}}).json()["id"]
    signed_in.client.post(f"/api/v1/patients/{pid}/doses", headers=h, json={
        "amount_mg": 250, "interval_h": 12, "start": "2026-11-20T08:00:00", "count": 20})
    for when, value in (("2026-11-29T10:00:00", 24.5), ("2026-11-29T18:00:00", 14.2)):
        r = signed_in.client.post(f"/api/v1/patients/{pid}/levels", headers=h,
                                  json={"time": when, "value": value, "unit": "mg/L"})
        assert r.status_code == 201, r.text
    html = signed_in.client.get(f"/patients/{pid}").text
    lead, tdm, guideline, model = _positions(
        html, 'id="lead"', 'id="tdm"', 'id="recommendation"', 'id="prediction"')
    assert lead < tdm < guideline < model
    assert 'data-section="tdm"' in html[lead:lead + 200]
    headline = re.search(r'id="lead-headline">([^<]+)<', html)
    assert headline and headline.group(1).startswith("TDM result —")
    assert ">TDM result (uses the measured levels)<" in html
    assert ">Guideline regimen (for reference; does not use the measured levels)<" in html
    assert "ignores the measured levels)<" in html
    assert 'data-role="reference"' in html[guideline:guideline + 300]
    # the TDM regimen of the headline is the one in the TDM section
    tdm_regimen = re.search(r'id="tdm-regimen">([^=<]+) =', html)
    assert tdm_regimen and tdm_regimen.group(1).strip() in headline.group(1)
    # the stored assessments list the lead recommendation beside the guideline's own status
    history = signed_in.client.get(f"/patients/{pid}/history").text
    assert "<td>TDM result (uses the measured levels): " in history


def test_without_levels_the_assess_page_leads_with_the_guideline(signed_in):  # type: ignore[no-untyped-def]
    page = signed_in.client.get("/assess").text
    html = signed_in.client.post("/assess", data={
        "csrf_token": csrf_in(page), "patient.age_years": "40", "patient.sex": "male",
        "patient.weight_kg": "60", "patient.serum_creatinine.value": "0.9",
        "patient.serum_creatinine.unit": "mg/dL"}).text
    lead, guideline, model = _positions(html, 'id="lead"', 'id="recommendation"',
                                        'id="prediction"')
    assert lead < guideline < model and 'id="tdm"' not in html
    assert 'data-section="guideline"' in html[lead:lead + 200]
    assert ">Guideline regimen<" in html and "does not use the measured levels" not in html
