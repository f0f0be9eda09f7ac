"""Service settings, from `CYCLODOSE_*` environment variables (pydantic-settings)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """One object for every knob; the CLI and the server build it the same way."""

    model_config = SettingsConfigDict(env_prefix="CYCLODOSE_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="folder for the SQLite database")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite in DATA_DIR/cyclodose.db. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = Field(
        default=None, description="the URL users reach (https://… behind a TLS proxy)"
    )
    timezone: str = Field(default="UTC", description="clinic time zone (IANA name)")
    max_body_bytes: int = Field(default=1_000_000, gt=0, description="larger bodies get 413")
    public_knowledge: bool = Field(
        default=True, description="drug search and model list without login"
    )
    public_docs: bool = Field(default=True, description="/docs and /openapi.json without login")
    dask_scheduler: str | None = Field(default=None, description="tcp://host:port for PTA jobs")
    session_hours: float = Field(default=12.0, gt=0)
    lock_after_failures: int = Field(default=5, ge=1)
    lock_minutes: float = Field(default=15.0, ge=0)
    failure_delay_s: float = Field(
        default=0.25, ge=0, description="added per recent failed login, capped at 2 s"
    )
    job_threshold: int = Field(
        default=20_000, ge=1, description="PTA runs above this many subjects become jobs"
    )
    threads: int = Field(
        default=100, ge=1, le=1000, description="threads per process for route work; keep it "
        "above the number of concurrent requests on SQLite (see the report of issue #10)")
    log_level: str = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cyclodose.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return bool(self.public_url and self.public_url.startswith("https://"))
