"""A mock FHIR R4 server on 127.0.0.1 for the fetch, import and SMART tests.

It serves the resources it is given: reads (`GET /Patient/p1`) and searches by `patient`
and `code` (token lists `system|code`), two results per page so that paging is exercised.
With `token` set, every request must carry `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

PAGE = 2


@dataclass
class MockFhir:
    resources: list[dict[str, Any]]
    token: str | None = None
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, auth)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/fhir"

    def find(self, rtype: str, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        out = [r for r in self.resources if r["resourceType"] == rtype]
        if "patient" in query:
            pid = query["patient"][0]
            out = [r for r in out if r.get("subject", {}).get("reference") == f"Patient/{pid}"]
        if "code" in query:
            wanted = set(query["code"][0].split(","))
            out = [r for r in out if any(f"{c.get('system')}|{c.get('code')}" in wanted
                                         for c in r.get("code", {}).get("coding", []))]
        if "code:text" in query:
            text = query["code:text"][0].casefold()
            out = [r for r in out if text in json.dumps(r.get("code", {})).casefold()]
        return out


def start(mock: MockFhir) -> MockFhir:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            auth = self.headers.get("Authorization")
            mock.requests.append((self.path, auth))
            if mock.token and auth != f"Bearer {mock.token}":
                self._send(401, {"resourceType": "OperationOutcome"})
                return
            url = urlparse(self.path)
            parts = url.path.removeprefix("/fhir/").strip("/").split("/")
            if len(parts) == 2:
                hit = [r for r in mock.resources
                       if r["resourceType"] == parts[0] and r.get("id") == parts[1]]
                self._send(200, hit[0]) if hit else self._send(404, {})
                return
            query = parse_qs(url.query)
            offset = int(query.pop("_offset", ["0"])[0])
            found = mock.find(parts[0], query)
            page = found[offset:offset + PAGE]
            bundle: dict[str, Any] = {
                "resourceType": "Bundle", "type": "searchset", "total": len(found),
                "entry": [{"resource": r, "search": {"mode": "match"}} for r in page],
                "link": [{"relation": "self", "url": mock.base + self.path[5:]}]}
            if offset + PAGE < len(found):
                q = {k: v[0] for k, v in query.items()} | {"_offset": offset + PAGE}
                bundle["link"].append({"relation": "next",
                                       "url": f"{mock.base}/{parts[0]}?{urlencode(q)}"})
            self._send(200, bundle)

    mock.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=mock.server.serve_forever, daemon=True).start()
    return mock


def stop(mock: MockFhir) -> None:
    if mock.server is not None:
        mock.server.shutdown()
        mock.server.server_close()
