"""One renal state per patient: `patient.dialysis` is the only definition of dialysis.

A condition that records dialysis (the term, or ICD-10 Z99.2) while `patient.dialysis` is
"none" is two answers at once: the case is refused naming both fields, rather than guessing
which is true or the dialysis modality (haemodialysis removes cycloserine, peritoneal
dialysis much less: the dose schedule depends on it). A past dialysis ("history of dialysis")
is not a contradiction."""

from __future__ import annotations

from cyclodose.clinical.vocabulary import Vocabulary
from cyclodose.errors import CaseError, Problem
from cyclodose.intake.case import Patient

DIALYSIS_CONCEPT = "dialysis"


def check_renal_state(patient: Patient, vocab: Vocabulary) -> None:
    """CaseError when `patient.conditions` records current dialysis and `patient.dialysis`
    says none."""
    if patient.dialysis != "none":
        return
    recorded = [r for r in vocab.recognised if r.kind == "condition"
                and r.concept == DIALYSIS_CONCEPT and "history" not in r.qualifiers]
    if not recorded:
        return
    problems = [Problem(r.field, f"{r.text!r} records dialysis, but patient.dialysis is "
                        "'none'") for r in recorded]
    problems.append(Problem("patient.dialysis", "set it to haemodialysis or peritoneal when the "
                            "patient is on dialysis (or remove the condition): the dialysis "
                            "field alone decides the renal state and the dose schedule"))
    raise CaseError(problems)
