"""Issue 15: weight-band and mg/kg regimens against an independent per-band computation;
the alternating-regimen ambiguity; dose distribution and the mg/kg maximum."""

from __future__ import annotations

import numpy as np
import pytest

from cyclodose import pk
from cyclodose.errors import CaseError
from cyclodose.population import (
    parse_population_spec,
    per_kg,
    run_population,
    weight_bands,
)
from cyclodose.population.evaluate import make_covariates
from cyclodose.population.regimens import fixed, parse_pattern
from cyclodose.population.sampling import Sampler

POP = {"weight_kg": {"dist": "normal", "mean": 50.0, "sd": 10.0, "min": 30, "max": 90},
       "crcl_ml_min": {"dist": "normal", "mean": 89.1, "sd": 31.9, "min": 25, "max": 250}}
MICS = [8.0, 16.0, 32.0]
TARGETS = [30.0, 64.0]


def _spec(n: int = 1500, seed: int = 21) -> object:
    return parse_population_spec({"n": n, "seed": seed, "covariates": POP,
                                  "correlations": [{"a": "weight_kg", "b": "crcl_ml_min",
                                                    "rho": 0.4}]})


def _population(spec: object) -> tuple[pk.ModelSpec, pk.Covariates, np.ndarray, np.ndarray]:
    model = pk.get_model("alghamdi2019")
    sample = Sampler(spec, model.omega).sample(0, spec.n)  # type: ignore[attr-defined]
    cov = make_covariates(sample.covariates, model)
    return model, cov, sample.eta, sample.covariates["weight_kg"]


def _counts(tmic: np.ndarray, cmin: np.ndarray, cmax: np.ndarray, mic: float) -> list[int]:
    # by the definition: %T>MIC >= target, 100 % when MIC <= Cmin, 0 % when MIC >= Cmax
    t = np.where(cmin >= mic, 100.0, np.where(cmax <= mic, 0.0, tmic))
    return [int(np.count_nonzero(t >= target)) for target in TARGETS]


@pytest.mark.parametrize("ambiguous", ["250/500mg q24h", "250/500mg q8h", "250/250/500mg q12h"])
def test_alternating_patterns_that_do_not_fill_a_day_are_refused(ambiguous: str) -> None:
    with pytest.raises(CaseError) as exc:
        parse_pattern(ambiguous)
    assert exc.value.problems[0].field == "regimen"
    assert "ambiguous" in exc.value.problems[0].reason


def test_alternating_within_a_day_is_morning_and_evening() -> None:
    p = parse_pattern("250/500mg q12h")
    assert p.period_h == 24 and p.offsets_h == (0.0, 12.0) and p.daily_dose_mg == 750
    assert parse_pattern("250/250/500mg q8h").daily_dose_mg == 1000


def test_weight_bands_agree_with_an_independent_per_band_computation() -> None:
    spec = _spec()
    plan = weight_bands("WHO-style", [(None, 46, "250mg q12h"), (46, None, "250/500mg q12h")])
    run = run_population(spec, [plan], MICS, TARGETS, workers=2, chunk_size=500)
    (res,) = run.results
    model, cov, eta, weight = _population(spec)
    total = np.zeros((len(MICS), len(TARGETS)), dtype=int)
    for g, (inside, text) in enumerate([(weight < 46, "250mg q12h"),
                                        (weight >= 46, "250/500mg q12h")]):
        idx = np.flatnonzero(inside)
        m = pk.steady_state_metrics(model, cov.take(idx), eta[idx], pk.parse_regimen(text),
                                    mics_mg_l=MICS)
        group = res.groups[g]
        assert group.n == idx.size and group.daily_dose_mg == (500 if g == 0 else 750)
        for i, mic in enumerate(MICS):
            expect = _counts(m["tmic_pct"][:, i], m["cmin"], m["cmax"], mic)
            assert [group.tmic.counts[mic][t] for t in TARGETS] == expect
            total[i] += expect
        assert np.array_equal(res.cmax_mg_l[idx], m["cmax"])
        assert group.p_cmax_above_30 == pytest.approx(np.mean(m["cmax"] > 30))
    assert [[round(res.pta[m][t] * spec.n) for t in TARGETS] for m in MICS] == total.tolist()
    assert res.groups[0].label == "weight < 46 kg: 250mg q12h"
    assert res.groups[1].weight_kg_range[0] >= 46  # lower bound inclusive, upper exclusive
    dd = res.dose_distribution()
    assert dd["share_by_daily_dose_mg"] == {"500": pytest.approx(np.mean(weight < 46)),
                                            "750": pytest.approx(np.mean(weight >= 46))}
    assert dd["mg_per_kg"]["max"] == pytest.approx(max(500 / weight[weight < 46].min(),
                                                       750 / weight[weight >= 46].min()))


