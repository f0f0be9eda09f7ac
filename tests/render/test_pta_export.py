"""The per-patient CSV export of a PTA run (issue 15)."""

from __future__ import annotations

import csv
import io

import pytest

from cyclodose.population import parse_population_spec, run_population
from cyclodose.render.pta_export import write_csv

POP = {"weight_kg": {"dist": "normal", "mean": 58.0, "sd": 12.2, "min": 35, "max": 110},
       "crcl_ml_min": {"dist": "normal", "mean": 89.1, "sd": 31.9, "min": 25, "max": 250}}


def _spec(n: int) -> object:
    return parse_population_spec({"n": n, "seed": 3, "covariates": POP})


def test_export_has_one_row_per_patient_and_regimen() -> None:
    run = run_population(_spec(30), ["250mg q12h", "250/500mg q12h"], [8, 16], [30],
                         export=True)
    buf = io.StringIO()
    assert write_csv(run, [8.0, 16.0], buf) == 60
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert len(rows) == 60 and rows[30]["regimen"] == "250/500mg q12h"
    assert "mtt_h" not in rows[0]  # the first-order model has no transit time
    res = run.results[1]
    assert float(rows[31]["cmax_mg_l"]) == pytest.approx(res.cmax_mg_l[1], rel=1e-9)
    assert float(rows[31]["weight_kg"]) == pytest.approx(run.columns["weight_kg"][1], rel=1e-9)
    assert float(rows[31]["mg_per_kg_day"]) == pytest.approx(750 / run.columns["weight_kg"][1])
    assert {"cl_l_h", "v_l", "ka_per_h", "tlag_h", "f", "tmic_pct_at_16_mg_l"} <= set(rows[0])


def test_export_needs_a_run_that_kept_the_columns() -> None:
    run = run_population(_spec(10), ["250mg q12h"], [8], [30])
    with pytest.raises(ValueError, match="export=True"):
        write_csv(run, [8.0], io.StringIO())
