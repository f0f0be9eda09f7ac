"""Suggestions for the condition and co-medication inputs, from the bundled vocabulary.
Only suggestions: whatever is typed is sent, and the assessment says what it did not know."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml


def _read(name: str) -> dict:
    text = resources.files("cyclodose").joinpath(f"knowledge/data/vocabulary/{name}.yaml")
    return yaml.safe_load(text.read_text(encoding="utf-8"))


@cache
def suggestions() -> dict[str, list[str]]:
    conditions = sorted({t for c in _read("conditions")["conditions"] for t in c["terms"]})
    drugs = _read("comedications")["drugs"]
    comedications = sorted({n for d in drugs for n in (*d["names"][:1], *d.get("brands", []))},
                           key=str.casefold)
    return {"conditions": conditions, "comedications": comedications}
