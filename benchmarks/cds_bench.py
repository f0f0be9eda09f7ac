"""Benchmark: CDS Hooks order-select and patient-view with full prefetch, on loopback,
without and with measured levels (issue #13: "a CDS Hooks call with levels fits in 100 ms").

A real server (uvicorn, one worker, SQLite, JWT verification on with an ES384 key made
here) answers signed hook calls; latency is the round trip measured by the client on
127.0.0.1. Baseline, measured in the same run: the same request handled in-process with no
HTTP, JWT or database (read the prefetch, assess, render the cards). Reported: p50 and p95
of each, and their ratio; and, as a shared machine inflates wall time, CPU time: the
server process's per call (its user + system time over the calls, from /proc, Linux) and
the in-process handling's (median). With levels, the prefetch adds two cycloserine serum
levels (FHIR Observations, 2 h and 6 h after a dose of the active 250 mg twice-daily order,
whose dose history the TDM reads), so the call runs the Bayesian TDM estimate; its result
card is checked to be there.

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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "service"))

from cds_helpers import draft_order, hook_request, prefetch, searchset  # noqa: E402

from interop.fhir_builders import dosage, mg, obs, request  # noqa: E402

ISS = "https://ehr.bench"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


# Two levels drawn yesterday 2 h and 6 h after the 08:00 dose of an order started a week
# before (dates from today, so that the dose history the reader builds up to now keeps its
# length: about 17 doses), at about what 250 mg twice daily gives a 60 kg patient: the
# usual TDM consult, no hold, no flag.
LEVELS_MG_L = (("lv1", 24.5, "T10:00:00Z"), ("lv2", 16.1, "T14:00:00Z"))


def _bodies() -> dict[str, tuple[str, dict[str, Any]]]:
    """Label: (service id, request body)."""
    on_cs = request("mr1", [dosage(mg(250), start="2026-11-20T08:00:00Z")])
    height = searchset(
        {"resourceType": "Observation", "id": "ht1", "status": "final",
         "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
         "effectiveDateTime": "2026-01-01",
         "valueQuantity": {"value": 170, "system": "http://unitsofmeasure.org", "code": "cm"}})
    full = prefetch(medications=searchset(on_cs), height=height)
    today = datetime.now(UTC).date()
    on_cs_week = request("mr1", [dosage(mg(250),
                                        start=f"{today - timedelta(days=8)}T08:00:00Z")])
    levels = searchset(*(obs(oid, None, value, "mg/L", f"{today - timedelta(days=1)}{at}",
                             text="cycloserine level") for oid, value, at in LEVELS_MG_L))
    with_levels = prefetch(medications=searchset(on_cs_week), height=height, levels=levels)
    return {
        "order-select": ("cyclodose-order-select", hook_request(
            "order-select", draft_order(250, 2), prefetch=dict(full, medications=searchset()))),
        "patient-view": ("cyclodose-patient-view", hook_request("patient-view", prefetch=full)),
        # with levels the active order is the dose history the TDM fits
        "order-select+levels": ("cyclodose-order-select", hook_request(
            "order-select", draft_order(250, 2), prefetch=with_levels)),
        "patient-view+levels": ("cyclodose-patient-view", hook_request(
            "patient-view", prefetch=with_levels)),
    }


def _has_tdm_card(cards: list[dict[str, Any]]) -> bool:
    return any(c["source"]["topic"]["code"] == "tdm" for c in cards)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


CPU_IN_PROCESS: list[float] = []  # CPU seconds of each `in_process` call


def in_process(service_id: str, body: dict[str, Any], tdm: bool | None = None) -> float:
    """Seconds to handle the request without HTTP, JWT or database (its CPU seconds are
    appended to CPU_IN_PROCESS); `tdm`: check (outside the timing) that the cards include
    the TDM result card or do not."""
    from cyclodose import workflows
    from cyclodose.interop import cds
    from cyclodose.interop.fhir import ReaderOptions
    from cyclodose.render.cards import CardLinks, DraftOrder, cards

    t0, c0 = time.perf_counter(), time.process_time()
    req = cds.HookRequest.model_validate(body)
    hook = req.hook
    drafts = cds.cycloserine_drafts(req, hook) if hook != "patient-view" else []  # type: ignore
    reading = cds.read_hook(req, {}, at=datetime.now(UTC), options=ReaderOptions())
    result = workflows.assess(reading.parse())
    out = cards(result, reading,
                links=CardLinks(patient_page="http://x/p", smart_launch="http://x/s"),
                source_url="http://x", draft=DraftOrder(resource=drafts[0]) if drafts else None)
    seconds = time.perf_counter() - t0
    CPU_IN_PROCESS.append(time.process_time() - c0)
    assert tdm is None or _has_tdm_card(out) == tdm, [c["summary"] for c in out]
    return seconds


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
            for name, (service_id, body) in _bodies().items():
                aud = f"{base}/cds-services/{service_id}"
                tdm = name.endswith("+levels")

                def call(sid: str = service_id, b: dict[str, Any] = body,
                         a: str = aud, tdm: bool = tdm) -> float:
                    now = int(time.time())
                    token = jwt.encode({"iss": ISS, "aud": a, "iat": now, "exp": now + 60,
                                        "jti": str(uuid.uuid4())}, key, algorithm="ES384",
                                       headers={"kid": "k1"})
                    t0 = time.perf_counter()
                    r = client.post(f"/cds-services/{sid}", json=b,
                                    headers={"Authorization": f"Bearer {token}"})
                    dt = time.perf_counter() - t0
                    assert r.status_code == 200 and r.json()["cards"], r.text
                    # with levels the call must have run the TDM (its card is there)
                    assert _has_tdm_card(r.json()["cards"]) == tdm, r.text
                    return dt

                for _ in range(10):  # warm-up: imports, caches, first SQLite writes
                    call()
                    in_process(service_id, body, tdm)
                cpu0 = _cpu_seconds(server.pid)
                served = [call() for _ in range(n)]
                server_cpu = (_cpu_seconds(server.pid) - cpu0) / n
                CPU_IN_PROCESS.clear()
                local = [in_process(service_id, body) for _ in range(n)]
                results |= {f"{name}_p50_ms": 1000 * statistics.median(served),
                            f"{name}_p95_ms": 1000 * _pct(served, 0.95),
                            f"{name}_inprocess_p50_ms": 1000 * statistics.median(local),
                            f"{name}_inprocess_p95_ms": 1000 * _pct(local, 0.95),
                            f"{name}_server_cpu_ms": 1000 * server_cpu,
                            f"{name}_inprocess_cpu_p50_ms": 1000 * statistics.median(
                                CPU_IN_PROCESS)}
                results[f"{name}_ratio_p50"] = (results[f"{name}_p50_ms"]
                                                / results[f"{name}_inprocess_p50_ms"])
    finally:
        server.terminate()
        server.wait(timeout=10)
    return results


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    r = run(n)
    for hook in ("order-select", "patient-view", "order-select+levels", "patient-view+levels"):
        print(f"{hook:19s} server p50 {r[f'{hook}_p50_ms']:7.1f} ms  p95 "
              f"{r[f'{hook}_p95_ms']:7.1f} ms | in-process p50 "
              f"{r[f'{hook}_inprocess_p50_ms']:7.1f} ms  p95 "
              f"{r[f'{hook}_inprocess_p95_ms']:7.1f} ms | ratio p50 "
              f"{r[f'{hook}_ratio_p50']:.2f}  (n={n}, loopback, JWT ES384 verified)")
        print(f"{'':19s} CPU: server {r[f'{hook}_server_cpu_ms']:7.1f} ms per call (mean) | "
              f"in-process p50 {r[f'{hook}_inprocess_cpu_p50_ms']:7.1f} ms")


if __name__ == "__main__":
    main()
