"""The pages over HTTP without a browser: named attacks (open redirect, path traversal,
CSRF, role), the formatting rules (a unit on every number, never NaN), and the page agreeing
with the API on the same case."""

from __future__ import annotations

import math
import re

import pytest
from pages_harness import csrf_in

from cyclodose.service.pages.render import band, pct, qty
from service_fixtures import PASSWORD

CASE_FORM = {
    "patient.age_years": "45", "patient.sex": "female", "patient.weight_kg": "52",
    "patient.serum_creatinine.value": "70", "patient.serum_creatinine.unit": "umol/L",
    "patient.conditions": ["depression", "G40.9", "unheard-of syndrome"],
    "comedications": ["isoniazid", "Seromycin"],
    "regimen.amount_mg": "250", "regimen.interval_h": "12",
    "regimen.start": "2026-11-20T08:00", "regimen.count": "10",
}


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil",
                                    "javascript:alert(1)"])
def test_login_never_redirects_off_the_server(service, target):  # type: ignore[no-untyped-def]
    service.user("doc", "prescriber")
    r = service.client.post("/login", data={"name": "doc", "password": PASSWORD,
                                            "next": target}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_wrong_password_is_said_on_the_page_and_slows_down(service):  # type: ignore[no-untyped-def]
    service.user("doc", "prescriber")
    r = service.client.post("/login", data={"name": "doc", "password": "wrong"})
    assert r.status_code == 401 and "unknown user or wrong password" in r.text
    assert "cyclodose_session" not in r.headers.get("set-cookie", "")


@pytest.mark.parametrize("path", ["/static/../pages/render.py", "/static/%2e%2e/pages/render.py",
                                  "/static/vendor/plotly/LICENSE", "/static/nope.css"])
def test_static_files_stay_inside_the_static_folder(service, path):  # type: ignore[no-untyped-def]
    assert service.client.get(path).status_code == 404


def test_static_files_are_served_with_their_type(service):  # type: ignore[no-untyped-def]
    r = service.client.get("/static/vendor/htmx/htmx.min.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_a_page_form_without_the_csrf_token_is_refused(signed_in):  # type: ignore[no-untyped-def]
    r = signed_in.client.post("/assess", data=CASE_FORM)
    assert r.status_code == 403


def test_a_viewer_cannot_change_a_record(service):  # type: ignore[no-untyped-def]
    service.user("ann", "viewer")
    service.client.post("/login", data={"name": "ann", "password": PASSWORD})
    token = csrf_in(service.client.get("/").text)
    r = service.client.post("/patients/1/doses", data={"csrf_token": token,
                                                       "dose.amount_mg": "250"})
    assert r.status_code == 403
    assert "New patient record" not in service.client.get("/").text


def test_the_page_shows_what_the_api_returns(signed_in):  # type: ignore[no-untyped-def]
    page = signed_in.client.get("/assess").text
    html = signed_in.client.post("/assess", data={**CASE_FORM, "csrf_token": csrf_in(page)}).text
    doc = {"patient": {"age_years": 45, "sex": "female", "weight_kg": 52,
                       "serum_creatinine": {"value": 70, "unit": "umol/L"},
                       "conditions": ["depression", "G40.9", "unheard-of syndrome"]},
           "comedications": ["isoniazid", "Seromycin"],
           "regimen": {"amount_mg": 250, "interval_h": 12, "start": "2026-11-20T08:00",
                       "count": 10}}
    api = signed_in.client.post("/api/v1/assess", json=doc,
                                headers={"X-CSRF-Token": csrf_in(page)}).json()
    shown = re.findall(r'data-severity="(\w+)">\s*<p class="finding-head"><span class="badge">'
                       r'[^<]*</span> <code>([^<]+)</code>', html)
    assert shown == [(f["severity"], f["code"]) for f in api["findings"]]
    assert [s for s, _ in shown][:2] == ["contraindicated", "contraindicated"]
    assert "unheard-of syndrome" in html.split('id="unrecognised"')[1]
    assert api["recommendation"]["status"] in html.split('id="recommendation"')[1][:200]
    assert "nan" not in re.sub(r"<[^>]+>", " ", html).lower().split()
    assert 'id="curve-plot"' in html and "Alghamdi" in html  # the curve and the model cited


def test_numbers_carry_units_and_never_read_nan() -> None:
    assert qty(12.34, "mg/L", 1) == "12.3\u00a0mg/L"
    assert qty(float("nan"), "mg/L") == qty(None, "mg/L") == "not available"
    assert qty(math.inf, "mg") == "not available"
    assert pct(0.256) == "26\u00a0%" and pct(float("nan")) == "not available"
    assert band({"median": 20.0, "lower": 15.0, "upper": 25.0}, "mg/L") == \
        "20.0 (15.0–25.0)\u00a0mg/L"
    assert band({"median": float("nan"), "lower": 1.0, "upper": 2.0}, "mg/L") == "not available"


def _record_with_a_level(svc, csrf: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    h = {"X-CSRF-Token": csrf}
    r = svc.client.post("/api/v1/patients", headers=h, json={
        "mrn": "H-1", "name": "Http Patient",
        "patient": {"age_years": 40, "sex": "male", "weight_kg": 60,
                    "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}}})
    pid = r.json()["id"]
    svc.client.post(f"/api/v1/patients/{pid}/doses", headers=h, json={
        "amount_mg": 250, "interval_h": 12, "start": "2026-11-20T08:00:00", "count": 20})
    r = svc.client.post(f"/api/v1/patients/{pid}/levels", headers=h,
                        json={"time": "2026-11-29T10:00:00", "value": 24.5, "unit": "mg/L"})
    return pid, r.json()["id"]


def test_a_correction_keeps_the_old_level_marked_with_its_reason(signed_in):  # type: ignore[no-untyped-def]
    csrf = csrf_in(signed_in.client.get("/").text)
    pid, lid = _record_with_a_level(signed_in, csrf)
    r = signed_in.client.post(f"/patients/{pid}/levels/{lid}/correct", follow_redirects=False,
                              data={"csrf_token": csrf, f"level{lid}.time": "2026-11-29T10:00",
                                    f"level{lid}.value": "22.5", f"level{lid}.unit": "mg/L",
                                    f"level{lid}.reason": "transcription error"})
    assert r.status_code == 303, r.text
    levels = signed_in.client.get(f"/api/v1/patients/{pid}").json()["levels"]
    assert [(lv["level"]["value"], lv["in_error"]) for lv in levels] == [(24.5, True),
                                                                       (22.5, False)]
    assert levels[0]["error_reason"] == "corrected: transcription error"


def test_entered_in_error_needs_a_reason_named_beside_the_field(signed_in):  # type: ignore[no-untyped-def]
    csrf = csrf_in(signed_in.client.get("/").text)
    pid, lid = _record_with_a_level(signed_in, csrf)
    r = signed_in.client.post(f"/patients/{pid}/levels/{lid}/entered-in-error",
                              data={"csrf_token": csrf, f"level{lid}.reason": ""})
    assert r.status_code == 422
    assert re.search(rf'id="err-level{lid}-reason"[^>]*>[^<]*at least 1 character', r.text)
    levels = signed_in.client.get(f"/api/v1/patients/{pid}").json()["levels"]
    assert [lv["in_error"] for lv in levels] == [False]  # nothing changed


def test_a_bad_level_unit_is_refused_beside_the_field(signed_in):  # type: ignore[no-untyped-def]
    csrf = csrf_in(signed_in.client.get("/").text)
    pid, _ = _record_with_a_level(signed_in, csrf)
    r = signed_in.client.post(f"/patients/{pid}/levels", data={
        "csrf_token": csrf, "level.time": "2026-11-29T20:00", "level.value": "12",
        "level.unit": "mg/furlong"})
    assert r.status_code == 422
    assert "levels[1].unit" in r.text and "mg/furlong" in r.text


def test_admin_adds_a_user_with_a_one_time_password_and_manages_tokens(service):  # type: ignore[no-untyped-def]
    from cyclodose.service import auth
    from cyclodose.service.storage import ApiToken

    service.user("root", "admin")
    service.client.post("/login", data={"name": "root", "password": PASSWORD})
    csrf = csrf_in(service.client.get("/admin").text)
    r = service.client.post("/admin/users", data={"csrf_token": csrf, "name": "nurse",
                                                  "role": "pharmacist", "password": "short"})
    assert r.status_code == 422 and "at least 10 characters" in r.text
    r = service.client.post("/admin/users", data={"csrf_token": csrf, "name": "nurse",
                                                  "role": "pharmacist",
                                                  "password": "one-time-pass-1"})
    assert r.status_code == 200 and "one-time password not yet changed" in r.text
    r = service.client.post("/admin/tokens", data={"csrf_token": csrf, "name": "nurse",
                                                   "expires_days": "30"})
    token = re.search(r'id="new-token" readonly value="(cyd_[^"]+)"', r.text)
    assert token, r.text[:2000]
    assert service.client.get("/api/v1/auth/me", headers={
        "Authorization": f"Bearer {token.group(1)}"}).json()["name"] == "nurse"
    with service.db.session() as s:
        user = auth.user_by_name(s, "nurse")
        assert user is not None and user.must_change_password
        tid = s.scalars(__import__("sqlalchemy").select(ApiToken.id)).one()
    service.client.post(f"/admin/tokens/{tid}/revoke", data={"csrf_token": csrf})
    assert service.client.get("/api/v1/auth/me", headers={
        "Authorization": f"Bearer {token.group(1)}"}).status_code == 401
    assert "Verified" in service.client.get("/admin").text


def test_only_an_admin_opens_admin(signed_in):  # type: ignore[no-untyped-def]
    assert signed_in.client.get("/admin").status_code == 403


def test_a_running_pta_job_shows_its_progress_and_keeps_polling(signed_in):  # type: ignore[no-untyped-def]
    from cyclodose.service.storage import JobRow

    now = signed_in.clock()
    with signed_in.db.session() as s:
        s.add(JobRow(id="job-1", kind="pta", status="running", progress=0.4, input={},
                     result=None, error=None, owner="doc", created_at=now, updated_at=now))
    html = signed_in.client.get("/pta/jobs/job-1").text
    assert re.search(r'<progress id="job-progress" max="1" value="0.4"', html)
    assert 'hx-trigger="every 1s"' in html and "40&nbsp;%" in html
    with signed_in.db.session() as s:
        row = s.get(JobRow, "job-1")
        row.status, row.error = "failed", "interrupted by a service restart; submit it again"
    part = signed_in.client.get("/pta/jobs/job-1/status").text
    assert "hx-trigger" not in part and "interrupted by a service restart" in part


def test_another_users_job_is_not_found(signed_in):  # type: ignore[no-untyped-def]
    from cyclodose.service.storage import JobRow

    now = signed_in.clock()
    with signed_in.db.session() as s:
        s.add(JobRow(id="job-2", kind="pta", status="done", progress=1.0, input={},
                     result={"regimens": []}, error=None, owner="someone-else", created_at=now,
                     updated_at=now))
    assert signed_in.client.get("/pta/jobs/job-2").status_code == 404
    assert signed_in.client.get("/pta/jobs/job-2/table.csv").status_code == 404


def test_a_record_correction_keeps_the_old_value_and_refuses_a_stale_form(signed_in):  # type: ignore[no-untyped-def]
    csrf = csrf_in(signed_in.client.get("/").text)
    pid, _ = _record_with_a_level(signed_in, csrf)
    page = signed_in.client.get(f"/patients/{pid}").text
    etag = re.search(r'name="etag" value="([^"]+)"', page).group(1).replace("&#34;", '"')
    form = {"csrf_token": csrf, "etag": etag, "patient.age_years": "40",
            "patient.sex": "male", "patient.weight_kg": "64",
            "patient.serum_creatinine.value": "0.9", "patient.serum_creatinine.unit": "mg/dL",
            "reason": "weighed again on the ward"}
    r = signed_in.client.post(f"/patients/{pid}/correct", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:3000]
    rec = signed_in.client.get(f"/api/v1/patients/{pid}").json()
    assert rec["patient"]["weight_kg"] == 64
    assert rec["revisions"][-1]["reason"] == "weighed again on the ward"
    assert rec["revisions"][-1]["record"]["patient"]["weight_kg"] == 60
    r = signed_in.client.post(f"/patients/{pid}/correct", data={**form, "patient.weight_kg": "70"})
    assert r.status_code == 422 and "changed since you read it" in r.text
    assert signed_in.client.get(f"/api/v1/patients/{pid}").json()["patient"]["weight_kg"] == 64


def test_the_case_form_takes_gestation_and_the_page_shows_it_when_pregnant(signed_in):  # type: ignore[no-untyped-def]
    form = signed_in.client.get("/assess").text
    assert 'name="patient.gestational_week"' in form and 'name="patient.trimester"' in form
    token = csrf_in(form)
    pregnant = signed_in.client.post("/assess", data={
        **CASE_FORM, "patient.pregnant": "on", "patient.gestational_week": "24",
        "csrf_token": token}).text
    assert '<dt>Gestation</dt><dd id="gestation">week 24, second trimester</dd>' in pregnant
    assert "Pregnancy (week 24, second trimester)" in pregnant  # the finding beside it
    by_trimester = signed_in.client.post("/assess", data={
        **CASE_FORM, "patient.pregnant": "on", "patient.trimester": "3",
        "csrf_token": token}).text
    assert '<dd id="gestation">third trimester, week not recorded</dd>' in by_trimester
    assert "<dt>Gestation</dt>" not in signed_in.client.post(
        "/assess", data={**CASE_FORM, "csrf_token": token}).text  # no empty row for others


def test_a_gestation_that_contradicts_is_refused_beside_its_field(signed_in):  # type: ignore[no-untyped-def]
    token = csrf_in(signed_in.client.get("/assess").text)
    html = signed_in.client.post("/assess", data={
        **CASE_FORM, "patient.pregnant": "on", "patient.gestational_week": "24",
        "patient.trimester": "3", "csrf_token": token}).text
    slot = html.split('id="err-patient-trimester"')[1].split("</span>")[0]
    assert "trimester 3 does not match gestational week 24" in slot
    html = signed_in.client.post("/assess", data={
        **CASE_FORM, "patient.gestational_week": "24", "csrf_token": token}).text
    slot = html.split('id="err-patient-gestational_week"')[1].split("</span>")[0]
    assert "a gestational week needs pregnant: true" in slot


def test_a_record_keeps_the_gestation_in_its_correction_form(signed_in):  # type: ignore[no-untyped-def]
    token = csrf_in(signed_in.client.get("/patients/new").text)
    r = signed_in.client.post("/patients", follow_redirects=False, data={
        **{k: v for k, v in CASE_FORM.items() if not k.startswith("regimen.")},
        "mrn": "G-24", "name": "Pregnant Patient", "patient.pregnant": "on",
        "patient.gestational_week": "24", "csrf_token": token})
    assert r.status_code == 303, r.text
    html = signed_in.client.get(r.headers["location"]).text
    assert '<dd id="gestation">week 24, second trimester</dd>' in html
    assert re.search(r'name="patient.gestational_week" inputmode="numeric" value="24"', html)
