"""Stateless use cases: a Case document in, a typed result out (audited with hashes).

/pta runs small populations at once and larger ones as a job (202 + Location).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from cyclodose import workflows
from cyclodose.errors import CaseError
from cyclodose.intake.case import CaseDocument, parse_case
from cyclodose.service import jobs
from cyclodose.service.deps import AppSettings, Audit, Clock, DbSession, Reader, get_database
from cyclodose.service.problems import ERROR_RESPONSES
from cyclodose.service.routes.jobs import Job, job_view
from cyclodose.service.storage import Database
from cyclodose.workflows.assessment import Assessment
from cyclodose.workflows.population import PtaResult
from cyclodose.workflows.simulation import Simulation
from cyclodose.workflows.tdm.consult import TdmConsult

router = APIRouter(prefix="/api/v1", tags=["use cases"], responses=ERROR_RESPONSES)


class SimulateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case: CaseDocument
    model: str | None = Field(default=None, description="population PK model (default: the "
                                                        "case's settings.model)")
    days: float | None = Field(default=None, gt=0, le=366)


class PtaRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    population: dict[str, Any] = Field(description="a population spec, as in a --population "
                                                   "file (no resample files over the API)")
    regimens: list[str] = Field(min_length=1, max_length=24,
                                description='"250mg q12h" or "250/500mg q12h"')
    mics_mg_l: list[float] = Field(default=[1, 2, 4, 8, 16, 32, 64], min_length=1,
                                   max_length=32)
    targets_pct: list[float] = Field(default=[30, 64], min_length=1, max_length=8)
    mic_distribution: dict[str, float] | None = Field(
        default=None, description="MIC (mg/L) → frequency, for the CFR")


@router.post("/assess")
def assess(doc: CaseDocument, principal: Reader, audit: Audit) -> Assessment:
    """Screen, recommend and plan monitoring for a case (as `cyclodose assess --json`)."""
    result = workflows.assess(parse_case(doc))
    audit.record("assess", input=doc.model_dump(mode="json"),
                 output=result.model_dump(mode="json"))
    return result


@router.post("/simulate")
def simulate(body: SimulateRequest, principal: Reader, audit: Audit) -> Simulation:
    """Predicted concentrations of the case's dose history (typical patient, 90 % band)."""
    result = workflows.simulate(parse_case(body.case), model=body.model, days=body.days)
    audit.record("simulate", input=body.model_dump(mode="json"),
                 output=result.model_dump(mode="json"))
    return result


@router.post("/tdm")
def tdm(doc: CaseDocument, principal: Reader, audit: Audit) -> TdmConsult:
    """Bayesian estimate from the measured levels and the best regimen."""
    result = workflows.tdm_consult(parse_case(doc))
    audit.record("tdm", input=doc.model_dump(mode="json"), output=result.model_dump(mode="json"))
    return result


def _pta_inputs(body: PtaRequest) -> tuple[Any, dict[float, float] | None]:
    from cyclodose.population import parse_population_spec

    if "resample" in body.population:  # would read a file on the server: never over HTTP
        raise CaseError.single("population.resample",
                               "resample files are not accepted over the API")
    spec = parse_population_spec(body.population, base_dir=None)
    freqs = None
    if body.mic_distribution is not None:
        try:
            freqs = {float(k): v for k, v in body.mic_distribution.items()}
        except ValueError:
            raise CaseError.single("mic_distribution", "keys must be MICs in mg/L") from None
    return spec, freqs


def _run_pta(body: PtaRequest, scheduler: str | None = None, progress: Any = None
             ) -> PtaResult:
    """On this machine, or on the Dask cluster at `scheduler`."""
    spec, freqs = _pta_inputs(body)
    return workflows.pta(spec, body.regimens, body.mics_mg_l, body.targets_pct,
                         mic_frequencies=freqs, backend="dask" if scheduler else "numpy",
                         scheduler=scheduler, progress=progress)


@router.post("/pta", response_model=PtaResult,
             responses={202: {"model": Job, "description": "a job: follow Location"}})
def pta(body: PtaRequest, background: BackgroundTasks, principal: Reader, s: DbSession,
        audit: Audit, clock: Clock, settings: AppSettings,
        db: Annotated[Database, Depends(get_database)]) -> PtaResult | JSONResponse:
    """Probability of target attainment and toxicity per regimen (research output, not a
    dosing recommendation). Populations above the job threshold answer 202 with a job."""
    spec, _ = _pta_inputs(body)  # bad input is a 422 now, not a failed job later
    payload = body.model_dump(mode="json")
    if spec.n <= settings.job_threshold:
        result = _run_pta(body)
        audit.record("pta", input=payload, output=result.model_dump(mode="json"))
        return result
    def work(report: Any) -> dict[str, Any]:
        done = {"n": 0}

        def progress(k: int) -> None:  # k more virtual patients evaluated (all regimens)
            done["n"] += k
            report(done["n"] / spec.n)

        return _run_pta(body, settings.dask_scheduler, progress).model_dump(mode="json")

    row = jobs.create(s, clock, "pta", principal.name, payload)
    audit.record("pta.job", input=payload, detail={"job_id": row.id})
    background.add_task(jobs.start, db, clock, row.id, work)  # after the commit
    return JSONResponse(job_view(row).model_dump(mode="json"), status_code=202,
                        headers={"Location": f"/api/v1/jobs/{row.id}"})
