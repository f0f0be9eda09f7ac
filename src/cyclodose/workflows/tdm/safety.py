"""The screening findings that a TDM recommendation must never silently override.

A regimen optimised from levels is only a pharmacokinetic answer: when the
screening finds a contraindication (severe renal impairment, epilepsy, ...) or
a drug to avoid, the recommendation keeps its numbers for a prescriber who
judges that benefit outweighs risk, but its status says so and the finding is
quoted with it (the rule is `cyclodose.clinical.blocking`, shared with the assessment).
"""

from __future__ import annotations

from cyclodose.clinical.renal_state import renal_state
from cyclodose.clinical.screening import Finding, screen
from cyclodose.clinical.vocabulary import recognise
from cyclodose.intake.case import Case

# Findings about the measured levels and the current dose: quoted with the TDM regimen
# (a 60 mg/L level must not sit in the levels table without a word).
QUOTED_CODES = ("level.above_ceiling", "level.below_target", "level.unit_suspect",
                "dose.above_maximum")


def screening_findings(case: Case) -> tuple[Finding, ...]:
    p = case.patient
    vocab = recognise(p.conditions, case.comedications, p.symptoms)
    return screen(case, renal_state(p, vocab), vocab)


def quoted_warnings(found: tuple[Finding, ...]) -> list[str]:
    """The screening's level and current-dose findings, with the assessment's severity."""
    return [f"{f.severity.upper()} ({f.code}): as recorded: {f.message}"
            for f in found if f.code in QUOTED_CODES]


def contraindication_warnings(findings: list[Finding]) -> list[str]:
    return [f"{f.severity.upper()} ({f.code}): {f.message} The TDM regimen is the "
            "pharmacokinetic answer only; it applies only if the prescriber judges that benefit "
            "outweighs risk, with close monitoring." for f in findings]
