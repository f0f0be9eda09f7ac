"""A mock FHIR R4 server on 127.0.0.1 for the fetch, import and SMART tests.

It serves the resources it is given: reads (`GET /Patient/p1`) and searches by `patient`
and `code` (token lists `system|code`), two results per page so that paging is exercised.
With `token` set, every request must carry `Authorization: Bearer <token>`.

With `smart` set it is also a SMART App Launch 2.0 authorization server:
`/fhir/.well-known/smart-configuration`, `/auth/authorize` (checks the launch, `aud` and
a S256 code challenge, redirects with a code) and `/auth/token` (checks the PKCE verifier,
client and redirect URI, answers an access token with the `patient` launch context).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

PAGE = 2


@dataclass
class SmartConfig:
    launches: dict[str, str]  # launch id -> patient id
    client_id: str = "cyclodose"
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)


@dataclass
class MockFhir:
    resources: list[dict[str, Any]]
    token: str | None = None
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, auth)
    server: ThreadingHTTPServer | None = None
    smart: SmartConfig | None = None

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

        def _redirect(self, url: str) -> None:
            self.send_response(302)
            self.send_header("Location", url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _authorize(self, q: dict[str, str]) -> None:
            smart = mock.smart
            assert smart is not None
            ok = (q.get("response_type") == "code" and q.get("client_id") == smart.client_id
                  and q.get("launch") in smart.launches and q.get("aud") == mock.base
                  and q.get("code_challenge_method") == "S256" and q.get("code_challenge")
                  and "launch" in q.get("scope", "").split())
            if not ok:
                self._send(400, {"error": "invalid_request", "got": q})
                return
            code = secrets.token_urlsafe(16)
            smart.codes[code] = {"challenge": q["code_challenge"],
                                 "redirect_uri": q["redirect_uri"],
                                 "patient": smart.launches[q["launch"]]}
            self._redirect(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}")

        def do_POST(self) -> None:  # noqa: N802
            smart = mock.smart
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if smart is None or urlparse(self.path).path != "/auth/token":
                self._send(404, {})
                return
            smart.token_requests.append(form)
            issued = smart.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(
                hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if (issued is None or form.get("grant_type") != "authorization_code"
                    or form.get("client_id") != smart.client_id
                    or form.get("redirect_uri") != issued["redirect_uri"]
                    or challenge != issued["challenge"]):
                self._send(400, {"error": "invalid_grant"})
                return
            self._send(200, {"access_token": mock.token, "token_type": "Bearer",
                             "expires_in": 3600, "scope": "launch patient/*.read",
                             "patient": issued["patient"]})

        def do_GET(self) -> None:  # noqa: N802
            auth = self.headers.get("Authorization")
            url = urlparse(self.path)
            if mock.smart is not None and url.path == "/fhir/.well-known/smart-configuration":
                root = mock.base.removesuffix("/fhir")
                self._send(200, {
                    "authorization_endpoint": f"{root}/auth/authorize",
                    "token_endpoint": f"{root}/auth/token",
                    "capabilities": ["launch-ehr", "client-public", "context-ehr-patient"],
                    "code_challenge_methods_supported": ["S256"]})
                return
            if mock.smart is not None and url.path == "/auth/authorize":
                self._authorize({k: v[0] for k, v in parse_qs(url.query).items()})
                return
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
