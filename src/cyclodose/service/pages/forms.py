"""Turning a failed validation into the problems shown beside fields, in the API's words."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from cyclodose.errors import CaseError, Problem


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in (str(p) for p in loc if not str(p).startswith("function-")):
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def problems_of(exc: ValidationError | CaseError, prefix: str = "") -> list[Problem]:
    if isinstance(exc, CaseError):
        return [Problem(prefix + p.field, p.reason) for p in exc.problems]
    return [Problem(prefix + _loc(tuple(e["loc"])), e["msg"].removeprefix("Value error, "))
            for e in exc.errors()]


def validated(model: type[BaseModel], data: Any, prefix: str = "") -> Any:
    """`model.model_validate(data)`, a validation failure raised as a CaseError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise CaseError(problems_of(exc, prefix)) from None


def text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
