"""Jinja2 environment for the pages: autoescaped templates from the package, and the
formatting filters every page uses (a number always with its unit, never NaN)."""

from __future__ import annotations

import math
from datetime import datetime
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from cyclodose import __version__

# Severity (the result's enum) -> CSS class; the pages map it, they never decide it.
SEVERITY_CLASS = {
    "contraindicated": "critical", "avoid": "serious", "warning": "warning",
    "caution": "caution", "info": "info",
}
SEVERITY_LABEL = {
    "contraindicated": "Contraindicated", "avoid": "Avoid", "warning": "Warning",
    "caution": "Caution", "info": "Information",
}
# Regimen statuses (the result's enum) -> CSS class and words.
# Keys are the RegimenStatus values (clinical.status), words only.
STATUS_CLASS = {"recommended": "ok", "predicted": "ok", "contraindicated": "critical",
                "no_dose": "warning", "unavailable": "warning", "not recommended": "critical",
                "verify before use": "warning", "hold and review": "critical",
                "extrapolation, for information only": "warning"}
STATUS_LABEL = {"recommended": "Recommended", "predicted": "Predicted",
                "contraindicated": "Not recommended (contraindication)",
                "no_dose": "No dose recommended", "unavailable": "Unavailable",
                "not recommended": "Not recommended",
                "verify before use": "Verify before use (see the cautions)",
                "hold and review": "Hold and review",
                "extrapolation, for information only": "Extrapolation, for information only"}
# How the creatinine clearance was obtained (the result's enum) -> words.
RENAL_METHOD_LABEL = {"measured": "measured", "cockcroft_gault": "Cockcroft–Gault",
                      "bedside_schwartz": "bedside Schwartz", "dialysis": "on dialysis",
                      "unknown": "not known"}
# The result's own flags -> words (the pages only map them).
VALIDITY_NOTE = {True: " · inside its validity domain", False: " · OUTSIDE its validity domain"}
ABOVE_MAXIMUM_NOTE = {True: " (above the licensed 1 g/day)", False: ""}


def qty(value: Any, unit: str = "", nd: int | None = None) -> str:
    """'12.3 mg/L'; a missing or non-finite number reads 'not available', never 'nan'."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "not available"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{value} {unit}".strip()
    text = f"{value:.{nd}f}" if nd is not None else f"{value:g}"
    return f"{text}\u00a0{unit}" if unit else text


def pct(p: Any, nd: int = 0) -> str:
    if p is None or (isinstance(p, float) and not math.isfinite(p)):
        return "not available"
    return f"{100 * p:.{nd}f}\u00a0%"


def band(iv: Any, unit: str, nd: int = 1) -> str:
    """An Interval (median, p05, p95) or a dict with median/lower/upper, with its unit."""
    if iv is None:
        return "not available"
    get = iv.get if isinstance(iv, dict) else lambda k: getattr(iv, k, None)
    med = get("median")
    lo = get("p05") if get("p05") is not None else get("lower")
    hi = get("p95") if get("p95") is not None else get("upper")
    if any(v is None or not math.isfinite(v) for v in (med, lo, hi)):
        return "not available"
    return f"{med:.{nd}f} ({lo:.{nd}f}–{hi:.{nd}f})\u00a0{unit}"


def when(value: Any, naive: bool = False) -> str:
    """A <time> element; static/js/pages.js rewrites it in the user's locale."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    iso = value.isoformat(timespec="minutes")
    shown = value.strftime("%Y-%m-%d %H:%M" if naive or value.tzinfo is None
                           else "%Y-%m-%d %H:%M %Z")
    kind = "naive" if naive or value.tzinfo is None else "aware"
    from markupsafe import Markup, escape

    return Markup(f'<time datetime="{escape(iso)}" data-kind="{kind}">{escape(shown)}</time>')


def slot(field: str) -> str:
    """The id of the error slot beside a field: 'patient.serum_creatinine.unit' ->
    'err-patient-serum_creatinine-unit' (no dots or brackets, safe in a CSS selector)."""
    return "err-" + field.replace(".", "-").replace("[", "-").replace("]", "")


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("cyclodose.service", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(qty=qty, pct=pct, band=band, when=when, slot=slot)
    env.globals.update(version=__version__, SEVERITY_CLASS=SEVERITY_CLASS,
                       SEVERITY_LABEL=SEVERITY_LABEL, STATUS_CLASS=STATUS_CLASS,
                       STATUS_LABEL=STATUS_LABEL, RENAL_METHOD_LABEL=RENAL_METHOD_LABEL,
                       VALIDITY_NOTE=VALIDITY_NOTE, ABOVE_MAXIMUM_NOTE=ABOVE_MAXIMUM_NOTE,
                       slot=slot)
    return env


def page(request: Request, template: str, status_code: int = 200, **context: Any
         ) -> HTMLResponse:
    context.setdefault("user", getattr(request.state, "page_user", None))
    context.setdefault("csrf", getattr(request.state, "page_csrf", ""))
    context.setdefault("active", "")
    html = environment().get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code)
