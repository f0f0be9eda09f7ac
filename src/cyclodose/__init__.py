"""cyclodose: decision support for cycloserine therapy in drug-resistant tuberculosis.

The public names below load on first use, so that a command (or `import cyclodose.errors`)
does not pay for the whole clinical core at start-up. The use cases are
`cyclodose.workflows` (re-exported here): `assess`, `tdm_consult`, `apriori`, `simulate`,
`pta`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from cyclodose.version import __version__

_PUBLIC = {
    "Assessment": "cyclodose.workflows",
    "assess": "cyclodose.workflows",
    "tdm_consult": "cyclodose.workflows",
    "apriori": "cyclodose.workflows",
    "simulate": "cyclodose.workflows",
    "pta": "cyclodose.workflows",
    "workflows": "cyclodose.workflows",
    "Case": "cyclodose.intake.case",
    "CaseDocument": "cyclodose.intake.case",
    "load_case": "cyclodose.intake.case",
    "parse_case": "cyclodose.intake.case",
    "CaseError": "cyclodose.errors",
    "Problem": "cyclodose.errors",
}

if TYPE_CHECKING:
    from cyclodose import workflows
    from cyclodose.errors import CaseError, Problem
    from cyclodose.intake.case import Case, CaseDocument, load_case, parse_case
    from cyclodose.workflows import Assessment, apriori, assess, pta, simulate, tdm_consult


def __getattr__(name: str) -> Any:
    if name == "workflows":
        return import_module("cyclodose.workflows")
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
    "apriori",
    "assess",
    "load_case",
    "parse_case",
    "pta",
    "simulate",
    "tdm_consult",
    "workflows",
]
