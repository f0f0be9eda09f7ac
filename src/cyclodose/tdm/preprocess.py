"""Stage 2: the case's dose history and levels as arrays the objective can use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cyclodose.case import Case

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


def dose_history(case: Case) -> DoseHistory:
    doses = sorted(case.doses, key=lambda d: d.time_h)
    return DoseHistory(
        time_h=np.array([d.time_h for d in doses], dtype=float),
        amount_mg=np.array([d.amount_mg for d in doses], dtype=float),
    )


def observations(case: Case) -> Observations:
    levels = sorted(case.levels, key=lambda lv: lv.time_h)
    blq = np.array([lv.blq for lv in levels], dtype=bool)
    conc = np.array(
        [np.nan if lv.blq or lv.conc_mg_l is None else lv.conc_mg_l for lv in levels], dtype=float
    )
    lloq = np.array(
        [lv.lloq_mg_l if lv.blq and lv.lloq_mg_l is not None else np.nan for lv in levels],
        dtype=float,
    )
    return Observations(
        time_h=np.array([lv.time_h for lv in levels], dtype=float),
        conc_mg_l=conc,
        blq=blq,
        lloq_mg_l=lloq,
    )
