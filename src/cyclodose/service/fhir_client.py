"""Fetch a patient's data from a FHIR R4 server (httpx), for import, CDS Hooks and SMART.

Only servers on the `CYCLODOSE_FHIR_SERVERS` allow-list are contacted (no request to
an address a caller makes up). Search results are followed page by page, within limits.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import HTTPException

from cyclodose.errors import CaseError
from cyclodose.interop.cds import PATIENT, fill, prefetch_templates
from cyclodose.service.problems import ERROR_RESPONSES, ProblemDetails

MAX_PAGES = 20
# Routes that reach an EHR also answer 400 (a launch out of order) and 502 (the EHR failed).
EHR_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    400: {"model": ProblemDetails, "description": "Bad request"},
    502: {"model": ProblemDetails, "description": "The EHR or FHIR server failed"},
}
FHIR_JSON = "application/fhir+json"


FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR R4 id datatype


def patient_queries(patient_id: str, level_code: str | None) -> dict[str, str]:
    """The CDS Hooks prefetch queries (one definition), plus administrations and statements."""
    if not FHIR_ID.match(patient_id):
        raise CaseError.single("patientId", "not a FHIR id ([A-Za-z0-9-.], at most 64)")
    templates = prefetch_templates(level_code) | {
        "administrations": f"MedicationAdministration?patient={PATIENT}",
        "statements": f"MedicationStatement?patient={PATIENT}"}
    return {k: fill(t, patient_id) for k, t in templates.items()}


class FhirClient:
    def __init__(self, base: str, token: str | None, timeout_s: float,
                 transport: httpx.BaseTransport | None = None):
        headers = {"Accept": FHIR_JSON}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base = base.rstrip("/")
        self.http = httpx.Client(base_url=self.base + "/", headers=headers, timeout=timeout_s,
                                 follow_redirects=False, transport=transport)

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _get(self, url: str) -> Any:
        try:
            r = self.http.get(url)
        except httpx.HTTPError as exc:
            raise HTTPException(502, f"FHIR server unreachable: {type(exc).__name__}") from None
        if r.status_code in (401, 403):
            raise HTTPException(502, f"FHIR server refused access ({r.status_code}) to {url}")
        if r.status_code == 404:
            raise HTTPException(404, f"FHIR server: {url} not found")
        if r.status_code != 200:
            raise HTTPException(502, f"FHIR server answered {r.status_code} for {url}")
        try:
            return r.json()
        except ValueError:
            raise HTTPException(502, f"FHIR server sent no JSON for {url}") from None

    def search(self, query: str) -> list[Any]:
        """A read (one resource) or a search with all its pages (each page a Bundle)."""
        pages = [self._get(query)]
        while nxt := next((link.get("url") for link in pages[-1].get("link", []) or []
                           if isinstance(link, dict) and link.get("relation") == "next"), None):
            if len(pages) >= MAX_PAGES:  # stopping here would drop data silently
                raise HTTPException(502, f"FHIR server: more than {MAX_PAGES} pages for {query}")
            if not str(nxt).startswith(self.base + "/"):
                raise HTTPException(502, "FHIR server's next page points to another server")
            pages.append(self._get(str(nxt)[len(self.base) + 1:]))
        return pages

    def patient_data(self, patient_id: str, level_code: str | None,
                     keys: list[str] | None = None) -> dict[str, list[Any]]:
        queries = patient_queries(patient_id, level_code)
        return {k: self.search(q) for k, q in queries.items() if keys is None or k in keys}
