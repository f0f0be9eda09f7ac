"""Property-based run over /openapi.json with an authenticated client: no 5xx, and every
response valid against the schema (status code, content type, body). Bounded in examples."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_cases import new_patient

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def api(service):
    headers = service.token("pharm", "pharmacist")
    # something to find: generated ids 1 and 2 hit real records, doses and levels
    for mrn in ("S1", "S2"):
        service.client.post("/api/v1/patients", json=new_patient(mrn), headers=headers)
    service.client.post("/api/v1/patients/1/doses", headers=headers, json={
        "amount_mg": 250, "interval_h": 12, "start": "2026-11-01T08:00:00", "count": 6})
    service.headers = headers
    return service


def test_api_conforms_to_its_schema(api):
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    seen: Counter[int] = Counter()
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(headers=api.headers)
            seen[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:
            exc.add_note(f"operation: {operation.label}")
            raise
    # the run reached real work, not only refusals
    assert seen[200] + seen[201] > 20 and seen[422] > 20, seen
    print(dict(seen))
