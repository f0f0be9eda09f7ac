"""Benchmark: the web service on loopback against in-process `assess` (the baseline).

A real `cyclodose serve` (SQLite in a temp folder, one worker) answers POST /api/v1/assess
from 1, 10 and 50 concurrent clients, each sending ASSESSMENTS requests that alternate a case
without levels and a case with two levels (Bayesian TDM). Reported per level of concurrency:
throughput, p50 and p95 latency, errors; and the ratio of the service's throughput to the
in-process `cyclodose.workflows.assess` rate of the same cases measured in the same run.

Run: .venv/bin/python -m benchmarks.service_bench [ASSESSMENTS_PER_CLIENT] [CONCURRENCY,...]
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

NO_LEVELS: dict[str, Any] = {
    "patient": {"age_years": 34, "sex": "male", "weight_kg": 62, "height_cm": 172,
                "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}},
    "comedications": ["isoniazid"],
}
TWO_LEVELS: dict[str, Any] = {
    **NO_LEVELS,
    "regimen": {"amount_mg": 250, "interval_h": 12, "start": "2026-11-01T08:00:00", "count": 14},
    "levels": [{"time": "2026-11-07T10:00:00", "value": 24.0, "unit": "mg/L"},
               {"time": "2026-11-07T18:00:00", "value": 12.5, "unit": "mg/L"}],
}
CASES = [NO_LEVELS, TWO_LEVELS]


def in_process_rate(n: int) -> float:
    """Assessments per second, in this process, alternating the two cases (parse + assess)."""
    import cyclodose

    for doc in CASES:  # warm caches (models, knowledge) as the server's first requests do
        cyclodose.workflows.assess(cyclodose.parse_case(doc))
    t0 = time.perf_counter()
    for i in range(n):
        cyclodose.workflows.assess(cyclodose.parse_case(CASES[i % 2]))
    return n / (time.perf_counter() - t0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(data: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    from cyclodose.service import auth
    from cyclodose.service.storage import Database

    db = Database(f"sqlite:///{data / 'cyclodose.db'}")
    db.migrate()
    with db.session() as s:
        user = auth.create_user(s, "bench", "pharmacist", "benchmark password",
                                datetime.now(UTC))
        token, _ = auth.create_token(s, user, datetime.now(UTC), None)
    db.dispose()
    port = _free_port()
    env = {**os.environ, "CYCLODOSE_DATA_DIR": str(data), "CYCLODOSE_PORT": str(port),
           "CYCLODOSE_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-c", "from cyclodose.cli import main; main()",
                             "serve"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return proc, url, token
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


async def _client(c: httpx.AsyncClient, n: int, offset: int, latencies: list[float],
                  errors: list[int]) -> None:
    for i in range(n):
        t0 = time.perf_counter()
        try:
            r = await c.post("/api/v1/assess", json=CASES[(i + offset) % 2])
            ok = r.status_code == 200
        except httpx.HTTPError:
            ok = False
        latencies.append(time.perf_counter() - t0)
        if not ok:
            errors.append(1)


async def _level(url: str, token: str, clients: int, n: int) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[int] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits,
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        t0 = time.perf_counter()
        await asyncio.gather(*[_client(c, n, k, latencies, errors) for k in range(clients)])
        wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=20)
    return {"clients": clients, "requests": len(latencies), "throughput_per_s": len(latencies)
            / wall, "p50_ms": 1000 * statistics.median(latencies), "p95_ms": 1000 * q[18],
            "errors": len(errors)}


def run(per_client: int = 20, levels: tuple[int, ...] = (1, 10, 50)) -> list[dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="cyclodose-bench-") as tmp:
        proc, url, token = _start_server(Path(tmp))
        try:
            asyncio.run(_level(url, token, 1, 2))  # warm-up (imports, caches)
            rows = [asyncio.run(_level(url, token, k, per_client)) for k in levels]
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
    baseline = in_process_rate(max(20, per_client))
    print(f"baseline: in-process parse_case + assess, alternating both cases: "
          f"{baseline:.1f} assessments/s (one core)")
    print(f"{'clients':>7} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'errors':>6} {'service/in-process':>19}")
    for r in rows:
        r["ratio"] = r["throughput_per_s"] / baseline
        print(f"{r['clients']:>7} {r['requests']:>8} {r['throughput_per_s']:>8.1f} "
              f"{r['p50_ms']:>8.0f} {r['p95_ms']:>8.0f} {r['errors']:>6} {r['ratio']:>19.2f}")
    return rows


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    lv = tuple(int(x) for x in sys.argv[2].split(",")) if len(sys.argv) > 2 else (1, 10, 50)
    rows = run(n, lv)
    sys.exit(1 if any(r["errors"] for r in rows) else 0)
