"""The software, knowledge and model versions stamped on every stored result."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from typing import Any

from cyclodose import __version__


def _tree_digest(package: str, folder: str) -> str:
    digest = hashlib.sha256()
    root = resources.files(package).joinpath(folder)
    stack: list[Any] = [root]
    files: list[Any] = []
    while stack:
        node = stack.pop()
        for child in node.iterdir():
            (stack if child.is_dir() else files).append(child)
    for f in sorted(files, key=lambda p: str(p)):
        if f.name.endswith(".yaml"):
            digest.update(f.name.encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def versions() -> dict[str, Any]:
    """{"software": …, "knowledge": <digest of the bundled data>, "models": {name: version}}."""
    from cyclodose.pk import list_models

    return {
        "software": __version__,
        "knowledge": _tree_digest("cyclodose.knowledge", "data"),
        "models": {m.name: m.version for m in list_models()},
    }
