"""The consult report: HTML content, and the PDF read back as text and rendered to PNG."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from cyclodose import __version__
from cyclodose.assessment import assess
from cyclodose.case import load_case, parse_case
from cyclodose.report.consult import consult_html, write_report
from cyclodose.tdm import Estimate, estimate

EXAMPLE = Path(__file__).parents[2] / "examples" / "tdm_two_levels.yaml"


@pytest.fixture(scope="module")
def est() -> Estimate:
    return estimate(load_case(EXAMPLE))


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_html_has_every_section(est: Estimate) -> None:
    html = consult_html(est, assess(est.case))
    for heading in ("Patient and renal function", "Findings", "Doses given",
                    "Measured levels and the individual fit", "Recommendation",
                    "Alternatives (ranked)", "Monitoring plan", "Model and method"):
        assert f">{heading}<" in html, heading
    assert "data:image/png;base64," in html
    assert est.spec.citation.split(";")[0] in html
    assert f"cyclodose {__version__}" in html
    assert "Decision support only" in html
    assert "Cockcroft" in html  # renal function with its method


def test_findings_missing_is_said(est: Estimate) -> None:
    assert "Screening findings were not available" in consult_html(est, None)


def test_pdf_text_and_first_page_png(est: Estimate, tmp_path: Path) -> None:
    pdf = tmp_path / "consult.pdf"
    write_report(est, pdf, assess(est.case))
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
    est_c = estimate(case, n_draws=300)
    html = _flat(consult_html(est_c, assess(case, with_tdm=False)))
    assert 'class="rec blocked"' in html
    assert "Contraindicated: for a prescriber who judges that benefit outweighs risk" in html
    assert "P(%T&gt;MIC ≥ 64 %, peak ≤ 30 mg/L)" in html
    assert "OUTSIDE the model&#x27;s validity domain" in html
    assert "Start the new regimen with the dose due at 2026-03-11 08:00" in html
