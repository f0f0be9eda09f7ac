"""Closed-form concentrations against an independent numerical ODE integration (solve_ivp,
rtol 1e-10, atol 1e-12): agreement to 1e-6 relative, plus dose recovery."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from cyclodose.pk import (
    Covariates,
    CovariateTimeline,
    get_model,
    individual_parameters,
    predict,
    repeat_doses,
    segments,
)

from .ode_reference import ode_concentrations

ALG = get_model("alghamdi2019")
RES = get_model("resendiz2025")
COV_ALG = Covariates.create(weight_kg=59.0, crcl_ml_min=89.1)
COV_RES = Covariates.create(weight_kg=50.0, ffm_kg=38.6, crcl_56m_ml_min=122.0)
TIMES = np.array([0.2, 0.5, 1.0, 1.7, 3.0, 6.0, 11.9, 12.4, 13.0, 25.0, 30.3, 31.1, 47.0, 60.0])


def _check(spec, cov, eta, doses_t, doses_a, times=TIMES):  # type: ignore[no-untyped-def]
    got = predict(spec, cov, eta, doses_t, doses_a, times)[0]
    segs = [(s.start_h, s.params) for s in segments(spec, cov, eta)]
    ref = ode_concentrations(segs, list(doses_t), list(doses_a), list(times))
    pos = ref > 1e-9
    assert np.all(np.abs(got[~pos]) < 1e-9)
    assert np.max(np.abs(got[pos] - ref[pos]) / ref[pos]) < 1e-6


@pytest.mark.parametrize("spec,cov", [(ALG, COV_ALG), (RES, COV_RES)])
def test_single_dose_matches_ode(spec, cov) -> None:  # type: ignore[no-untyped-def]
    _check(spec, cov, None, [0.0], [250.0])


@pytest.mark.parametrize("spec,cov", [(ALG, COV_ALG), (RES, COV_RES)])
def test_irregular_history_matches_ode(spec, cov) -> None:  # type: ignore[no-untyped-def]
    # q12h with the 24 h dose missed, an extra 125 mg at 30 h and a late 500 mg dose
    t, a = repeat_doses(250.0, 12.0, count=5, missed_h=[24.0], extra=[(30.0, 125.0), (43.0, 500.0)])
    assert list(t) == [0.0, 12.0, 30.0, 36.0, 43.0, 48.0]
    _check(spec, cov, None, t, a)


def test_lag_longer_than_interval_matches_ode() -> None:
    # eta on tlag of ln(20): lag 6.5 h, doses every 4 h
    eta = np.array([np.log(20.0), -1.0, 0.1, 0.2])
    par = individual_parameters(ALG, COV_ALG, eta)
    assert par.tlag_h[0] > 4.0
    t, a = repeat_doses(250.0, 4.0, count=8)
    _check(ALG, COV_ALG, eta, t, a)


def test_transit_with_between_occasion_like_extremes_matches_ode() -> None:
    # slow transit with ka above ktr exercises the crossing-rate branch of the closed form
    cov = Covariates.create(weight_kg=50.0, ffm_kg=38.6, crcl_56m_ml_min=122.0)
    par = individual_parameters(RES, cov, np.array([0.3]))
    slow = type(par)(cl_l_h=par.cl_l_h, v_l=par.v_l, ka_per_h=np.array([12.0]),
                     tlag_h=par.tlag_h, mtt_h=np.array([2.5]), f=par.f, n_stages=par.n_stages)
    assert slow.ktr_per_h[0] < slow.ka_per_h[0]
    from cyclodose.pk.solution import Segment, concentration_mg_l

    got = concentration_mg_l([Segment(-np.inf, slow)], np.array([0.0, 12.0]),
                             np.array([250.0, 250.0]), TIMES)[0]
    ref = ode_concentrations([(-np.inf, slow)], [0.0, 12.0], [250.0, 250.0], list(TIMES))
    assert np.max(np.abs(got - ref) / ref) < 1e-6


@pytest.mark.parametrize("spec,cov", [(ALG, COV_ALG), (RES, COV_RES)])
def test_time_varying_covariates_match_ode(spec, cov) -> None:  # type: ignore[no-untyped-def]
    # renal function halves at 20 h and weight drops at 35 h (LOCF)
    later = Covariates.create(weight_kg=50.0, crcl_ml_min=45.0, ffm_kg=33.0, crcl_56m_ml_min=61.0)
    last = Covariates.create(weight_kg=45.0, crcl_ml_min=45.0, ffm_kg=30.0, crcl_56m_ml_min=61.0)
    tl = CovariateTimeline(start_h=(-np.inf, 20.0, 35.0), segments=(cov, later, last))
    t, a = repeat_doses(250.0, 12.0, count=5)
    _check(spec, tl, None, t, a)


def test_vectorised_over_individuals_equals_one_by_one() -> None:
    rng = np.random.default_rng(3)
    eta = rng.multivariate_normal(np.zeros(4), ALG.omega, 5)
    cov = Covariates.create(weight_kg=rng.uniform(45, 80, 5), crcl_ml_min=rng.uniform(40, 120, 5))
    together = predict(ALG, cov, eta, [0.0, 12.0, 24.0], [250.0, 500.0, 250.0], TIMES)
    for i in range(5):
        one = predict(ALG, cov.take([i]), eta[i], [0.0, 12.0, 24.0], [250.0, 500.0, 250.0], TIMES)
        assert np.allclose(one[0], together[i], rtol=1e-12, atol=0)


@pytest.mark.parametrize("spec,cov", [(ALG, COV_ALG), (RES, COV_RES)])
def test_dose_recovery_cl_times_auc_equals_dose(spec, cov) -> None:  # type: ignore[no-untyped-def]
    par = individual_parameters(spec, cov)

    def conc(t: float) -> float:
        return float(predict(spec, cov, None, [0.0], [500.0], [t])[0, 0])

    auc = sum(quad(conc, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
              for lo, hi in [(0, 0.326), (0.326, 24), (24, 200), (200, 2000)])
    tail = conc(2000.0) / par.k_per_h[0]
    assert par.cl_l_h[0] * (auc + tail) == pytest.approx(500.0, rel=1e-6)


def test_single_500_mg_typical_patient() -> None:
    # pharmacology.md §1 derived check: Cmax ~19.5 mg/L at ~1.1 h; AUC0-inf ~484 mg.h/L
    t = np.linspace(0.0, 4.0, 40001)
    c = predict(ALG, COV_ALG, None, [0.0], [500.0], t)[0]
    assert c.max() == pytest.approx(19.5, rel=0.01)
    assert t[c.argmax()] == pytest.approx(1.1, abs=0.05)
    par = individual_parameters(ALG, COV_ALG)
    assert 500.0 / par.cl_l_h[0] == pytest.approx(484, rel=0.01)


def test_before_first_dose_and_within_lag_is_zero() -> None:
    c = predict(ALG, COV_ALG, None, [10.0], [250.0], [0.0, 10.0, 10.3])[0]
    assert np.all(c == 0.0)


@pytest.mark.parametrize("spec,cov", [(ALG, COV_ALG), (RES, COV_RES)])
def test_dose_to_dose_propagation_equals_superposition(spec, cov) -> None:  # type: ignore[no-untyped-def]
    # a long history on a dense grid takes the propagation path; it must equal the sum
    from cyclodose.pk.solution import Rates, amounts_sequential, dose_response

    rng = np.random.default_rng(9)
    eta = rng.multivariate_normal(np.zeros(len(spec.eta_names)), spec.omega, 3)
    par = individual_parameters(spec, cov, eta)
    t, a = repeat_doses(250.0, 12.0, count=20, missed_h=[60.0], extra=[(100.5, 125.0)])
    grid = np.broadcast_to(np.linspace(0.0, 300.0, 3001), (3, 3001))
    central = par.n_stages + 1
    seq = amounts_sequential(par, t, a, grid, [central])[:, 0]
    entries = t[None, :] + par.tlag_h[:, None]
    direct = dose_response(Rates.of(par), [central], entries, np.broadcast_to(a, entries.shape)
                           * par.f[:, None], grid)[:, 0]
    assert np.allclose(seq, direct, rtol=1e-10, atol=1e-12)
    # and the public predict (which takes this path here) matches the ODE
    got = predict(spec, cov, eta[:1], t, a, grid[0])[0]
    ref = ode_concentrations([(s.start_h, s.params) for s in segments(spec, cov, eta[:1])],
                             list(t), list(a), list(grid[0, ::50]))
    pos = ref > 1e-9
    assert np.max(np.abs(got[::50][pos] - ref[pos]) / ref[pos]) < 1e-6


def test_absorption_far_slower_than_elimination_stays_finite() -> None:
    # Regression: ka << k overflowed expm1 to inf·0 = nan late after a dose (seen in MAP
    # searches). Reference: the textbook Bateman form ka/(ka-k)·(e^-kt - e^-ka·t)·D/V, which
    # is well conditioned in this corner.
    eta = np.array([0.0, np.log(0.001 / 6.61), 0.0, 2.5])  # ka 0.001 /h, CL ×12
    par = individual_parameters(ALG, COV_ALG, eta)
    ka, k, v, lag = par.ka_per_h[0], par.k_per_h[0], par.v_l[0], par.tlag_h[0]
    assert ka < k / 100
    times = np.array([1.0, 100.0, 2000.0, 20000.0])
    got = predict(ALG, COV_ALG, eta, [0.0], [250.0], times)[0]
    tt = times - lag
    ref = 250.0 / v * ka / (ka - k) * (np.exp(-k * tt) - np.exp(-ka * tt))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, ref, rtol=1e-9)
