"""PTA aggregation, breakpoints, CFR and the grid count, on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose.errors import CaseError
from cyclodose.population.grid import grid_times_h, tmic_pct_on_grid
from cyclodose.population.pta import (
    ChunkSummary,
    breakpoint_mic,
    combine,
    count_attained,
    cumulative_fraction_of_response,
)


@pytest.mark.parametrize(("pta", "expected"), [
    ([1.0, 0.95, 0.90, 0.89, 0.2], 16.0),  # 90 % exactly still counts (>= 90 %)
    ([1.0, 1.0, 1.0, 1.0, 0.91], 64.0),
    ([0.89, 0.5, 0.2, 0.0, 0.0], None),
    ([0.95, 0.80, 0.95, 0.1, 0.0], 4.0),  # a gap stops the run
])
def test_breakpoint_is_highest_mic_with_pta_at_least_90(pta: list[float],
                                                        expected: float | None) -> None:
    # definition: Alghamdi 2019 (highest MIC with >= 90 % of patients at target)
    assert breakpoint_mic([4.0, 8.0, 16.0, 32.0, 64.0], pta) == expected


def test_breakpoint_sorts_mics() -> None:
    assert breakpoint_mic([32.0, 8.0, 16.0], [0.1, 1.0, 0.95]) == 16.0


def test_cfr_is_frequency_weighted_pta() -> None:
    # 0.5·1.0 + 0.3·0.8 + 0.2·0.1 = 0.76; frequencies renormalised (given as counts)
    assert cumulative_fraction_of_response({8.0: 1.0, 16.0: 0.8, 32.0: 0.1},
                                           {8.0: 50, 16.0: 30, 32.0: 20}) == pytest.approx(0.76)


def test_count_attained_uses_at_least() -> None:
    tmic = np.array([29.9, 30.0, 64.0, 100.0])
    assert count_attained(tmic, np.array([30.0, 64.0])).tolist() == [3, 2]


def _chunk(start: int, cmax: list[float], attained: list[list[list[int]]]) -> ChunkSummary:
    a = np.asarray(cmax)
    return ChunkSummary(start=start, n=len(cmax), cmax_mg_l=[a], cmin_mg_l=[a / 2],
                        auc24_mg_h_l=[a * 20], attained=np.asarray(attained, dtype=np.int64))


def test_combine_reassembles_chunks_in_order_and_counts() -> None:
    c1 = _chunk(0, [20.0, 31.0], [[[2, 1], [1, 0]]])
    c2 = _chunk(2, [36.0, 10.0, 25.0], [[[3, 3], [2, 0]]])
    (res,) = combine([c2, c1], ["500mg q12h"], [1000.0], [8.0, 16.0], [30.0, 64.0],
                     mic_frequencies={8.0: 1, 16.0: 1}, model="m")
    assert res.n == 5
    assert res.cmax_mg_l.tolist() == [20.0, 31.0, 36.0, 10.0, 25.0]
    assert res.pta == {8.0: {30.0: 1.0, 64.0: 0.8}, 16.0: {30.0: 0.6, 64.0: 0.0}}
    assert res.breakpoint == {30.0: 8.0, 64.0: None}
    assert res.cfr == {30.0: pytest.approx(0.8), 64.0: pytest.approx(0.4)}
    assert res.p_cmax_above_30 == pytest.approx(0.4) and res.p_cmax_above_35 == pytest.approx(0.2)
    assert not res.above_licensed_maximum
    js = res.to_json()
    assert js["pta"] == {"8": {"30": 1.0, "64": 0.8}, "16": {"30": 0.6, "64": 0.0}}
    assert js["breakpoint"] == {"30": 8.0, "64": None}
    assert js["cmax_median"] == 25.0 and js["cmax_mean"] == pytest.approx(24.4)
    assert js["auc24_mean"] == pytest.approx(488.0) and js["units"]["cmax"] == "mg/L"


def test_combine_refuses_a_gap() -> None:
    with pytest.raises(ValueError, match="gap"):
        combine([_chunk(0, [1.0], [[[0, 0]]]), _chunk(2, [1.0], [[[0, 0]]])],
                ["x"], [500.0], [8.0], [30.0, 64.0])


def test_above_licensed_maximum_flag() -> None:
    (res,) = combine([_chunk(0, [1.0], [[[0, 0]]])], ["750mg q12h"], [1500.0], [8.0],
                     [30.0, 64.0])
    assert res.above_licensed_maximum and res.to_json()["above_licensed_maximum"] is True


def test_grid_times_and_bad_steps() -> None:
    assert grid_times_h(12.0, 3.0).tolist() == [0.0, 3.0, 6.0, 9.0]
    with pytest.raises(CaseError):
        grid_times_h(12.0, 5.0)
    with pytest.raises(CaseError):
        grid_times_h(12.0, 0.0)


def test_grid_count_on_a_triangle_matches_hand_count() -> None:
    # C(t) = 10 − |t − 6| on a 12 h period: above 7 mg/L for t in (3, 9) → exactly 50 %.
    # Grid 1 h: points 0..11 above 7 → t = 4..8 → 5/12 = 41.67 %; grid 0.01 h → 49.92 %.
    def conc(times: np.ndarray) -> np.ndarray:
        return np.tile(10.0 - np.abs(times - 6.0), (2, 1))

    coarse = tmic_pct_on_grid(conc, 2, 12.0, 1.0, np.array([7.0, 11.0]))
    assert coarse[0].tolist() == pytest.approx([500 / 12, 0.0])
    fine = tmic_pct_on_grid(conc, 2, 12.0, 0.01, np.array([7.0]))
    assert fine[0, 0] == pytest.approx(50.0, abs=2 * 0.01 / 12 * 100)
