"""The Dask backend returns exactly the NumPy backend's numbers for the same seed."""

from __future__ import annotations

import distributed
import numpy as np
import pytest

from cyclodose.errors import CaseError
from cyclodose.population import backends, parse_population_spec, per_kg, run_pta, weight_bands


def test_dask_local_cluster_equals_numpy() -> None:
    spec = parse_population_spec({
        "n": 3000, "seed": 5,
        "covariates": {
            "weight_kg": {"dist": "normal", "mean": 58.0, "sd": 12.2, "min": 35, "max": 110},
            "crcl_ml_min": {"dist": "lognormal", "mean": 89.1, "sd": 31.9, "min": 25}},
        "correlations": [{"a": "weight_kg", "b": "crcl_ml_min", "rho": 0.4}]})
    regs, mics = ["250mg q12h", "250/500mg q12h",
                  weight_bands("bands", [(None, 50, "250mg q12h"), (50, None, "500mg q12h")]),
                  per_kg("15 mg/kg/day", 15, 2, 125)], [8, 16, 32]
    ref = run_pta(spec, regs, mics, [30, 64], chunk_size=3000)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        seen: list[int] = []
        got = run_pta(spec, regs, mics, [30, 64], backend="dask",
                      scheduler=cluster.scheduler_address, chunk_size=700, progress=seen.append)
    assert sum(seen) == 3000 and len(seen) == 5  # one progress report per chunk
    for a, b in zip(ref, got, strict=True):
        assert a.to_json() == b.to_json()
        assert a.details_json() == b.details_json()
        assert np.array_equal(a.cmax_mg_l, b.cmax_mg_l)
        assert np.array_equal(a.cmin_mg_l, b.cmin_mg_l)


def test_unreachable_scheduler_is_a_case_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "CONNECT_TIMEOUT_S", 1.0)
    spec = parse_population_spec({"n": 10, "seed": 1, "covariates": {
        "weight_kg": {"dist": "constant", "value": 59},
        "crcl_ml_min": {"dist": "constant", "value": 89.1}}})
    with pytest.raises(CaseError) as exc:
        run_pta(spec, ["250mg q12h"], [8], backend="dask", scheduler="tcp://127.0.0.1:9")
    assert exc.value.problems[0].field == "scheduler"
