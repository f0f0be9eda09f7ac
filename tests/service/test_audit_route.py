"""GET /api/v1/audit: administrators only, filterable by patient, user and time."""

from __future__ import annotations

from service_cases import new_patient


def test_audit_lists_entries_for_admins_with_filters(make_service):
    svc = make_service(timezone="Asia/Kolkata")
    admin = svc.token("root", "admin")
    writer = svc.token("pharm", "pharmacist")
    first = svc.client.post("/api/v1/patients", json=new_patient("A1"), headers=writer).json()
    svc.clock.advance(hours=2)
    second = svc.client.post("/api/v1/patients", json=new_patient("A2", "Bo"),
                             headers=writer).json()
    svc.client.get(f"/api/v1/patients/{first['id']}", headers=writer)

    everything = svc.client.get("/api/v1/audit", headers=admin).json()
    assert everything["total"] == 3
    assert [e["action"] for e in everything["items"]] == ["patient.read", "patient.create",
                                                          "patient.create"]
    by_patient = svc.client.get("/api/v1/audit", params={"patient_id": first["id"]},
                                headers=admin).json()
    assert {e["patient_id"] for e in by_patient["items"]} == {first["id"]}
    assert by_patient["total"] == 2
    assert svc.client.get("/api/v1/audit", params={"user": "nobody"},
                          headers=admin).json()["total"] == 0
    later = svc.client.get("/api/v1/audit", params={"since": "2026-11-02T10:00:00Z"},
                           headers=admin).json()
    assert [e["patient_id"] for e in later["items"]] == [first["id"], second["id"]]
    early = svc.client.get("/api/v1/audit", params={"until": "2026-11-02T10:00:00+00:00"},
                           headers=admin).json()
    assert early["total"] == 1
    assert everything["items"][-1]["at"] == "2026-11-02T14:30:00+05:30"  # shown in the zone
    page = svc.client.get("/api/v1/audit", params={"limit": 1, "offset": 1},
                          headers=admin).json()
    assert len(page["items"]) == 1 and page["items"][0]["seq"] == 2


def test_audit_needs_an_admin(service):
    assert service.client.get("/api/v1/audit").status_code == 401
    for role in ("prescriber", "pharmacist", "viewer"):
        headers = service.token(f"u-{role}", role)
        assert service.client.get("/api/v1/audit", headers=headers).status_code == 403


def test_audit_bad_filters_are_422(service):
    admin = service.token("root", "admin")
    for params in ({"since": "yesterday"}, {"since": "2026-11-02T10:00:00"},
                   {"patient_id": "abc"}, {"limit": 10_000}):
        assert service.client.get("/api/v1/audit", params=params,
                                  headers=admin).status_code == 422, params


def test_entries_carry_versions_and_the_previous_hash(service):
    admin = service.token("root", "admin")
    writer = service.token("pharm", "pharmacist")
    service.client.post("/api/v1/patients", json=new_patient(), headers=writer)
    service.client.get("/api/v1/patients/1", headers=writer)
    items = service.client.get("/api/v1/audit", headers=admin).json()["items"]
    newest, older = items[0], items[1]
    assert newest["prev_hash"] == older["hash"]
    assert newest["versions"]["software"] and "alghamdi2019" in newest["versions"]["models"]
    assert older["input_hash"] and len(older["input_hash"]) == 64
