"""The faster paths of the closed form give the general paths' numbers bit for bit.

- the sequential superposition with times shared by every individual (one search over the
  times, then steps back per individual's lag) against the same with a per-individual
  copy of the times (a search per element), and both against the sum over doses;
- `amounts` for one segment (the doses' sum without the segment masks) against the
  segment loop (a second, identical segment after every time forces it);
- the transit model's shared exponentials and in-place sums against the plain forms.

Random individuals include ka < k, ka == k, lags longer than a dose gap (and than the
whole history), times before the first dose and within the lag, unsorted times, doses at
the same time, zero doses, and the transit model resendiz2025."""

from __future__ import annotations

from dataclasses import replace
from math import factorial

import numpy as np
import pytest

from cyclodose.pk import Covariates, get_model, individual_parameters
from cyclodose.pk.params import Params
from cyclodose.pk.solution import (
    Rates,
    Segment,
    _central_from_absorption,
    _chains_all,
    _last_entries,
    _row_times,
    amounts,
    amounts_sequential,
    dose_response,
    gamma_p_int,
    response,
    transition,
)

ALG = get_model("alghamdi2019")
RES = get_model("resendiz2025")
COV = Covariates.create(weight_kg=55.0, crcl_ml_min=80.0, ffm_kg=40.0, crcl_56m_ml_min=100.0)


def _individuals(spec_name: str, n: int, seed: int) -> Params:
    """Random individuals with every corner: ka < k, ka == k, lags over a dose gap."""
    spec = ALG if spec_name == "alghamdi2019" else RES
    rng = np.random.default_rng(seed)
    eta = rng.multivariate_normal(np.zeros(len(spec.eta_names)), spec.omega * 4.0, n)
    par = individual_parameters(spec, COV, eta)
    ka = par.ka_per_h.copy()
    lag = par.tlag_h.copy()
    ka[0::7] = par.k_per_h[0::7] * 0.3  # absorption slower than elimination
    ka[1::7] = par.k_per_h[1::7]  # ka == k exactly
    lag[2::7] = 30.0  # longer than two dose gaps
    lag[3::7] = 500.0  # longer than the whole history: no dose has entered yet
    lag[4::7] = 0.0
    if par.n_stages:
        ka[5::7] = par.ktr_per_h[5::7] * 1.5  # rates crossing: the general chain forms
    return replace(par, ka_per_h=ka, tlag_h=lag)


