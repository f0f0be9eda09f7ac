"""The first-order shortcut of the sequential superposition gives the general path's numbers
bit for bit (central amounts with ka above and below k, times before the first entry)."""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose.pk import Covariates, get_model, individual_parameters
from cyclodose.pk.solution import amounts_sequential

ALG = get_model("alghamdi2019")


@pytest.mark.parametrize("slow_absorption", [False, True])
def test_shortcut_equals_the_general_rows(slow_absorption: bool) -> None:
    rng = np.random.default_rng(7)
    eta = rng.normal(0.0, 0.5, (400, 4))
    if slow_absorption:
        eta[::3, 2] = -6.0  # ka far below k for every third individual
    par = individual_parameters(ALG, Covariates.create(weight_kg=59.0, crcl_ml_min=89.1), eta)
    assert np.any(par.ka_per_h < par.k_per_h) == slow_absorption
    td = np.arange(20) * 12.0
    ad = np.full(20, 250.0)
    t = np.broadcast_to(np.linspace(-1.0, 260.0, 300), (par.size, 300))
    central_only = amounts_sequential(par, td, ad, t, [1])[:, 0]
    both = amounts_sequential(par, td, ad, t, [0, 1])[:, 1]  # the general per-source sums
    np.testing.assert_array_equal(central_only, both)
