"""Patient records over HTTP: create, read, correct, doses, levels, assessments, search."""

from __future__ import annotations

import pytest
from service_cases import ADULT, new_patient
from sqlalchemy import select

from cyclodose.service.storage import AuditEntry, PatientRow

REGIMEN = {"amount_mg": 250, "interval_h": 12, "start": "2026-11-01T08:00:00", "count": 14}
LEVEL_PEAK = {"time": "2026-11-07T10:00:00", "value": 24.0, "unit": "mg/L"}
LEVEL_LATE = {"time": "2026-11-07T18:00:00", "value": 12.5, "unit": "mg/L"}


@pytest.fixture
def writer(service):
    return service.token("pharm", "pharmacist")


@pytest.fixture
def created(service, writer):
    r = service.client.post("/api/v1/patients", json=new_patient(), headers=writer)
    assert r.status_code == 201, r.text
    return r


def _actions(service):
    with service.db.session() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_create_returns_the_record_with_location_and_etag(service, created):
    body = created.json()
    assert created.headers["location"] == f"/api/v1/patients/{body['id']}"
    assert created.headers["etag"] == f'"p{body["id"]}v1"'
    assert body["mrn"] == "MRN001" and body["version"] == 1 and body["doses"] == []
    assert body["patient"]["weight_kg"] == ADULT["patient"]["weight_kg"]
    assert _actions(service) == ["patient.create"]


def test_create_bad_input_is_422_with_field_paths(service, writer):
    doc = new_patient()
    doc["patient"] = {**doc["patient"], "weight_kg": -3}
    r = service.client.post("/api/v1/patients", json=doc, headers=writer)
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "patient.weight_kg"


def test_create_rejects_what_the_core_rejects(service, writer):
    doc = new_patient()
    doc["patient"] = {**doc["patient"], "serum_creatinine": {"value": 80, "unit": "mg/dL"}}
    r = service.client.post("/api/v1/patients", json=doc, headers=writer)
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "patient.serum_creatinine.value"


def test_duplicate_mrn_is_409(service, writer, created):
    r = service.client.post("/api/v1/patients", json=new_patient(), headers=writer)
    assert r.status_code == 409


def test_every_patient_route_needs_authentication(service, created):
    pid = created.json()["id"]
    for method, path in [("get", "/api/v1/patients"), ("get", f"/api/v1/patients/{pid}"),
                         ("patch", f"/api/v1/patients/{pid}"),
                         ("post", f"/api/v1/patients/{pid}/doses"),
                         ("post", f"/api/v1/patients/{pid}/levels"),
                         ("get", f"/api/v1/patients/{pid}/assessment"),
                         ("get", f"/api/v1/patients/{pid}/assessments"),
                         ("post", "/api/v1/patients")]:
        r = getattr(service.client, method)(path, **({"json": {}} if method != "get" else {}))
        assert r.status_code == 401, (method, path)


def test_role_escalation_a_viewer_cannot_change_anything(service, created):
    viewer = service.token("view", "viewer")
    pid = created.json()["id"]
    etag = created.headers["etag"]
    assert service.client.get(f"/api/v1/patients/{pid}", headers=viewer).status_code == 200
    attempts = [
        service.client.post("/api/v1/patients", json=new_patient("X2"), headers=viewer),
        service.client.patch(f"/api/v1/patients/{pid}", json={"reason": "x", "name": "Eve"},
                             headers={**viewer, "If-Match": etag}),
        service.client.post(f"/api/v1/patients/{pid}/doses", json=REGIMEN, headers=viewer),
        service.client.post(f"/api/v1/patients/{pid}/levels", json=LEVEL_PEAK, headers=viewer),
        service.client.get("/api/v1/audit", headers=viewer),
    ]
    assert [r.status_code for r in attempts] == [403] * 5
    # a viewer cannot make itself anything else through any route
    r = service.client.get("/api/v1/auth/me", headers=viewer)
    assert r.json()["role"] == "viewer"


def test_admin_reads_but_does_not_edit_records(service, created):
    admin = service.token("root", "admin")
    pid = created.json()["id"]
    assert service.client.get(f"/api/v1/patients/{pid}", headers=admin).status_code == 200
    assert service.client.post(f"/api/v1/patients/{pid}/doses", json=REGIMEN,
                               headers=admin).status_code == 403


