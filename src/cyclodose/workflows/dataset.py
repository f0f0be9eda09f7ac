"""The case as a pharmacometric dataset (#14 "what a lab needs out"): one row per dose and per
level, with the covariates in force at each row, in the NONMEM layout or the
mapbayr/mrgsolve layout, so that a laboratory can refit the case in its own software.

NONMEM: ID, TIME (h from the first dose), AMT (mg), DV (mg/L), MDV, EVID, CMT (1 depot,
2 central), BLQ (1: below the LLOQ; DV then holds the LLOQ, the M3 convention), LLOQ, OCC,
then covariates. mapbayr/mrgsolve: the same rows with its lower-case data-item names (ID,
time, evid, amt, cmt, ii, addl, ss, mdv, DV, BLQ, LLOQ; NA for missing, DV 0 on dose rows),
doses given one by one (ii = addl = 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from cyclodose import pk
from cyclodose.intake.case import Case
from cyclodose.workflows.adapters import (
    covariates_from_case,
    dose_history,
    occasion_starts,
    timeline_from_case,
)

Layout = Literal["nonmem", "mrgsolve"]
COVARIATES = (("WT", "weight_kg"), ("CRCL", "crcl_ml_min"), ("AGE", "age_years"),
              ("SEX", "male"), ("HT", "height_cm"), ("FFM", "ffm_kg"), ("SCR", "scr_mg_dl"))
NOTE = ("CMT 1 is the depot and 2 the central compartment (first-order absorption; a transit "
        "model needs its own compartment numbers); SEX 1 male, 0 female; covariates "
        "last-observation-carried-forward")


@dataclass(frozen=True)
class Dataset:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str


def _num(x: float, nd: int = 4) -> str:
    return "." if x is None or not np.isfinite(x) else f"{round(float(x), nd):g}"


def dataset(case: Case, layout: Layout = "nonmem", *, model: str | None = None) -> Dataset:
    spec = pk.get_model(model or case.settings.model)
    cov: pk.Covariates | pk.CovariateTimeline = (
        timeline_from_case(case, spec) if case.patient.covariate_history
        else covariates_from_case(case, spec))
    doses = dose_history(case)
    given = occasion_starts(case, doses)
    starts = np.asarray(given if given is not None else (), dtype=float)

    def cov_cells(t: float) -> list[str]:
        c = cov.at(t) if isinstance(cov, pk.CovariateTimeline) else cov
        return [_num(float(c.value(name)[0]), 2) for _, name in COVARIATES]

    def occ(t: float) -> str:
        return str(int(np.searchsorted(starts, t, side="right")) + 1)

    events: list[tuple[float, int, list[str]]] = []  # (time, 0 dose / 1 level, cells)
    for d in sorted(case.doses, key=lambda x: x.time_h):
        if layout == "nonmem":
            cells = ["1", _num(d.time_h), _num(d.amount_mg), ".", "1", "1", "1", "0", ".",
                     occ(d.time_h)]
        else:
            cells = ["1", _num(d.time_h), "1", _num(d.amount_mg), "1", "0", "0", "0", "1", "0",
                     "0", ".", occ(d.time_h)]
        events.append((d.time_h, 0, cells + cov_cells(d.time_h)))
    for lv in case.levels:
        dv = lv.lloq_mg_l if lv.blq else lv.conc_mg_l
        blq, lloq = ("1", _num(lv.lloq_mg_l or np.nan)) if lv.blq else ("0", ".")
        if layout == "nonmem":
            cells = ["1", _num(lv.time_h), ".", _num(dv or np.nan), "0", "0", "2", blq, lloq,
                     occ(lv.time_h)]
        else:
            cells = ["1", _num(lv.time_h), "0", "0", "2", "0", "0", "0", "0", _num(dv or np.nan),
                     blq, lloq, occ(lv.time_h)]
        events.append((lv.time_h, 1, cells + cov_cells(lv.time_h)))
    head = (("ID", "TIME", "AMT", "DV", "MDV", "EVID", "CMT", "BLQ", "LLOQ", "OCC")
            if layout == "nonmem" else
            ("ID", "time", "evid", "amt", "cmt", "ii", "addl", "ss", "mdv", "DV", "BLQ", "LLOQ",
             "OCC"))
    names = tuple(n for n, _ in COVARIATES)
    missing = "." if layout == "nonmem" else "NA"  # NONMEM's '.'; R reads NA
    rows = tuple(tuple(missing if x == "." else x for x in c)
                 for _, _, c in sorted(events, key=lambda e: (e[0], e[1])))
    return Dataset(columns=head + names, rows=rows, note=NOTE)
