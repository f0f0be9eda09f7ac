"""Model averaging in the TDM consult (settings.model: auto; Uster 2021)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from cyclodose import pk
from cyclodose.cli import app
from cyclodose.workflows.adapters import covariates_from_case
from cyclodose.workflows.tdm import estimate, to_dict

from .conftest import BASE, make_case

DRAWS = 300
SAMPLE_TIMES = ("2026-03-10T09:00:00", "2026-03-10T10:00:00", "2026-03-10T12:00:00",
                "2026-03-10T14:00:00", "2026-03-10T19:00:00")  # 1, 2, 4, 6, 11 h after dose 19


def _levels_from(model: str, eta: list[float], seed: int = 0) -> list[dict[str, Any]]:
    """Levels the model gives for the tests' patient with these η, with the model's own
    residual error (seeded). Noise-free levels would be unfair to the true model: a model
    with a tighter residual error can then fit them more likely than the truth."""
    case = make_case()
    spec = pk.get_model(model)
    td = np.array([d.time_h for d in case.doses])
    ad = np.array([d.amount_mg for d in case.doses])
    t0 = case.t0
    assert t0 is not None
    from datetime import datetime

    times = [(datetime.fromisoformat(s) - t0).total_seconds() / 3600 for s in SAMPLE_TIMES]
    conc = pk.predict(spec, covariates_from_case(case, spec), np.array([eta]), td, ad, times)[0]
    rng = np.random.default_rng(seed)
    y = (conc * (1 + spec.prop_sd * rng.standard_normal(conc.size))
         + spec.add_sd_mg_l * rng.standard_normal(conc.size))
    return [{"time": s, "value": round(max(float(c), 0.05), 3), "unit": "mg/L"}
            for s, c in zip(SAMPLE_TIMES, y, strict=True)]


def _weights(est: Any) -> dict[str, float]:
    return {w.name: w.weight for w in est.averaging.weights}


def test_weights_sum_to_one_and_the_json_says_why():
    est = estimate(make_case(), "auto", n_draws=DRAWS)
    w = _weights(est)
    assert set(w) == {"alghamdi2019", "resendiz2025"}
    assert sum(w.values()) == pytest.approx(1.0, abs=1e-12)
    assert sum(x.n_draws for x in est.averaging.weights) == DRAWS
    doc = to_dict(est)["model_averaging"]
    assert [x["name"] for x in doc["weights"]] == [est.spec.name, *[
        x.name for x in est.averaging.weights[1:]]]
    assert "OFV" in doc["why"] and "Uster 2021" in doc["method"]
    assert "model average: " in to_dict(est)["recommendation"]["reason"]


@pytest.mark.parametrize("model, eta, other", [
    # five levels after dose 19 with the model's residual error; the mean over 4 seeds
    ("alghamdi2019", [0.0, 0.0, 0.0, 0.0], "resendiz2025"),
    ("resendiz2025", [0.0], "alghamdi2019"),
])
def test_informative_levels_put_most_weight_on_the_model_they_came_from(model, eta, other):
    right, top = [], []
    for seed in range(4):
        est = estimate(make_case(levels=_levels_from(model, eta, seed)), "auto", n_draws=100)
        w = _weights(est)
        right.append(w[model])
        top.append(est.spec.name)
        assert w[model] + w[other] == pytest.approx(1.0)
    assert np.mean(right) > 0.8
    # the reported fit is the highest-weight model's
    assert top == [model if r > 0.5 else other for r in right]


def test_no_levels_gives_the_prior_weights():
    est = estimate(make_case(levels=[]), "auto", n_draws=DRAWS)
    assert list(_weights(est).values()) == pytest.approx([0.5, 0.5])
    assert "prior weight" in est.averaging.why


def test_an_extrapolating_model_keeps_its_weight_and_is_flagged():
    teen = {**BASE["patient"], "age_years": 15}  # Alghamdi 2019: adults (from 18 years)
    est = estimate(make_case(patient=teen), "auto", n_draws=DRAWS)
    alg = next(w for w in est.averaging.weights if w.name == "alghamdi2019")
    assert alg.weight > 0 and any("age 15 years" in r for r in alg.extrapolation)
    doc = to_dict(est)
    flagged = (doc["model"]["extrapolation"] if est.spec.name == "alghamdi2019"
               else [x for x in doc["recommendation"]["warnings"] if "alghamdi2019" in x])
    assert flagged


def test_a_model_that_cannot_be_used_is_listed_with_the_reason():
    no_height = {k: v for k, v in BASE["patient"].items() if k != "height_cm"}
    est = estimate(make_case(patient=no_height), "auto", n_draws=DRAWS)
    res = next(w for w in est.averaging.weights if w.name == "resendiz2025")
    assert res.weight == 0.0 and res.unavailable and "patient.height_cm" in res.unavailable
    assert _weights(est)["alghamdi2019"] == 1.0
    assert any("resendiz2025 is not part of the average" in x for x in est.warnings)


def test_cli_model_auto_and_settings_auto(tmp_path):
    import yaml

    doc = {**BASE, "settings": {"model": "auto"}}
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(doc))
    runner = CliRunner()
    by_settings = runner.invoke(app, ["tdm", str(path), "--json"], env={"COLUMNS": "100"})
    assert by_settings.exit_code == 0, by_settings.output
    plain = tmp_path / "plain.yaml"
    plain.write_text(yaml.safe_dump(BASE))
    by_flag = runner.invoke(app, ["tdm", str(plain), "--json", "--model", "auto"],
                            env={"COLUMNS": "100"})
    assert by_flag.exit_code == 0, by_flag.output
    for res in (by_settings, by_flag):
        tdm = json.loads(res.stdout)["tdm"]
        weights = [w["weight"] for w in tdm["model_averaging"]["weights"]]
        assert sum(weights) == pytest.approx(1.0, abs=1e-3)
    text = runner.invoke(app, ["tdm", str(path)], env={"COLUMNS": "200"})
    flat = " ".join(text.stdout.split())
    assert text.exit_code == 0 and "model averaging: " in flat
    assert "weights ∝ exp(−OFV/2)" in flat
    # a named model keeps today's output: no model_averaging key
    named = runner.invoke(app, ["tdm", str(plain), "--json"], env={"COLUMNS": "100"})
    assert "model_averaging" not in json.loads(named.stdout)["tdm"]
    # assess with settings.model auto: the a-priori part uses the default model
    assessed = runner.invoke(app, ["assess", str(path), "--json"], env={"COLUMNS": "100"})
    assert assessed.exit_code == 0, assessed.output


def test_with_auto_the_advice_reads_the_mixture_ranking():
    """#14 advice through model averaging: keep/change is judged on the same mixture
    probabilities the ranking shows, and the regimen followed is ranked[0] or the current."""
    from cyclodose.workflows.tdm.advice import Action

    est = estimate(make_case(), "auto", n_draws=DRAWS)
    assert est.averaging is not None and len(est.averaging.fitted) == 2
    assert est.current is not None
    shown = {r.regimen.label: r for r in est.ranked}
    if est.advice.action is Action.CHANGE:
        assert est.recommended is est.ranked[0]
        assert (f"P(goal) {100 * est.current.objective:.0f} % → "
                f"{100 * est.ranked[0].objective:.0f} %") in est.advice.text
    else:
        assert est.advice.action is Action.KEEP
        assert est.recommended.regimen.label == est.current.regimen.label
    assert est.recommended.regimen.label in shown or est.recommended is est.current
    assert est.advice.text in to_dict(est)["recommendation"]["reason"]


def test_a_level_above_the_ceiling_holds_with_auto_too():
    from cyclodose.workflows.tdm.advice import Action

    high = [{"time": "2026-03-10T10:00:00", "value": 38.0, "unit": "mg/L"},
            {"time": "2026-03-10T14:00:00", "value": 33.0, "unit": "mg/L"}]
    est = estimate(make_case(levels=high), "auto", n_draws=DRAWS)
    assert est.advice.action is Action.HOLD
    assert est.advice.below_ceiling_h is not None
    assert est.advice.below_ceiling_upper_h is not None
    assert est.advice.below_ceiling_upper_h >= est.advice.below_ceiling_h
    assert est.start_h >= est.advice.below_ceiling_upper_h


def test_prediction_intervals_span_the_mixture_and_the_map_is_the_first_model():
    from types import SimpleNamespace

    from cyclodose.workflows.tdm.forecasts import predict

    spec = pk.get_model("alghamdi2019")
    fit = SimpleNamespace(eta=np.zeros(4))

    def flat(level: float):
        return lambda etas, times: np.full((np.atleast_2d(etas).shape[0], len(times)), level)

    rng = np.random.default_rng(0)
    draws = np.zeros((200, 4))
    out = predict(flat(10.0), spec, fit, draws, np.array([1.0]), rng,
                  [(flat(10.0), spec, draws[:100]), (flat(20.0), spec, draws[:100])])
    p = out[0]
    assert p.map_mg_l == 10.0
    assert p.lower_mg_l == pytest.approx(10.0) and p.upper_mg_l == pytest.approx(20.0)
    single = predict(flat(10.0), spec, fit, draws, np.array([1.0]), rng)[0]
    assert single.upper_mg_l == pytest.approx(10.0)
