"""Stage 2: the dose history and levels as arrays the objective can use (built from a Case
by `cyclodose.workflows.adapters`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Observations:
    """Levels in canonical units, time-ordered.

    `conc_mg_l` is NaN where the sample was below the limit of quantification
    (`blq`); its limit is in `lloq_mg_l` (NaN elsewhere).
    """

    time_h: FloatArray
    conc_mg_l: FloatArray
    blq: BoolArray
    lloq_mg_l: FloatArray

    @property
    def n(self) -> int:
        return int(self.time_h.size)

    @property
    def quantified(self) -> BoolArray:
        return ~self.blq


@dataclass(frozen=True)
class DoseHistory:
    time_h: FloatArray
    amount_mg: FloatArray

    @property
    def n(self) -> int:
        return int(self.time_h.size)
