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


# Findings that make a dose increase wait for checks (issue #9, Misleading 3): a low level is
# as often a missed dose, a mistimed sample or food as a low exposure.
PRE_INCREASE_CODES = ("level.below_target", "level.absorption_unresolved")


def before_increase(found: tuple[Finding, ...], current_daily_mg: float | None,
                    proposed_daily_mg: float) -> tuple[str, ...]:
    """The codes of the findings an increase must wait for (none when no increase)."""
    if current_daily_mg is None or proposed_daily_mg <= current_daily_mg + 1e-9:
        return ()
    return tuple(f.code for f in found if f.code in PRE_INCREASE_CODES)


def before_increase_text(codes: tuple[str, ...]) -> str:
    return (f"Increase only after the checks asked for by {', '.join(codes)} (adherence, the "
            "exact sample and dose times, food, and a 6 h level when only an early level "
            "exists); if a check explains the low level, correct it and repeat the levels "
            "instead of increasing.")


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
