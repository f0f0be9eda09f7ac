"""Issue 15: far-tail truncation, 0/1 covariates, messages, real-world resampling CSVs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from cyclodose import pk
from cyclodose.errors import CaseError
from cyclodose.population import parse_population_spec
from cyclodose.population.copula import inverse_cdf
from cyclodose.population.evaluate import make_covariates
from cyclodose.population.sampling import Sampler
from cyclodose.population.spec import CovariateDist

U = (np.arange(20_000) + 0.5) / 20_000  # evenly spread uniforms


def _fields(exc: pytest.ExceptionInfo[CaseError]) -> list[str]:
    return [p.field for p in exc.value.problems]


@pytest.mark.parametrize(("lo", "hi"), [(100, 110), (40, 45), (2, 3), (-3, -2.5)])
def test_truncated_normal_window_in_a_tail_matches_scipy(lo: float, hi: float) -> None:
    # mean 58, sd 1: [100, 110] is 42-52 SD above the mean, where Φ rounds to 1
    mean = 58.0
    dist = CovariateDist.model_validate({"dist": "normal", "mean": mean, "sd": 1.0,
                                         "min": mean + lo, "max": mean + hi})
    x = inverse_cdf(dist, U)
    ref = stats.truncnorm(lo, hi, loc=mean, scale=1.0)
    assert np.all((x >= mean + lo) & (x <= mean + hi))
    assert np.mean(x) == pytest.approx(ref.mean(), abs=1e-3)
    assert np.quantile(x, [0.1, 0.5, 0.9]) == pytest.approx(ref.ppf([0.1, 0.5, 0.9]), abs=2e-3)
    assert np.all(np.diff(x) >= 0)  # still an inverse CDF: monotone in u (copula intact)


def test_the_issue_example_no_longer_collapses_onto_the_bound() -> None:
    spec = parse_population_spec({"n": 5000, "seed": 1, "covariates": {
        "weight_kg": {"dist": "normal", "mean": 58, "sd": 1, "min": 100, "max": 110}}})
    w = Sampler(spec, np.eye(4)).sample(0, 5000).covariates["weight_kg"]
    assert w.min() >= 100.0 and w.max() < 100.5  # was: every patient exactly 110 kg
    assert w.mean() == pytest.approx(100 + 1 / 42, abs=0.005)  # truncated mean ≈ 100.024


def test_lognormal_window_far_in_the_upper_tail() -> None:
    dist = CovariateDist.model_validate({"dist": "lognormal", "mean": 60, "sd": 6,
                                         "min": 200, "max": 250})
    x = inverse_cdf(dist, U)
    sigma = np.sqrt(np.log1p(0.01))
    mu = np.log(60) - sigma**2 / 2
    a, b = (np.log(200) - mu) / sigma, (np.log(250) - mu) / sigma
    ref = np.exp(stats.truncnorm(a, b, loc=mu, scale=sigma).ppf(U))
    assert x == pytest.approx(ref, rel=1e-6)


def test_window_without_mass_is_refused() -> None:
    with pytest.raises(CaseError) as exc:
        parse_population_spec({"n": 5, "seed": 1, "covariates": {
            "weight_kg": {"dist": "normal", "mean": 58, "sd": 0.001, "min": 100}}})
    assert _fields(exc) == ["covariates.weight_kg"]
    assert "SD from the mean" in exc.value.problems[0].reason


@pytest.mark.parametrize(("cov", "field"), [
    ({"dialysis": {"dist": "constant", "value": 7}}, "covariates.dialysis.value"),
    ({"male": {"dist": "constant", "value": 3}}, "covariates.male.value"),
    ({"patient": {"dist": "constant", "value": 0.5}}, "covariates.patient.value"),
    ({"male": {"dist": "uniform", "min": 0, "max": 1}}, "covariates.male.dist"),
])
def test_binary_covariates_are_0_or_1(cov: dict[str, object], field: str) -> None:
    covs = {"weight_kg": {"dist": "constant", "value": 60}, **cov}
    with pytest.raises(CaseError) as exc:
        parse_population_spec({"n": 5, "seed": 1, "covariates": covs})
    assert _fields(exc) == [field]


def test_binary_flags_0_and_1_are_accepted() -> None:
    spec = parse_population_spec({"n": 5, "seed": 1, "covariates": {
        "weight_kg": {"dist": "constant", "value": 60}, "male": {"dist": "constant", "value": 1},
        "dialysis": {"dist": "constant", "value": 0}}})
    assert spec.covariates["male"].value == 1


def test_transit_model_names_every_missing_input() -> None:
    model = pk.get_model("resendiz2025")
    with pytest.raises(CaseError) as exc:
        make_covariates({"weight_kg": np.array([60.0]), "age_years": np.array([40.0]),
                         "scr_mg_dl": np.array([0.9])}, model)
    (problem,) = exc.value.problems
    assert problem.field == "covariates.ffm_kg"
    assert "height_cm" in problem.reason and "male" in problem.reason
    assert "missing: height_cm, male" in problem.reason


def _csv(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pts.csv").write_text(text)
    return tmp_path


def test_csv_id_column_ignored_sex_mapped_missing_rows_dropped(tmp_path: Path) -> None:
    base = _csv(tmp_path, "ID,weight_kg,crcl_ml_min,Sex\n1,50,80,M\n2,60,,female\n"
                          "3,70,90,f\n4,NA,100,Male\n5,55,85,F\n")
    spec = parse_population_spec({"n": 10, "seed": 1, "resample": "pts.csv"}, base_dir=base)
    data = spec.resampled
    assert data is not None
    assert set(data.columns) == {"weight_kg", "crcl_ml_min", "male"}
    assert data.columns["male"].tolist() == [1.0, 0.0, 0.0]  # rows 1, 3, 5
    assert data.columns["weight_kg"].tolist() == [50.0, 70.0, 55.0]
    assert data.dropped_lines == (3, 5) and data.ignored_columns == ("ID",)
    assert len(data.sha256) == 64


def test_csv_missing_values_refused_with_line_numbers(tmp_path: Path) -> None:
    base = _csv(tmp_path, "weight_kg,crcl_ml_min\n50,80\n60,\n70,.\n")
    with pytest.raises(CaseError) as exc:
        parse_population_spec({"n": 10, "seed": 1, "resample": "pts.csv",
                               "resample_missing": "refuse"}, base_dir=base)
    assert _fields(exc) == ["resample"]
    assert "lines 3, 4" in exc.value.problems[0].reason


@pytest.mark.parametrize(("text", "field"), [
    ("weight_kg,sex\n50,X\n", "resample.sex"),
    ("weight_kg,male\n50,2\n", "resample.male"),
    ("weight_kg,sex,male\n50,M,1\n", "resample"),
    ("id\n1\n", "resample"),
    ("weight_kg\nNA\n", "resample"),
])
def test_csv_bad_sex_flags_and_empty_results(tmp_path: Path, text: str, field: str) -> None:
    base = _csv(tmp_path, text)
    with pytest.raises(CaseError) as exc:
        parse_population_spec({"n": 10, "seed": 1, "resample": "pts.csv"}, base_dir=base)
    assert field in _fields(exc)


def test_correlation_with_an_unknown_name_says_what_is_known() -> None:
    with pytest.raises(CaseError) as exc:
        parse_population_spec({"n": 5, "seed": 1, "covariates": {
            "weight_kg": {"dist": "constant", "value": 60},
            "age_years": {"dist": "uniform", "min": 18, "max": 70}},
            "correlations": [{"a": "age_years", "b": "height_cm", "rho": 0.3}]})
    assert _fields(exc) == ["correlations[0].b"]
    assert "neither a parametric covariate nor a resampled column" in exc.value.problems[0].reason


def test_two_resampled_columns_cannot_be_correlated(tmp_path: Path) -> None:
    base = _csv(tmp_path, "weight_kg,crcl_ml_min\n50,80\n60,90\n")
    with pytest.raises(CaseError) as exc:
        parse_population_spec({"n": 5, "seed": 1, "resample": "pts.csv", "correlations": [
            {"a": "weight_kg", "b": "crcl_ml_min", "rho": 0.3}]}, base_dir=base)
    assert "the data's own" in exc.value.problems[0].reason


def test_parametric_covariate_correlated_with_a_resampled_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(60, 10, 400).clip(35, 110)
    lines = "\n".join(f"{x:.2f}" for x in w)
    base = _csv(tmp_path, "weight_kg\n" + lines + "\n")
    spec = parse_population_spec({
        "n": 20_000, "seed": 4, "resample": "pts.csv",
        "covariates": {"height_cm": {"dist": "normal", "mean": 165, "sd": 8, "min": 130,
                                     "max": 200},
                       "age_years": {"dist": "uniform", "min": 18, "max": 70}},
        "correlations": [{"a": "height_cm", "b": "weight_kg", "rho": 0.6}]}, base_dir=base)
    s = Sampler(spec, np.eye(4)).sample(0, 20_000).covariates
    rho = stats.spearmanr(s["height_cm"], s["weight_kg"])[0]
    # Spearman of a Gaussian copula with latent 0.6: 6/π·asin(0.3) = 0.582
    assert rho == pytest.approx(6 / np.pi * np.arcsin(0.3), abs=0.03)
    assert abs(stats.spearmanr(s["age_years"], s["weight_kg"])[0]) < 0.03
    assert set(np.unique(s["weight_kg"])) <= set(np.round(w, 2))  # still real rows
    # without the correlation the same spec keeps its old draws for the parametric columns
    plain = parse_population_spec({**spec.model_dump(exclude={"resampled"}),
                                   "correlations": []}, base_dir=base)
    p = Sampler(plain, np.eye(4)).sample(0, 20_000).covariates
    assert np.array_equal(p["weight_kg"], s["weight_kg"])  # same resampled rows
