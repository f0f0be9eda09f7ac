"""A FHIR Bundle given where a Case file is expected: read it, and show what was read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from cyclodose import Case, parse_case
from cyclodose.cli.app import Table, console
from cyclodose.intake.documents import read_document

if TYPE_CHECKING:
    from cyclodose.interop.fhir import FhirReading


def is_bundle(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("resourceType") == "Bundle"


def load_input(path: Path, at: datetime | None = None) -> tuple[Case, FhirReading | None]:
    """A Case file, or a FHIR R4 Bundle read at `at` (now by default)."""
    doc = read_document(path, "case")
    if not is_bundle(doc):
        return parse_case(doc), None
    from cyclodose.interop.fhir import read_fhir

    when = at or datetime.now(UTC)
    reading = read_fhir(doc, at=when if when.tzinfo else when.replace(tzinfo=UTC))
    return reading.parse(), reading


def render_reading(reading: FhirReading) -> None:
    t = Table(title="Read from FHIR", title_justify="left")
    for col in ("field", "resource", "value", "date"):
        t.add_column(col, overflow="fold")
    for s in reading.sources:
        t.add_row(*(escape(x) for x in (s.field, s.resource, s.value)),
                  s.time.date().isoformat() if s.time else "—")
    console.print(t)
    for f in reading.flags:
        style = "yellow" if f.code != "not_read" else "cyan"
        console.print(f"[{style}]•[/{style}] {escape(f.message)}")
    for x in reading.listed:
        console.print(f"  not used: {escape(x.resource)}: {escape(x.reason)}")
