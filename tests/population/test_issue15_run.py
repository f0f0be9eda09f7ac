"""Issue 15: options refused or warned, intervals, breakpoint certainty, AUC24/MIC and
Cmax/MIC targets, exposures on a day of treatment, between-occasion variability."""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose import pk
from cyclodose.errors import CaseError
from cyclodose.population import Fractions, parse_population_spec, run_population
from cyclodose.population.intervals import wilson

TYPICAL = {"weight_kg": {"dist": "constant", "value": 59.0},
           "crcl_ml_min": {"dist": "constant", "value": 89.1}}
POP = {"weight_kg": {"dist": "normal", "mean": 58.0, "sd": 12.2, "min": 35, "max": 110},
       "crcl_ml_min": {"dist": "normal", "mean": 89.1, "sd": 31.9, "min": 25, "max": 250}}


def _spec(n: int, covariates: dict[str, object] = POP, **kw: object) -> object:
    return parse_population_spec({"n": n, "seed": 3, "covariates": covariates, **kw})


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"mics": [16, 16]}, "mic"),
    ({"targets": [30, 30]}, "target"),
    ({"workers": 0}, "workers"),
    ({"mic_frequencies": {8.0: 0.2, 16.0: 0.5}}, "mic_distribution"),  # sums to 0.7
    ({"mic_frequencies": {8.0: -0.1, 16.0: 1.1}}, "mic_distribution"),
    ({"day": 0}, "day"),
    ({"auc_targets": [0]}, "auc_target"),
    ({"cmax_targets": [2, 2]}, "cmax_target"),
])
def test_bad_options_are_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"mics": [16], "targets": [30], **kwargs}
    with pytest.raises(CaseError) as exc:
        run_population(_spec(20), ["250mg q12h"], **args)  # type: ignore[arg-type]
    assert exc.value.problems[0].field == field


def test_frequencies_off_by_rounding_are_renormalised_with_a_warning() -> None:
    run = run_population(_spec(50), ["250mg q12h"], [16], [30],
                         mic_frequencies={8.0: 0.3, 16.0: 0.695})
    assert any("sum to 0.995; renormalised" in w for w in run.warnings)
    (res,) = run.results
    assert res.cfr is not None
    assert res.cfr[30.0] == pytest.approx((0.3 * res.pta[8][30] + 0.695 * res.pta[16][30]) / 0.995)


def test_wilson_reference_values() -> None:
    # Wilson 1927 / Newcombe 1998 Table I: 0/10 -> 0-0.2775, 5/10 -> 0.2366-0.7634
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)


def test_breakpoint_certainty_depends_on_n() -> None:
    def frac(n: int, p16: float) -> Fractions:
        return Fractions("tmic_pct", n, {8.0: {30.0: n}, 16.0: {30.0: round(p16 * n)},
                                         32.0: {30.0: round(0.5 * n)}})

    shaky = frac(1000, 0.905).breakpoint_certainty(30.0)
    assert shaky["breakpoint"] == 16.0 and not shaky["stable"]
    assert shaky["at_breakpoint"]["ci95"][0] < 0.9 < shaky["at_breakpoint"]["ci95"][1]
    sure = frac(100_000, 0.95).breakpoint_certainty(30.0)
    assert sure["stable"] and sure["next_mic"]["mic"] == 32.0


def test_intervals_in_the_results() -> None:
    (res,) = run_population(_spec(400), ["250mg q12h"], [8, 16], [30],
                            mic_frequencies={8.0: 0.5, 16.0: 0.5}).results
    det = res.details_json()
    k = round(res.pta[16][30] * 400)
    assert det["pta_ci95"]["16"]["30"] == list(wilson(k, 400))
    assert det["cfr_ci95"]["30"][0] < res.cfr[30.0] < det["cfr_ci95"]["30"][1]  # type: ignore[index]
    k30 = round(res.p_cmax_above_30 * 400)
    assert det["p_cmax_above_30_ci95"] == list(wilson(k30, 400))


