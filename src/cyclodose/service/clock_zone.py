"""Times: stored in UTC, shown in the clinic's zone; a time without an offset is read in the
clinic's zone. The clinical core works on wall-clock times, so it gets clinic-local times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def _walk(value: Any, fn: Callable[[datetime], datetime]) -> Any:
    if isinstance(value, datetime):
        return fn(value)
    if isinstance(value, dict):
        return {k: _walk(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, fn) for v in value]
    return value


def aware(t: datetime, zone: tzinfo) -> datetime:
    return t.replace(tzinfo=zone) if t.tzinfo is None else t


def to_utc(model: M, zone: ZoneInfo) -> M:
    """Every datetime in the model made aware (naive ones read in `zone`), then UTC."""
    data = _walk(model.model_dump(), lambda t: aware(t, zone).astimezone(UTC))
    return type(model).model_validate(data)


def to_zone(model: M, zone: ZoneInfo) -> M:
    """Every datetime shown in the clinic's zone, with its offset."""
    data = _walk(model.model_dump(), lambda t: aware(t, UTC).astimezone(zone))
    return type(model).model_validate(data)


def to_wall(model: M, zone: ZoneInfo) -> M:
    """Every datetime as clinic wall-clock time without offset, as the core expects."""
    data = _walk(model.model_dump(),
                 lambda t: aware(t, UTC).astimezone(zone).replace(tzinfo=None))
    return type(model).model_validate(data)


def from_wall(model: M, zone: ZoneInfo) -> M:
    """Clinic wall-clock times (as the core got them) shown with the clinic's offset."""
    data = _walk(model.model_dump(), lambda t: aware(t, zone))
    return type(model).model_validate(data)
