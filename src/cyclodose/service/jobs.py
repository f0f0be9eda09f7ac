"""Long runs as jobs: stored in the database, run in a worker thread (or on Dask), with
progress; a job cut off by a restart is marked failed, never left "running" for ever."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from cyclodose.service.storage import Database, JobRow

log = logging.getLogger("cyclodose.service.jobs")

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cyclodose-job")


def fail_interrupted(db: Database, clock: Callable[[], datetime]) -> int:
    """On start: any job still queued or running was cut off by a restart."""
    with db.session() as s:
        result = s.execute(update(JobRow).where(JobRow.status.in_(("queued", "running")))
                           .values(status="failed", updated_at=clock(),
                                   error="interrupted by a service restart; submit it again"))
        return int(getattr(result, "rowcount", 0) or 0)


def create(s: Session, clock: Callable[[], datetime], kind: str, owner: str,
           payload: dict[str, Any]) -> JobRow:
    """A queued job, stored in the caller's transaction (start it once that is committed)."""
    now = clock()
    row = JobRow(id=str(uuid.uuid4()), kind=kind, status="queued", progress=0.0,
                 input=payload, result=None, error=None, owner=owner, created_at=now,
                 updated_at=now)
    s.add(row)
    s.flush()
    return row


def start(db: Database, clock: Callable[[], datetime], job_id: str,
          run: Callable[[Callable[[float], None]], dict[str, Any]]) -> None:
    """Run a stored job in the background; `run(progress)` returns the JSON result."""

    def _set(**values: Any) -> None:
        with db.session() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id)
                      .values(updated_at=clock(), **values))

    def _work() -> None:
        _set(status="running")
        try:
            result = run(lambda fraction: _set(progress=max(0.0, min(1.0, fraction))))
        except Exception as exc:  # the job fails with a reason; the service keeps running
            from cyclodose.errors import CaseError

            reason = str(exc) if isinstance(exc, CaseError) else "the computation failed"
            log.error("job failed", exc_info=exc)
            _set(status="failed", error=reason)
            return
        _set(status="done", progress=1.0, result=result)

    _executor.submit(_work)
