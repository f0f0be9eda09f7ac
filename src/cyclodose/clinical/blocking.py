"""Which screening findings block a regimen: one rule for every regimen the tool shows.

The guideline regimen, the model-informed regimen and the TDM regimen are all marked
"not recommended" by these findings and keep their numbers only for a prescriber who
judges that benefit outweighs risk; none is ever silently recommended.
"""

from __future__ import annotations

from collections.abc import Iterable

from cyclodose.clinical.screening import Finding

BLOCKING_SEVERITIES = ("contraindicated", "avoid")
# Judges the case's own regimen, not the patient: a lower dose is the remedy, not no dose.
NOT_ABOUT_THE_PATIENT = ("dose.above_maximum",)


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """Contraindication and 'avoid' findings about the patient."""
    return [f for f in findings if f.severity in BLOCKING_SEVERITIES
            and f.code not in NOT_ABOUT_THE_PATIENT]
