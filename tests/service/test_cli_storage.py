"""Storage commands (user, token, audit verify, backup, restore) on SQLite and PostgreSQL,
and tampering with the audit trail by editing the database directly."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_cases import new_patient
from sqlalchemy import select, text
from typer.testing import CliRunner

from cyclodose.cli import app
from cyclodose.service.storage import AssessmentRow, Database, PatientRow, User

runner = CliRunner()
REGIMEN = {"amount_mg": 250, "interval_h": 12, "start": "2026-11-01T08:00:00", "count": 14}


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The server's settings for a fresh data folder (and a fresh PostgreSQL database)."""
    values = {"CYCLODOSE_DATA_DIR": str(tmp_path / "data")}
    if request.param == "postgresql":
        values["CYCLODOSE_DATABASE_URL"] = request.getfixturevalue("pg_url")
    return values


def cli(env: dict[str, str], *args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), env=env, input=stdin)


def _db(env: dict[str, str]) -> Database:
    from cyclodose.service.settings import Settings

    return Database(Settings(data_dir=Path(env["CYCLODOSE_DATA_DIR"]),
                             database_url=env.get("CYCLODOSE_DATABASE_URL")).url)


def _client_with_token(env, token):
    from fastapi.testclient import TestClient

    from cyclodose.service.app import create_app
    from cyclodose.service.settings import Settings

    settings = Settings(data_dir=Path(env["CYCLODOSE_DATA_DIR"]),
                        database_url=env.get("CYCLODOSE_DATABASE_URL"))
    client = TestClient(create_app(settings))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _populate(env) -> str:
    """A user, a token, a patient with doses, an assessment: returns the token."""
    assert cli(env, "user", "create", "pharm", "--role", "pharmacist", "--password-stdin",
               stdin="a long enough password\n").exit_code == 0
    res = cli(env, "token", "create", "pharm", "--expires-days", "30")
    assert res.exit_code == 0, res.output
    token = res.stdout.strip().splitlines()[-1]
    with _client_with_token(env, token) as c:
        pid = c.post("/api/v1/patients", json=new_patient()).json()["id"]
        assert c.post(f"/api/v1/patients/{pid}/doses", json=REGIMEN).status_code == 201
        assert c.get(f"/api/v1/patients/{pid}/assessment").status_code == 200
    return token


def test_user_create_on_a_fresh_folder_then_token_then_api(env):
    token = _populate(env)
    assert token.startswith("cyd_") and " " not in token
    with _client_with_token(env, token) as c:
        assert c.get("/api/v1/patients").json()["total"] == 1


