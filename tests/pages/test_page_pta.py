"""The PTA explorer: a run as a job with a progress bar, plots, the table and a CSV."""

from __future__ import annotations

import csv
import io

from pages_harness import check_page
from playwright.sync_api import Page, expect


def test_pta_run_as_a_job_with_plots_table_and_csv(clinician: Page) -> None:
    page = clinician
    page.get_by_role("link", name="PTA explorer").click()
    check_page(page, "pta")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#job")).to_have_attribute("data-status", "done", timeout=60_000)
    page.wait_for_selector("#pta-plot .main-svg", timeout=20_000)
    page.wait_for_selector("#exposure-plot .main-svg", timeout=20_000)
    rows = page.locator("#pta-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("250mg q12h")
    with page.expect_download() as dl:
        page.locator("#pta-csv").click()
    table = list(csv.DictReader(io.StringIO(dl.value.path().read_text(encoding="utf-8"))))
    assert len(table) == 4 * 8 * 2  # regimens x MICs x targets
    assert {r["regimen"] for r in table} == {"250mg q12h", "500mg q24h", "375mg q12h",
                                            "250/500mg q12h"}
    assert all(0.0 <= float(r["pta"]) <= 1.0 for r in table)
    check_page(page, "pta-results")


def test_pta_bad_input_named_beside_the_field(clinician: Page) -> None:
    page = clinician
    page.goto("/pta")
    page.get_by_label("MICs").fill("1, two, 4")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#err-mics")).to_have_text("write numbers separated by commas")
    check_page(page, "pta-form-error")
