"""Stage 1: is this case fit for Bayesian estimation? Fail loudly, naming the field."""

from __future__ import annotations

import math

from cyclodose.errors import CaseError, Problem
from cyclodose.intake.case import Case


def check_case(case: Case) -> None:
    """Raise CaseError for anything the estimator cannot use.

    `parse_case` already refuses levels without doses, levels before the first
    dose, non-concentration units and negative values; these checks guard the
    estimator when a Case is built by other means (API, FHIR import).
    """
    problems: list[Problem] = []
    given = case.given_doses
    if case.levels and not given:
        reason = ("measured levels need the doses given before them: every dose of the case "
                  "is planned (at or after assessed_at)" if case.doses
                  else "measured levels need a dose history (regimen)")
        problems.append(Problem("levels", reason))
    first_dose_h = min((d.time_h for d in given), default=0.0)
    for i, lv in enumerate(case.levels):
        field = f"levels[{i}]"
        if not math.isfinite(lv.time_h):
            problems.append(Problem(f"{field}.time", "the time is not a finite number"))
        elif lv.time_h < first_dose_h:
            problems.append(Problem(f"{field}.time", "the level is timed before the first dose"))
        if lv.blq:
            if lv.lloq_mg_l is None or not lv.lloq_mg_l > 0:
                problems.append(Problem(f"{field}.lloq", "a level below quantification needs lloq"))
        elif lv.conc_mg_l is None or not math.isfinite(lv.conc_mg_l):
            problems.append(Problem(f"{field}.value", "a level needs a numeric value"))
        elif lv.conc_mg_l < 0:
            problems.append(Problem(f"{field}.value", "a concentration cannot be negative"))
    for i, d in enumerate(case.doses):
        if d.amount_mg < 0:
            problems.append(Problem(f"regimen.doses[{i}].amount_mg", "a dose cannot be negative"))
    if problems:
        raise CaseError(problems)
