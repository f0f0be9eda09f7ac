"""Load FHIR R4 JSON (a Bundle, nested search Bundles, or bare resources) into R4B models.

Every resource is validated by fhir.resources; its errors name the resource
(`Observation/wt1`) and the element. Resource types the reader does not use are
returned as `skipped`, never silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from importlib import import_module
from typing import Any

from pydantic import ValidationError

from cyclodose.errors import CaseError, Problem

READ_TYPES = ("Patient", "Observation", "Condition", "MedicationRequest",
              "MedicationAdministration", "MedicationStatement", "Medication")


@cache
def model_class(resource_type: str) -> Any:
    """The fhir.resources R4B model class for a resource type (R4B matches R4 for these)."""
    return getattr(import_module(f"fhir.resources.R4B.{resource_type.lower()}"), resource_type)


def ref(resource: Any, fallback: str = "") -> str:
    rid = getattr(resource, "id", None)
    rtype = resource.get_resource_type() if hasattr(resource, "get_resource_type") else "resource"
    return f"{rtype}/{rid}" if rid else f"{rtype}{fallback}"


@dataclass
class Loaded:
    resources: list[Any] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (reference, reason)


def _element_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validate(raw: dict[str, Any], where: str) -> Any:
    rtype = raw["resourceType"]
    name = f"{rtype}/{raw['id']}" if isinstance(raw.get("id"), str) else f"{rtype}{where}"
    try:
        return model_class(rtype).model_validate(raw)
    except ValidationError as exc:
        raise CaseError([
            Problem(f"{name}.{_element_path(tuple(e['loc']))}".rstrip("."),
                    e["msg"].removeprefix("Value error, "))
            for e in exc.errors()
        ]) from None


def _walk(raw: Any, where: str, out: Loaded, problems: list[Problem]) -> None:
    if raw is None:  # a CDS Hooks prefetch key sent as null: the EHR has no such data
        return
    if not isinstance(raw, dict) or not isinstance(raw.get("resourceType"), str):
        problems.append(Problem(where or "document", "not a FHIR resource (no resourceType)"))
        return
    rtype = raw["resourceType"]
    if rtype == "Bundle":
        entries = raw.get("entry") or []
        if not isinstance(entries, list):
            problems.append(Problem(f"Bundle{where}.entry", "must be a list"))
            return
        for i, entry in enumerate(entries):
            mode = (entry.get("search") or {}).get("mode") if isinstance(entry, dict) else None
            if mode == "outcome":  # a server's remark about the search, not patient data
                out.skipped.append((f"Bundle{where}.entry[{i}]", "search outcome (not read)"))
                continue
            res = entry.get("resource") if isinstance(entry, dict) else None
            if res is None:
                problems.append(Problem(f"Bundle{where}.entry[{i}].resource", "missing"))
                continue
            _walk(res, f"{where}.entry[{i}]", out, problems)
        return
    if rtype not in READ_TYPES:
        rid = raw.get("id")
        out.skipped.append((f"{rtype}/{rid}" if rid else f"{rtype}{where}",
                            f"{rtype} is not read by cyclodose"))
        return
    try:
        out.resources.append(_validate(raw, where))
    except CaseError as exc:
        problems.extend(exc.problems)


def load(*documents: Any) -> Loaded:
    """Resources from each document (Bundle, resource, list of either), later ids win."""
    out = Loaded()
    problems: list[Problem] = []
    for doc in documents:
        for item in doc if isinstance(doc, list) else [doc]:
            _walk(item, "", out, problems)
    if problems:
        raise CaseError(problems)
    unique: dict[str, Any] = {}
    for i, res in enumerate(out.resources):
        unique[ref(res, f"#{i}") if res.id else f"#{i}"] = res
    out.resources = list(unique.values())
    return out


def of_type(resources: list[Any], rtype: str) -> list[Any]:
    return [r for r in resources if r.get_resource_type() == rtype]


def when(value: Any, field: str, *, need_time: bool = False) -> datetime:
    """A FHIR date/dateTime/instant as an aware UTC datetime; partial dates are refused."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise CaseError.single(field, "a dateTime with a time needs a time zone (FHIR)")
        return value.astimezone(UTC)
    if isinstance(value, date):
        if need_time:
            raise CaseError.single(field, f"{value.isoformat()} has no time of day; "
                                   "a time is needed here")
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value is None:
        raise CaseError.single(field, "missing")
    raise CaseError.single(field, f"{value!s} is a partial date; a full date is needed")
