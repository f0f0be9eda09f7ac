"""`tdm_regimen.score_many` takes every summary (peak, trough, AUC24, %T>MIC of every
candidate) from one percentiles call: the numbers of one call per metric, NaN included."""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose.clinical.tdm_regimen import Summary, _grid, _summaries, score_many
from cyclodose.intake.case import Target


def _same(got: Summary | None, x: np.ndarray) -> bool:
    (ref,) = _summaries(x[None, :])
    return got is not None and np.array_equal([got.median, got.lower, got.upper],
                                              [ref.median, ref.lower, ref.upper],
                                              equal_nan=True)


@pytest.mark.parametrize("mic", [None, 16.0])
@pytest.mark.parametrize("with_nan", [False, True])
def test_one_call_equals_one_call_per_metric(mic: float | None, with_nan: bool) -> None:
    rng = np.random.default_rng(4)
    cands = list(_grid((125.0, 250.0)))[:9]
    metrics = []
    for _ in cands:
        m = {"cmax": rng.lognormal(3.0, 0.4, 700), "cmin": rng.lognormal(1.5, 0.6, 700),
             "auc24": rng.lognormal(6.0, 0.3, 700),
             "tmic_pct": np.clip(rng.normal(60.0, 30.0, 700), 0.0, 100.0)}
        metrics.append(m)
    if with_nan:  # one NaN sends every row to np.percentile: the same numbers elsewhere
        metrics[2]["cmin"][5] = np.nan
    target = Target(peak_low_mg_l=20.0, peak_high_mg_l=35.0, mic_mg_l=mic, tmic_pct=50.0)
    scored = score_many(cands, metrics, target)
    for s, m in zip(scored, metrics, strict=True):
        assert _same(s.peak_mg_l, m["cmax"]) and _same(s.trough_mg_l, m["cmin"])
        assert _same(s.auc24_mg_h_l, m["auc24"])
        if mic is None:
            assert s.tmic_pct is None and s.p_tmic_goal is None
        else:
            assert _same(s.tmic_pct, m["tmic_pct"])
            assert s.p_tmic_goal == float(np.mean(m["tmic_pct"] >= 50.0))
    assert np.isnan(scored[2].trough_mg_l.median) == with_nan
