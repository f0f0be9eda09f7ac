"""The app factory: `create_app(settings) -> FastAPI`.

Adding a router (pages, EHR, …): write `routes/<resource>.py` (or your own package) with an
`APIRouter`, protect its routes with the dependencies in `cyclodose.service.deps`
(`CurrentUser`, `Reader`, `Writer`, `Admin`, `require_role(...)`, `DbSession`, `Audit`,
`Clock`, `AppSettings`), and add ONE line in the block marked "routers" below:

    app.include_router(my_module.router)

Everything else (errors as ProblemDetails, security headers, body limit, request ids, JSON
logs, migrations on start) applies to the new routes without more work. Static files can be
mounted the same way: `app.mount("/static", StaticFiles(...), name="static")`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, Response

from cyclodose import __version__
from cyclodose.service import problems
from cyclodose.service.deps import docs_access
from cyclodose.service.middleware import SWAGGER_CDN, ServiceMiddleware
from cyclodose.service.settings import Settings
from cyclodose.service.storage import Database


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings | None = None, *,
               clock: Callable[[], datetime] = utc_now,
               database: Database | None = None) -> FastAPI:
    """Build the service. `clock` and `database` are injectable for tests and replays."""
    settings = settings or Settings()
    db = database or Database(settings.url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        db.migrate()  # jobs cut off by a stop are marked failed by `cyclodose serve`, once,
        yield  # before its workers start (a worker starting later must not fail a live job)
        if database is None:
            db.dispose()

    app = FastAPI(
        title="cyclodose", version=__version__, lifespan=lifespan,
        description="Decision support for cycloserine therapy in drug-resistant tuberculosis. "
        "Authenticate with `Authorization: Bearer <token>` (`cyclodose token create NAME`) or "
        "a session from POST /api/v1/auth/login.",
        docs_url=None, redoc_url=None, openapi_url=None,  # served below, behind a switch
    )
    app.state.settings = settings
    app.state.db = db
    app.state.clock = clock
    app.add_middleware(ServiceMiddleware, max_body_bytes=settings.max_body_bytes)
    problems.install(app)

    # ---- routers: one line each ----------------------------------------------------------
    from cyclodose.service.routes import assess, audit, auth, health, jobs, knowledge, patients

    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(assess.router)
    app.include_router(jobs.router)
    app.include_router(knowledge.router)
    app.include_router(patients.router)
    app.include_router(audit.router)
    from cyclodose.service import smart
    from cyclodose.service.routes import cds_hooks, fhir

    app.include_router(fhir.router)
    app.include_router(cds_hooks.router)
    app.include_router(smart.router)
    # ---------------------------------------------------------------------------------------

    _docs(app)
    return app


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cyclodose API</title>
<link rel="stylesheet" href="{cdn}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{cdn}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>
"""
# No inline script: the page's one line of set-up is served as a file, so the CSP holds.
_DOCS_INIT = 'SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});\n'


def _docs(app: FastAPI) -> None:
    guard = [Depends(docs_access)]

    @app.get("/openapi.json", include_in_schema=False, dependencies=guard)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=guard)
    def docs() -> HTMLResponse:
        return HTMLResponse(_DOCS_PAGE.format(cdn=SWAGGER_CDN))

    @app.get("/docs/init.js", include_in_schema=False, dependencies=guard)
    def docs_init() -> Response:
        return Response(_DOCS_INIT, media_type="text/javascript")


__all__ = ["create_app", "utc_now"]
