"""cyclodose: decision support for cycloserine therapy in drug-resistant tuberculosis."""

from cyclodose.case import Case, CaseDocument, load_case, parse_case
from cyclodose.errors import CaseError, Problem

__version__ = "0.1.0"

__all__ = ["Case", "CaseDocument", "CaseError", "Problem", "__version__", "load_case", "parse_case"]