def _history(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """q12h with a missed dose, a double dose at one time and an extra dose."""
    td = np.concatenate([np.arange(0.0, 240.0, 12.0), [96.0, 101.5]])
    td = np.delete(td, 5)
    ad = np.random.default_rng(seed).choice([125.0, 250.0, 500.0], td.size)
    return td, ad


TIMES = {
    "dense": np.linspace(-5.0, 300.0, 241),  # before the first dose, within lags, after
    "two levels": np.array([218.0, 222.0]),  # the levels of the TDM section
    "unsorted": np.array([250.0, 0.0, 13.0, 12.0, 96.0, 101.5, 230.0, -1.0, 36.2]),
}


@pytest.mark.parametrize("spec_name", ["alghamdi2019", "resendiz2025"])
@pytest.mark.parametrize("times", list(TIMES))
@pytest.mark.parametrize("comps", [[-1], [0, -1]])
def test_shared_times_equal_per_individual_search(spec_name: str, times: str,
                                                  comps: list[int]) -> None:
    par = _individuals(spec_name, 1100, seed=3)
    td, ad = _history(4)
    t = TIMES[times]
    cs = [c % (par.n_stages + 2) for c in comps]
    found = _last_entries(td, np.concatenate(([-np.inf], td)), t, par.tlag_h[:, None])
    assert found.base.ndim == 1 and found.back.size  # the shared search, with steps back
    shared = amounts_sequential(par, td, ad, t, cs)
    per_row = amounts_sequential(par, td, ad, np.broadcast_to(t, (par.size, t.size)), cs)
    np.testing.assert_array_equal(shared, per_row)
    # and the propagation is the sum over doses (a different order of operations)
    entries = td[None, :] + par.tlag_h[:, None]
    direct = dose_response(Rates.of(par), cs, entries, ad[None, :] * par.f[:, None],
                           np.broadcast_to(t, (par.size, t.size)))
    # (the transit model nudges ka == k apart by 1e-7: those rows agree to that only)
    nudged = (par.n_stages > 0) & (par.ka_per_h == par.k_per_h)
    np.testing.assert_allclose(shared[~nudged], direct[~nudged], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(shared[nudged], direct[nudged], rtol=1e-6, atol=1e-10)
    assert np.all(shared[par.tlag_h == 500.0] == 0.0)  # nothing has entered yet


@pytest.mark.parametrize("spec_name", ["alghamdi2019", "resendiz2025"])
def test_times_before_every_entry_are_zero(spec_name: str) -> None:
    par = _individuals(spec_name, 3000, seed=5)
    td, ad = _history(6)
    t = np.linspace(-10.0, -0.5, 4)
    out = amounts_sequential(par, td, ad, t, [par.n_stages + 1])
    assert out.shape == (par.size, 1, 4) and np.all(out == 0.0)


def test_negative_lag_takes_the_per_element_search() -> None:
    # not a model's lag, but the shared search assumes lag >= 0: it must fall back
    par = _individuals("alghamdi2019", 1200, seed=8)
    par = replace(par, tlag_h=par.tlag_h - 1.0)
    td, ad = _history(9)
    t = TIMES["dense"]
    shared = amounts_sequential(par, td, ad, t, [1])
    per_row = amounts_sequential(par, td, ad, np.broadcast_to(t, (par.size, t.size)), [1])
    np.testing.assert_array_equal(shared, per_row)


def _segment_loop(par: Params, td: np.ndarray, ad: np.ndarray, t: np.ndarray,
                  comps: list[int]) -> np.ndarray:
    # an identical second segment after every time: the general loop over segments
    return amounts([Segment(-np.inf, par), Segment(1e9, par)], td, ad, t, comps)


@pytest.mark.parametrize("spec_name", ["alghamdi2019", "resendiz2025"])
@pytest.mark.parametrize("n", [1, 9, 65])
def test_one_segment_sum_equals_segment_loop(spec_name: str, n: int) -> None:
    # the MAP search's calls: a few individuals, 20 doses, 2 levels (the dose sum)
    par = _individuals(spec_name, n, seed=n)
    td, ad = _history(n)
    for t in (TIMES["two levels"], TIMES["unsorted"]):
        got = amounts([Segment(-np.inf, par)], td, ad, t, [par.n_stages + 1])
        np.testing.assert_array_equal(got, _segment_loop(par, td, ad, t, [par.n_stages + 1]))


def test_one_segment_without_doses_is_zero() -> None:
    par = _individuals("alghamdi2019", 4, seed=1)
    empty = np.empty(0)
    got = amounts([Segment(-np.inf, par)], empty, empty, TIMES["unsorted"], [1])
    assert got.shape == (4, 1, TIMES["unsorted"].size) and np.all(got == 0.0)


def test_one_segment_keeps_times_outside_the_segment_loop_rule() -> None:
    # a +inf or nan time is outside every segment: the general loop (0 there), not the sum
    par = _individuals("alghamdi2019", 3, seed=2)
    td, ad = _history(2)
    t = np.array([20.0, np.inf, np.nan])
    got = amounts([Segment(-np.inf, par)], td, ad, t, [1])
    np.testing.assert_array_equal(got, _segment_loop(par, td, ad, t, [1]))
    assert np.all(got[:, 0, 1:] == 0.0)


def test_incomplete_gamma_with_the_callers_exponential() -> None:
    z = np.concatenate([np.random.default_rng(0).exponential(3.0, 5000), [0.0, 0.5, 1.0]])
    for q in range(1, 8):
        np.testing.assert_array_equal(gamma_p_int(q, z, np.exp(-z)), gamma_p_int(q, z))


def _plain_gamma_p_int(q: int, z: np.ndarray) -> np.ndarray:
    # the textbook loop of the series, as written before the in-place version
    head = np.ones_like(z)
    term = np.ones_like(z)
    for j in range(1, q):
        term = term * z / j
        head = head + term
    out = 1.0 - np.exp(-z) * head
    small = z < 1.0
    zs = z[small]
    series = np.ones_like(zs)
    for j in range(20, 0, -1):
        series = 1.0 + series * zs / (q + j)
    out[small] = np.exp(-zs) * zs**q / factorial(q) * series
    return out


def test_incomplete_gamma_in_place_equals_the_plain_loop() -> None:
    z = np.random.default_rng(1).exponential(4.0, 20000)
    for q in range(1, 8):
        np.testing.assert_array_equal(gamma_p_int(q, z), _plain_gamma_p_int(q, z))


def test_chains_with_the_callers_exponential() -> None:
    par = _individuals("resendiz2025", 300, seed=11)
    par = par.take(par.ktr_per_h - par.ka_per_h > 1e-6 * par.ktr_per_h)  # no crossing
    r = Rates.of(par)
    t = np.random.default_rng(2).uniform(0.0, 30.0, (par.size, 50))
    for lam in (r.k, r.ka):
        given = _chains_all(r.n_stages, lam, r.ktr, t, base=np.exp(-lam * t))
        plain = _chains_all(r.n_stages, lam, r.ktr, t)
        assert given is not None and plain is not None
        for a, b in zip(given, plain, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("spec_name", ["alghamdi2019", "resendiz2025"])
def test_central_from_absorption_equals_response(spec_name: str) -> None:
    par = _individuals(spec_name, 400, seed=12)
    t = np.random.default_rng(3).uniform(0.0, 40.0, (400, 30))
    t[:, 0] = 0.0
    m = par.n_stages
    fast_rows = par.ka_per_h >= par.k_per_h
    for rows in (fast_rows, np.ones(par.size, dtype=bool)):  # the shortcut, the general form
        r = Rates.of(par.take(rows))
        tt = t[rows]
        np.testing.assert_array_equal(_central_from_absorption(r, tt, np.exp(-r.k * tt)),
                                      response(r, m, m + 1, tt))


def test_row_times_equals_the_ordered_sum() -> None:
    par = _individuals("resendiz2025", 500, seed=13)
    r = Rates.of(par)
    phi = {ds: v[:, 0] for ds, v in transition(r, np.full((par.size, 1), 12.0)).items()}
    x = list(np.random.default_rng(4).exponential(100.0, (r.n_states, par.size)))
    x[1][:50] = 0.0
    for d in range(r.n_states):
        plain = sum(phi[d, s] * x[s] for s in range(d + 1))
        np.testing.assert_array_equal(_row_times(phi, d, x), plain)
