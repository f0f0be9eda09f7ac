"""Model-averaging weights (Uster 2021): exp(−OFV/2) × prior, normalised."""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose.tdm.averaging import allocate_draws, model_weights


def test_weights_sum_to_one_and_follow_the_fit():
    w = model_weights([5.0, 9.0])
    assert w.sum() == pytest.approx(1.0, abs=1e-15)
    # OFV difference 4 -> likelihood ratio e^2 (derived: exp(-(5-9)/2))
    assert w[0] / w[1] == pytest.approx(np.exp(2.0), rel=1e-12)


def test_no_levels_gives_the_prior_weights():
    np.testing.assert_allclose(model_weights([0.0, 0.0]), [0.5, 0.5])
    np.testing.assert_allclose(model_weights([0.0, 0.0], prior=[0.8, 0.2]), [0.8, 0.2])


def test_huge_ofvs_do_not_underflow_and_infinite_gets_zero():
    w = model_weights([2000.0, 2004.0, np.inf])
    assert w.sum() == pytest.approx(1.0) and w[2] == 0.0
    assert w[0] == pytest.approx(1 / (1 + np.exp(-2.0)))


def test_bad_priors_and_no_fit_are_refused():
    with pytest.raises(ValueError):
        model_weights([1.0, 2.0], prior=[1.0])
    with pytest.raises(ValueError):
        model_weights([np.inf, np.inf])


@pytest.mark.parametrize("weights, n", [([0.5, 0.5], 1000), ([0.333, 0.667], 1000),
                                        ([0.9999, 0.0001], 1000), ([0.2, 0.3, 0.5], 7)])
def test_draws_are_allocated_in_proportion(weights, n):
    counts = allocate_draws(weights, n)
    assert sum(counts) == n
    exact = np.asarray(weights) / sum(weights) * n
    assert np.all(np.abs(np.asarray(counts) - exact) < 1.0)
