"""End-to-end PTA on the PK engine: hand-checkable cases, reproducibility, grid vs exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cyclodose import pk
from cyclodose.errors import CaseError
from cyclodose.population import parse_population_spec, run_pta
from cyclodose.population.evaluate import _attained_exact, make_covariates
from cyclodose.population.grid import tmic_pct_on_grid
from cyclodose.population.sampling import Sampler

# Typical TB patient of Alghamdi 2019 (pharmacology.md section 1): 59 kg, CrCl 89.1 mL/min.
TYPICAL = {"weight_kg": {"dist": "constant", "value": 59.0},
           "crcl_ml_min": {"dist": "constant", "value": 89.1}}
POP = {"weight_kg": {"dist": "normal", "mean": 58.0, "sd": 12.2, "min": 35, "max": 110},
       "crcl_ml_min": {"dist": "normal", "mean": 89.1, "sd": 31.9, "min": 25, "max": 250}}
CORR = [{"a": "weight_kg", "b": "crcl_ml_min", "rho": 0.4}]


def _pop(n: int, seed: int = 11) -> object:
    return parse_population_spec({"n": n, "seed": seed, "covariates": POP, "correlations": CORR})


def _hand_tmic_pct(mic: float) -> float:
    """Derived check by hand from the closed form (one compartment, first-order absorption,
    steady state of 250 mg q12h; the lag only shifts the clock): CL = 2.00·e^-0.660 L/h,
    V = 24.9 L, ka = 6.61 /h. Fraction of a 0.1 ms grid above the MIC."""
    cl, v, ka, period, dose = 2.0 * np.exp(-0.66), 24.9, 6.61, 12.0, 250.0
    k = cl / v
    tau = np.linspace(0.0, period, 432_001)[:-1]
    conc = dose * ka / (v * (ka - k)) * (np.exp(-k * tau) / -np.expm1(-k * period)
                                         - np.exp(-ka * tau) / -np.expm1(-ka * period))
    return 100.0 * float(np.mean(conc > mic))


def test_hand_checkable_pta_without_variability() -> None:
    # No variability: every patient is the typical one, so PTA is exactly 0 or 1.
    # By hand (see _hand_tmic_pct): Cmax 24.9, Cmin 15.6 mg/L (pharmacology.md table:
    # 24.9 / 15.7); %T>MIC = 100, 100, 71.5, 50.0, 11.7, 0 at MIC 8, 15, 18, 20, 24, 26.
    hand = [_hand_tmic_pct(m) for m in (8, 15, 18, 20, 24, 26)]
    assert hand == pytest.approx([100, 100, 71.5, 50.0, 11.7, 0], abs=0.1)
    spec = parse_population_spec({"n": 300, "seed": 1, "bsv": False, "covariates": TYPICAL})
    (res,) = run_pta(spec, ["250mg q12h"], [8, 15, 18, 20, 24, 26], [30, 64], chunk_size=128)
    assert {m: res.pta[m][30.0] for m in res.pta} == {8: 1, 15: 1, 18: 1, 20: 1, 24: 0, 26: 0}
    assert {m: res.pta[m][64.0] for m in res.pta} == {8: 1, 15: 1, 18: 1, 20: 0, 24: 0, 26: 0}
    assert res.breakpoint == {30.0: 20.0, 64.0: 18.0}
    assert np.median(res.cmax_mg_l) == pytest.approx(24.9, rel=0.01)  # pharmacology.md table
    assert res.p_cmax_above_30 == 0.0 and res.p_cmax_above_35 == 0.0


def test_typical_500mg_q12h_is_above_toxicity_lines_for_everyone() -> None:
    # pharmacology.md table: 500 mg q12h typical Cmax,ss 49.9 mg/L (> 35 mg/L), AUC24 967 mg·h/L
    spec = parse_population_spec({"n": 50, "seed": 1, "bsv": False, "covariates": TYPICAL})
    (res,) = run_pta(spec, ["500mg q12h"], [16], [30])
    assert res.p_cmax_above_30 == 1.0 and res.p_cmax_above_35 == 1.0
    assert res.to_json()["auc24_mean"] == pytest.approx(967, rel=0.01)
    assert not res.above_licensed_maximum


def test_above_licensed_maximum_rows_are_marked() -> None:
    spec = parse_population_spec({"n": 20, "seed": 1, "covariates": TYPICAL})
    res = run_pta(spec, ["500mg q12h", "750mg q12h", "500/750mg q12h"], [16], [30])
    assert [r.above_licensed_maximum for r in res] == [False, True, True]
    assert [r.daily_dose_mg for r in res] == [1000, 1500, 1250]


def test_pruned_counts_equal_a_full_exact_evaluation() -> None:
    model = pk.get_model("alghamdi2019")
    spec = _pop(3000)
    sample = Sampler(spec, model.omega).sample(0, 3000)  # type: ignore[arg-type]
    cov = make_covariates(sample.covariates, model)
    mics, targets = np.array([2.0, 8.0, 16.0, 32.0, 64.0]), np.array([30.0, 64.0, 100.0])
    for text in ("250mg q12h", "250/500mg q12h"):
        pattern = pk.parse_regimen(text)
        base = pk.steady_state_metrics(model, cov, sample.eta, pattern)
        pruned = _attained_exact(model, cov, sample.eta, pattern, base["cmin"], base["cmax"],
                                 mics, targets)
        for i, mic in enumerate(mics):
            tmic = pk.steady_state_metrics(model, cov, sample.eta, pattern,
                                           mic_mg_l=mic)["tmic_pct"]
            full = (tmic[:, None] >= targets[None, :]).sum(axis=0)
            # 100 % target: the shortcut (MIC <= Cmin -> 100 %) is exact where pk may round
            assert pruned[i, :2].tolist() == full[:2].tolist(), (text, mic)
            assert abs(int(pruned[i, 2]) - int(full[2])) <= 2


@pytest.mark.parametrize("chunk", [1000, 777])
def test_bitwise_same_results_whatever_the_chunk_size(chunk: int) -> None:
    spec = _pop(2500)
    regs, mics = ["250mg q12h", "250/500mg q12h"], [8, 16, 32]
    ref = run_pta(spec, regs, mics, chunk_size=4096)  # type: ignore[arg-type]
    other = run_pta(spec, regs, mics, chunk_size=chunk, workers=2)  # type: ignore[arg-type]
    for a, b in zip(ref, other, strict=True):
        assert a.to_json() == b.to_json()
        assert np.array_equal(a.cmax_mg_l, b.cmax_mg_l)
        assert np.array_equal(a.auc24_mg_h_l, b.auc24_mg_h_l)


def test_grid_results_also_independent_of_chunking() -> None:
    spec = _pop(300)
    a = run_pta(spec, ["250/500mg q12h"], [16], grid_h=0.5, chunk_size=300)  # type: ignore[arg-type]
    b = run_pta(spec, ["250/500mg q12h"], [16], grid_h=0.5, chunk_size=77)  # type: ignore[arg-type]
    assert a[0].to_json() == b[0].to_json()


def test_exact_and_grid_tmic_converge_as_step_shrinks() -> None:
    model = pk.get_model("alghamdi2019")
    sample = Sampler(_pop(200), model.omega).sample(0, 200)  # type: ignore[arg-type]
    cov = make_covariates(sample.covariates, model)
    pattern = pk.parse_regimen("250/500mg q12h")  # asymmetric: period 24 h

    def conc_at(times: np.ndarray) -> np.ndarray:
        return pk.steady_state_concentration(model, cov, sample.eta, pattern, times)

    mic = 16.0
    exact = pk.steady_state_metrics(model, cov, sample.eta, pattern, mic_mg_l=mic)["tmic_pct"]
    errors = []
    for step in (1.0, 0.1, 0.01):
        grid = tmic_pct_on_grid(conc_at, 200, pattern.period_h, step, np.array([mic]))[:, 0]
        err = np.abs(grid - exact)
        # each MIC crossing (at most 4 in two doses) moves the count by at most one step
        assert err.max() <= 4 * step / pattern.period_h * 100 + 1e-9
        errors.append(err.max())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.2  # percentage points


def test_grid_option_end_to_end_close_to_exact() -> None:
    spec = _pop(400)
    (exact,) = run_pta(spec, ["250mg q12h"], [8, 16, 32], [30, 64])  # type: ignore[arg-type]
    (grid,) = run_pta(spec, ["250mg q12h"], [8, 16, 32], [30, 64],  # type: ignore[arg-type]
                      grid_h=0.01)
    assert grid.tmic_method == "grid 0.01 h"
    for m in (8.0, 16.0, 32.0):
        for t in (30.0, 64.0):
            assert abs(grid.pta[m][t] - exact.pta[m][t]) <= 3 / 400
    assert np.array_equal(grid.cmax_mg_l, exact.cmax_mg_l)


def test_cfr_over_an_mic_distribution() -> None:
    spec = _pop(500)
    (res,) = run_pta(spec, ["250mg q12h"], [8], [30],  # type: ignore[arg-type]
                     mic_frequencies={8: 0.25, 16: 0.5, 32: 0.25})
    assert sorted(res.pta) == [8.0, 16.0, 32.0]  # distribution MICs are evaluated too
    p = {m: res.pta[m][30.0] for m in res.pta}
    assert res.cfr == {30.0: pytest.approx(0.25 * p[8] + 0.5 * p[16] + 0.25 * p[32])}


def test_resampled_population_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "pts.csv").write_text("weight_kg,crcl_ml_min\n59,89.1\n59,89.1\n")
    spec = parse_population_spec({"n": 40, "seed": 2, "bsv": False, "resample": "pts.csv"},
                                 base_dir=tmp_path)
    (res,) = run_pta(spec, ["250mg q12h"], [18, 20], [64])
    # two identical real patients = the typical patient: %T>MIC 71.5 and 50.0 (hand check above)
    assert res.pta == {18.0: {64.0: 1.0}, 20.0: {64.0: 0.0}}


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"regimens": ["250 mg every morning"]}, "regimen"),
    ({"regimens": []}, "regimen"),
    ({"mics": [8, -1]}, "mic"),
    ({"targets": [30, 120]}, "target"),
    ({"grid_h": 5.0}, "grid"),
    ({"backend": "spark"}, "backend"),
])
def test_bad_run_arguments_name_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"regimens": ["250mg q12h"], "mics": [8], "targets": [30]}
    args.update(kwargs)
    with pytest.raises(CaseError) as exc:
        run_pta(_pop(10), **args)  # type: ignore[arg-type]
    assert exc.value.problems[0].field == field


def test_model_covariates_missing_or_unknown_name_the_field() -> None:
    spec = parse_population_spec({"n": 10, "seed": 1, "covariates": {
        "weight_kg": {"dist": "constant", "value": 60}}})
    with pytest.raises(CaseError) as exc:
        run_pta(spec, ["250mg q12h"], [8])
    assert "covariates.crcl_ml_min" in [p.field for p in exc.value.problems]
    spec2 = parse_population_spec({"n": 10, "seed": 1, "covariates": {
        **TYPICAL, "shoe_size": {"dist": "constant", "value": 42}}})
    with pytest.raises(CaseError) as exc2:
        run_pta(spec2, ["250mg q12h"], [8])
    assert [p.field for p in exc2.value.problems] == ["covariates.shoe_size"]
    spec3 = parse_population_spec({"n": 10, "seed": 1, "model": "nope", "covariates": TYPICAL})
    with pytest.raises(CaseError) as exc3:
        run_pta(spec3, ["250mg q12h"], [8])
    assert [p.field for p in exc3.value.problems] == ["model"]


def test_transit_model_typical_patient_matches_derived_check() -> None:
    # pharmacology.md section 2 [derived]: Resendiz-Galvan typical individual (FFM 38.6 kg,
    # RF 1 i.e. CLcr,56M 122 mL/min) on 250 mg q12h: Cmax,ss ≈ 16.6 mg/L; AUC24 = 500/1.49.
    spec = parse_population_spec({"n": 20, "seed": 1, "model": "resendiz2025", "bsv": False,
                                  "covariates": {
                                      "weight_kg": {"dist": "constant", "value": 50.0},
                                      "ffm_kg": {"dist": "constant", "value": 38.6},
                                      "crcl_56m_ml_min": {"dist": "constant", "value": 122.0}}})
    (res,) = run_pta(spec, ["250mg q12h"], [8], [30])
    assert np.median(res.cmax_mg_l) == pytest.approx(16.6, rel=0.01)
    assert res.to_json()["auc24_mean"] == pytest.approx(500 / 1.49, rel=0.01)
    assert res.pta == {8.0: {30.0: 1.0}}  # Cmin well above 8 mg/L for the typical patient
