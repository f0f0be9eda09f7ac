"""Storage on SQLite and on a real PostgreSQL 15: migrations, readiness, file mode, UTC."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from cyclodose.service.storage import AuditEntry, Database, User


def test_migrations_create_the_schema_and_are_idempotent(any_service):
    db = any_service.db
    assert db.current() == db.head() == "e001"  # e001: CDS Hooks JWT ids (EHR, #12)
    db.migrate()  # a second start changes nothing
    assert db.ready()
    assert any_service.client.get("/readyz").json()["status"] == "ready"


def test_readyz_fails_when_the_schema_is_behind(tmp_path):
    from fastapi.testclient import TestClient

    from cyclodose.service.app import create_app
    from cyclodose.service.settings import Settings

    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app) as client:
        with app.state.db.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'old'")
        r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["status"] == "not ready"


def test_sqlite_file_is_owner_only_and_in_wal_mode(service):
    path = service.db.sqlite_path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    with service.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_times_come_back_as_aware_utc(any_service):
    local = datetime(2026, 11, 2, 10, 30, tzinfo=timezone(timedelta(hours=3)))
    with any_service.db.session() as s:
        s.add(User(name="tz", role="viewer", password_hash=None, created_at=local))
    with any_service.db.session() as s:
        got = s.scalar(select(User.created_at).where(User.name == "tz"))
    assert got == local and got.tzinfo is not None and got.utcoffset() == timedelta(0)


def test_naive_times_are_refused(service):
    with pytest.raises(Exception, match="naive"), service.db.session() as s:
        s.add(User(name="n", role="viewer", password_hash=None, created_at=datetime(2026, 1, 1)))
        s.flush()


def test_postgres_url_is_used(service_pg):
    assert service_pg.db.engine.dialect.name == "postgresql"
    headers = service_pg.token("p", "pharmacist")
    r = service_pg.client.get("/api/v1/patients", headers=headers)
    assert r.status_code == 200
    with service_pg.db.session() as s:
        assert s.scalar(select(AuditEntry.action)) == "patient.search"


def test_a_second_database_object_sees_committed_rows(any_service):
    any_service.user("seen", "viewer")
    other = Database(any_service.db.url)
    with other.session() as s:
        assert s.scalar(select(User.name).where(User.name == "seen")) == "seen"
    other.dispose()
