"""Persistence: SQLAlchemy 2 tables of their own (rows, not domain objects), Alembic
migrations shipped in the package and run on start, SQLite (WAL) or PostgreSQL by URL."""

from cyclodose.service.storage.database import Database
from cyclodose.service.storage.tables import (
    ApiToken,
    AssessmentRow,
    AuditEntry,
    Base,
    EntryRow,
    JobRow,
    PatientRevision,
    PatientRow,
    SessionRow,
    User,
)

__all__ = [
    "ApiToken",
    "AssessmentRow",
    "AuditEntry",
    "Base",
    "Database",
    "EntryRow",
    "JobRow",
    "PatientRevision",
    "PatientRow",
    "SessionRow",
    "User",
]
