"""The posterior stage's fast paths (issue 13) give bit for bit the numbers of the general
ones: the Hessian stencil halved by symmetry, one prediction call for value, derivatives
and Hessian, the Hessian kept from the MAP search for Laplace, the prior penalty summed by
columns, and the proposal densities written with NumPy instead of scipy.stats."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal, multivariate_t

from cyclodose import pk
from cyclodose.intake.case import Case
from cyclodose.tdm import optimise, posterior
from cyclodose.tdm.objective import PENALTY_BY_COLUMNS_FROM, Objective, Prior
from cyclodose.workflows.adapters import dose_history, observations
from cyclodose.workflows.tdm import pipeline

from .conftest import BASE, make_case

DAY8_AND_DAY18 = [{"time": "2026-03-08T10:00:00", "value": 18.0, "unit": "mg/L"},
                  {"time": "2026-03-08T14:00:00", "value": 15.0, "unit": "mg/L"},
                  {"time": "2026-03-18T10:00:00", "value": 27.0, "unit": "mg/L"},
                  {"time": "2026-03-18T14:00:00", "value": 24.0, "unit": "mg/L"}]
FORTY_DOSES = {**BASE["regimen"], "count": 40}


def _declining_renal_function() -> Case:
    patient = {**BASE["patient"], "covariate_history": [
        {"time": "2026-03-05T08:00:00", "serum_creatinine": {"value": 160, "unit": "umol/L"}}]}
    return make_case(patient=patient)


CASES = {
    "two levels": lambda: make_case(),
    "delayed absorption (two modes)": lambda: make_case(levels=[
        {"time": "2026-03-10T10:00:00", "value": 12.0, "unit": "mg/L"},
        {"time": "2026-03-10T14:00:00", "value": 19.0, "unit": "mg/L"}]),
    "BLQ trough": lambda: make_case(levels=[
        {"time": "2026-03-10T19:30:00", "value": "<2", "unit": "mg/L"}]),
    "level inside the lag time": lambda: make_case(
        regimen={"amount_mg": 500, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 1},
        levels=[{"time": "2026-03-01T08:15:00", "value": 1.5, "unit": "mg/L"},
                {"time": "2026-03-01T10:00:00", "value": 14.0, "unit": "mg/L"}]),
    "two occasions (IOV)": lambda: make_case(regimen=FORTY_DOSES, levels=DAY8_AND_DAY18),
    "covariate timeline": _declining_renal_function,
}
MODELS = ("alghamdi2019", "resendiz2025")  # resendiz2025: transit absorption


def _posterior(case_name: str, model: str) -> pipeline.ModelPosterior:
    case = CASES[case_name]()
    return pipeline.posterior_for(case, pk.get_model(model), dose_history(case),
                                  observations(case), seed=7, n_draws=200)


@pytest.fixture(scope="module", params=[(c, m) for c in CASES for m in MODELS],
                ids=lambda p: f"{p[0]}, {p[1]}")
def fitted(request: pytest.FixtureRequest) -> pipeline.ModelPosterior:
    return _posterior(*request.param)


def _hessians_pair_by_pair(obj: Objective, etas: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """The central-difference Hessians as first written: every (i, j), i ≠ j both ways, with
    its own four points and its own prediction call, then symmetrised."""
    n, k = etas.shape
    h = step * np.maximum(1.0, np.abs(etas))
    hess = np.empty((n, k, k))
    for i in range(k):
        for j in range(k):
            v = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                p = etas.copy()
                p[:, i] += si * h[:, i]
                p[:, j] += sj * h[:, j]
                v.append(obj.many(p))
            pp, pm, mp, mm = v
            hess[:, i, j] = (pp - pm - mp + mm) / (4.0 * h[:, i] * h[:, j])
    return 0.5 * (hess + np.swapaxes(hess, 1, 2))


def _test_points(obj: Objective, fit: optimise.MapFit, seed: int = 0) -> np.ndarray:
    """The optima, random points around them and far out, and points on the search box."""
    sd = obj.prior.sd
    rng = np.random.default_rng(seed)
    optima = np.array([o.eta for o in fit.optima])
    near = optima[0] + rng.normal(0.0, 0.5, (4, sd.size)) * sd
    far = rng.normal(0.0, 3.0, (3, sd.size)) * sd
    edge = np.array([optimise.BOUND_SD * sd, -optimise.BOUND_SD * sd])
    return np.vstack([optima, near, far, edge, np.zeros(sd.size)])


# One point at a time: the predictions of a batch can differ in the last bits with what
# else is in it (pk picks a shared closed form when every row of a batch has ka >= k).


def test_hessians_equal_the_pair_by_pair_stencil(fitted: pipeline.ModelPosterior) -> None:
    obj = fitted.obj
    for eta in _test_points(obj, fitted.fit):
        np.testing.assert_array_equal(obj.hessian(eta), _hessians_pair_by_pair(obj, eta[None])[0])


def test_local_model_equals_the_three_calls(fitted: pipeline.ModelPosterior) -> None:
    obj = fitted.obj
    for eta in _test_points(obj, fitted.fit, seed=1):
        val, d, h = obj.local_model(eta[None])
        ref = obj.derivatives(eta[None])
        np.testing.assert_array_equal(val, obj.many(eta[None]))
        for got, want in ((d.ofv, ref.ofv), (d.grad, ref.grad), (d.fisher, ref.fisher),
                          (d.iwres, ref.iwres), (h[0], obj.hessian(eta))):
            np.testing.assert_array_equal(got, want)


def test_the_map_keeps_the_hessian_laplace_needs(fitted: pipeline.ModelPosterior) -> None:
    obj, fit = fitted.obj, fitted.fit
    assert fit.hessian is fit.optima[0].hessian is not None
    for opt in fit.optima:
        if np.isfinite(opt.ofv):
            assert opt.hessian is not None
            np.testing.assert_array_equal(opt.hessian, obj.hessian(opt.eta))
    kept, fresh = posterior.laplace(obj, fit.eta, fit.hessian), posterior.laplace(obj, fit.eta)
    np.testing.assert_array_equal(kept.cov, fresh.cov)
    assert kept.positive_definite == fresh.positive_definite


def test_a_linear_model_without_levels_still_gets_its_local_model() -> None:
    a = np.array([[3.0, -1.0], [0.5, 2.0]])
    obs = observations(make_case(levels=[]))
    obj = Objective(lambda e: np.atleast_2d(e) @ a.T, lambda f: np.full_like(f, 1.2),
                    Prior(np.diag([0.3, 0.2])), obs)
    etas = np.array([[0.1, -0.2], [0.0, 0.0]])
    val, d, h = obj.local_model(etas)
    np.testing.assert_array_equal(val, obj.many(etas))
    np.testing.assert_array_equal(d.grad, obj.derivatives(etas).grad)
    np.testing.assert_array_equal(h, _hessians_pair_by_pair(obj, etas))


@pytest.mark.parametrize("k", [1, 2, 4, 5, 9, 12])
def test_penalty_by_columns_is_einsums_sum(k: int) -> None:
    rng = np.random.default_rng(k)
    a = rng.normal(size=(k, k))
    prior = Prior(a @ a.T + 0.5 * np.eye(k))
    for n in (PENALTY_BY_COLUMNS_FROM - 1, PENALTY_BY_COLUMNS_FROM, 10_000):
        etas = rng.normal(size=(n, k)) * rng.choice([1e-3, 1.0, 1e3], size=(n, 1))
        etas[:2] = 0.0
        etas[2, 0], etas[3, -1] = np.inf, np.nan
        with np.errstate(invalid="ignore"):
            np.testing.assert_array_equal(
                prior.penalty(etas), np.einsum("ni,ij,nj->n", etas, prior.omega_inv, etas))


def test_of_two_starts_in_one_basin_one_goes_on() -> None:
    """Duplicates reach each other's basin together: the first is dropped, the second stays
    (checked in turn: checked at once, both would be dropped)."""
    obj = _posterior("two levels", "alghamdi2019").obj
    sd = obj.prior.sd
    x, ofv, _ = optimise._descend(obj, np.vstack([0.8 * sd, 0.8 * sd]), -5 * sd, 5 * sd, sd)
    assert np.isinf(ofv[0]) and np.isfinite(ofv[1])


def _shape(k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(k, k))
    return rng.normal(size=k), a @ a.T + 0.1 * np.eye(k)


@pytest.mark.parametrize("k", [1, 4, 6])
def test_student_t_proposal_is_scipys(k: int) -> None:
    loc, shape = _shape(k, k)
    ours = posterior._StudentT(loc, posterior._Scale.of(shape), posterior.PROPOSAL_DF)
    ref = multivariate_t(loc=loc, shape=shape, df=posterior.PROPOSAL_DF)
    draws = ours.draw(np.random.default_rng(5), 2_000)
    np.testing.assert_array_equal(
        draws, np.reshape(ref.rvs(size=2_000, random_state=np.random.default_rng(5)),
                          draws.shape))
    x = np.vstack([draws, 50.0 * draws, loc])
    np.testing.assert_array_equal(ours.log_density(x), np.reshape(ref.logpdf(x), -1))


@pytest.mark.parametrize("k", [1, 4, 6])
def test_normal_proposal_is_scipys(k: int) -> None:
    _, cov = _shape(k, 10 + k)
    ours = posterior._Normal(posterior._Scale.of(cov))
    ref = multivariate_normal(mean=np.zeros(k), cov=cov)
    draws = ours.draw(np.random.default_rng(6), 2_000)
    np.testing.assert_array_equal(
        draws, np.reshape(ref.rvs(size=2_000, random_state=np.random.default_rng(6)),
                          draws.shape))
    x = np.vstack([draws, 50.0 * draws, np.zeros(k)])
    np.testing.assert_array_equal(ours.log_density(x), np.reshape(ref.logpdf(x), -1))


@pytest.mark.parametrize("matrix", [np.array([[1.0, 1.0], [1.0, 1.0]]),
                                    np.array([[1.0, 0.0], [0.0, -1.0]]),
                                    np.array([[1.0, np.nan], [np.nan, 1.0]])])
def test_a_scale_that_is_not_positive_definite_is_refused(matrix: np.ndarray) -> None:
    with pytest.raises((np.linalg.LinAlgError, ValueError)):
        posterior._Scale.of(matrix)


def _distinct_pair_by_pair(points: np.ndarray, sd: np.ndarray, tol: float) -> list[int]:
    kept: list[int] = []
    for i, p in enumerate(points):
        if all(np.max(np.abs((p - points[j]) / sd)) > tol for j in kept):
            kept.append(i)
    return kept


@pytest.mark.parametrize("tol", [optimise.DISTINCT_MODE_TOL, 0.99, 3.0])
def test_distinct_points_are_those_of_the_pair_by_pair_check(tol: float) -> None:
    rng = np.random.default_rng(4)
    sd = np.sqrt(np.diag(pk.get_model("alghamdi2019").omega))
    points = np.round(rng.normal(0.0, 2.0, (300, sd.size)), 1) * sd  # near and exact repeats
    points[7, 0] = np.nan
    ref = _distinct_pair_by_pair(points, sd, tol)
    assert optimise._distinct(points, sd, tol) == ref
    assert optimise._distinct(points, sd, tol, limit=optimise.GRID_STARTS) == \
        ref[:optimise.GRID_STARTS]