def test_user_create_refuses_bad_input_with_exit_2(env):
    res = cli(env, "user", "create", "x", "--role", "superuser", "--password-stdin",
              stdin="a long enough password\n")
    assert res.exit_code == 2 and "--role" in res.output
    res = cli(env, "user", "create", "x", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert res.exit_code == 2 and "password" in res.output
    assert cli(env, "user", "create", "x", "--role", "viewer", "--password-stdin",
               stdin="a long enough password\n").exit_code == 0
    res = cli(env, "user", "create", "x", "--role", "viewer", "--password-stdin",
              stdin="a long enough password\n")
    assert res.exit_code == 2 and "exists" in res.output


def test_user_disable_and_token_revoke(env):
    token = _populate(env)
    with _db(env).session() as s:
        from cyclodose.service.storage import ApiToken

        token_id = s.scalar(select(ApiToken.id))
    assert cli(env, "token", "revoke", str(token_id)).exit_code == 0
    with _client_with_token(env, token) as c:
        assert c.get("/api/v1/patients").status_code == 401
    assert cli(env, "user", "disable", "pharm").exit_code == 0
    with _db(env).session() as s:
        assert s.scalar(select(User.disabled).where(User.name == "pharm")) is True
    assert cli(env, "user", "disable", "nobody").exit_code == 2
    assert cli(env, "token", "revoke", "999").exit_code == 2


def test_audit_verify_passes_on_an_untouched_trail(env):
    _populate(env)
    res = cli(env, "audit", "verify")
    assert res.exit_code == 0 and "chain intact" in res.output


def _tamper(env, sql: str) -> None:
    with _db(env).engine.begin() as conn:
        conn.execute(text(sql))


def test_audit_verify_finds_a_changed_row(env):
    _populate(env)
    _tamper(env, "UPDATE audit SET actor = 'someone-else' WHERE seq = 3")
    res = cli(env, "audit", "verify")
    assert res.exit_code == 1 and "entry 3: content changed" in res.output


def test_audit_verify_finds_a_removed_row(env):
    _populate(env)
    _tamper(env, "DELETE FROM audit WHERE seq = 2")
    res = cli(env, "audit", "verify")
    assert res.exit_code == 1 and "entry 3" in res.output and "removed or inserted" in res.output


def test_audit_verify_finds_an_inserted_row(env):
    _populate(env)
    _tamper(env, "UPDATE audit SET seq = seq + 1000 WHERE seq > 2")
    _tamper(env, "INSERT INTO audit (seq, at, actor, action, patient_id, detail, input_hash, "
                 "output_hash, versions, prev_hash, hash) SELECT 3, at, 'intruder', 'login', "
                 f"NULL, detail, NULL, NULL, versions, hash, '{'ab' * 32}' "
                 "FROM audit WHERE seq = 2")
    res = cli(env, "audit", "verify")
    assert res.exit_code == 1 and "entry 3" in res.output, res.output


def test_audit_verify_finds_a_changed_assessment(env):
    _populate(env)
    with _db(env).session() as s:
        row = s.scalar(select(AssessmentRow))
        output = dict(row.output)
        output["model"] = "forged"
        row.output = output
    res = cli(env, "audit", "verify")
    assert res.exit_code == 1 and "assessment 1: stored input or output changed" in res.output


def test_backup_and_restore_round_trip(env, tmp_path):
    token = _populate(env)
    db = _db(env)
    with db.session() as s:
        before = ([(p.mrn, p.record, p.version) for p in s.scalars(select(PatientRow))],
                  [(a.input, a.output) for a in s.scalars(select(AssessmentRow))])
    file = tmp_path / "backups" / "cyclodose.backup"
    res = cli(env, "backup", str(file))
    assert res.exit_code == 0, res.output
    assert file.stat().st_mode & 0o077 == 0  # the copy is as private as the database
    with _client_with_token(env, token) as c:  # changes after the backup…
        c.post("/api/v1/patients", json=new_patient("LATER", "After Backup"))
    res = cli(env, "restore", str(file))
    assert res.exit_code == 0, res.output
    with db.session() as s:  # …are gone, and everything before is back
        after = ([(p.mrn, p.record, p.version) for p in s.scalars(select(PatientRow))],
                 [(a.input, a.output) for a in s.scalars(select(AssessmentRow))])
    assert after == before
    assert cli(env, "audit", "verify").exit_code == 0
    with _client_with_token(env, token) as c:
        assert c.get("/api/v1/patients").json()["total"] == 1
    db.dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(env, tmp_path):
    bogus = tmp_path / "not-a-backup"
    bogus.write_text("hello")
    assert cli(env, "restore", str(bogus)).exit_code == 2
    assert cli(env, "restore", str(tmp_path / "missing")).exit_code == 2
    assert cli(env, "backup", str(tmp_path)).exit_code == 2  # a folder, not a file


def test_serve_first_start_creates_admin_with_a_one_time_password(tmp_path, monkeypatch):
    from cyclodose.cli import serve as serve_cli

    monkeypatch.setenv("CYCLODOSE_DATA_DIR", str(tmp_path / "data"))
    from cyclodose.cli.service_common import open_storage

    _, db = open_storage()
    password = serve_cli.bootstrap_admin(db)
    assert password and serve_cli.bootstrap_admin(db) is None  # only the first start
    with db.session() as s:
        admin = s.scalar(select(User).where(User.name == "admin"))
        assert admin.role == "admin" and admin.must_change_password
    from cyclodose.service import auth

    assert auth.check_password(admin.password_hash, password)
