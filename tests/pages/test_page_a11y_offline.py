"""Every page: loads and works with every request to another host blocked (and none is
attempted), has no serious or critical axe-core violation (WCAG 2.1 A/AA rules), and is
photographed at desktop and phone widths. Also the forced first-login password change."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from pages_harness import ADMIN, ADMIN_NEW, check_page, login
from playwright.sync_api import Browser, Page, expect

from conftest import Server, Watch, new_context, watch_page
from cyclodose.service import auth


def _csrf(page: Page) -> str:
    return page.locator("body").get_attribute("data-csrf") or ""


def _patient_with_levels(page: Page) -> int:
    """A record with a regimen and two levels, through the JSON API with the page's session."""
    headers = {"X-CSRF-Token": _csrf(page)}
    r = page.request.post("/api/v1/patients", headers=headers, data={
        "mrn": "A11Y-1", "name": "Access Ibility", "comedications": ["isoniazid"],
        "patient": {"age_years": 52, "sex": "female", "weight_kg": 55,
                    "serum_creatinine": {"value": 80, "unit": "umol/L"}}})
    assert r.status == 201, r.text()
    pid = r.json()["id"]
    r = page.request.post(f"/api/v1/patients/{pid}/doses", headers=headers, data={
        "amount_mg": 250, "interval_h": 12, "start": "2026-11-20T08:00:00", "count": 20})
    assert r.status == 201, r.text()
    for t, v in (("2026-11-29T10:00:00", 22.0), ("2026-11-29T20:00:00", 12.5)):
        r = page.request.post(f"/api/v1/patients/{pid}/levels", headers=headers,
                              data={"time": t, "value": v, "unit": "mg/L"})
        assert r.status == 201, r.text()
    return int(pid)


def test_clinician_pages(clinician: Page) -> None:
    page = clinician
    check_page(page, "home")
    pid = _patient_with_levels(page)
    page.goto("/?q=ibil")
    expect(page.locator("#search-results")).to_contain_text("Access Ibility")
    check_page(page, "home-search")

    page.goto("/assess")
    check_page(page, "assess-empty")
    page.get_by_label("Age").fill("30")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Weight").fill("50")
    page.get_by_label("Serum creatinine", exact=True).fill("0.8")
    page.get_by_label("Condition 1").fill("depression")
    page.get_by_role("button", name="Add another condition").click()
    page.get_by_label("Condition 2").fill("made-up disorder")
    page.get_by_label("Dose (mg per administration)").fill("250")
    page.get_by_label("Every").fill("12")
    page.get_by_label("First dose").fill("2026-11-20T08:00")
    page.get_by_label("Number of doses").fill("14")
    page.get_by_role("button", name="Assess").click()
    page.wait_for_selector("#curve-plot .main-svg", timeout=30_000)
    expect(page.locator("#unrecognised")).to_contain_text("made-up disorder")
    check_page(page, "assess")

    page.goto("/drug?q=seromicin")
    expect(page.locator("#match")).to_contain_text("Cycloserine")
    check_page(page, "drug")
    page.goto("/drug?q=J04AB01")
    expect(page.locator("#match")).to_contain_text("ATC")
    page.goto("/drug?q=zzzzzz")
    expect(page.locator("#err-q")).to_contain_text("closest names")

    page.goto(f"/patients/{pid}")
    page.wait_for_selector("#fit-plot .main-svg", timeout=30_000)
    check_page(page, "patient-record")
    page.goto(f"/patients/{pid}/history")
    check_page(page, "history")
    page.goto("/patients/new")
    check_page(page, "patient-new")


def test_first_login_forces_the_password_change(browser: Browser, server: Server) -> None:
    with server.db.new_session() as s:
        auth.create_user(s, "newcomer", "admin", "one-time-pass-9", datetime.now(UTC),
                         must_change_password=True)
        s.commit()
    watch = Watch()
    ctx = new_context(browser, server, watch)
    page = watch_page(ctx.new_page(), watch)
    page.goto("/login")
    check_page(page, "login")
    login(page, "newcomer", "one-time-pass-9")
    expect(page).to_have_url(re.compile(r"/password$"))
    expect(page.locator("#forced")).to_be_visible()
    check_page(page, "password-forced")
    page.goto("/assess")  # nothing else opens before the change
    expect(page).to_have_url(re.compile(r"/password$"))
    page.get_by_label("Current password").fill("one-time-pass-9")
    page.get_by_label("New password", exact=False).first.fill("short")
    page.get_by_label("New password again").fill("short")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#err-new_password")).to_contain_text("at least 10 characters")
    page.get_by_label("Current password").fill("one-time-pass-9")
    page.locator("#new").fill("a-better-password-9")
    page.get_by_label("New password again").fill("a-better-password-9")
    page.get_by_role("button", name="Change password").click()
    expect(page).to_have_url(re.compile(r"/$"))
    page.get_by_role("link", name="Admin").click()
    expect(page.locator("#audit-verification")).to_contain_text("Verified")
    check_page(page, "admin")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/assess")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    ctx.close()
    watch.clean()


def test_keyboard_skip_link_and_visible_focus(clinician: Page) -> None:
    page = clinician
    page.goto("/assess")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to the content"
    style = page.evaluate("(() => { const s = getComputedStyle(document.activeElement); "
                          "return [s.outlineStyle, s.outlineWidth]; })()")
    assert style[0] != "none" and style[1] != "0px"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "age"  # straight to the form
    # 200 % zoom of a 1280 px screen is a 640 px wide layout: no sideways scrolling
    page.set_viewport_size({"width": 640, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= 640


def test_the_harness_sees_a_request_to_another_host(browser: Browser, server: Server) -> None:
    """The offline checks can fail: the CSP refusal is seen as a page error, and with the CSP
    out of the way the network gate blocks and records the request."""
    for bypass_csp in (False, True):
        watch = Watch()
        ctx = new_context(browser, server, watch, bypass_csp=bypass_csp)
        page = watch_page(ctx.new_page(), watch)
        page.goto("/login")
        page.evaluate("fetch('https://cdn.example.org/x.js').catch(() => null)")
        page.wait_for_timeout(300)
        ctx.close()
        if bypass_csp:
            assert watch.foreign == ["https://cdn.example.org/x.js"]
        else:
            assert watch.foreign == [] and any("cdn.example.org" in e for e in watch.errors)
        with pytest.raises(AssertionError):
            watch.clean()


@pytest.mark.parametrize("path", ["/", "/assess", "/admin", "/patients/1"])
def test_pages_need_a_session(page: Page, path: str) -> None:
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login\?next="))


# keep the admin of the suite's fixture in use so its one-time password flow is exercised too
def test_suite_admin_first_login(browser: Browser, server: Server) -> None:
    watch = Watch()
    ctx = new_context(browser, server, watch)
    page = watch_page(ctx.new_page(), watch)
    login(page, *ADMIN)
    expect(page).to_have_url(re.compile(r"/password$"))
    page.get_by_label("Current password").fill(ADMIN[1])
    page.locator("#new").fill(ADMIN_NEW)
    page.get_by_label("New password again").fill(ADMIN_NEW)
    page.get_by_role("button", name="Change password").click()
    expect(page).to_have_url(re.compile(r"/$"))
    ctx.close()
    watch.clean()
