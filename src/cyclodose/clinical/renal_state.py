"""One renal state per patient: `patient.dialysis` is the only definition of dialysis.

A condition that records dialysis (the term, or ICD-10 Z99.2) while `patient.dialysis` is
"none" is two answers at once: the case is refused naming both fields, rather than guessing
which is true or the dialysis modality (haemodialysis removes cycloserine, peritoneal
dialysis much less: the dose schedule depends on it). A past dialysis ("history of dialysis")
is not a contradiction."""

from __future__ import annotations

from cyclodose.clinical.patient import RenalFunction, renal_function
from cyclodose.clinical.vocabulary import Vocabulary, recognise
from cyclodose.errors import CaseError, Problem
from cyclodose.intake.case import Patient

DIALYSIS_CONCEPT = "dialysis"
SEVERE_RENAL_CONCEPT = "severe_renal_impairment"


def renal_state(patient: Patient, vocab: Vocabulary) -> RenalFunction:
    """The one renal state of every section: the checked dialysis field, the measured or
    estimated clearance, and a recorded kidney failure (ESRD, CKD stage 4-5), which makes it
    severe whatever the creatinine estimate says (a post-dialysis creatinine can look
    moderate)."""
    check_renal_state(patient, vocab)
    renal = renal_function(patient)
    # A "history of" ESRD counts too (the screening rule counts it): kidney failure does not
    # resolve, and a transplant is recorded as such, not as a history of ESRD.
    recorded = [r for r in vocab.of("condition") if r.concept == SEVERE_RENAL_CONCEPT]
    if not recorded or renal.dialysis != "none":
        return renal
    said = ", ".join(f"{r.text!r} ({r.field})" for r in recorded)
    note = (f"{said} records kidney failure or CKD stage 4-5: treated as severe renal "
            "impairment whatever the creatinine estimate says")
    return renal.model_copy(update={"recorded_severe": True, "notes": (*renal.notes, note),
                                    "sources": (*renal.sources, "ext.kdigo_2012")})


def patient_renal_state(patient: Patient) -> RenalFunction:
    """`renal_state` from the patient's own conditions (for a path without the full screen)."""
    return renal_state(patient, recognise(patient.conditions, (), ()))


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
