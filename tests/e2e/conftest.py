"""A live server in a thread and Debian's headless Chromium driven by Playwright.

Playwright's own browser download is not used: the tests launch /usr/bin/chromium
(``LABELER_TEST_CHROMIUM`` overrides the path).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from labeler.extensions import db
from tests.conftest import _truncate_pg, make_app

CHROMIUM = os.environ.get("LABELER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LiveServer:
    app: Any
    url: str


@pytest.fixture
def live_server(pg_database: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The app on a free port, served by werkzeug threads, against PostgreSQL."""
    _truncate_pg(pg_database)
    # No worker runs here: tasks go to an in-memory broker and tests play the worker.
    app = make_app(pg_database, tmp_path, LABELER_BROKER_URL="memory://")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context (no cookies) per test.

    JavaScript errors and any request that leaves the live server fail the test.
    """
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1100, "height": 800}
    )
    context.set_default_timeout(10_000)
    outside: list[str] = []

    def _guard(route: Any) -> None:
        if route.request.url.startswith(live_server.url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", _guard)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not outside, f"the page fetched from outside: {outside}"
