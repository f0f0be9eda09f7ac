"""Benchmark: CDS Hooks order-select and patient-view with full prefetch, on loopback.

A real server (uvicorn, one worker, SQLite, JWT verification on with an ES384 key made
here) answers signed hook calls; latency is the round trip measured by the client on
127.0.0.1. Baseline, measured in the same run: the same request handled in-process with no
HTTP, JWT or database (read the prefetch, assess, render the cards). Reported: p50 and p95
of each, and their ratio.

Run: .venv/bin/python -m benchmarks.cds_bench [N_CALLS]
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "service"))

from cds_helpers import draft_order, hook_request, prefetch, searchset  # noqa: E402

from interop.fhir_builders import dosage, mg, request  # noqa: E402

ISS = "https://ehr.bench"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def _bodies() -> dict[str, dict[str, Any]]:
    on_cs = request("mr1", [dosage(mg(250), start="2026-11-20T08:00:00Z")])
    full = prefetch(medications=searchset(on_cs), height=searchset(
        {"resourceType": "Observation", "id": "ht1", "status": "final",
         "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
         "effectiveDateTime": "2026-01-01",
         "valueQuantity": {"value": 170, "system": "http://unitsofmeasure.org", "code": "cm"}}))
    return {
        "cyclodose-order-select": hook_request("order-select", draft_order(250, 2),
                                               prefetch=dict(full, medications=searchset())),
        "cyclodose-patient-view": hook_request("patient-view", prefetch=full),
    }


def in_process(service_id: str, body: dict[str, Any]) -> float:
    from cyclodose import workflows
    from cyclodose.interop import cds
    from cyclodose.interop.fhir import ReaderOptions
    from cyclodose.render.cards import CardLinks, DraftOrder, cards

    t0 = time.perf_counter()
    req = cds.HookRequest.model_validate(body)
    hook = req.hook
    drafts = cds.cycloserine_drafts(req, hook) if hook != "patient-view" else []  # type: ignore
    reading = cds.read_hook(req, {}, at=datetime.now(UTC), options=ReaderOptions())
    result = workflows.assess(reading.parse())
    cards(result, reading, links=CardLinks(patient_page="http://x/p", smart_launch="http://x/s"),
          source_url="http://x", draft=DraftOrder(resource=drafts[0]) if drafts else None)
    return time.perf_counter() - t0


def run(n: int = 200) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="cyclodose-cds-bench-"))
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(key.public_key()))
    (tmp / "jwks.json").write_text(json.dumps({"keys": [jwk | {"kid": "k1"}]}))
    (tmp / "clients.yaml").write_text(yaml.safe_dump([{"iss": ISS,
                                                        "jwks": str(tmp / "jwks.json")}]))
    port = _port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {"CYCLODOSE_DATA_DIR": str(tmp), "CYCLODOSE_PUBLIC_URL": base,
                        "CYCLODOSE_CDS_CLIENTS": str(tmp / "clients.yaml"),
                        "CYCLODOSE_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "cyclodose.service.asgi:create",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"], env=env)
    results: dict[str, float] = {}
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(300):
                try:
                    if client.get("/cds-services").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise RuntimeError("the server did not start")
            for service_id, body in _bodies().items():
                aud = f"{base}/cds-services/{service_id}"

                def call(sid: str = service_id, b: dict[str, Any] = body,
                         a: str = aud) -> float:
                    now = int(time.time())
                    token = jwt.encode({"iss": ISS, "aud": a, "iat": now, "exp": now + 60,
                                        "jti": str(uuid.uuid4())}, key, algorithm="ES384",
                                       headers={"kid": "k1"})
                    t0 = time.perf_counter()
                    r = client.post(f"/cds-services/{sid}", json=b,
                                    headers={"Authorization": f"Bearer {token}"})
                    dt = time.perf_counter() - t0
                    assert r.status_code == 200 and r.json()["cards"], r.text
                    return dt

                for _ in range(10):  # warm-up: imports, caches, first SQLite writes
                    call()
                    in_process(service_id, body)
                served = [call() for _ in range(n)]
                local = [in_process(service_id, body) for _ in range(n)]
                name = service_id.removeprefix("cyclodose-")
                results |= {f"{name}_p50_ms": 1000 * statistics.median(served),
                            f"{name}_p95_ms": 1000 * _pct(served, 0.95),
                            f"{name}_inprocess_p50_ms": 1000 * statistics.median(local),
                            f"{name}_inprocess_p95_ms": 1000 * _pct(local, 0.95)}
                results[f"{name}_ratio_p50"] = (results[f"{name}_p50_ms"]
                                                / results[f"{name}_inprocess_p50_ms"])
    finally:
        server.terminate()
        server.wait(timeout=10)
    return results


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    r = run(n)
    for hook in ("order-select", "patient-view"):
        print(f"{hook:13s} server p50 {r[f'{hook}_p50_ms']:7.1f} ms  p95 "
              f"{r[f'{hook}_p95_ms']:7.1f} ms | in-process p50 "
              f"{r[f'{hook}_inprocess_p50_ms']:7.1f} ms  p95 "
              f"{r[f'{hook}_inprocess_p95_ms']:7.1f} ms | ratio p50 "
              f"{r[f'{hook}_ratio_p50']:.2f}  (n={n}, loopback, JWT ES384 verified)")


if __name__ == "__main__":
    main()