def test_reads_are_audited(service, writer, created):
    pid = created.json()["id"]
    service.client.get(f"/api/v1/patients/{pid}", headers=writer)
    service.client.get("/api/v1/patients?q=ada", headers=writer)
    assert _actions(service)[-2:] == ["patient.read", "patient.search"]


def test_unknown_patient_is_404(service, writer):
    assert service.client.get("/api/v1/patients/999", headers=writer).status_code == 404


def test_correction_keeps_the_old_value_with_who_when_why(service, writer, created):
    pid, etag = created.json()["id"], created.headers["etag"]
    patched = {**ADULT["patient"], "weight_kg": 58}
    r = service.client.patch(f"/api/v1/patients/{pid}", headers={**writer, "If-Match": etag},
                             json={"reason": "weighed again on the ward", "patient": patched})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 2 and body["patient"]["weight_kg"] == 58
    [rev] = body["revisions"]
    assert rev["version"] == 1 and rev["record"]["patient"]["weight_kg"] == 62
    assert rev["replaced_by"] == "pharm" and rev["reason"] == "weighed again on the ward"
    assert r.headers["etag"] == f'"p{pid}v2"'


def test_stale_etag_is_412_and_missing_if_match_is_428(service, writer, created):
    pid, etag = created.json()["id"], created.headers["etag"]
    ok = service.client.patch(f"/api/v1/patients/{pid}", headers={**writer, "If-Match": etag},
                              json={"reason": "typo", "name": "Ada King"})
    assert ok.status_code == 200
    stale = service.client.patch(f"/api/v1/patients/{pid}", headers={**writer, "If-Match": etag},
                                 json={"reason": "typo", "name": "Ada B"})
    assert stale.status_code == 412
    missing = service.client.patch(f"/api/v1/patients/{pid}", headers=writer,
                                   json={"reason": "typo", "name": "Ada B"})
    assert missing.status_code == 428
    assert service.client.post(f"/api/v1/patients/{pid}/doses", json=REGIMEN,
                               headers={**writer, "If-Match": etag}).status_code == 412


def test_lost_race_is_409(service, created):
    """Two writers read version 1; the one that saves second finds the version moved."""
    from fastapi import HTTPException

    from cyclodose.service.routes.patients import _bump

    pid = created.json()["id"]
    slow = service.db.new_session()
    seen = slow.get(PatientRow, pid)
    slow.commit()  # the slower writer keeps its copy of version 1
    with service.db.session() as fast:
        _bump(fast, fast.get(PatientRow, pid), service.clock(), "fast")
    with pytest.raises(HTTPException) as exc:
        _bump(slow, seen, service.clock(), "slow")
    slow.rollback()
    slow.close()
    assert exc.value.status_code == 409


def test_patch_needs_something_to_correct(service, writer, created):
    pid, etag = created.json()["id"], created.headers["etag"]
    r = service.client.patch(f"/api/v1/patients/{pid}", headers={**writer, "If-Match": etag},
                             json={"reason": "nothing"})
    assert r.status_code == 422


def test_doses_levels_and_assessment(service, writer, created):
    pid = created.json()["id"]
    r = service.client.post(f"/api/v1/patients/{pid}/doses", json=REGIMEN, headers=writer)
    assert r.status_code == 201, r.text
    assert r.json()["dose"]["interval_h"] == 12
    for level in (LEVEL_PEAK, LEVEL_LATE):
        assert service.client.post(f"/api/v1/patients/{pid}/levels", json=level,
                                   headers=writer).status_code == 201
    record = service.client.get(f"/api/v1/patients/{pid}", headers=writer).json()
    assert len(record["doses"]) == 1 and len(record["levels"]) == 2 and record["version"] == 4
    r = service.client.get(f"/api/v1/patients/{pid}/assessment", headers=writer)
    assert r.status_code == 200, r.text
    stored = r.json()
    assert len(stored["input"]["levels"]) == 2
    assert len(stored["input"]["regimen"]["doses"]) == 14
    assert stored["assessment"]["tdm"] is not None
    assert stored["versions"]["software"] and stored["versions"]["models"]
    history = service.client.get(f"/api/v1/patients/{pid}/assessments", headers=writer).json()
    assert history["total"] == 1 and history["items"][0]["id"] == stored["id"]


