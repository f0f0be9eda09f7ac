"""Reading JSON and YAML documents at the boundary: one line per problem, no guessing.

A key given twice is refused (plain YAML and JSON keep the last value silently, which
could change a dose), and a file that is not UTF-8 or not valid JSON/YAML is a CaseError
naming the document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from cyclodose.errors import CaseError


class _DuplicateKey(ValueError):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (plain YAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool):
                continue  # an unhashable key is refused by the base class
            if key in seen:
                line = key_node.start_mark.line + 1
                raise _DuplicateKey(f"key {key!r} is given twice (line {line})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    for k in keys:
        if keys.count(k) > 1:
            raise _DuplicateKey(f"key {k!r} is given twice")
    return dict(pairs)


def read_document(path: str | Path, field: str) -> Any:
    """The data of a JSON (by suffix) or YAML file; problems are CaseErrors on `field`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseError.single(field, f"cannot read {p}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CaseError.single(field, f"{p.name} is not UTF-8 text") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text, object_pairs_hook=_unique_pairs)
        else:
            data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except _DuplicateKey as exc:
        # Which value was meant is unknown: last-one-wins could silently change a dose.
        raise CaseError.single(field, f"{p.name}: {exc}") from None
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        # One problem, one line: YAML errors span several lines with a caret drawing.
        reason = " ".join(str(exc).split())
        if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
            mark = exc.problem_mark
            reason = f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
        raise CaseError.single(field, f"{p.name} is not valid JSON/YAML: {reason}") from None
    return data
