"""The clinician's journey in a real browser: sign in, create a patient, enter doses and two
levels, see the fit and the regimen, download the consult PDF; screening and field errors."""

from __future__ import annotations

import io

from pages_harness import SCREENSHOTS, check_page, screenshot
from playwright.sync_api import Page, expect
from pypdf import PdfReader


def fill_patient(page: Page, *, age: str = "40", sex: str = "male", weight: str = "60",
                 creatinine: str = "0.9", unit: str = "mg/dL") -> None:
    page.get_by_label("Age").fill(age)
    page.get_by_label("Sex").select_option(sex)
    page.get_by_label("Weight").fill(weight)
    page.get_by_label("Serum creatinine", exact=True).fill(creatinine)
    page.get_by_label("Creatinine unit").fill(unit)


def test_record_with_levels_fit_plot_regimen_and_pdf(clinician: Page) -> None:
    page = clinician
    page.get_by_role("link", name="New patient record").click()
    page.get_by_label("MRN").fill("E2E-001")
    page.get_by_label("Name").fill("Test Patient One")
    fill_patient(page)
    page.get_by_role("button", name="Create the record").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Test Patient One")

    page.get_by_text("Add a dose or a regimen").click()
    page.get_by_label("Regimen: first dose").fill("2026-11-20T08:00")
    page.locator("#dose-amount").fill("250")
    page.get_by_label("Regimen: every").fill("12")
    page.get_by_label("Regimen: number of doses").fill("20")
    page.get_by_role("button", name="Add to the dose history").click()
    expect(page.locator("#dose-table tbody tr")).to_have_count(1)

    for when, value in (("2026-11-29T10:00", "24.5"), ("2026-11-29T18:00", "14.2")):
        page.get_by_text("Add a measured level").click()
        page.locator("#level-time").fill(when)
        page.locator("#level-value").fill(value)
        page.get_by_role("button", name="Add the level").click()
        expect(page.locator("#problems")).to_have_count(0)
    expect(page.locator("#level-table tbody tr")).to_have_count(2)

    # the fit plot is drawn by plotly from the typed result, with both levels as points
    page.wait_for_selector("#fit-plot .main-svg", timeout=30_000)
    expect(page.locator("#fit-plot .scatterlayer .trace .point")).to_have_count(2)
    regimen = page.locator("#tdm-regimen").inner_text()
    assert "mg" in regimen and "mg/day" in regimen
    expect(page.locator("#recommendation")).to_be_visible()
    expect(page.locator(".disclaimer").first).to_be_visible()
    expect(page.locator(".model-cite").first).to_contain_text("v")
    screenshot(page, "patient")
    page.wait_for_timeout(600)  # the plot re-lays out for the desktop width first
    page.emulate_media(media="print")  # the print stylesheet: no navigation, no forms
    expect(page.locator("header.site nav")).to_be_hidden()
    expect(page.locator("#add-dose")).to_be_hidden()
    expect(page.locator("#fit-plot")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "patient-print.png"), full_page=True)
    page.emulate_media(media="screen")

    with page.expect_download() as dl:
        page.locator("#consult-pdf").click()
    pdf = dl.value
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(
        pdf.path().read_bytes())).pages)
    assert regimen.split(" = ")[0] in text, (regimen, text[:500])

    page.get_by_role("link", name="History and audit").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("History")
    check_page(page, "patient-history")


def test_epilepsy_contraindication_first_in_the_critical_colour(clinician: Page) -> None:
    page = clinician
    page.goto("/assess")
    fill_patient(page)
    page.get_by_label("Co-medication 1").fill("isoniazid")
    page.get_by_label("Condition 1").fill("epilepsy")
    page.get_by_label("Condition 1").press("Tab")
    first = page.locator("#results .finding").first
    expect(first).to_have_attribute("data-severity", "contraindicated", timeout=20_000)
    expect(first).to_contain_text("contraindication.epilepsy")
    critical = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--critical')").strip()
    rgb = page.evaluate("c => { const d = document.createElement('div'); d.style.color = c; "
                        "document.body.appendChild(d); const v = getComputedStyle(d).color; "
                        "d.remove(); return v; }", critical)
    assert first.evaluate("e => getComputedStyle(e).borderLeftColor") == rgb
    assert first.locator(".badge").evaluate("e => getComputedStyle(e).backgroundColor") == rgb
    severities = page.locator("#results .finding").evaluate_all(
        "els => els.map(e => e.dataset.severity)")
    assert severities.index("contraindicated") == 0 and "caution" in severities
    check_page(page, "assess-epilepsy")


def test_bad_creatinine_unit_error_beside_the_field(clinician: Page) -> None:
    page = clinician
    page.goto("/assess")
    fill_patient(page, unit="mg/furlong")
    page.get_by_label("Creatinine unit").press("Tab")
    beside = page.locator("#err-patient-serum_creatinine-unit")
    expect(beside).to_have_text("unit 'mg/furlong' is not a creatinine concentration",
                                timeout=20_000)
    # beside the field: the slot is in the same field group as the unit input
    assert page.locator(".field", has=page.get_by_label("Creatinine unit")).locator(
        "#err-patient-serum_creatinine-unit").count() == 1
    expect(page.get_by_label("Creatinine unit")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#results .finding")).to_have_count(0)
    check_page(page, "assess-unit-error")
