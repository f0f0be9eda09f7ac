"""A-priori (model-informed) dosing from covariates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cyclodose.intake.case import parse_case
from cyclodose.limits import MAX_DAILY_DOSE_MG
from cyclodose.workflows.model_informed import apriori


def _case(**patient: Any) -> Any:
    base: dict[str, Any] = {"age_years": 40, "sex": "male", "weight_kg": 60, "height_cm": 170,
                            "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}}
    base.update(patient)
    return parse_case({"patient": base})


def test_ranking_rule_and_contents() -> None:
    res = apriori(_case(), n_draws=1000)
    assert res.model.name == "alghamdi2019" and "Antimicrob Agents Chemother" in res.model.citation
    # the recommendation is row 1 (#9 M7), the others keep the ranking order
    ranks = [(-round(c.p_peak_in_window, 2), round(c.p_peak_above_ceiling, 2),
              c.capsules_per_day, c.daily_dose_mg) for c in res.candidates[1:]]
    assert ranks == sorted(ranks)
    assert [c.rank for c in res.candidates] == list(range(1, len(res.candidates) + 1))
    # recommended: in divided doses (monograph §Uses and Administration), within the
    # practicality margin of the best divided regimen (#9 M6)
    assert res.recommended == res.candidates[0] and res.recommended.doses_per_day >= 2
    best_divided = max(c.p_peak_in_window for c in res.candidates if c.doses_per_day >= 2)
    assert res.recommended.p_peak_in_window >= best_divided - 0.035
    for c in res.candidates:
        assert c.peak_mg_l.p05 <= c.peak_mg_l.median <= c.peak_mg_l.p95
        assert c.trough_mg_l.median < c.peak_mg_l.median
        assert c.daily_dose_mg <= MAX_DAILY_DOSE_MG
    assert "Model alghamdi2019" in res.rationale and "%" in res.rationale
    assert res.extrapolation == []


def test_probabilities_match_the_published_typical_exposure() -> None:
    # 250 mg q12h: typical Cmax,ss 24.9 mg/L (pharmacology.md §1) -> the median is near it
    res = apriori(_case(weight_kg=59, crcl_ml_min=89.1), n_draws=2000)
    row = next(c for c in res.candidates if c.regimen == "250 mg q12h")
    assert row.peak_mg_l.median == pytest.approx(24.9, rel=0.06)
    assert row.auc24_mg_h_l.median == pytest.approx(484, rel=0.06)


def test_reduced_renal_function_lowers_exposure_targeted_dose() -> None:
    # CL/F ~ CrCL^0.413 (Alghamdi 2019): the same regimen gives higher peaks at CrCl 35
    normal = apriori(_case(crcl_ml_min=120), n_draws=1000)
    reduced = apriori(_case(crcl_ml_min=35), n_draws=1000)
    assert reduced.recommended.daily_dose_mg <= normal.recommended.daily_dose_mg
    same = next(c for c in reduced.candidates if c.regimen == normal.recommended.regimen)
    assert same.p_peak_above_ceiling > normal.recommended.p_peak_above_ceiling
    assert same.peak_mg_l.median > normal.recommended.peak_mg_l.median


def test_seeded_and_reproducible() -> None:
    a = apriori(_case(), n_draws=500, seed=3)
    b = apriori(_case(), n_draws=500, seed=3)
    assert a == b


def test_extrapolation_is_reported() -> None:
    res = apriori(_case(age_years=10, weight_kg=30, height_cm=135, crcl_ml_min=20), n_draws=300)
    assert any("age 10" in r for r in res.extrapolation)
    assert any("CrCl 20" in r for r in res.extrapolation)
    assert "Extrapolation" in res.rationale


def test_transit_model_runs() -> None:
    res = apriori(_case(), model="resendiz2025", n_draws=200)
    assert res.model.name == "resendiz2025"
    assert np.isclose(sum(1 for _ in res.candidates), len(res.candidates))
    assert res.recommended.daily_dose_mg <= MAX_DAILY_DOSE_MG


def test_assessment_sections_beside_the_guideline() -> None:
    from cyclodose.workflows.assessment import assess

    a = assess(_case(crcl_ml_min=45))
    assert a.prediction is not None and a.prediction.status == "predicted"
    assert a.prediction.replaces_renal_rule
    assert any("replaces the conservative renal rule" in r for r in a.prediction.rationale)
    assert a.recommendation.phases  # the guideline regimen is still there
    assert a.prediction.guideline is not None
    assert a.prediction.guideline.regimen == "250 mg q12h"
    assert a.candidates is not None
    assert a.prediction.regimen == next(c.regimen for c in a.candidates if c.divided)
    assert a.prediction.daily_dose_mg is not None
    assert a.prediction.daily_dose_mg <= MAX_DAILY_DOSE_MG
    normal = assess(_case(crcl_ml_min=100))
    assert normal.prediction is not None and not normal.prediction.replaces_renal_rule


def test_assessment_without_creatinine_says_why() -> None:
    from cyclodose.workflows.assessment import assess

    case = parse_case({"patient": {"age_years": 40, "sex": "male", "weight_kg": 60}})
    a = assess(case)
    assert a.prediction is not None and a.prediction.status == "unavailable"
    assert a.prediction.reason is not None and "patient.serum_creatinine" in a.prediction.reason
    assert a.candidates is None


def test_ranked_table_row1_is_recommendation() -> None:
    # #9 M7: the typical adult's once-daily regimen can top the peak-window ranking (the
    # model's long half-life); the monograph and US label give cycloserine in divided doses.
    # Row 1 is the recommendation, and every row that scored higher says why it is not.
    res = apriori(_case(), n_draws=1000)
    assert res.recommended == res.candidates[0] and res.recommended.rank == 1
    assert res.recommended.doses_per_day >= 2
    higher = [c for c in res.candidates[1:]
              if round(c.p_peak_in_window, 2) > round(res.recommended.p_peak_in_window, 2)]
    assert higher, "the typical adult case has a once-daily regimen that scored higher"
    assert "Ranked higher but not recommended: " in res.rationale
    for c in higher:
        assert (f"{c.regimen} (P(window) {100 * c.p_peak_in_window:.0f} %, P(>30 mg/L) "
                f"{100 * c.p_peak_above_ceiling:.0f} %)") in res.rationale
    assert "once daily scored higher" not in res.rationale  # the old, contradicting text
    if res.recommended.daily_dose_mg < 500:
        assert "below the monograph's usual adult maintenance" in res.rationale


def test_symmetric_twice_daily_preferred_within_margin_model_informed() -> None:
    # the same policy as the TDM path: an unequal split is recommended only when no regimen
    # with equal twice-daily doses comes within the margin, and then the rationale says so
    for crcl in (40, 60, 90, 120):
        res = apriori(_case(crcl_ml_min=crcl), n_draws=1000)
        best = res.recommended
        equal_bid = [c for c in res.candidates
                     if c.doses_per_day == 2 and len(set(c.amounts_mg)) == 1]
        if len(set(best.amounts_mg)) > 1:
            assert f"{best.regimen} has unequal doses twice daily" in res.rationale
        elif best.doses_per_day == 2:
            assert best in equal_bid


def test_severe_renal_impairment_allows_once_daily() -> None:
    # ATS 2003 / J Thorac Dis 2018 Table 4: CrCl < 30 mL/min -> 250 mg once daily is documented
    res = apriori(_case(crcl_ml_min=15), n_draws=500)
    assert res.recommended == res.candidates[0]
    assert "given in divided doses" not in res.rationale  # once daily is not passed over


def test_contraindicated_patient_prediction_is_marked_not_recommended() -> None:
    from cyclodose.workflows.assessment import assess

    a = assess(_case(dialysis="haemodialysis"))
    assert a.prediction is not None and a.prediction.status == "contraindicated"
    assert a.prediction.rationale[0].startswith("Not recommended: ")
    assert any("Dialysis is not in the model" in r for r in a.prediction.rationale)
    assert any("dialysis" in e for e in a.prediction.extrapolation)
    epileptic = assess(_case(conditions=["epilepsy"]))
    assert epileptic.prediction is not None and epileptic.prediction.status == "contraindicated"
    assert "contraindication.epilepsy" in epileptic.prediction.rationale[0]


def test_candidates_scored_together_equal_the_per_candidate_formulas() -> None:
    """`evaluate` computes every candidate at once and its intervals from one sort: the
    numbers of `steady_state.metrics` candidate by candidate and of np.quantile."""
    from cyclodose.clinical.candidates import candidate_grid
    from cyclodose.pk import get_model
    from cyclodose.pk.params import individual_parameters
    from cyclodose.pk.steady_state import metrics
    from cyclodose.workflows.adapters import covariates_from_case
    from cyclodose.workflows.model_informed import evaluate, sample_eta

    case = _case()
    spec = get_model("alghamdi2019")
    cov = covariates_from_case(case, spec)
    eta = sample_eta(spec, 400, 7)
    cands = candidate_grid((125.0, 250.0))
    rows = {r.regimen: r for r in evaluate(spec, cov, cands, (20.0, 30.0), eta)}
    par = individual_parameters(spec, cov, eta)
    assert len(rows) == len(cands) and len({c.pattern.period_h for c in cands}) > 1
    for c in cands:
        m = metrics(par, c.pattern)
        row = rows[c.label]
        for got, key in ((row.peak_mg_l, "cmax"), (row.trough_mg_l, "cmin"),
                         (row.auc24_mg_h_l, "auc24")):
            q = np.quantile(m[key], [0.5, 0.05, 0.95])
            assert (got.median, got.p05, got.p95) == tuple(round(float(v), 2) for v in q)
        peak = m["cmax"]
        assert row.p_peak_in_window == round(float(np.mean((peak >= 20) & (peak <= 30))), 4)
        assert row.p_peak_above_ceiling == round(float(np.mean(peak > 30.0)), 4)


def test_assessment_sections_share_the_draws_of_apriori() -> None:
    """The guideline and current-regimen predictions reuse the a-priori draws' parameters:
    the same numbers as `evaluate` on freshly sampled etas of the same seed."""
    from cyclodose.clinical.candidates import Candidate
    from cyclodose.pk import DosePattern, get_model
    from cyclodose.workflows.adapters import covariates_from_case
    from cyclodose.workflows.model_informed import (
        DEFAULT_SEED,
        assessment_sections,
        evaluate,
        sample_eta,
    )

    case = parse_case({"patient": {"age_years": 40, "sex": "male", "weight_kg": 60,
                                   "crcl_ml_min": 80},
                       "regimen": {"amount_mg": 250, "interval_h": 12,
                                   "start": "2026-03-01T08:00:00", "count": 20}})
    pred, cands = assessment_sections(case, 375.0, 2, n_draws=300)  # 375 mg twice a day
    assert cands is not None and pred.guideline is not None and pred.current is not None
    spec = get_model("alghamdi2019")
    cov = covariates_from_case(case, spec)
    eta = sample_eta(spec, 300, DEFAULT_SEED)
    for got, pattern in ((pred.guideline, DosePattern.every(375.0, 12.0)),
                         (pred.current, DosePattern.every(250.0, 12.0))):
        (ref,) = evaluate(spec, cov, [Candidate(pattern, 0, ())], (20.0, 30.0), eta)
        assert (got.peak_mg_l, got.trough_mg_l, got.auc24_mg_h_l) == (
            ref.peak_mg_l, ref.trough_mg_l, ref.auc24_mg_h_l)
        assert got.p_peak_in_window == ref.p_peak_in_window
    assert cands[0].regimen == apriori(case, n_draws=300).candidates[0].regimen
