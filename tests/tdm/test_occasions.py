"""Levels from several occasions: IOV η per sampling day (Alghamdi 2019: IOV on CL, SD 0.190)."""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose import pk
from cyclodose.tdm.occasions import concentrations, occasion_model
from cyclodose.workflows.adapters import covariates_from_case, dose_history, observations
from cyclodose.workflows.tdm import estimate, to_dict

from .conftest import make_case

SPEC = pk.get_model("alghamdi2019")
REGIMEN = {"amount_mg": 250, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 40}


def _levels(day1: tuple[float, float], day2: tuple[float, float]) -> list[dict]:
    return [
        {"time": "2026-03-08T10:00:00", "value": day1[0], "unit": "mg/L"},
        {"time": "2026-03-08T14:00:00", "value": day1[1], "unit": "mg/L"},
        {"time": "2026-03-18T10:00:00", "value": day2[0], "unit": "mg/L"},
        {"time": "2026-03-18T14:00:00", "value": day2[1], "unit": "mg/L"},
    ]


def test_one_occasion_adds_no_iov():
    case = make_case()
    occ = occasion_model(SPEC, observations(case), dose_history(case))
    assert occ.n_occasions == 1 and occ.k == 4 and occ.targets == ()


def test_two_occasions_model_and_zero_iov_matches_engine():
    case = make_case(regimen=REGIMEN, levels=_levels((20, 17), (20, 17)))
    doses, obs = dose_history(case), observations(case)
    occ = occasion_model(SPEC, obs, doses)
    assert occ.n_occasions == 2
    assert occ.eta_names == ("tlag", "ka", "v", "cl", "cl_occ1", "cl_occ2")
    # occasion 2 starts at the dose before its first level (18 March 08:00 = 17 days = 408 h)
    assert occ.starts_h == (408.0,)
    np.testing.assert_allclose(np.diag(occ.omega(SPEC.omega))[4:], 0.190**2)
    cov = covariates_from_case(case, SPEC)
    etas = np.array([[0.1, -0.3, 0.05, 0.2, 0.0, 0.0]])
    ours = concentrations(SPEC, cov, occ, etas, doses, obs.time_h)
    engine = pk.predict(SPEC, cov, etas[:, :4], doses.time_h, doses.amount_mg, obs.time_h)
    np.testing.assert_allclose(ours, engine, rtol=1e-10)
    # an IOV η on occasion 2 changes only the levels of occasion 2
    etas2 = etas.copy()
    etas2[0, 5] = 0.3
    moved = concentrations(SPEC, cov, occ, etas2, doses, obs.time_h)
    np.testing.assert_allclose(moved[0, :2], ours[0, :2], rtol=1e-12)
    assert np.all(moved[0, 2:] < ours[0, 2:])  # higher clearance, lower levels


def test_clearance_change_between_occasions_goes_to_iov():
    # higher levels on day 18 than on day 8 with the same regimen: CL fell between occasions
    est = estimate(make_case(regimen=REGIMEN, levels=_levels((18, 15), (27, 24))), n_draws=300)
    doc = to_dict(est)
    assert doc["occasions"]["iov_estimated"] and doc["occasions"]["n"] == 2
    cl1, cl2 = doc["occasions"]["cl_l_h_map"]
    assert cl2 < cl1
    e = doc["etas"]
    assert e["cl_occ1"]["map"] > 0 > e["cl_occ2"]["map"]
    # the forecast clearance (IOV = 0) lies between the two occasions' clearances
    assert cl2 < doc["parameters"]["cl_l_h"]["map"] < cl1
    assert all(lv["iwres"] is not None and abs(lv["iwres"]) < 3
               for lv in doc["predictions"]["levels"])
    assert doc["parameters"]["cl_l_h"]["map"] == pytest.approx(  # JSON rounds to 4 decimals
        float(pk.individual_parameters(SPEC, est.covariates, est.fit.eta[None, :4]).cl_l_h[0]),
        abs=1e-4)
