"""/pta: the PTA explorer. The run goes through the API's own /pta (same validation, audit and
job machinery), always as a job so that the page can show its progress; the results are the
`pta --json` document, drawn and tabulated, with a CSV download. Research output, not a dose."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from cyclodose.errors import CaseError, Problem
from cyclodose.service.deps import AppSettings, Audit, Clock, DbSession, get_database
from cyclodose.service.pages.forms import text, validated
from cyclodose.service.pages.render import page
from cyclodose.service.pages.session import PageUser, page_user
from cyclodose.service.routes import assess as api
from cyclodose.service.routes.jobs import job as read_job
from cyclodose.service.storage import Database
from cyclodose.workflows.population import PtaResult, RegimenPta

router = APIRouter(prefix="/pta")
User = Annotated[PageUser, Depends(page_user)]
DEFAULT_REGIMENS = "250mg q12h\n500mg q24h\n375mg q12h\n250/500mg q12h"


def _example_population() -> str:
    return """# A population spec, as in a --population file (docs/population.md)
n: 5000
seed: 1
model: alghamdi2019
covariates:
  weight_kg:   {dist: normal, mean: 58.0, sd: 12.2, min: 35, max: 110}
  crcl_ml_min: {dist: normal, mean: 89.1, sd: 31.9, min: 25, max: 250}
correlations:
  - {a: weight_kg, b: crcl_ml_min, rho: 0.4}
"""


def _numbers(raw: str, field: str) -> list[float]:
    try:
        return [float(x) for x in raw.replace(";", ",").replace(" ", ",").split(",") if x]
    except ValueError:
        raise CaseError.single(field, "write numbers separated by commas") from None


@router.get("", response_class=HTMLResponse)
def pta_form(request: Request, user: User) -> HTMLResponse:
    return page(request, "pta.html", active="pta", form={
        "population": _example_population(), "regimens": DEFAULT_REGIMENS,
        "mics": "0.5, 1, 2, 4, 8, 16, 32, 64", "targets": "30, 64"}, errors={}, problems=[])


@router.post("", response_class=HTMLResponse)
async def pta_submit(request: Request, user: User, background: BackgroundTasks, s: DbSession,
                     audit: Audit, clock: Clock, settings: AppSettings,
                     db: Annotated[Database, Depends(get_database)]) -> Response:
    form = await request.form()
    values = {k: text(form, k) for k in ("population", "regimens", "mics", "targets")}
    try:
        try:
            population = yaml.safe_load(values["population"]) or {}
        except yaml.YAMLError as exc:
            raise CaseError.single("population", f"not YAML: {exc}".splitlines()[0]) from None
        if not isinstance(population, dict):
            raise CaseError.single("population", "a population spec is a mapping (n, model, …)")
        body = validated(api.PtaRequest, {
            "population": population,
            "regimens": [r.strip() for r in values["regimens"].splitlines() if r.strip()],
            "mics_mg_l": _numbers(values["mics"], "mics_mg_l"),
            "targets_pct": _numbers(values["targets"], "targets_pct")})
        # Always a job (threshold 0), whatever the size: the page shows its progress.
        answer = api.pta(body, background, user, s, audit, clock,
                         settings.model_copy(update={"job_threshold": 0}), db)
    except CaseError as exc:
        problems: list[Problem] = exc.problems
        key = {"mics_mg_l": "mics", "targets_pct": "targets"}
        errors = {key.get(p.field.split(".")[0].split("[")[0], p.field.split(".")[0]
                          .split("[")[0]): p.reason for p in problems}
        return page(request, "pta.html", status_code=422, active="pta", form=values,
                    errors=errors, problems=problems)
    if not isinstance(answer, JSONResponse):  # threshold 0: always a job
        raise HTTPException(500, "the PTA run did not start as a job")
    job_id = json.loads(bytes(answer.body))["id"]
    return RedirectResponse(f"/pta/jobs/{job_id}", status_code=303)


def _job(job_id: str, user: PageUser, s: Any) -> Any:
    return read_job(job_id, user, s)


def _result(job: Any) -> list[RegimenPta]:
    """The job's stored result read back as the typed PtaResult the API returns."""
    return list(PtaResult.model_validate(job.result).regimens)


def _plots(results: list[RegimenPta], targets: list[str]) -> dict[str, str]:
    """PTA against MIC (one line per regimen and target) and the exposure per regimen."""
    series = []
    for r in results:
        mics = list(r.pta)
        for t in targets:
            series.append({"x": [float(m) for m in mics], "y": [r.pta[m][t] for m in mics],
                           "name": f"{r.regimen}, %T>MIC ≥ {t} %"})
    exposure = [{"x": [r.regimen for r in results],
                 "y": [r.cmax_median for r in results],
                 "low": [r.cmax_p05 for r in results],
                 "high": [r.cmax_p95 for r in results],
                 "name": "steady-state Cmax, median and 5th–95th percentile"}]
    return {
        "pta": json.dumps({"kind": "lines", "series": series, "x_log": True,
                           "x_title": "MIC (mg/L)",
                           "y_title": "probability of target attainment",
                           "y_range": [0, 1.05]}),
        "exposure": json.dumps({"kind": "bars", "series": exposure, "ceiling": 30.0,
                                "x_title": "regimen", "y_title": "Cmax (mg/L)"}),
    }


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, user: User, s: DbSession) -> HTMLResponse:
    return page(request, "pta_job.html", active="pta", **_job_context(job_id, user, s))


@router.get("/jobs/{job_id}/status", response_class=HTMLResponse)
def job_status(request: Request, job_id: str, user: User, s: DbSession) -> HTMLResponse:
    return page(request, "_pta_status.html", **_job_context(job_id, user, s))


def _job_context(job_id: str, user: PageUser, s: Any) -> dict[str, Any]:
    job = _job(job_id, user, s)
    ctx: dict[str, Any] = {"job": job, "plots": None, "targets": [], "mics": [],
                           "model_ref": None, "results": []}
    if job.status == "done" and job.result:
        results = ctx["results"] = _result(job)
        first = results[0]
        ctx["mics"] = list(first.pta)
        ctx["targets"] = list(next(iter(first.pta.values())))
        ctx["plots"] = _plots(results, ctx["targets"])
        from cyclodose.pk.spec import get_model

        spec = get_model(first.model)
        ctx["model_ref"] = {"name": spec.name, "version": spec.version,
                            "citation": spec.citation}
    return ctx


@router.get("/jobs/{job_id}/table.csv")
def job_csv(job_id: str, user: User, s: DbSession) -> Response:
    job = _job(job_id, user, s)
    if job.status != "done" or not job.result:
        raise HTTPException(409, "the job has no result yet")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["regimen", "daily_dose_mg", "target_pct_t_above_mic", "mic_mg_l", "pta",
                "breakpoint_mg_l", "cmax_median_mg_l", "cmax_p05_mg_l", "cmax_p95_mg_l",
                "auc24_median_mg_h_l", "p_cmax_above_30"])
    for r in _result(job):
        for mic, by_t in r.pta.items():
            for t, p in by_t.items():
                w.writerow([r.regimen, r.daily_dose_mg, t, mic, p, r.breakpoint.get(t),
                            r.cmax_median, r.cmax_p05, r.cmax_p95, r.auc24_median,
                            r.p_cmax_above_30])
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="pta-{job_id}.csv"'})


