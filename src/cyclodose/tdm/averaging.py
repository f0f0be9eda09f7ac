"""Model averaging: weights of several population models from their fit to one patient's
levels (Uster DW, Stocker SL, Carland JE, et al. A model averaging/selection approach
improves the predictive performance of model-informed precision dosing: vancomycin as a
case study. Clin Pharmacol Ther 2021;109(1):175-183).

Each model's weight is its prior weight times exp(−OFV/2), OFV the MAP objective at its
optimum (−2 log posterior of the levels up to a constant shared by the models), normalised
to sum to 1. Without levels every OFV is 0 and the weights are the prior weights. The
mixture posterior draws from each model's posterior in proportion to its weight.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import logsumexp

from cyclodose.tdm.preprocess import FloatArray


def model_weights(ofvs: Sequence[float], prior: Sequence[float] | None = None) -> FloatArray:
    """Weights ∝ prior × exp(−OFV/2), summing to 1 (a model with OFV = inf gets 0)."""
    ofv = np.asarray(ofvs, dtype=float)
    if ofv.size == 0:
        raise ValueError("model averaging needs at least one model")
    p = np.full(ofv.size, 1.0 / ofv.size) if prior is None else np.asarray(prior, dtype=float)
    if p.shape != ofv.shape or np.any(p < 0) or not p.sum() > 0:
        raise ValueError("prior weights must be non-negative, one per model, not all 0")
    with np.errstate(divide="ignore"):
        log_w = np.log(p / p.sum()) - 0.5 * np.where(np.isnan(ofv), np.inf, ofv)
    if not np.any(np.isfinite(log_w)):
        raise ValueError("no model fits the levels (every OFV is infinite)")
    return np.asarray(np.exp(log_w - logsumexp(log_w)), dtype=float)


def allocate_draws(weights: Sequence[float], n_draws: int) -> list[int]:
    """Posterior draws per model for a mixture of `n_draws` (largest remainder, so the
    counts sum to n_draws and each is within one draw of weight × n_draws)."""
    w = np.asarray(weights, dtype=float)
    exact = w / w.sum() * n_draws
    counts = np.floor(exact).astype(int)
    short = n_draws - int(counts.sum())
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:short]] += 1
    return [int(c) for c in counts]
