"""/assess: a new assessment without storing anything. The form posts a Case document;
the page shows the same Assessment the API returns (and, with a regimen, its simulation)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

import cyclodose
from cyclodose.errors import CaseError
from cyclodose.service.deps import Audit
from cyclodose.service.pages import casedoc, vocab
from cyclodose.service.pages.plotdata import simulation_plot
from cyclodose.service.pages.render import page
from cyclodose.service.pages.session import PageUser, page_user

router = APIRouter()
# The fields of the form that have an error slot beside them.
SLOTS = tuple(f"patient.{n}" for n in (
    "age_years", "sex", "weight_kg", "height_cm", "serum_creatinine", "serum_creatinine.value",
    "serum_creatinine.unit", "crcl_ml_min", "dialysis", "alcohol", "pregnant", "gestational_week",
    "trimester", "breastfeeding", "conditions")) + (
    "comedications", "regimen", "regimen.amount_mg", "regimen.interval_h", "regimen.start",
    "regimen.count")


def beside(problems: list[Any], slots: tuple[str, ...]) -> dict[str, str]:
    """Each problem's reason at the nearest slot: its own field, else the closest parent
    (`patient.conditions[2]` -> `patient.conditions`). Every problem is also in the summary."""
    out: dict[str, list[str]] = {}
    for p in problems:
        parents = [s for s in slots if p.field == s or p.field.startswith((s + ".", s + "["))]
        if parents:
            out.setdefault(max(parents, key=len), []).append(p.reason)
    return {k: "; ".join(v) for k, v in out.items()}
User = Annotated[PageUser, Depends(page_user)]


def evaluate(doc: dict[str, Any]) -> dict[str, Any]:
    """Parse and assess a document: the result, or the problems (as the API's 422 has them)."""
    try:
        case = cyclodose.parse_case(doc)
        result = cyclodose.assess(case)
    except CaseError as exc:
        return {"problems": exc.problems, "errors": beside(exc.problems, SLOTS)}
    out: dict[str, Any] = {"problems": [], "errors": {}, "a": result, "case": case,
                           "model_ref": _model_ref(result), "curve": None, "curve_note": None}
    try:  # without a regimen the simulation says so; the page shows its reason
        out["curve"] = simulation_plot(cyclodose.simulate(case))
    except CaseError as exc:
        out["curve_note"] = "; ".join(p.reason for p in exc.problems)
    return out


def _model_ref(result: Any) -> Any:
    if result.prediction is not None and result.prediction.model is not None:
        return result.prediction.model
    from cyclodose.pk.spec import get_model

    spec = get_model(result.model)
    return {"name": spec.name, "version": spec.version, "citation": spec.citation}


@router.get("/assess", response_class=HTMLResponse)
def assess_form(request: Request, user: User) -> HTMLResponse:
    return page(request, "assess.html", active="assess", form={}, r=None,
                vocabulary=vocab.suggestions(), conditions=[], comedications=[])


@router.post("/assess", response_class=HTMLResponse)
async def assess_submit(request: Request, user: User, audit: Audit) -> HTMLResponse:
    form = await request.form()
    doc = casedoc.case_document(form)
    r = await run_in_threadpool(evaluate, doc)  # the assessment is CPU work: off the loop
    if "a" in r:  # as the API's /assess: every assessment shown is audited with its hashes
        audit.record("assess", detail={"via": "page"}, input=doc,
                     output=r["a"].model_dump(mode="json"))
    ctx: dict[str, Any] = {"r": r, "errors": r["errors"], "slots": SLOTS}
    if request.headers.get("HX-Request") == "true":
        return page(request, "_assess_results.html", oob=True, **ctx)
    return page(request, "assess.html", active="assess", form=form,
                vocabulary=vocab.suggestions(),
                conditions=casedoc.entries(form, "patient.conditions"),
                comedications=casedoc.entries(form, "comedications"), **ctx)
