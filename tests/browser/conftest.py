"""Real Chromium (Debian's package, driven by Playwright) against the engine on a real HTTP server,
with the organization's page served from a different site: the engine on 127.0.0.1, the host
page on localhost."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from flask import Flask
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from petitionkit.extensions import db
from petitionkit.outbox.worker import run_once

from ..conftest import _server_missing, add_petition, free_port, make_app
from ..smtp import RecordingSMTPServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class Engine:
    app: Flask
    url: str
    smtp: RecordingSMTPServer

    def deliver_mail(self) -> int:
        """What the outbox worker does in production, run here at the moment the test chooses."""
        with self.app.app_context():
            sent = run_once(self.app)
            db.session.remove()
        return sent

    def add_petition(self, **values: Any) -> str:
        slug = add_petition(self.app, **values)
        self.app.extensions["petitionkit.summary_cache"].clear()
        return slug


@dataclass
class HostSite:
    """The organization's website: pages written by each test, on a site other than the engine."""

    port: int
    pages: dict[str, str] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.port}"

    def page(self, path: str, body: str, headers: dict[str, str] | None = None) -> str:
        self.pages[path] = body
        self.headers[path] = headers or {}
        return self.origin + path

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        body = self.pages.get(request.path)
        if body is None:
            return Response("not found", status=404)(environ, start_response)
        response = Response(body, mimetype="text/html")
        response.headers.update(self.headers.get(request.path, {}))
        return response(environ, start_response)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        _server_missing("Chromium at /usr/bin/chromium", FileNotFoundError(CHROMIUM))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(playwright: Any) -> Iterator[Any]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def chromium_no_third_party_cookies(playwright: Any) -> Iterator[Any]:
    """Chromium as it runs with third-party cookies blocked (Chrome's own testing switch)."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--test-third-party-cookie-phaseout"],
    )
    yield browser
    browser.close()


@pytest.fixture
def host_site() -> Iterator[HostSite]:
    site = HostSite(port=free_port())
    server = make_server("127.0.0.1", site.port, site, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site
    server.shutdown()
    thread.join(timeout=5)


@contextmanager
def serve_engine(tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer,
                 host: str = "127.0.0.1", **overrides: Any) -> Iterator[Engine]:
    """The engine on a loopback port of its own, with ``overrides`` of its configuration,
    known by the name ``host`` (``localhost`` where the browser must see a secure context)."""
    port = free_port()
    url = f"http://{host}:{port}"
    config: dict[str, Any] = {
        "MAIL_URL": smtp_server.url, "PUBLIC_URL": url, "WIDGET_POLL_SECONDS": 1,
        "COUNT_CACHE_SECONDS": 0, "API_MAX_AGE": 0, **overrides,
    }
    app = make_app(tmp_path, migrated_sqlite, **config)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Engine(app=app, url=url, smtp=smtp_server)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def engine(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> Iterator[Engine]:
    with serve_engine(tmp_path, migrated_sqlite, smtp_server) as served:
        yield served


def snippet(engine: Engine, slug: str, **attributes: str) -> str:
    extra = "".join(f' data-{name}="{value}"' for name, value in attributes.items())
    return f'<script async src="{engine.url}/widget.js" data-petition="{slug}"{extra}></script>'


def host_page(body: str, lang: str = "en", title: str = "A campaign page") -> str:
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title></head><body><main><h1>{title}</h1>{body}</main></body></html>")


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(frame: Any) -> list[dict[str, Any]]:
    """The serious and critical accessibility violations axe-core finds in ``frame``."""
    frame.evaluate(AXE_SCRIPT)
    result = frame.evaluate(
        "async () => JSON.stringify((await axe.run(document, {resultTypes: ['violations']}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.html)})))"
    )
    return [v for v in json.loads(result) if v["impact"] in ("serious", "critical")]
