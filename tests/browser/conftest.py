"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, plus tiny local servers.

Playwright is only the driver here: it must never download a browser of its own (there is no
internet), so it launches the system /usr/bin/chromium through `executable_path`. Without
Chromium or Playwright the tests skip loudly, or fail when MYSFITS_LAB_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import functools
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WEB_DIR = REPO / "assets" / "web"


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test of this folder gets the `browser` marker, so `-m "not browser"` leaves it out.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def offsite_requests() -> list[str]:
    """URLs the page tried to fetch from anywhere but 127.0.0.1/localhost (they are blocked)."""
    return []


@pytest.fixture
def console_errors() -> list[str]:
    """Console errors and uncaught exceptions seen by the page."""
    return []


@pytest.fixture
def page(browser, offsite_requests: list[str], console_errors: list[str]) -> Iterator[object]:
    """A fresh page (own context, desktop viewport) that may only talk to local servers."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def only_local(route) -> None:
        # The site must work offline: anything from a CDN is recorded and refused.
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:", "about:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            offsite_requests.append(url)
            route.abort()

    context.route("**/*", only_local)
    new_page = context.new_page()
    new_page.on(
        "console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None
    )
    new_page.on("pageerror", lambda exc: console_errors.append(f"uncaught: {exc}"))
    try:
        yield new_page
    finally:
        context.close()


class LocalServer:
    """An HTTP server on a free 127.0.0.1 port, in a daemon thread; remembers request paths."""

    def __init__(self, handler_class: type, **handler_kwargs) -> None:
        self.requests: list[str] = []
        server = self

        class Recording(handler_class):
            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def log_request(self, *args) -> None:
                server.requests.append(self.path)

        factory = functools.partial(Recording, **handler_kwargs) if handler_kwargs else Recording
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), factory)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # A short poll interval keeps shutdown() (once per server per test) quick.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[..., LocalServer]]:
    """serve(handler_class, **handler_kwargs) -> LocalServer; all are stopped after the test."""
    servers: list[LocalServer] = []

    def start(handler_class: type, **handler_kwargs) -> LocalServer:
        srv = LocalServer(handler_class, **handler_kwargs)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.close()


def config_js(config: dict) -> str:
    """The config.js the project would upload, from a dict of MYSFITS_CONFIG keys."""
    full = {
        "stage": 1,
        "mysfitsApiEndpoint": None,
        "awsRegion": "us-east-1",
        "cognitoUserPoolId": None,
        "cognitoUserPoolClientId": None,
        "cognitoEndpoint": None,
        "streamingApiEndpoint": None,
        "questionsApiEndpoint": None,
        "recommendationsApiEndpoint": None,
    }
    full.update(config)
    return f"window.MYSFITS_CONFIG = {json.dumps(full, indent=2)};\n"


@pytest.fixture
def site(tmp_path: Path, serve) -> Callable[..., LocalServer]:
    """site(config, mysfits=None) -> LocalServer serving a temp copy of assets/web.

    Writes config.js from `config`, and mysfits.json ({"mysfits": [...]}) when `mysfits` is
    given — as the project does when it uploads the site.
    """

    def build(config: dict, mysfits: list[dict] | None = None) -> LocalServer:
        root = tmp_path / f"site{len(list(tmp_path.iterdir()))}"
        shutil.copytree(WEB_DIR, root)
        (root / "config.js").write_text(config_js(config), encoding="utf-8")
        if mysfits is not None:
            (root / "mysfits.json").write_text(json.dumps({"mysfits": mysfits}), encoding="utf-8")
        return serve(SimpleHTTPRequestHandler, directory=str(root))

    return build
