"""The consult report: HTML content, and the PDF read back as text and rendered to PNG."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from cyclodose.intake.case import load_case, parse_case
from cyclodose.render.consult import consult_html, write_report
from cyclodose.version import __version__
from cyclodose.workflows.tdm.consult import TdmConsult, tdm_consult

EXAMPLE = Path(__file__).parents[2] / "examples" / "tdm_two_levels.yaml"


@pytest.fixture(scope="module")
def consult() -> TdmConsult:
    return tdm_consult(load_case(EXAMPLE))


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_html_has_every_section(consult: TdmConsult) -> None:
    est = consult.estimate
    html = consult_html(consult)
    for heading in ("Patient and renal function", "Findings", "Doses given",
                    "Measured levels and the individual fit", "Recommendation",
                    "Alternatives (ranked)", "Monitoring plan", "Model and method"):
        assert f">{heading}<" in html, heading
    assert "data:image/png;base64," in html
    assert est.spec.citation.split(";")[0] in html
    assert f"cyclodose {__version__}" in html
    assert "Decision support only" in html
    assert "cockcroft_gault" in html  # renal function with its method


def test_renal_function_is_the_assessments(consult: TdmConsult) -> None:
    """Regression (#8): the report recomputed Cockcroft-Gault and CKD-EPI; it now shows the
    assessment's values, so the report and the assessment cannot disagree."""
    ap = consult.assessment.patient
    assert ap.crcl_ml_min is not None and ap.ckd_epi_ml_min_173m2 is not None
    changed = consult.assessment.model_copy(update={"patient": ap.model_copy(
        update={"crcl_ml_min": 12.0, "ckd_epi_ml_min_173m2": 11.0})})
    html = _flat(consult_html(consult.model_copy(update={"assessment": changed})))
    assert "12 mL/min" in html and "eGFR 11 mL/min/1.73 m²" in html


def test_pdf_text_and_first_page_png(consult: TdmConsult, tmp_path: Path) -> None:
    est = consult.estimate
    pdf = tmp_path / "consult.pdf"
    write_report(consult, pdf)
    reader = PdfReader(str(pdf))
    text = _flat(" ".join(page.extract_text() for page in reader.pages))
    best = est.ranked[0]
    assert "Cycloserine therapeutic drug monitoring" in text
    assert best.regimen.label in text
    assert f"{best.regimen.daily_dose_mg:g} mg/day" in text
    assert "16.2 mg/L" in text  # a measured level
    assert "Alghamdi" in text and "2019" in text
    assert "Never give more than 1000 mg" in text
    assert f"cyclodose {__version__}" in text
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm is not None, "poppler-utils (Makefile DEB_PKGS) provides pdftoppm"
    subprocess.run([pdftoppm, "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True, timeout=60)
    pngs = sorted(tmp_path.glob("page*.png"))
    assert len(pngs) == 1
    data = pngs[0].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_contraindicated_mic_case_says_so_and_ranks_by_the_mic_goal() -> None:
    """Review regressions: the recommendation box carried no status (a contraindicated
    patient's TDM regimen looked like any other), and with an MIC the ranked table showed
    P(peak in window) although the ranking key was P(%T>MIC goal, peak <= 30 mg/L)."""
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    del doc["patient"]["serum_creatinine"]
    doc["patient"]["crcl_ml_min"] = 20
    doc["target"] = {"mic_mg_l": 16, "tmic_pct": 64}
    case = parse_case(doc)
    html = _flat(consult_html(tdm_consult(case)))
    assert 'class="rec blocked"' in html
    assert "Contraindicated: for a prescriber who judges that benefit outweighs risk" in html
    assert "P(%T&gt;MIC ≥ 64 %, peak ≤ 30 mg/L)" in html
    assert "OUTSIDE the model&#x27;s validity domain" in html
    assert "Start the new regimen with the dose due at 2026-03-11 08:00" in html


def test_model_averaging_weights_and_why_are_in_the_report() -> None:
    html = _flat(consult_html(tdm_consult(load_case(EXAMPLE), model="auto")))
    assert "Model averaging (settings.model auto): " in html
    assert re.search(r"alghamdi2019 v2019\.1 weight 0\.\d\d", html)
    assert re.search(r"resendiz2025 v2025\.1 weight 0\.\d\d", html)
    assert "Why: " in html and "Uster 2021" in html


def test_patient_block_shows_the_pregnancy_only_when_pregnant(consult: TdmConsult) -> None:
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    doc["patient"].update(sex="female", pregnant=True, gestational_week=30)
    html = consult_html(tdm_consult(parse_case(doc)))
    block = html.split(">Patient and renal function<")[1].split("<h2>")[0]
    assert "<td>Pregnancy</td><td>pregnant, week 30, third trimester</td>" in block
    assert "Pregnancy (week 30, third trimester)" in html  # the finding, next to it
    assert "<td>Pregnancy</td>" not in consult_html(consult)  # no empty row for others


def test_doses_given_leave_out_the_planned_doses() -> None:
    """With `assessed_at` (a case read from FHIR) the doses from then on are planned: the
    report's dose history is the one the estimate fitted, and says what it left out."""
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["regimen"]["count"] = 24  # up to 20:00 on 12 March
    doc["assessed_at"] = "2026-03-10T15:00:00"  # after the 08:00 dose: 19 given, 5 planned
    c = tdm_consult(parse_case(doc))
    assert c.estimate.doses.n == 19
    html = _flat(consult_html(c))
    assert "19 doses recorded, 4750 mg in total" in html
    assert "5 planned doses (at or after the assessment time) are not part of it." in html