def test_the_stored_assessment_equals_the_stateless_one(service, writer, created):
    """One data path: the record assembled into a Case gives what POST /assess gives."""
    pid = created.json()["id"]
    service.client.post(f"/api/v1/patients/{pid}/doses", json=REGIMEN, headers=writer)
    stored = service.client.get(f"/api/v1/patients/{pid}/assessment", headers=writer).json()
    direct = service.client.post("/api/v1/assess", json=stored["input"], headers=writer).json()
    assert direct == stored["assessment"]


def test_single_doses_and_regimens_combine(service, writer, created):
    pid = created.json()["id"]
    service.client.post(f"/api/v1/patients/{pid}/doses", json=REGIMEN, headers=writer)
    r = service.client.post(f"/api/v1/patients/{pid}/doses", headers=writer,
                            json={"time": "2026-11-08T08:00:00", "amount_mg": 500})
    assert r.status_code == 201
    stored = service.client.get(f"/api/v1/patients/{pid}/assessment", headers=writer).json()
    doses = stored["input"]["regimen"]["doses"]
    assert len(doses) == 15 and doses[-1]["amount_mg"] == 500
    assert doses[0]["time"].startswith("2026-11-01T08:00:00")


def test_a_level_before_any_dose_is_422_and_not_stored(service, writer, created):
    pid = created.json()["id"]
    r = service.client.post(f"/api/v1/patients/{pid}/levels", json=LEVEL_PEAK, headers=writer)
    assert r.status_code == 422
    assert service.client.get(f"/api/v1/patients/{pid}", headers=writer).json()["levels"] == []


def test_entered_in_error_stays_visible_and_drops_out(service, writer, created):
    pid = created.json()["id"]
    service.client.post(f"/api/v1/patients/{pid}/doses", json=REGIMEN, headers=writer)
    lv = service.client.post(f"/api/v1/patients/{pid}/levels", json=LEVEL_PEAK,
                             headers=writer).json()
    r = service.client.post(f"/api/v1/patients/{pid}/levels/{lv['id']}/entered-in-error",
                            json={"reason": "sample drawn from the infusion arm"},
                            headers=writer)
    assert r.status_code == 200, r.text
    [level] = r.json()["levels"]
    assert level["in_error"] is True and level["error_by"] == "pharm"
    assert level["error_reason"] == "sample drawn from the infusion arm"
    stored = service.client.get(f"/api/v1/patients/{pid}/assessment", headers=writer).json()
    assert stored["input"]["levels"] == []
    again = service.client.post(f"/api/v1/patients/{pid}/levels/{lv['id']}/entered-in-error",
                                json={"reason": "twice"}, headers=writer)
    assert again.status_code == 409
    wrong_kind = service.client.post(f"/api/v1/patients/{pid}/doses/{lv['id']}/entered-in-error",
                                     json={"reason": "x"}, headers=writer)
    assert wrong_kind.status_code == 404


def test_a_dose_cannot_be_marked_in_error_while_levels_need_it(service, writer, created):
    pid = created.json()["id"]
    dose = service.client.post(f"/api/v1/patients/{pid}/doses", json=REGIMEN,
                               headers=writer).json()
    service.client.post(f"/api/v1/patients/{pid}/levels", json=LEVEL_PEAK, headers=writer)
    r = service.client.post(f"/api/v1/patients/{pid}/doses/{dose['id']}/entered-in-error",
                            json={"reason": "wrong patient"}, headers=writer)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "levels"


def test_times_without_offset_are_read_in_the_clinic_zone(make_service):
    svc = make_service(timezone="Africa/Johannesburg")  # UTC+2, no daylight saving
    writer = svc.token("pharm", "pharmacist")
    pid = svc.client.post("/api/v1/patients", json=new_patient(), headers=writer).json()["id"]
    r = svc.client.post(f"/api/v1/patients/{pid}/doses", headers=writer,
                        json={"time": "2026-11-01T08:00:00", "amount_mg": 250})
    assert r.json()["dose"]["time"] == "2026-11-01T08:00:00+02:00"
    with svc.db.session() as s:
        from cyclodose.service.storage import EntryRow

        assert s.scalar(select(EntryRow.data))["time"] == "2026-11-01T06:00:00Z"
    stored = svc.client.get(f"/api/v1/patients/{pid}/assessment", headers=writer).json()
    assert stored["input"]["regimen"]["doses"][0]["time"].startswith("2026-11-01T08:00:00")


