"""Consistent copies while the service runs: SQLite's online backup API, pg_dump/pg_restore."""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from cyclodose.errors import CaseError
from cyclodose.service.storage import Database


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise CaseError.single("database_url", f"{name} is needed for PostgreSQL and not found "
                                               "(Debian package postgresql-client)")
    return found


def _libpq_url(db: Database) -> str:
    return make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)


def _private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    os.close(fd)


def backup(db: Database, file: Path) -> None:
    if file.is_dir():
        raise CaseError.single("FILE", f"{file} is a folder; give a file name")
    tmp = file.with_name(file.name + ".partial")
    _private_file(tmp)
    if db.is_sqlite:
        src_path = db.sqlite_path
        assert src_path is not None
        src = sqlite3.connect(src_path)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # a consistent snapshot, even with writers running
        finally:
            dst.close()
            src.close()
    else:
        subprocess.run([_pg_tool("pg_dump"), "--format=custom", "--no-owner",
                        f"--file={tmp}", _libpq_url(db)], check=True, capture_output=True)
    os.replace(tmp, file)  # a backup file is complete or absent


def restore(db: Database, file: Path) -> None:
    if not file.is_file():
        raise CaseError.single("FILE", f"no backup file {file}")
    if db.is_sqlite:
        src = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        try:
            try:
                ok = src.execute("PRAGMA integrity_check").fetchone()
                has_schema = src.execute("SELECT count(*) FROM sqlite_master WHERE "
                                         "name='alembic_version'").fetchone()[0] == 1
            except sqlite3.DatabaseError:
                raise CaseError.single("FILE", f"{file} is not a cyclodose backup") from None
            if ok != ("ok",) or not has_schema:
                raise CaseError.single("FILE", f"{file} is damaged or not a cyclodose backup")
            dst_path = db.sqlite_path
            assert dst_path is not None
            db.dispose()
            dst = sqlite3.connect(dst_path)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    else:
        db.dispose()
        done = subprocess.run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                               "--single-transaction", f"--dbname={_libpq_url(db)}", str(file)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise CaseError.single("FILE", f"pg_restore failed: {done.stderr.strip()[-300:]}")
