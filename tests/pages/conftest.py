"""Browser test harness: the real app under uvicorn on a free 127.0.0.1 port with a fresh
data folder, Debian's chromium driven by Playwright, every request to another host blocked
and recorded, CSP violations and page errors recorded, axe-core injected on demand.

A missing chromium or Playwright is a failure, not a skip.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from pages_harness import ADMIN, CLINICIAN, DESKTOP, login
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from cyclodose.service import auth
from cyclodose.service.app import create_app
from cyclodose.service.settings import Settings
from cyclodose.service.storage import Database
from service_fixtures import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-gpu", "--disable-dev-shm-usage"]


@pytest.fixture
def signed_in(service):  # type: ignore[no-untyped-def]
    """The in-process service (TestClient) with a prescriber signed in through /login."""
    service.user("doc", "prescriber")
    r = service.client.post("/login", data={"name": "doc", "password": PASSWORD, "next": "/"})
    assert r.status_code == 200  # followed the redirect home
    return service


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.xdist_group("browser"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    host: str
    data_dir: Path
    db: Database


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("pages-data")
    settings = Settings(data_dir=data, failure_delay_s=0.0)
    db = Database(settings.url)
    db.migrate()
    now = datetime.now(UTC)
    with db.new_session() as s:
        auth.create_user(s, CLINICIAN[0], "prescriber", CLINICIAN[1], now)
        auth.create_user(s, ADMIN[0], "admin", ADMIN[1], now, must_change_password=True)
        s.commit()
    port = _free_port()
    config = uvicorn.Config(create_app(settings, database=db), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start under uvicorn")
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", f"127.0.0.1:{port}", data, db)
    srv.should_exit = True
    thread.join(timeout=10)
    db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs the Debian package chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Watch:
    """What a page tried that it must not: another host, a CSP violation, a script error."""

    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    plotly_styles_blocked: int = 0

    def clean(self) -> None:
        assert self.foreign == [], f"requests to another host: {self.foreign}"
        assert self.errors == [], f"page errors: {self.errors}"


def new_context(browser: Browser, server: Server, watch: Watch, **options: Any
                ) -> BrowserContext:
    ctx = browser.new_context(base_url=server.url, locale="en-GB", timezone_id="Europe/London",
                              viewport=DESKTOP, accept_downloads=True, **options)

    def gate(route: Route) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in ("data", "blob") or parts.netloc == server.host:
            route.continue_()
        else:
            watch.foreign.append(route.request.url)
            route.abort("blockedbyclient")

    ctx.route("**/*", gate)
    return ctx


def watch_page(page: Page, watch: Watch) -> Page:
    page.on("pageerror", lambda exc: watch.errors.append(f"script error: {exc}"))

    def console(msg: Any) -> None:
        text, where = msg.text, msg.location.get("url", "")
        if msg.type != "error" or "status of 4" in text or "status of 5" in text:
            return
        # plotly.js injects its own stylesheet when it loads; the CSP (style-src 'self')
        # blocks it and the same rules come from static/vendor/plotly/plotly-rules.css.
        # Any other CSP violation (an inline script above all) is a failure.
        if "style-src" in text and where.endswith("/static/vendor/plotly/plotly.min.js"):
            watch.plotly_styles_blocked += 1
            return
        watch.errors.append(f"console: {text} ({where})")

    page.on("console", console)
    return page


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def context(browser: Browser, server: Server, watch: Watch) -> Iterator[BrowserContext]:
    ctx = new_context(browser, server, watch)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, watch: Watch) -> Iterator[Page]:
    p = watch_page(context.new_page(), watch)
    yield p
    watch.clean()


@pytest.fixture
def clinician(page: Page) -> Page:
    login(page, *CLINICIAN)
    return page


