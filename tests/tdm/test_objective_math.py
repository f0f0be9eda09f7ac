"""The estimation stages on models whose answers are known in closed form.

A linear-Gaussian model (f = A η + c, constant residual SD) has an exact
posterior: mean (AᵀR⁻¹A + Ω⁻¹)⁻¹ AᵀR⁻¹ (y − c), covariance (AᵀR⁻¹A + Ω⁻¹)⁻¹
(derived check: conjugate normal linear model). MAP, Laplace and SIR must
all recover it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from cyclodose.tdm.objective import Objective, Prior
from cyclodose.tdm.optimise import fit_map
from cyclodose.tdm.posterior import laplace, sir
from cyclodose.tdm.preprocess import Observations

OMEGA = np.diag([0.353, 0.174, 1.52, 0.409]) ** 2  # Alghamdi 2019 IIV SDs squared
A = np.array([[3.0, -1.0, 0.5, 0.0], [-2.0, 1.5, 0.0, 0.3], [1.0, 1.0, -0.4, 0.2]])
C = np.array([20.0, 15.0, 10.0])
SIGMA = 1.2


def _obs(y, blq=None, lloq=None):
    y = np.asarray(y, dtype=float)
    blq = np.zeros(y.size, bool) if blq is None else np.asarray(blq)
    lloq = np.full(y.size, np.nan) if lloq is None else np.asarray(lloq, float)
    return Observations(time_h=np.arange(y.size, dtype=float), conc_mg_l=np.where(blq, np.nan, y),
                        blq=blq, lloq_mg_l=lloq)


def _linear(y, blq=None, lloq=None):
    return Objective(predict=lambda e: np.atleast_2d(e) @ A.T + C,
                     residual_sd=lambda f: np.full_like(f, SIGMA),
                     prior=Prior(OMEGA), obs=_obs(y, blq, lloq))


def _exact(y):
    r_inv = np.eye(3) / SIGMA**2
    prec = A.T @ r_inv @ A + np.linalg.inv(OMEGA)
    cov = np.linalg.inv(prec)
    return cov @ A.T @ r_inv @ (np.asarray(y) - C), cov


def test_ofv_by_hand():
    obj = _linear([22.0, 14.0, 11.0])
    eta = np.array([0.1, -0.2, 0.3, 0.05])
    f = A @ eta + C
    expected = np.sum((np.array([22.0, 14.0, 11.0]) - f) ** 2 / SIGMA**2 + np.log(SIGMA**2))
    expected += eta @ np.linalg.inv(OMEGA) @ eta
    assert obj(eta) == pytest.approx(expected, rel=1e-12)


def test_m3_term_for_blq():
    obj = _linear([22.0, 0.0, 11.0], blq=[False, True, False], lloq=[np.nan, 2.0, np.nan])
    eta = np.zeros(4)
    f = C
    expected = ((22.0 - f[0]) ** 2 + (11.0 - f[2]) ** 2) / SIGMA**2 + 2 * np.log(SIGMA**2)
    expected += -2.0 * np.log(norm.cdf((2.0 - f[1]) / SIGMA))
    assert obj(eta) == pytest.approx(expected, rel=1e-10)


def test_no_levels_is_prior_only_and_map_is_typical():
    obj = _linear([])
    eta = np.array([0.2, 0.1, -0.5, 0.3])
    assert obj(eta) == pytest.approx(eta @ np.linalg.inv(OMEGA) @ eta)
    fit = fit_map(obj)
    assert np.array_equal(fit.eta, np.zeros(4))


def test_gradient_matches_analytic():
    y = np.array([25.0, 12.0, 9.0])
    obj = _linear(y)
    eta = np.array([0.3, -0.1, 0.4, -0.2])
    _, grad = obj.value_and_grad(eta)
    analytic = -2 * A.T @ (y - A @ eta - C) / SIGMA**2 + 2 * np.linalg.inv(OMEGA) @ eta
    np.testing.assert_allclose(grad, analytic, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("y", [[25.0, 12.0, 9.0], [18.0, 17.0, 12.0], [30.0, 8.0, 6.0]])
def test_map_laplace_sir_recover_conjugate_posterior(y):
    mean, cov = _exact(y)
    obj = _linear(y)
    fit = fit_map(obj)
    np.testing.assert_allclose(fit.eta, mean, atol=1e-5)
    lap = laplace(obj, fit.eta)
    np.testing.assert_allclose(lap.cov, cov, rtol=1e-3, atol=1e-8)
    sample = sir(obj, fit, lap, seed=1)
    post_sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(sample.draws.mean(axis=0) - mean) < 4 * post_sd / np.sqrt(1000))
    np.testing.assert_allclose(sample.draws.std(axis=0), np.sqrt(np.diag(cov)), rtol=0.12)


def test_restarts_find_the_lower_of_two_modes():
    # f = 10 + 4 (η_ka² − 1.5²)·… : a toy objective with modes at η_ka ≈ ±1.5; the
    # prior mean (0) sits on the ridge between them and a nudge picks the deeper one.
    def predict(e):
        e = np.atleast_2d(e)
        return np.column_stack([10.0 + 3.0 * (e[:, 2] ** 2 - 2.25) + 0.2 * e[:, 2]])

    obj = Objective(predict=predict, residual_sd=lambda f: np.full_like(f, 0.5),
                    prior=Prior(OMEGA), obs=_obs([10.0]))
    fit = fit_map(obj, ka_index=2)
    grid = np.linspace(-4, 4, 8001)
    etas = np.zeros((grid.size, 4))
    etas[:, 2] = grid
    best = grid[np.argmin(obj.many(etas))]
    assert fit.eta[2] == pytest.approx(best, abs=1e-3)
    assert len(fit.optima) >= 2
