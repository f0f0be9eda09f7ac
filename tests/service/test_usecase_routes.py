"""Stateless use cases, knowledge, jobs, health, docs and the cross-cutting middleware."""

from __future__ import annotations

import json
import logging
import time

import pytest
from service_cases import ADULT, TWO_LEVELS

POPULATION = {"n": 200, "seed": 1, "model": "alghamdi2019",
              "covariates": {"weight_kg": {"dist": "normal", "mean": 58, "sd": 12, "min": 35,
                                           "max": 110},
                             "crcl_ml_min": {"dist": "normal", "mean": 89, "sd": 32, "min": 25,
                                             "max": 250}}}


@pytest.fixture
def reader(service):
    return service.token("view", "viewer")


def test_assess_matches_the_python_api(service, reader):
    import cyclodose

    r = service.client.post("/api/v1/assess", json=ADULT, headers=reader)
    assert r.status_code == 200
    expected = cyclodose.workflows.assess(cyclodose.parse_case(ADULT)).model_dump(mode="json")
    assert r.json() == expected


def test_assess_bad_input_names_the_field(service, reader):
    doc = {"patient": {**ADULT["patient"], "serum_creatinine": {"value": 1, "unit": "furlong"}}}
    r = service.client.post("/api/v1/assess", json=doc, headers=reader)
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "patient.serum_creatinine.unit"
    r = service.client.post("/api/v1/assess", content=b"{not json", headers={
        **reader, "Content-Type": "application/json"})
    assert r.status_code == 422 and "Traceback" not in r.text


def test_use_cases_need_authentication(service):
    for path, body in [("/api/v1/assess", ADULT), ("/api/v1/simulate", {"case": TWO_LEVELS}),
                       ("/api/v1/tdm", TWO_LEVELS),
                       ("/api/v1/pta", {"population": POPULATION, "regimens": ["250mg q12h"]})]:
        assert service.client.post(path, json=body).status_code == 401, path