def test_auc_and_cmax_over_mic_targets_count_the_individuals() -> None:
    run = run_population(_spec(600), ["250mg q12h"], [8, 16], [30], auc_targets=[30, 60],
                         cmax_targets=[2])
    (res,) = run.results
    auc, cmax = res.extra
    assert auc.index == "auc24_mic" and cmax.index == "cmax_mic"
    for mic in (8.0, 16.0):
        for t in (30.0, 60.0):
            assert auc.counts[mic][t] == int(np.sum(res.auc24_mg_h_l / mic >= t))
        assert cmax.counts[mic][2.0] == int(np.sum(res.cmax_mg_l / mic >= 2))
    js = res.details_json()
    assert set(js["auc24_mic"]["pta"]["16"]) == {"30", "60"} and "breakpoint" in js["cmax_mic"]


def test_day_one_exposure_from_the_first_dose_by_hand() -> None:
    spec = _spec(20, TYPICAL, bsv=False)
    run = run_population(spec, ["250mg q12h"], [8, 16], [30], day=1, export=True)
    (res,) = run.results
    model = pk.get_model("alghamdi2019")
    cov = pk.Covariates.create(weight_kg=59.0, crcl_ml_min=89.1)
    t = np.linspace(0.0, 24.0, 240_001)[:-1]
    conc = pk.predict(model, cov, None, [0.0, 12.0], [250.0, 250.0], t)[0]
    assert res.cmax_mg_l[0] == pytest.approx(conc.max(), rel=1e-4)
    assert res.tmic_pct is not None
    for i, mic in enumerate((8.0, 16.0)):
        assert res.tmic_pct[0, i] == pytest.approx(100 * np.mean(conc > mic), abs=0.01)
    # day 1 starts from nothing: below the steady-state exposure; day 30 is steady state
    (ss,) = run_population(spec, ["250mg q12h"], [8, 16], [30]).results
    assert res.auc24_mg_h_l[0] < ss.auc24_mg_h_l[0]
    (late,) = run_population(spec, ["250mg q12h"], [8, 16], [30], day=30).results
    assert late.cmax_mg_l[0] == pytest.approx(ss.cmax_mg_l[0], rel=1e-6)
    assert late.pta == ss.pta


def test_iov_adds_the_published_occasion_sd_to_cl() -> None:
    n = 20_000
    base = run_population(_spec(n, TYPICAL), ["250mg q12h"], [16], [30], export=True)
    iov = run_population(_spec(n, TYPICAL, iov=True), ["250mg q12h"], [16], [30], export=True)
    # Alghamdi 2019: IIV CL 0.353, IOV CL 0.190 (SD of log-normal etas)
    assert np.std(np.log(base.columns["cl_l_h"])) == pytest.approx(0.353, abs=0.008)
    assert np.std(np.log(iov.columns["cl_l_h"])) == pytest.approx(np.hypot(0.353, 0.190),
                                                                  abs=0.008)
    assert np.array_equal(base.columns["v_l"], iov.columns["v_l"])  # only CL has IOV


def test_iov_lowers_pta_near_the_breakpoint_as_in_the_issue() -> None:
    a = run_population(_spec(20_000), ["250mg q12h"], [16], [30]).results[0]
    b = run_population(_spec(20_000, iov=True), ["250mg q12h"], [16], [30]).results[0]
    assert b.pta[16][30] < a.pta[16][30] - 0.01  # issue: 0.830 -> 0.804


def test_iov_of_the_transit_model_on_ka_mtt_and_f() -> None:
    covs = {"weight_kg": {"dist": "constant", "value": 55.0},
            "height_cm": {"dist": "constant", "value": 160.0},
            "male": {"dist": "constant", "value": 1}, "age_years": {"dist": "constant",
                                                                   "value": 35.0},
            "scr_mg_dl": {"dist": "constant", "value": 0.9}}
    spec = _spec(600, covs, model="resendiz2025", iov=True)
    run = run_population(spec, ["500mg q24h"], [16], [30], export=True)
    for name, sd in (("ka_per_h", 0.946), ("mtt_h", 0.835), ("f", 0.207)):
        assert np.std(np.log(run.columns[name])) == pytest.approx(sd, rel=0.12), name


def test_crcl_below_the_models_minimum_warns() -> None:
    covs = {"weight_kg": {"dist": "constant", "value": 60.0},
            "crcl_ml_min": {"dist": "uniform", "min": 10, "max": 40}}
    run = run_population(_spec(200, covs), ["250mg q24h"], [16], [30])
    (w,) = [w for w in run.warnings if "CrCl below 30 mL/min" in w]
    k = run.outside["crcl_below_min"]
    assert 0.55 * 200 < k < 0.8 * 200 and f"{k:,} of 200" in w