def test_mg_per_kg_agrees_with_dose_scaling_of_a_unit_dose() -> None:
    # independent: a linear model scales with the dose, so each patient's exposure is
    # dose × the exposure of 1 mg, and %T>MIC at MIC m is that of 1 mg at m / dose
    spec = _spec(1200, seed=8)
    plan = per_kg("15 mg/kg/day", 15, 2, 125)
    (res,) = run_population(spec, [plan], MICS, TARGETS).results
    model, cov, eta, weight = _population(spec)
    dose = np.maximum(125, np.floor(15 * weight / 2 / 125 + 0.5) * 125)
    unit = pk.DosePattern.every(1.0, 12.0)
    assert res.daily_dose_per_patient_mg is not None
    assert np.array_equal(res.daily_dose_per_patient_mg, 2 * dose)
    for i, mic in enumerate(MICS):
        m = pk.steady_state_metrics(model, cov, eta, unit, mic_mg_l=mic / dose)
        expect = _counts(m["tmic_pct"], m["cmin"] * dose, m["cmax"] * dose, mic)
        assert [round(res.pta[mic][t] * spec.n) for t in TARGETS] == expect
        if i == 0:
            assert res.cmax_mg_l == pytest.approx(m["cmax"] * dose, rel=1e-9)
    levels = {g.daily_dose_mg: g.n for g in res.groups}
    assert levels == {2 * d: int(np.sum(dose == d)) for d in np.unique(dose)}


def test_bands_must_cover_the_population_and_follow_each_other() -> None:
    spec = _spec(100)
    with pytest.raises(CaseError) as exc:
        run_population(spec, [weight_bands("x", [(40, None, "250mg q12h")])], [16], [30])
    assert exc.value.problems[0].field == "regimens[0].bands"
    with pytest.raises(CaseError) as exc:
        weight_bands("x", [(None, 46, "250mg q12h"), (50, None, "500mg q12h")])
    assert exc.value.problems[0].field == "regimens.bands[1].weight_kg"
    with pytest.raises(CaseError):
        weight_bands("x", [(None, 46, "250/500mg q24h")])


@pytest.mark.parametrize(("args", "field"), [
    ((0, 2, 125), "regimens.mg_per_kg_day"),
    ((15, 5, 125), "regimens.doses_per_day"),
    ((15, 2, 0), "regimens.round_to_mg"),
])
def test_bad_weight_based_regimens(args: tuple[float, int, float], field: str) -> None:
    with pytest.raises(CaseError) as exc:
        per_kg("x", *args)
    assert exc.value.problems[0].field == field


def test_children_on_500mg_q12h_flag_the_weight_based_maximum() -> None:
    spec = parse_population_spec({"n": 300, "seed": 1, "covariates": {
        "weight_kg": {"dist": "normal", "mean": 15, "sd": 2, "min": 10, "max": 20},
        "crcl_ml_min": {"dist": "constant", "value": 90},
        "age_years": {"dist": "uniform", "min": 3, "max": 6}}})
    run = run_population(spec, ["500mg q12h", "125mg q24h"], [16], [30])
    high, low = run.results
    assert not high.above_licensed_maximum and high.above_weight_based_maximum
    assert high.dose_distribution()["mg_per_kg"]["median"] == pytest.approx(1000 / 15, rel=0.05)
    assert high.dose_distribution()["p_above_max_mg_per_kg_day"] == 1.0
    assert not low.above_weight_based_maximum  # at most 125 mg / 10 kg = 12.5 mg/kg/day
    assert any("younger than 18 years" in w for w in run.warnings)
    assert any("weight_kg outside" in w for w in run.warnings)


def test_duplicate_regimen_names_refused() -> None:
    with pytest.raises(CaseError) as exc:
        run_population(_spec(50), [fixed("250mg q12h"), "250mg q12h"], [16], [30])
    assert exc.value.problems[0].field == "regimen"


def test_grouped_regimens_identical_whatever_the_split() -> None:
    spec = _spec(2000, seed=2)
    plans = [weight_bands("b", [(None, 46, "250mg q12h"), (46, None, "250/500mg q12h")]),
             per_kg("k", 15, 2, 125)]
    one = run_population(spec, plans, MICS, TARGETS, chunk_size=2000).results
    many = run_population(spec, plans, MICS, TARGETS, chunk_size=333, workers=2).results
    for a, b in zip(one, many, strict=True):
        assert a.to_json() == b.to_json() and a.details_json() == b.details_json()
