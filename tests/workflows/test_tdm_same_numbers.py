"""Shortcuts of the TDM section that must give the numbers of the general path bit for bit:
the reported parameters of several η rows from one call, the rounding of the JSON."""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose import pk
from cyclodose.workflows.tdm.pipeline import _param_arrays
from cyclodose.workflows.tdm.result import _r, _rounded

MODELS = [(pk.get_model("alghamdi2019"), pk.Covariates.create(weight_kg=59.0, crcl_ml_min=89.1)),
          (pk.get_model("resendiz2025"),
           pk.Covariates.create(weight_kg=50.0, ffm_kg=38.6, crcl_56m_ml_min=122.0))]


@pytest.mark.parametrize("spec,cov", MODELS, ids=[m[0].name for m in MODELS])
def test_parameters_of_stacked_rows_are_those_of_each_row(spec, cov) -> None:
    rng = np.random.default_rng(3)
    k = len(spec.eta_names)
    rows = [rng.normal(0, 1, (1, k)), np.zeros((1, k)), rng.normal(0, 2, (500, k))]
    together = _param_arrays(spec, cov, np.vstack(rows))
    start = 0
    for r in rows:
        alone = _param_arrays(spec, cov, r)
        assert together.keys() == alone.keys()
        for name, v in alone.items():
            np.testing.assert_array_equal(together[name][start:start + r.shape[0]], v)
        start += r.shape[0]


def test_rounding_is_the_rounding_of_each_number() -> None:
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.lognormal(2, 3, 2000), [np.nan, np.inf, -np.inf, 0.0, -0.0,
                                                     0.0005, 0.0015, 2.675, 1e300]])
    for nd in (2, 3, 4):
        expected = [None if not np.isfinite(v) else round(float(v), nd) for v in x]
        assert _rounded(x, nd) == expected
        assert [_r(v, nd) for v in x] == expected  # numpy scalars
        assert [_r(float(v), nd) for v in x] == expected  # Python floats
    assert _r(None) is None and _r(3) == 3
