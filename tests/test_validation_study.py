"""The validation study's numbers do not depend on how it is cut into tasks or on the number
of worker processes; the averaging verdict judges what the issue asks."""

from __future__ import annotations

import numpy as np
import pytest

from validation import averaging, study
from validation.averaging import MIN_JUDGED, AveragingResult
from validation.run import Task, run_tasks


def test_same_numbers_whatever_the_chunks_and_the_workers() -> None:
    n, small = 5, {"n_proposals": 400, "n_draws": 60}
    whole = study.simulation_estimation(n, chunk=n, **small)
    tasks = [Task(0, study.estimate_patients, a) for a in study.study_tasks(n, chunk=2, **small)]
    avg = averaging.averaging_tasks(3, chunk=2)
    tasks += [Task(1, averaging.averaging_patients, a) for a in avg]
    out, cpu, done, _ = run_tasks(tasks, workers=2)
    assert len(out) == len(cpu) == len(done) == len(tasks) and min(cpu) > 0
    pooled = study.combine(out[:3])
    for key in study.STUDY_KEYS:
        assert np.array_equal(getattr(whole, key), getattr(pooled, key)), key
    alone = averaging.averaging_study(3, chunk=3)
    for a, b in zip(alone, averaging.combine(avg, out[3:]), strict=True):
        assert a.true_model == b.true_model and a.n == b.n == 3
        for key in ("peak_true", "peak_right", "peak_wrong", "peak_auto", "weight_right"):
            assert np.array_equal(getattr(a, key), getattr(b, key)), key


def _result(right: float, wrong: float, auto: float, n: int = MIN_JUDGED) -> AveragingResult:
    true = np.full(n, 20.0)
    return AveragingResult("alghamdi2019", n, true, true * (1 + right), true * (1 + wrong),
                           true * (1 + auto), np.full(n, 0.5))


def test_averaging_verdict() -> None:
    assert _result(0.05, 0.30, 0.10).verdict is True  # near the right model, beats the wrong
    assert _result(0.05, 0.30, 0.20).verdict is False  # beats the wrong one, but nearer it
    assert _result(0.05, 0.10, 0.12).verdict is False  # worse than the wrong model
    assert _result(0.05, 0.30, 0.10, n=MIN_JUDGED - 1).verdict is None  # too few to judge


def test_averaging_rmse_gaps_with_bootstrap_intervals() -> None:
    gaps = _result(0.05, 0.30, 0.05).rmse_gaps()
    assert gaps["auto − right"] == (0.0, 0.0, 0.0)  # auto is the right model: no gap at all
    est, lo, hi = gaps["wrong − auto"]
    assert (est, lo, hi) == pytest.approx((25.0, 25.0, 25.0))  # constant errors: no spread
    rng = np.random.default_rng(1)
    true = 20.0 * np.exp(rng.normal(0.0, 0.3, 400))
    noisy = AveragingResult("resendiz2025", 400, true, true * (1 + rng.normal(0, 0.05, 400)),
                            true * (1 + rng.normal(0, 0.20, 400)),
                            true * (1 + rng.normal(0, 0.06, 400)), np.full(400, 0.8))
    est, lo, hi = noisy.rmse_gaps()["wrong − auto"]
    assert 0 < lo < est < hi
