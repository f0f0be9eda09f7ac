"""Pure ASGI middleware: request ids and JSON access logs, body size limit, security headers."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cyclodose.service.problems import problem

access_log = logging.getLogger("cyclodose.access")

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
SWAGGER_CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"
# /docs loads Swagger UI's script and style from its CDN (still no inline script).
DOCS_CSP = (b"default-src 'self'; script-src 'self' https://cdn.jsdelivr.net; "
            b"style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data:; "
            b"object-src 'none'; base-uri 'self'; frame-ancestors 'none'")


class JsonFormatter(logging.Formatter):
    """One JSON object a line. Only the fields named here are written: never a body."""

    FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user")

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                               "level": record.levelname, "logger": record.name,
                               "message": record.getMessage()}
        for key in self.FIELDS:
            if hasattr(record, key):
                doc[key] = getattr(record, key)
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc)


class ServiceMiddleware:
    """Gives each request an id, refuses bodies over the limit with 413, adds the security
    headers to every response and logs one line per request (route template, not the URL:
    a query may hold an MRN or a name)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500}
        is_docs = scope["path"] in ("/docs", "/redoc")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                for name, value in SECURITY_HEADERS:
                    if name == b"content-security-policy" and is_docs:
                        value = DOCS_CSP
                    headers.append((name, value))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await problem(413, f"the body is larger than {self.max_body} bytes")(
                scope, receive, send_with_headers)
            self._log(scope, status["code"], started)
            return

        received = {"n": 0}

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received["n"] += len(message.get("body", b""))
                if received["n"] > self.max_body:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _TooLarge:
            await problem(413, f"the body is larger than {self.max_body} bytes")(
                scope, receive, send_with_headers)
        self._log(scope, status["code"], started)

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "(unmatched)"
        access_log.info("request", extra={
            "request_id": scope.get("request_id"), "method": scope.get("method"), "path": path,
            "status": status, "duration_ms": round(1000 * (time.perf_counter() - started), 1),
            "user": scope.get("cyclodose_user")})


class _TooLarge(HTTPException):
    """Raised from receive(): FastAPI re-raises HTTP exceptions from body reading as they are,
    so the one error handler answers 413."""

    def __init__(self) -> None:
        super().__init__(413, "the body is larger than the configured limit")


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    for name in ("cyclodose", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True  # ours carries the request id
