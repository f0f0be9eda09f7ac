"""Shortcuts with the numbers of the library call they replace: the sort-based percentiles
(np.percentile) and the rows' log-sum-exp of the SIR proposal density (scipy)."""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose.tdm.quantiles import percentiles


@pytest.mark.parametrize("shape", [(1000, 2), (500, 109), (7, 3), (1, 5), (2, 1)])
@pytest.mark.parametrize("axis", [0, 1])
def test_the_same_numbers_as_numpy(shape: tuple[int, int], axis: int) -> None:
    rng = np.random.default_rng(sum(shape) + axis)
    x = rng.lognormal(1.0, 0.6, shape)
    x[rng.random(shape) < 0.1] = 3.0  # ties
    for q in ([5.0, 95.0], [50.0, 5.0, 95.0], [0.0, 100.0], [12.5, 37.5, 62.5]):
        np.testing.assert_array_equal(percentiles(x, q, axis=axis),
                                      np.percentile(x, q, axis=axis))


def test_nan_and_infinite_values_follow_numpy() -> None:
    x = np.arange(20.0).reshape(10, 2)
    x[3, 0] = np.nan
    x[5, 1] = np.inf
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(percentiles(x, [5.0, 95.0]),
                                      np.percentile(x, [5.0, 95.0], axis=0))


@pytest.mark.parametrize("m", [1, 2, 3, 4, 8, 9])
def test_log_mixture_density_is_scipys_logsumexp(m: int) -> None:
    from scipy.special import logsumexp

    from cyclodose.tdm.posterior import logsumexp_columns

    rng = np.random.default_rng(m)
    a = rng.normal(-5.0, 30.0, (m, 10_000))
    a[:, :50] = -7.0  # ties
    a[0, 50:60] = -np.inf
    a[:, 60:62] = -np.inf  # every component zero
    np.testing.assert_array_equal(logsumexp_columns(a), logsumexp(a, axis=0))
    if m < 8:  # numpy sums fewer than 8 terms in order whichever the axis: the row layout too
        np.testing.assert_array_equal(logsumexp_columns(a), logsumexp(a.T, axis=1))
