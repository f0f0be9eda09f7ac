"""The TDM text and report read the typed section by attribute, not engine arrays or dicts
(left over from #8)."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import cyclodose.cli.tdm as cli_tdm
import cyclodose.render.consult as report
from cyclodose.intake.case import load_case
from cyclodose.render.tdm_text import detail, schedule_text, summary
from cyclodose.workflows.tdm.consult import TdmConsult, tdm_consult
from cyclodose.workflows.tdm.section import TdmUnavailable

EXAMPLE = Path(__file__).parents[2] / "examples" / "tdm_two_levels.yaml"


@pytest.fixture(scope="module")
def consult() -> TdmConsult:
    return tdm_consult(load_case(EXAMPLE))


def test_report_does_not_read_the_engine_arrays(consult: TdmConsult) -> None:
    when = datetime(2026, 3, 12, 9, 0)
    before = report.consult_html(consult, generated=when)
    est = consult.estimate
    blind = dataclasses.replace(est, curve=None, obs=None, doses=None, spec=None,
                                covariates=None, validity=None)  # type: ignore[arg-type]
    copy = consult.model_copy()
    copy._estimate = blind
    assert report.consult_html(copy, generated=when) == before


def test_fit_plot_is_the_section_curve(consult: TdmConsult) -> None:
    spec = report.fit_figure_spec(consult.tdm, consult.case.target)
    assert list(spec.curves[0].time_h) == consult.tdm.predictions.curve.time_h
    assert spec.doses_h and all(
        consult.tdm.predictions.curve.time_h[0] <= t <= consult.tdm.predictions.curve.time_h[-1]
        for t in spec.doses_h)
    assert np.isfinite(np.asarray(spec.bands[0].high_mg_l, dtype=float)).all()


def test_text_renderers_live_in_render_and_take_the_section(consult: TdmConsult) -> None:
    assert "tdm.model_dump" not in inspect.getsource(cli_tdm)  # --json dumps the consult
    assert "model_dump" not in inspect.getsource(report)
    parts = [str(getattr(p, "plain", "")) for p in detail(consult.tdm)]
    assert any("TDM regimen — " in p for p in parts)
    assert schedule_text(consult.tdm.recommendation).startswith("doses: 08:00")
    short = [str(getattr(p, "plain", "")) for p in summary(consult.tdm)]
    assert any("Bayesian TDM from 2 level(s)" in p for p in short)
    gone = summary(TdmUnavailable(unavailable=["levels: none"]))
    assert "not available — levels: none" in str(getattr(gone[0], "plain", ""))


def test_no_new_regimen_wording_when_nothing_changes(consult: TdmConsult) -> None:
    s = consult.tdm
    kept = s.model_copy(update={"regimen_changes": False})
    from cyclodose.render.tdm_text import next_levels_heading

    assert "new regimen" in next_levels_heading(s)
    assert "new regimen" not in next_levels_heading(kept)
    assert "current regimen continued" in next_levels_heading(kept)
    copy = consult.model_copy(update={"tdm": kept})
    copy._estimate = consult.estimate
    html = report.consult_html(copy)
    assert "Start the new regimen" not in html and "Continue the current regimen" in html