def test_simulate(service, reader):
    r = service.client.post("/api/v1/simulate", json={"case": TWO_LEVELS, "days": 3},
                            headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"]["name"] == "alghamdi2019" and body["intervals"]
    r = service.client.post("/api/v1/simulate", json={"case": ADULT}, headers=reader)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "regimen"


def test_tdm(service, reader):
    r = service.client.post("/api/v1/tdm", json=TWO_LEVELS, headers=reader)
    assert r.status_code == 200, r.text
    assert r.json()["tdm"]["recommendation"]["daily_dose_mg"] <= 1000
    r = service.client.post("/api/v1/tdm", json={**TWO_LEVELS, "levels": []}, headers=reader)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "levels"


def test_small_pta_answers_at_once(service, reader):
    r = service.client.post("/api/v1/pta", headers=reader, json={
        "population": POPULATION, "regimens": ["250mg q12h", "500mg q24h"],
        "mics_mg_l": [8, 16], "targets_pct": [30]})
    assert r.status_code == 200, r.text
    assert [x["regimen"] for x in r.json()["regimens"]] == ["250mg q12h", "500mg q24h"]


def test_path_traversal_a_population_spec_cannot_read_server_files(service, reader):
    r = service.client.post("/api/v1/pta", headers=reader, json={
        "population": {**POPULATION, "resample": "../../../../etc/passwd"},
        "regimens": ["250mg q12h"]})
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "population.resample"


def test_pta_bad_input_is_422(service, reader):
    r = service.client.post("/api/v1/pta", headers=reader, json={
        "population": POPULATION, "regimens": ["lots q-never"]})
    assert r.status_code == 422
    r = service.client.post("/api/v1/pta", headers=reader, json={
        "population": {**POPULATION, "n": -5}, "regimens": ["250mg q12h"]})
    assert r.status_code == 422


def test_large_pta_becomes_a_job_with_progress_and_result(make_service):
    svc = make_service(job_threshold=100)
    headers = svc.token("pharm", "pharmacist")
    r = svc.client.post("/api/v1/pta", headers=headers, json={
        "population": {**POPULATION, "n": 300}, "regimens": ["250mg q12h"],
        "mics_mg_l": [8], "targets_pct": [30]})
    assert r.status_code == 202, r.text
    location = r.headers["location"]
    assert location == f"/api/v1/jobs/{r.json()['id']}"
    deadline = time.monotonic() + 60
    while True:
        job = svc.client.get(location, headers=headers).json()
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert job["status"] == "done", job
    assert job["progress"] == 1.0 and job["result"]["regimens"][0]["regimen"] == "250mg q12h"
    other = svc.token("other", "pharmacist")
    assert svc.client.get(location, headers=other).status_code == 404
    assert svc.client.get("/api/v1/jobs/nope", headers=headers).status_code == 404


def test_a_job_cut_off_by_a_restart_is_marked_failed(service):
    from cyclodose.service import jobs
    from cyclodose.service.storage import JobRow

    with service.db.session() as s:
        jobs.create(s, service.clock, "pta", "pharm", {})
    assert jobs.fail_interrupted(service.db, service.clock) == 1
    with service.db.session() as s:
        row = s.query(JobRow).one()
    assert row.status == "failed" and "restart" in row.error


def test_knowledge_is_public_by_default(service):
    r = service.client.get("/api/v1/drug", params={"q": "Seromycin"})
    assert r.status_code == 200 and r.json()["match"]["name"] == "Seromycin"
    assert service.client.get("/api/v1/drug", params={"q": "aspirinx"}).status_code == 422
    assert service.client.get("/api/v1/drug").status_code == 422
    r = service.client.get("/api/v1/drug/sections/pharmacokinetics")
    assert r.status_code == 200 and r.json()["facts"]
    r = service.client.get("/api/v1/drug/sections/astrology")
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "name"
    r = service.client.get("/api/v1/models")
    assert r.status_code == 200 and r.json()["default"] == "alghamdi2019"


def test_drug_search_answers_like_info_json(service):
    from typer.testing import CliRunner

    from cyclodose.cli import app

    cli = json.loads(CliRunner().invoke(app, ["info", "Seromycin", "--json"]).stdout)
    assert service.client.get("/api/v1/drug", params={"q": "Seromycin"}).json() == cli


def test_a_setting_closes_knowledge_and_docs(make_service):
    svc = make_service(public_knowledge=False, public_docs=False)
    for path in ("/api/v1/drug?q=Seromycin", "/api/v1/models", "/openapi.json", "/docs"):
        assert svc.client.get(path).status_code == 401, path
    headers = svc.token("view", "viewer")
    assert svc.client.get("/api/v1/models", headers=headers).status_code == 200
    assert svc.client.get("/openapi.json", headers=headers).status_code == 200
    assert svc.client.get("/healthz").status_code == 200


def test_health_docs_and_openapi(service):
    assert service.client.get("/healthz").json() == {"status": "ok"}
    assert service.client.get("/readyz").json()["status"] == "ready"
    docs = service.client.get("/docs")
    assert "swagger-ui" in docs.text and "<script>" not in docs.text  # no inline script
    assert "unsafe-inline" not in docs.headers["content-security-policy"]
    assert "SwaggerUIBundle" in service.client.get("/docs/init.js").text
    spec = service.client.get("/openapi.json").json()
    for path in ("/api/v1/assess", "/api/v1/simulate", "/api/v1/tdm", "/api/v1/pta",
                 "/api/v1/jobs/{job_id}", "/api/v1/drug", "/api/v1/drug/sections/{name}",
                 "/api/v1/models", "/api/v1/patients", "/api/v1/patients/{patient_id}",
                 "/api/v1/patients/{patient_id}/doses", "/api/v1/patients/{patient_id}/levels",
                 "/api/v1/patients/{patient_id}/assessment",
                 "/api/v1/patients/{patient_id}/assessments", "/api/v1/audit"):
        assert path in spec["paths"], path
    assert "CaseDocument" in spec["components"]["schemas"]
    assert "Assessment" in spec["components"]["schemas"]


def test_security_headers_on_every_response(service):
    for r in (service.client.get("/healthz"), service.client.get("/api/v1/patients"),
              service.client.get("/nowhere")):
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-request-id"]
    assert service.client.get("/nowhere").json()["status"] == 404


def test_oversized_body_is_413(make_service):
    svc = make_service(max_body_bytes=2000)
    headers = svc.token("view", "viewer")
    big = {**ADULT, "comedications": ["x" * 100] * 50}
    r = svc.client.post("/api/v1/assess", json=big, headers=headers)
    assert r.status_code == 413 and r.json()["title"] == "Request body too large"

    def chunks():  # no Content-Length: counted while it streams
        for _ in range(10):
            yield b" " * 500

    r = svc.client.post("/api/v1/assess", content=chunks(),
                        headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 413


def test_logs_are_json_with_a_request_id_and_no_patient_data(service, caplog):
    from cyclodose.service.middleware import JsonFormatter

    headers = service.token("pharm", "pharmacist")
    with caplog.at_level(logging.INFO, logger="cyclodose.access"):
        r = service.client.post("/api/v1/patients", headers=headers, json={
            "mrn": "SECRET-MRN-77", "name": "Zebedee Secretname", "patient": ADULT["patient"]})
        service.client.get("/api/v1/patients", params={"q": "Secretname"}, headers=headers)
    lines = [JsonFormatter().format(rec) for rec in caplog.records
             if rec.name == "cyclodose.access"]
    assert len(lines) == 2
    docs = [json.loads(line) for line in lines]
    assert docs[0]["request_id"] == r.headers["x-request-id"]
    assert docs[0]["path"] == "/api/v1/patients" and docs[0]["user"] == "pharm"
    assert all("Secretname" not in line and "SECRET-MRN" not in line for line in lines)


def test_a_crash_is_a_500_problem_without_traceback(service, monkeypatch):
    from cyclodose.service.routes import assess as route

    headers = service.token("view", "viewer")

    class Broken:
        @staticmethod
        def assess(case):
            raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(route, "workflows", Broken)
    client = service.client.__class__(service.app, raise_server_exceptions=False)
    r = client.post("/api/v1/assess", json=ADULT, headers=headers)
    assert r.status_code == 500
    assert "internal detail" not in r.text and "Traceback" not in r.text


def _wait(svc, location, headers):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = svc.client.get(location, headers=headers).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job still {job['status']}")


def test_pta_jobs_run_on_the_dask_cluster_when_one_is_set(make_service):
    import distributed

    from cyclodose import workflows
    from cyclodose.population import parse_population_spec

    body = {"population": {**POPULATION, "n": 400}, "regimens": ["250mg q12h"],
            "mics_mg_l": [8, 16], "targets_pct": [30]}
    expected = workflows.pta(parse_population_spec(body["population"]), body["regimens"],
                             [8, 16], [30]).model_dump(mode="json")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        svc = make_service(job_threshold=100, dask_scheduler=cluster.scheduler_address)
        headers = svc.token("pharm", "pharmacist")
        r = svc.client.post("/api/v1/pta", headers=headers, json=body)
        assert r.status_code == 202
        job = _wait(svc, r.headers["location"], headers)
        transitions = cluster.scheduler.transition_counter  # the cluster did the work
    assert job["status"] == "done", job
    assert job["result"] == expected
    assert transitions > 0
