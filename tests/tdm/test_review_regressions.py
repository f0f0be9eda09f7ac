"""Regression tests for problems found in the clinical / numerical review of issue 4.

Each test failed before its fix (posologyr practice: one regression test per fixed bug).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cyclodose.cli import app
from cyclodose.limits import MAX_DAILY_DOSE_MG
from cyclodose.tdm.sampling import next_samples
from cyclodose.workflows.assessment import assess
from cyclodose.workflows.tdm import estimate, to_dict

from .conftest import BASE, make_case

# Fewer SIR draws: these tests check flags, statuses and wording, not interval accuracy.
DRAWS = 300
PATIENT = BASE["patient"]
Q24 = {"amount_mg": 250, "interval_h": 24, "start": "2026-03-01T08:00:00", "count": 10}
LEVELS_Q24 = [{"time": "2026-03-10T10:00:00", "value": 25.0, "unit": "mg/L"},
              {"time": "2026-03-10T14:00:00", "value": 22.0, "unit": "mg/L"}]


def _doc(**changes: Any) -> dict[str, Any]:
    return to_dict(estimate(make_case(**changes), n_draws=DRAWS))


@pytest.mark.parametrize("patient, code", [
    # CrCl 20 mL/min: the monograph contraindicates cycloserine (severe renal impairment)
    ({**{k: v for k, v in PATIENT.items() if k != "serum_creatinine"}, "crcl_ml_min": 20},
     "contraindication.severe_renal_impairment"),
    ({**PATIENT, "dialysis": "haemodialysis"}, "contraindication.severe_renal_impairment"),
    ({**PATIENT, "conditions": ["epilepsy"]}, "contraindication.epilepsy"),
])
def test_tdm_never_silently_overrides_a_contraindication(patient, code):
    """Before: status-less recommendation '250 mg q24h' with only an extrapolation caution,
    while `assess` said 'contraindicated, no regimen recommended'."""
    rec = _doc(patient=patient, regimen=Q24, levels=LEVELS_Q24)["recommendation"]
    assert rec["status"] == "contraindicated"
    assert [c["code"] for c in rec["contraindications"]] == [code]
    assert rec["warnings"][0].startswith("CONTRAINDICATED (" + code)
    assert rec["reason"].startswith("Not recommended: the screening found " + code)
    # 25 and 22 mg/L on 250 mg q24h: the best regimen is the current one, and the reason says so
    assert rec["regimen"] == "250 mg q24h"
    assert "This is the current regimen: no change of dose is needed." in rec["reason"]
    assert rec["daily_dose_mg"] <= MAX_DAILY_DOSE_MG


def test_toxic_levels_and_an_overdose_history_are_quoted_with_the_tdm_regimen():
    """750 mg q12h (1.5 g/day) with levels of 60 and 52 mg/L: the TDM output showed the levels
    and a lower regimen without a word on the ceiling or on the recorded overdose."""
    regimen = {"amount_mg": 750, "interval_h": 12, "start": "2026-03-01T08:00:00", "count": 20}
    levels = [{"time": "2026-03-10T10:00:00", "value": 60.0, "unit": "mg/L"},
              {"time": "2026-03-10T14:00:00", "value": 52.0, "unit": "mg/L"}]
    rec = _doc(regimen=regimen, levels=levels)["recommendation"]
    text = " ".join(rec["warnings"])
    assert "(level.above_ceiling)" in text and "60.0 mg/L is above the 30 mg/L ceiling" in text
    assert "(dose.above_maximum)" in text and "1500 mg in 24 h" in text
    assert rec["daily_dose_mg"] <= MAX_DAILY_DOSE_MG


def test_ordinary_case_is_recommended_and_names_its_model():
    rec = _doc()["recommendation"]
    assert rec["status"] == "recommended" and rec["contraindications"] == []
    assert rec["model"]["name"] == "alghamdi2019" and "Alghamdi" in rec["model"]["citation"]
    assert rec["inside_validity_domain"] is True
    # clock time of each administration (the label "250/375 mg q12h" does not say which is
    # the morning dose); the new regimen starts with the dose due at 08:00 on 11 March
    assert [x["dose_mg"] for x in rec["schedule"]] == rec["amounts_mg"]
    assert rec["schedule"][0]["clock"] == "08:00"
    assert all(x["clock"] is not None for x in rec["schedule"])


def test_a_single_implausible_level_is_flagged():
    """80 mg/L 2 h after 250 mg (population 99.7 % range ~8-66 mg/L): before, the fit bent to
    the level (IWRES small) and nothing was flagged."""
    doc = _doc(levels=[{"time": "2026-03-10T10:00:00", "value": 80.0, "unit": "mg/L"}])
    flag = doc["predictions"]["levels"][0]["flag"]
    assert flag is not None and "outside the range the population model predicts" in flag
    assert flag.startswith("level at 2026-03-10 10:00 (2.0 h after a dose)")  # clock, not 218 h
    assert doc["recommendation"]["status"] == "verify before use"


def test_the_wrong_level_of_two_is_the_one_flagged():
    """80 mg/L at 2 h beside 14.1 mg/L at 6 h: before, only the plausible 14.1 mg/L level
    carried the flag (IWRES −3.8) because the fit followed the 80."""
    doc = _doc(levels=[{"time": "2026-03-10T10:00:00", "value": 80.0, "unit": "mg/L"},
                       {"time": "2026-03-10T14:00:00", "value": 14.1, "unit": "mg/L"}])
    high = doc["predictions"]["levels"][0]
    assert high["observed_mg_l"] == 80.0 and high["flag"] is not None
    assert "80.0 mg/L is outside the range" in high["flag"]


def test_delayed_absorption_flag_names_the_actual_sample_times():
    """A 1 h and a 6 h level: the flag used to speak of 'the 2 h level'."""
    doc = _doc(levels=[{"time": "2026-03-10T09:00:00", "value": 12.0, "unit": "mg/L"},
                       {"time": "2026-03-10T14:00:00", "value": 14.1, "unit": "mg/L"}])
    assert doc["diagnostics"]["delayed_absorption"]
    flag = doc["diagnostics"]["flags"][-1]
    assert "6.0 h after the dose (14.1 mg/L) is above the level at 1.0 h (12.0 mg/L)" in flag


def test_umol_levels_are_reported_rounded():
    """16.2 mg/L entered as µmol/L (MW 102.09) came back as 16.199999999999996."""
    umol = [{"time": "2026-03-10T10:00:00", "value": 16.2 / 102.09 * 1000, "unit": "umol/L"}]
    assert _doc(levels=umol)["predictions"]["levels"][0]["observed_mg_l"] == 16.2


@pytest.mark.parametrize("offsets_h, amounts_mg", [
    ((0.0, 12.0), (250.0, 375.0)),  # 08:00 250 mg / 20:00 375 mg: the 375 mg samples at 22/02 h
    ((0.0,), (250.0,)),  # q8h starting at 08:00 used to pick the midnight dose
])
def test_next_samples_are_drawn_in_the_daytime(offsets_h, amounts_mg):
    t0 = datetime(2026, 3, 1, 8, 0)
    period = 24.0 if len(offsets_h) == 2 else 8.0
    advice = next_samples(240.0, period, list(offsets_h), list(amounts_mg), 11.5, t0)
    for a in advice:
        assert a.clock is not None and 7 <= a.clock.hour + a.clock.minute / 60 <= 20
    assert advice[0].dose_time_h >= 240.0 + 5 * 11.5  # still at steady state


def test_next_samples_wait_for_the_upper_half_life_bound():
    """All levels below quantification: MAP half-life ~2.7 h but its 90 % interval reaches
    ~14 h; sampling one day after the change (5 × MAP) could precede steady state."""
    blq = [{"time": "2026-03-10T10:00:00", "value": "<2", "unit": "mg/L"},
           {"time": "2026-03-10T14:00:00", "value": "<2", "unit": "mg/L"}]
    doc = _doc(levels=blq)
    upper = doc["half_life_h"]["upper"]
    assert upper > 2 * doc["half_life_h"]["map"]
    first = doc["next_samples"][0]
    assert first["time_h"] - first["after_dose_h"] >= doc["new_regimen_start_h"] + 5 * upper - 1e-6
    assert "upper 90 % bound" in first["why"]
    assert doc["recommendation"]["status"] == "verify before use"
    assert doc["new_regimen_start_clock"] == (datetime(2026, 3, 1, 8) + timedelta(
        hours=doc["new_regimen_start_h"])).isoformat(timespec="minutes")


def test_assess_human_output_has_a_tdm_section():
    """`cyclodose assess` printed no TDM at all in its Rich output (only in --json)."""
    from pathlib import Path

    example = Path(__file__).parents[2] / "examples" / "tdm_two_levels.yaml"
    res = CliRunner().invoke(app, ["assess", str(example)])
    assert res.exit_code == 0, res.output
    out = " ".join(res.stdout.split())  # Rich wraps at 80 columns
    assert "Bayesian TDM from 2 level(s)" in out and "inside its validity domain" in out
    assert "MAP: cl_l_h" in out and "L/h (90 %" in out
    assert "TDM regimen — recommended, change the regimen:" in out and "P(peak > 30 mg/L)" in out
    assert "next level C2h" in out and "next level C6h" in out


def test_assess_can_skip_the_estimate():
    """`cyclodose tdm --report` ran the whole estimate a second time inside assess."""
    assert assess(make_case(), with_tdm=False).tdm is None


def test_levels_the_doses_cannot_explain_make_the_section_unavailable() -> None:
    """Regression (#8): 0.00025 mg doses with a 16 mg/L level raised LinAlgError in the
    Laplace/SIR step. The assessment now carries an `unavailable` TDM section with the reason,
    and `cyclodose tdm` exits 2 naming the levels."""
    import yaml

    from cyclodose import parse_case
    from cyclodose.errors import CaseError
    from cyclodose.workflows.assessment import assess
    from cyclodose.workflows.tdm import TdmUnavailable
    from cyclodose.workflows.tdm.consult import tdm_consult

    example = Path(__file__).parents[2] / "examples" / "tdm_two_levels.yaml"
    doc = yaml.safe_load(example.read_text(encoding="utf-8"))
    doc["regimen"]["amount_mg"] = 0.00025
    case = parse_case(doc)
    section = assess(case).tdm
    assert isinstance(section, TdmUnavailable)
    assert section.unavailable[0].startswith("levels: no Bayesian estimate can be made")
    with pytest.raises(CaseError) as err:
        tdm_consult(case)
    assert err.value.problems[0].field == "levels"
