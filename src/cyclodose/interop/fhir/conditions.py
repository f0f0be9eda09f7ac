"""Conditions: SNOMED CT through codes.yaml, ICD-10 by prefix, or text, for the vocabulary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cyclodose.interop.fhir import codes
from cyclodose.interop.fhir.resources import ref

NOT_TRIGGERING_CLINICAL = frozenset({"inactive", "resolved"})
NOT_TRIGGERING_VERIFICATION = frozenset({"refuted", "entered-in-error"})


@dataclass(frozen=True)
class ConditionText:
    text: str  # what goes into the Case document's patient.conditions
    source: str  # "Condition/c1"
    coded_as: str  # "SNOMED CT 84757009 (SNOMED CT International; ...)", "ICD-10 F32.1", "text"
    active: bool
    status: str  # "active", "resolved", "refuted", "clinicalStatus missing"


def _status(cond: Any) -> tuple[bool, str]:
    ver = {c.code for c in codes.codings(cond.verificationStatus)}
    if hit := ver & NOT_TRIGGERING_VERIFICATION:
        return False, f"verificationStatus {sorted(hit)[0]}"
    clinical = {c.code for c in codes.codings(cond.clinicalStatus)}
    if hit := clinical & NOT_TRIGGERING_CLINICAL:
        return False, f"clinicalStatus {sorted(hit)[0]}"
    if not clinical:
        # FHIR R4 requires clinicalStatus; without it the condition counts, so a rule can fire.
        return True, "clinicalStatus missing: counted as active"
    return True, f"clinicalStatus {sorted(clinical)[0]}"


def read_condition(cond: Any) -> ConditionText:
    active, status = _status(cond)
    name = ref(cond)
    mapped = codes.snomed_conditions()
    cc = codes.codings(cond.code)
    for c in cc:
        if c.system == codes.SNOMED and c.code in mapped:
            e = mapped[c.code]
            return ConditionText(e["term"], name, f"SNOMED CT {c.code} ({e['source']})",
                                 active, status)
    for c in cc:
        if c.system in codes.ICD10 and c.code:
            return ConditionText(f"ICD10:{c.code}", name, f"ICD-10 {c.code}", active, status)
    text = codes.text_of(cond.code)
    if text:
        return ConditionText(text, name, "text", active, status)
    first = cc[0] if cc else None
    label = f"{first.system} {first.code}" if first else "a condition without code or text"
    # Still listed: the vocabulary reports it as unrecognised.
    return ConditionText(label, name, "uncoded", active, status)
