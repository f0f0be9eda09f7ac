"""Reusable fixtures for service tests (loaded by tests/conftest.py for every test folder).

- `postgres_server` (session): a throw-away PostgreSQL cluster (initdb in a temp folder, as an
  unprivileged user, on a free port), stopped afterwards. A missing server FAILS the test.
- `pg_url`: a fresh empty database on that server, dropped afterwards.
- `service` / `service_pg`: a `ServiceHarness` (app, TestClient, database, settings, clock)
  on SQLite in tmp_path / on PostgreSQL; `service.token("name", "role")` returns headers with
  a bearer token for a new user, `service.login(...)` opens a cookie session.
- `make_service(url=None, **settings)`: the same, with your own settings.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not found:
        pytest.fail("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): run "
                    "`make test`, which installs the Debian package postgresql", pytrace=False)
    return Path(found[0]).parent


def _as_unprivileged() -> tuple[list[str], int | None, int | None]:
    if os.geteuid() != 0:
        return [], None, None
    try:
        pg = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root needs the 'postgres' system user (Debian package "
                    "postgresql) to run initdb unprivileged", pytrace=False)
    return ["runuser", "-u", "postgres", "--"], pg.pw_uid, pg.pw_gid


@dataclass
class PostgresServer:
    port: int
    user: str = "postgres"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _pg_bin()
    prefix, uid, gid = _as_unprivileged()
    root = Path(tempfile.mkdtemp(prefix="cyclodose-pg-"))
    data = root / "data"
    if uid is not None and gid is not None:
        os.chown(root, uid, gid)
    port = free_port()
    run = lambda *args: subprocess.run([*prefix, *args], check=True,  # noqa: E731
                                       capture_output=True, text=True)
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-sync")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200", "start")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {exc.stderr}", pytrace=False)
    try:
        yield PostgresServer(port=port)
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    name = "t_" + uuid.uuid4().hex[:12]
    postgres_server.admin(f"CREATE DATABASE {name}")
    yield postgres_server.url(name)
    postgres_server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class FakeClock:
    """A clock the test moves: `clock.advance(minutes=16)`."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class ServiceHarness:
    app: Any
    client: Any  # fastapi.testclient.TestClient
    db: Any  # cyclodose.service.storage.Database
    settings: Any
    clock: FakeClock

    def user(self, name: str, role: str, password: str = PASSWORD, **kw: Any) -> None:
        from cyclodose.service import auth

        with self.db.session() as s:
            auth.create_user(s, name, role, password, self.clock(), **kw)  # type: ignore[arg-type]

    def token(self, name: str, role: str | None = None) -> dict[str, str]:
        """Bearer headers for `name` (created with `role` when given)."""
        from cyclodose.service import auth

        if role is not None:
            self.user(name, role)
        with self.db.session() as s:
            user = auth.user_by_name(s, name)
            assert user is not None
            token, _ = auth.create_token(s, user, self.clock(), None)
        return {"Authorization": f"Bearer {token}"}

    def login(self, name: str, password: str = PASSWORD) -> str:
        """Open a cookie session on `self.client`; returns the CSRF token."""
        r = self.client.post("/api/v1/auth/login", json={"name": name, "password": password})
        assert r.status_code == 200, r.text
        return str(r.json()["csrf_token"])


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Callable[..., ServiceHarness]]:
    from fastapi.testclient import TestClient

    from cyclodose.service.app import create_app
    from cyclodose.service.settings import Settings

    opened: list[Any] = []

    def make(url: str | None = None, **overrides: Any) -> ServiceHarness:
        settings = Settings(data_dir=tmp_path / f"data{len(opened)}", database_url=url,
                            **overrides)
        clock = FakeClock()
        app = create_app(settings, clock=clock)
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        opened.append(client)
        return ServiceHarness(app, client, app.state.db, settings, clock)

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def service(make_service: Callable[..., ServiceHarness]) -> ServiceHarness:
    return make_service()


@pytest.fixture
def service_pg(make_service: Callable[..., ServiceHarness], pg_url: str) -> ServiceHarness:
    return make_service(pg_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_service(request: pytest.FixtureRequest,
                make_service: Callable[..., ServiceHarness]) -> ServiceHarness:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return make_service()
    return make_service(request.getfixturevalue("pg_url"))
