"""Helpers for the browser tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}

CLINICIAN = ("clinician", "clinician-password-1")
ADMIN = ("admin", "one-time-password-1")  # the one-time password the first login must change
ADMIN_NEW = "admin-password-new-1"


def csrf_in(html: str) -> str:
    """The CSRF token a page carries (data-csrf on its body)."""
    found = re.search(r'data-csrf="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(page: Page, name: str, password: str, next_path: str = "/") -> None:
    page.goto(f"/login?next={next_path}")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def axe_violations(page: Page, every: bool = False) -> list[dict[str, Any]]:
    """Serious or critical axe-core violations (WCAG 2.1 A and AA rules) on the page.

    Evaluated through the DevTools protocol, which the page's CSP does not govern, so the
    page keeps its real CSP while it is checked."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if every or v["impact"] in ("serious", "critical")]


AXE_LOG = SCREENSHOTS.parent / "axe-results.json"


def check_page(page: Page, name: str) -> None:
    """axe-core on the page as it is (zero serious or critical violations), and screenshots.
    Each page's violations are also written to out/axe-results.json for the record."""
    page.wait_for_load_state("networkidle")
    every = axe_violations(page, every=True)
    found = [v for v in every if v["impact"] in ("serious", "critical")]
    AXE_LOG.parent.mkdir(parents=True, exist_ok=True)
    log = json.loads(AXE_LOG.read_text()) if AXE_LOG.exists() else {}
    log[name] = {"serious_or_critical": found,
                 "minor_or_moderate": [f"{v['id']} ({v['impact']})" for v in every
                                       if v not in found]}
    AXE_LOG.write_text(json.dumps(log, indent=1, sort_keys=True))
    screenshot(page, name)
    assert found == [], f"{name}: {found}"


def screenshot(page: Page, name: str) -> list[Path]:
    """Full-page screenshots at desktop (1280 px) and phone (360 px) widths; at phone width
    nothing may make the page itself scroll sideways (tables scroll inside their frame)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    paths = []
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.wait_for_timeout(600)  # plots re-lay out on resize (debounced)
        path = SCREENSHOTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
        if label == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            wide = page.evaluate("""w => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > w + 1)
                .filter(e => !e.closest('.table-wrap'))
                .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)""",
                                 size["width"])
            assert width <= size["width"], f"{name}: {width} px wide on a phone: {wide}"
    page.set_viewport_size(DESKTOP)
    return paths
