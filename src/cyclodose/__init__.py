"""cyclodose: decision support for cycloserine therapy in drug-resistant tuberculosis.

The public names below load on first use, so that a command (or `import cyclodose.errors`)
does not pay for the whole clinical core at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_PUBLIC = {
    "Assessment": "cyclodose.assessment",
    "assess": "cyclodose.assessment",
    "Case": "cyclodose.case",
    "CaseDocument": "cyclodose.case",
    "load_case": "cyclodose.case",
    "parse_case": "cyclodose.case",
    "CaseError": "cyclodose.errors",
    "Problem": "cyclodose.errors",
}

if TYPE_CHECKING:
    from cyclodose.assessment import Assessment, assess
    from cyclodose.case import Case, CaseDocument, load_case, parse_case
    from cyclodose.errors import CaseError, Problem


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'cyclodose' has no attribute {name!r}")


__all__ = [
    "Assessment",
    "Case",
    "CaseDocument",
    "CaseError",
    "Problem",
    "__version__",
    "assess",
    "load_case",
    "parse_case",
]
