"""cyclodose: decision support for cycloserine therapy in drug-resistant tuberculosis."""

# Set before the imports below: modules that stamp outputs with the version import it from here.
__version__ = "0.1.0"

from cyclodose.assessment import Assessment, assess  # noqa: E402
from cyclodose.case import Case, CaseDocument, load_case, parse_case  # noqa: E402
from cyclodose.errors import CaseError, Problem  # noqa: E402

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
