"""kill -9 of a real `cyclodose serve` during a burst of writes from several clients, then a
restart: every acknowledged write is there, nothing half-written is, the database passes its
integrity check and the audit chain verifies. On SQLite and on PostgreSQL (two workers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from service_cases import ADULT
from sqlalchemy import func, select

from cyclodose.service import auth
from cyclodose.service.audit import verify
from cyclodose.service.storage import AuditEntry, Database, EntryRow, PatientRow
from service_fixtures import free_port

CLIENTS = 4
DOSE = {"time": "2026-11-01T08:00:00", "amount_mg": 250}


class Server:
    def __init__(self, env: dict[str, str], workers: int, log: Path):
        self.env, self.workers, self.log = env, workers, log
        self.port = int(env["CYCLODOSE_PORT"])
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from cyclodose.cli import main; main()", "serve",
             "--workers", str(self.workers)],
            env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: kill -9 reaches every worker
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError("server did not start:\n" + self.log.read_text()[-3000:])

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


def _writer(base: str, token: str, k: int, stop: threading.Event,
            acked_patients: list[str], acked_doses: list[tuple[int, int]]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
        i = 0
        while not stop.is_set():
            mrn = f"C{k}-{i}"
            i += 1
            try:
                r = c.post("/api/v1/patients", json={"mrn": mrn, "name": f"Crash {k} {i}",
                                                     "patient": ADULT["patient"]})
                if r.status_code != 201:
                    continue
                acked_patients.append(mrn)
                pid = r.json()["id"]
                r = c.post(f"/api/v1/patients/{pid}/doses", json=DOSE)
                if r.status_code == 201:
                    acked_doses.append((pid, r.json()["id"]))
            except httpx.HTTPError:
                if stop.is_set():
                    return
                time.sleep(0.05)  # the server is gone: keep trying until told to stop


@pytest.fixture(params=["sqlite", "postgresql"])
def crash_env(request, tmp_path):
    env = {"CYCLODOSE_DATA_DIR": str(tmp_path / "data"), "CYCLODOSE_PORT": str(free_port()),
           "CYCLODOSE_LOG_LEVEL": "WARNING"}
    workers = 1
    if request.param == "postgresql":
        env["CYCLODOSE_DATABASE_URL"] = request.getfixturevalue("pg_url")
        workers = 2
    return env, workers


def test_kill_9_during_writes_loses_no_acknowledged_write(crash_env, tmp_path):
    env, workers = crash_env
    from cyclodose.service.settings import Settings

    settings = Settings(data_dir=Path(env["CYCLODOSE_DATA_DIR"]),
                        database_url=env.get("CYCLODOSE_DATABASE_URL"))
    db = Database(settings.url)
    db.migrate()
    from datetime import UTC, datetime

    with db.session() as s:
        user = auth.create_user(s, "pharm", "pharmacist", "a long enough password",
                                datetime.now(UTC))
        token, _ = auth.create_token(s, user, datetime.now(UTC), None)
    db.dispose()

    server = Server(env, workers, tmp_path / "server.log")
    server.start()
    stop = threading.Event()
    acked_patients: list[str] = []
    acked_doses: list[tuple[int, int]] = []
    threads = [threading.Thread(target=_writer, args=(server.url, token, k, stop,
                                                      acked_patients, acked_doses))
               for k in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked_doses) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill9()  # in the middle of the burst: requests are in flight
        in_flight_at_kill = len(acked_patients)
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert in_flight_at_kill >= 30, "the burst never got going"
        server.start()
    finally:
        stop.set()
        server.stop()

    db = Database(settings.url)
    with db.session() as s:
        stored_mrns = set(s.scalars(select(PatientRow.mrn)))
        stored_entries = {(e.patient_id, e.id) for e in s.scalars(select(EntryRow))}
        assert set(acked_patients) <= stored_mrns  # every acknowledged write is there
        assert set(acked_doses) <= stored_entries
        # nothing half-written: each change committed with its audit entry and version bump
        created = s.scalar(select(func.count()).where(AuditEntry.action == "patient.create"))
        added = s.scalar(select(func.count()).where(AuditEntry.action == "dose.add"))
        assert created == len(stored_mrns) and added == len(stored_entries)
        for p in s.scalars(select(PatientRow)):
            n = s.scalar(select(func.count()).where(EntryRow.patient_id == p.id))
            assert p.version == 1 + n
        result = verify(s)
        assert result.ok, result.problems
    if db.is_sqlite:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    db.dispose()


def test_first_start_prints_a_one_time_admin_password_that_logs_in(tmp_path):
    """`make run` on a fresh machine: the printed admin password signs in, once changed."""
    env = {"CYCLODOSE_DATA_DIR": str(tmp_path / "data"), "CYCLODOSE_PORT": str(free_port()),
           "CYCLODOSE_LOG_LEVEL": "WARNING", "COLUMNS": "200"}
    server = Server(env, 1, tmp_path / "server.log")
    server.start()
    try:
        lines = server.log.read_text().splitlines()
        password = lines[[i for i, line in enumerate(lines) if "One-time password" in line][0]
                         + 1].strip()
        with httpx.Client(base_url=server.url) as c:
            r = c.post("/api/v1/auth/login", json={"name": "admin", "password": password})
            assert r.status_code == 200 and r.json()["must_change_password"] is True
            csrf = r.json()["csrf_token"]
            assert c.get("/api/v1/audit").status_code == 403
            r = c.post("/api/v1/auth/password", headers={"X-CSRF-Token": csrf}, json={
                "current_password": password, "new_password": "the admin's own password"})
            assert r.status_code == 200
            assert c.get("/api/v1/audit").status_code == 200
    finally:
        server.stop()
    server.start()  # a second start creates nobody and prints no password
    server.stop()
    assert server.log.read_text().count("One-time password") == 1
