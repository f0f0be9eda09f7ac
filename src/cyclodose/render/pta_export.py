"""Per-patient export: one CSV row per virtual patient and regimen (long format, for R).

Columns: patient (1-based), regimen, the patient's covariates (given and derived),
individual parameters (of the simulated occasion with IOV), the regimen's daily
dose (mg, mg/kg), Cmax, Cmin, AUC24 and %T>MIC at each MIC.
"""

from __future__ import annotations

import csv
import io
from typing import TextIO

import numpy as np

from cyclodose.population import PopulationRun


def write_csv(run: PopulationRun, mics_mg_l: list[float], out: TextIO) -> int:
    """Write the export; returns the number of data rows. Needs a run with export=True."""
    if not run.columns:
        raise ValueError("the run kept no per-patient columns (run_population(export=True))")
    # a parameter the model does not have (mtt_h without transit) is left out
    names = [k for k, v in run.columns.items() if not np.all(np.isnan(v))]
    n = run.results[0].n
    header = (["patient", "regimen", *names, "daily_dose_mg", "mg_per_kg_day", "cmax_mg_l",
               "cmin_mg_l", "auc24_mg_h_l"]
              + [f"tmic_pct_at_{m:g}_mg_l" for m in mics_mg_l])
    csv.writer(out, lineterminator="\n").writerow(header)
    base = np.column_stack([run.columns[k] for k in names])
    patient = np.arange(1, n + 1, dtype=np.float64)[:, None]
    rows = 0
    for res in run.results:
        assert res.tmic_pct is not None and res.weight_kg is not None
        daily = res.daily_doses_mg()
        numbers = np.column_stack([base, daily, daily / res.weight_kg, res.cmax_mg_l,
                                   res.cmin_mg_l, res.auc24_mg_h_l, res.tmic_pct])
        buf = io.StringIO()
        np.savetxt(buf, numbers, fmt="%.10g", delimiter=",")
        quoted = '"' + res.regimen.replace('"', '""') + '"'
        ids = np.char.mod("%d", patient[:, 0].astype(np.int64))
        for pid, line in zip(ids, buf.getvalue().splitlines(), strict=True):
            out.write(f"{pid},{quoted},{line.replace('nan', 'NA')}\n")
        rows += n
    return rows
