"""Exposure metrics over windows of a dose history: exact against dense evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose.pk import (
    Covariates,
    CovariateTimeline,
    exposure_metrics,
    get_model,
    individual_parameters,
    predict,
    repeat_doses,
)

ALG = get_model("alghamdi2019")
RES = get_model("resendiz2025")
COV_ALG = Covariates.create(weight_kg=59.0, crcl_ml_min=89.1)
COV_RES = Covariates.create(weight_kg=50.0, ffm_kg=38.6, crcl_56m_ml_min=122.0)
LATER = Covariates.create(weight_kg=52.0, crcl_ml_min=40.0, ffm_kg=34.0, crcl_56m_ml_min=55.0)


@pytest.mark.parametrize("spec,cov", [
    (ALG, COV_ALG), (RES, COV_RES),
    (ALG, CovariateTimeline((-np.inf, 30.0), (COV_ALG, LATER))),
    (RES, CovariateTimeline((-np.inf, 30.0), (COV_RES, LATER))),
])
def test_window_metrics_match_dense_profile(spec, cov) -> None:  # type: ignore[no-untyped-def]
    # irregular history: a missed dose at 24 h and an extra 125 mg at 40 h
    t, a = repeat_doses(250.0, 12.0, count=8, missed_h=[24.0], extra=[(40.0, 125.0)])
    windows = np.array([[0.0, 12.0], [20.0, 44.0], [84.0, 96.0], [0.0, 300.0]])
    m = exposure_metrics(spec, cov, None, t, a, windows, threshold_mg_l=15.0, mic_mg_l=12.0)
    for w, (lo, hi) in enumerate(windows):
        fine = np.linspace(lo, hi, min(int((hi - lo) * 4000), 60000) + 1)
        c = predict(spec, cov, None, t, a, fine)[0]
        step = fine[1] - fine[0]
        assert m["cmax"][0, w] == pytest.approx(c.max(), rel=1e-6)
        assert c.max() <= m["cmax"][0, w] * (1 + 1e-12)
        assert m["tmax"][0, w] == pytest.approx(fine[c.argmax()], abs=2 * step)
        assert m["cmin"][0, w] == pytest.approx(c.min(), rel=1e-4, abs=1e-9)
        # integrate the dense profile piecewise: C jumps where V changes (LOCF at 30 h)
        cuts = [lo] + [x for x in (30.0,) if lo < x < hi and isinstance(cov, CovariateTimeline)]
        auc = 0.0
        for a0, b0 in zip(cuts, [*cuts[1:], hi], strict=True):
            piece = np.linspace(a0, b0 - (1e-12 if b0 != hi else 0.0), 200001)
            auc += np.trapezoid(predict(spec, cov, None, t, a, piece)[0], piece)
        assert m["auc"][0, w] == pytest.approx(auc, rel=1e-6)
        assert m["time_above_h"][0, w] == pytest.approx(np.sum(c[:-1] > 15.0) * step, abs=3 * step)
        pct = 100 * np.sum(c[:-1] > 12.0) * step / (hi - lo)
        assert m["tmic_pct"][0, w] == pytest.approx(pct, abs=0.05)


def test_auc_to_infinity_recovers_the_dose() -> None:
    # CL x AUC0-inf = F x dose: nearly all of 500 mg is eliminated within 3000 h
    par = individual_parameters(ALG, COV_ALG)
    m = exposure_metrics(ALG, COV_ALG, None, [0.0], [500.0], [[0.0, 3000.0]])
    assert par.cl_l_h[0] * m["auc"][0, 0] == pytest.approx(500.0, rel=1e-9)


def test_metrics_vectorised_over_individuals() -> None:
    rng = np.random.default_rng(4)
    eta = rng.multivariate_normal(np.zeros(4), ALG.omega, 3)
    t, a = repeat_doses(250.0, 12.0, count=4)
    win = [[0.0, 12.0], [36.0, 48.0]]
    together = exposure_metrics(ALG, COV_ALG, eta, t, a, win, mic_mg_l=10.0)
    for i in range(3):
        one = exposure_metrics(ALG, COV_ALG, eta[i], t, a, win, mic_mg_l=10.0)
        for key in one:
            assert np.allclose(one[key][0], together[key][i], rtol=1e-10)
