"""Population spec validation: every bad field is named (CaseError)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cyclodose.errors import CaseError
from cyclodose.population.spec import load_population_spec, parse_population_spec

EXAMPLE = Path(__file__).parents[2] / "examples" / "population.yaml"


def _base(**over: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "n": 100, "seed": 1,
        "covariates": {"weight_kg": {"dist": "normal", "mean": 58, "sd": 12.2, "min": 35}},
    }
    doc.update(over)
    return doc


def _fields(exc: pytest.ExceptionInfo[CaseError]) -> list[str]:
    return [p.field for p in exc.value.problems]


def test_example_spec_loads() -> None:
    spec = load_population_spec(EXAMPLE)
    assert spec.n == 1000 and spec.seed == 1 and spec.model == "alghamdi2019"
    assert spec.covariates["crcl_ml_min"].max == 250
    assert spec.correlations[0].rho == 0.4


def _w(**dist: object) -> dict[str, object]:
    return {"covariates": {"weight_kg": dist}}


@pytest.mark.parametrize(("over", "field"), [
    ({"n": 0}, "n"),
    ({"n": "many"}, "n"),
    ({"seed": -1}, "seed"),
    (_w(dist="gamma", mean=1, sd=1), "covariates.weight_kg.dist"),
    (_w(dist="normal", mean=58, min=35), "covariates.weight_kg"),
    (_w(dist="normal", mean=58, sd=-1, min=35), "covariates.weight_kg.sd"),
    (_w(dist="normal", mean=58, sd=12), "covariates.weight_kg"),  # no lower bound
    (_w(dist="uniform", min=60, max=40), "covariates.weight_kg"),
    (_w(dist="lognormal", mean=-3, sd=1), "covariates.weight_kg"),
    (_w(dist="normal", mean=58, sd=12, min=35, x=1), "covariates.weight_kg.x"),
    (_w(dist="bernoulli", p=1.5), "covariates.weight_kg.p"),
    (_w(dist="constant", value=3, min=1), "covariates.weight_kg"),
    ({"correlations": [{"a": "weight_kg", "b": "height_cm", "rho": 0.3}]}, "correlations[0].b"),
    ({"correlations": [{"a": "weight_kg", "b": "weight_kg", "rho": 0.3}]}, "correlations[0]"),
    ({"covariates": {}}, "covariates"),
    ({"resample": 3}, "resample"),
    ({"resample": "/nonexistent/patients.csv"}, "resample"),
])
def test_bad_spec_names_the_field(over: dict[str, object], field: str) -> None:
    with pytest.raises(CaseError) as exc:
        parse_population_spec(_base(**over))
    assert field in _fields(exc), exc.value.problems


def test_rho_out_of_range_names_the_field() -> None:
    doc = _base(covariates={
        "weight_kg": {"dist": "normal", "mean": 58, "sd": 12, "min": 35},
        "crcl_ml_min": {"dist": "normal", "mean": 89, "sd": 30, "min": 25}},
        correlations=[{"a": "weight_kg", "b": "crcl_ml_min", "rho": 1.5}])
    with pytest.raises(CaseError) as exc:
        parse_population_spec(doc)
    assert _fields(exc) == ["correlations[0].rho"]


def test_not_a_mapping() -> None:
    with pytest.raises(CaseError) as exc:
        parse_population_spec(["n", 3])
    assert _fields(exc) == ["population"]


def test_bad_yaml_file(tmp_path: Path) -> None:
    p = tmp_path / "pop.yaml"
    p.write_text("n: [1,\n")
    with pytest.raises(CaseError) as exc:
        load_population_spec(p)
    assert _fields(exc) == ["population"]


def test_resample_csv_relative_to_spec(tmp_path: Path) -> None:
    (tmp_path / "pts.csv").write_text("weight_kg,crcl_ml_min\n50,80\n70,100\n")
    (tmp_path / "pop.yaml").write_text("n: 10\nseed: 3\nresample: pts.csv\n")
    spec = load_population_spec(tmp_path / "pop.yaml")
    assert spec.resampled is not None and spec.resampled.n_rows == 2
    assert list(spec.covariate_names) == ["weight_kg", "crcl_ml_min"]


@pytest.mark.parametrize(("text", "field"), [
    ("weight_kg,crcl_ml_min\n50,abc\n", "resample.crcl_ml_min"),
    ("weight_kg,crcl_ml_min\n50,-3\n", "resample.crcl_ml_min"),
    ("weight_kg,crcl_ml_min\n50\n", "resample"),
    ("weight_kg\n", "resample"),
])
def test_bad_resample_csv(tmp_path: Path, text: str, field: str) -> None:
    (tmp_path / "pts.csv").write_text(text)
    with pytest.raises(CaseError) as exc:
        parse_population_spec({"n": 5, "seed": 1, "resample": "pts.csv"}, base_dir=tmp_path)
    assert field in _fields(exc)


def test_resampled_and_distributed_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pts.csv").write_text("weight_kg\n50\n")
    with pytest.raises(CaseError) as exc:
        parse_population_spec(_base(resample="pts.csv"), base_dir=tmp_path)
    assert _fields(exc) == ["resample"]


def test_spec_file_with_a_key_given_twice_is_refused(tmp_path):
    # Shared document reader (cyclodose.intake.documents): last-one-wins would silently change n.
    from cyclodose.errors import CaseError
    from cyclodose.population.spec import load_population_spec

    f = tmp_path / "pop.yaml"
    f.write_text("n: 100\nseed: 1\nn: 1000000\n", encoding="utf-8")
    with pytest.raises(CaseError) as exc:
        load_population_spec(f)
    (problem,) = exc.value.problems
    assert problem.field == "population" and "given twice" in problem.reason