def test_search_by_mrn_or_name_is_paginated(service, writer):
    for i, name in enumerate(["Ada Lovelace", "Grace Hopper", "Ada Yonath"]):
        service.client.post("/api/v1/patients", json=new_patient(f"M{i}", name), headers=writer)
    found = service.client.get("/api/v1/patients?q=ada", headers=writer).json()
    assert [p["name"] for p in found["items"]] == ["Ada Lovelace", "Ada Yonath"]
    assert service.client.get("/api/v1/patients?q=M1", headers=writer).json()["total"] == 1
    page = service.client.get("/api/v1/patients?limit=2&offset=2", headers=writer).json()
    assert page["total"] == 3 and len(page["items"]) == 1
    assert service.client.get("/api/v1/patients?limit=0", headers=writer).status_code == 422


@pytest.mark.parametrize("attack", ["' OR '1'='1", "%", "_", "x'; DROP TABLE patients; --",
                                    "\\", "Ada%' UNION SELECT * FROM users --"])
def test_sql_injection_in_search_finds_nothing_and_breaks_nothing(service, writer, attack):
    service.client.post("/api/v1/patients", json=new_patient("M1", "Ada Lovelace"),
                        headers=writer)
    r = service.client.get("/api/v1/patients", params={"q": attack}, headers=writer)
    assert r.status_code == 200 and r.json()["total"] == 0
    assert service.client.get("/api/v1/patients", headers=writer).json()["total"] == 1


def test_stale_etag_on_levels_and_entered_in_error_is_412(service, writer, created):
    pid = created.json()["id"]
    first = service.client.post(f"/api/v1/patients/{pid}/doses", json=REGIMEN, headers=writer)
    etag = first.headers["etag"]
    lv = service.client.post(f"/api/v1/patients/{pid}/levels", json=LEVEL_PEAK,
                             headers={**writer, "If-Match": etag})
    assert lv.status_code == 201  # the ETag was current
    assert service.client.post(f"/api/v1/patients/{pid}/levels", json=LEVEL_LATE,
                               headers={**writer, "If-Match": etag}).status_code == 412
    r = service.client.post(f"/api/v1/patients/{pid}/levels/{lv.json()['id']}/entered-in-error",
                            json={"reason": "x"}, headers={**writer, "If-Match": etag})
    assert r.status_code == 412
    current = service.client.get(f"/api/v1/patients/{pid}", headers=writer).headers["etag"]
    r = service.client.post(f"/api/v1/patients/{pid}/levels/{lv.json()['id']}/entered-in-error",
                            json={"reason": "x"}, headers={**writer, "If-Match": current})
    assert r.status_code == 200


def test_dose_and_level_bad_input_is_422(service, writer, created):
    pid = created.json()["id"]
    r = service.client.post(f"/api/v1/patients/{pid}/doses", headers=writer,
                            json={"amount_mg": 250, "interval_h": 12})
    assert r.status_code == 422
    r = service.client.post(f"/api/v1/patients/{pid}/doses", headers=writer,
                            json={"time": "not a time", "amount_mg": 250})
    assert r.status_code == 422
    service.client.post(f"/api/v1/patients/{pid}/doses", json=REGIMEN, headers=writer)
    r = service.client.post(f"/api/v1/patients/{pid}/levels", headers=writer,
                            json={**LEVEL_PEAK, "unit": "parsecs"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "levels[0].unit"
    r = service.client.post(f"/api/v1/patients/{pid}/levels/1/entered-in-error", json={},
                            headers=writer)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "reason"


def test_a_user_who_must_change_the_password_is_refused_everywhere(service, created):
    service.user("new", "pharmacist", must_change_password=True)
    headers = service.token("new")
    pid = created.json()["id"]
    for r in (service.client.get(f"/api/v1/patients/{pid}", headers=headers),
              service.client.post("/api/v1/assess", json=ADULT, headers=headers),
              service.client.get("/api/v1/jobs/x", headers=headers)):
        assert r.status_code == 403


def test_jobs_need_authentication(service):
    assert service.client.get("/api/v1/jobs/anything").status_code == 401
