"""The engine, its pragmas, sessions and migrations, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = "cyclodose.service.storage:migrations"
_PG_MIGRATION_LOCK = 7_106_001  # advisory lock id: one migrator at a time across workers


def _sqlite_path(url: str) -> Path | None:
    db = make_url(url).database
    return Path(db) if db and db != ":memory:" else None


def _owner_only(path: Path) -> None:
    """Create the database file readable by its owner only (SQLite gives -wal/-shm the same
    mode), in a folder only the owner can enter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let the "begin" hook below open transactions
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives power loss
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: the audit chain reads its last hash and appends in one
        # transaction, which a deferred transaction could not upgrade under contention.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One per process: `Database(url)`, then `migrate()`, then `session()`."""

    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = _sqlite_path(url)
            if path is not None:
                _owner_only(path)
            self.engine = create_engine(url, connect_args={"check_same_thread": False,
                                                           "timeout": 60})
            _sqlite_pragmas(self.engine)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def sqlite_path(self) -> Path | None:
        return _sqlite_path(self.url) if self.is_sqlite else None

    def _alembic(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", MIGRATIONS)
        return cfg

    def head(self) -> str | None:
        return ScriptDirectory.from_config(self._alembic()).get_current_head()

    def current(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration (idempotent)."""
        cfg = self._alembic()
        with self.engine.begin() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def ready(self) -> bool:
        """Reachable and migrated to the newest revision."""
        try:
            return self.current() == self.head()
        except Exception:  # any driver error means "not ready"; /readyz reports it
            return False

    def new_session(self) -> Session:
        return self._sessions()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on any error."""
        with self._sessions() as s, s.begin():
            yield s

    def dispose(self) -> None:
        self.engine.dispose()
