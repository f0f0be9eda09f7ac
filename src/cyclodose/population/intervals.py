"""Binomial uncertainty of a simulated fraction: the 95 % Wilson score interval.

Wilson EB. Probable inference, the law of succession, and statistical
inference. J Am Stat Assoc 1927;22:209-212. Unlike the normal approximation it
stays inside [0, 1] and keeps its coverage at fractions of 0 or 1.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95 % standard normal quantile


def wilson(k: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Interval for a fraction k / n (k may be a weighted count, as for a CFR)."""
    if n <= 0:
        raise ValueError("n must be positive")
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0))
    return max(0.0, centre - half), min(1.0, centre + half)
