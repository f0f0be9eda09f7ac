"""The audit trail: append-only, each entry carrying the hash of the one before it.

`verify` recomputes every hash and link, so a row changed, removed or inserted by editing the
database directly is found. (Someone who can rewrite the whole table and recompute every hash
is not stopped by a chain alone; keep backups elsewhere.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cyclodose.service.storage import AssessmentRow, AuditEntry
from cyclodose.service.versions import versions

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 7_106_002


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def digest(data: Any) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()


def _material(e: AuditEntry) -> dict[str, Any]:
    return {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
            "patient_id": e.patient_id, "detail": e.detail, "input_hash": e.input_hash,
            "output_hash": e.output_hash, "versions": e.versions, "prev_hash": e.prev_hash}


def entry_hash(e: AuditEntry) -> str:
    return digest(_material(e))


class AuditWriter:
    """Appends entries inside the caller's transaction: the change and its audit entry commit
    together or not at all."""

    def __init__(self, session: Session, actor: str | None, clock: Callable[[], datetime]):
        self.session = session
        self.actor = actor
        self.clock = clock

    def record(self, action: str, *, patient_id: int | None = None,
               detail: dict[str, Any] | None = None, input: Any = None,
               output: Any = None) -> AuditEntry:
        s = self.session
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
        last = s.execute(select(AuditEntry.seq, AuditEntry.hash)
                         .order_by(AuditEntry.seq.desc()).limit(1)).first()
        entry = AuditEntry(
            seq=(last.seq + 1) if last else 1, at=self.clock(), actor=self.actor, action=action,
            patient_id=patient_id, detail=detail or {},
            input_hash=digest(input) if input is not None else None,
            output_hash=digest(output) if output is not None else None,
            versions=versions(), prev_hash=last.hash if last else GENESIS,
        )
        entry.hash = entry_hash(entry)
        s.add(entry)
        s.flush()
        return entry


@dataclass
class Verification:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session) -> Verification:
    """Walk the chain in order; also check each stored assessment against its entry."""
    result = Verification()
    prev, expected_seq = GENESIS, 1
    assessment_hashes: dict[int, tuple[str | None, str | None]] = {}
    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
        result.checked += 1
        if e.seq != expected_seq:
            result.problems.append(f"entry {e.seq}: expected sequence number {expected_seq} "
                                   "(an entry was removed or inserted)")
        if e.prev_hash != prev:
            result.problems.append(f"entry {e.seq}: does not follow the entry before it")
        if entry_hash(e) != e.hash:
            result.problems.append(f"entry {e.seq}: content changed after it was written")
        if e.action == "assessment.create" and "assessment_id" in e.detail:
            assessment_hashes[int(e.detail["assessment_id"])] = (e.input_hash, e.output_hash)
        prev, expected_seq = e.hash, e.seq + 1
    for row in session.scalars(select(AssessmentRow).order_by(AssessmentRow.id)):
        hashes = assessment_hashes.get(row.id)
        if hashes is None:
            result.problems.append(f"assessment {row.id}: no audit entry records it")
        elif hashes != (digest(row.input), digest(row.output)):
            result.problems.append(f"assessment {row.id}: stored input or output changed")
    return result
