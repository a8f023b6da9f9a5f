"""In a real browser: the widget's form signs from inside a third-party page's iframe with
third-party cookies blocked, while a forged form on that same page is refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from petitionkit.extensions import db
from petitionkit.signatures.models import Signature

from .conftest import add_petition, free_port, make_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    # Block third-party cookies the way browsers are heading: the iframe must not need any.
    "--test-third-party-cookie-phaseout",
]


class OrganizationSite:
    """A campaign group's site on another origin, serving one page that embeds the widget."""

    def __init__(self) -> None:
        self.page = b""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(site.page)))
                self.end_headers()
                self.wfile.write(site.page)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def organization_site() -> Iterator[OrganizationSite]:
    site = OrganizationSite()
    yield site
    site.stop()


@pytest.fixture
def engine(tmp_path: Path, migrated_sqlite: Path,
           organization_site: OrganizationSite) -> Iterator[tuple[Flask, str]]:
    port = free_port()
    base = f"http://localhost:{port}"
    app = make_app(tmp_path, migrated_sqlite, PUBLIC_URL=base)
    add_petition(app, allowed_origins=[organization_site.origin])
    organization_site.page = organization_page(base)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, base
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


def organization_page(engine_url: str) -> bytes:
    """The organization's page: the widget's iframe, and a forged form beside it."""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Campaign</title></head>
<body>
<iframe id="widget" src="{engine_url}/embed/free-the-poet" width="500" height="700"></iframe>
<form id="forged" method="post" action="{engine_url}/p/free-the-poet/sign">
  <input name="name" value="Forged Name"><input name="email" value="forged@example.org">
  <button id="forge" type="submit">Win a prize</button>
</form>
</body></html>""".encode()


def signed_names(app: Flask) -> list[str]:
    with app.app_context():
        names = list(db.session.scalars(select(Signature.name)))
        db.session.remove()
    return names


def test_widget_signs_inside_a_third_party_iframe_and_forgery_fails(
    engine: tuple[Flask, str], organization_site: OrganizationSite
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    app, _ = engine
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1200})
            page = context.new_page()
            page.goto(organization_site.origin + "/")
            widget = page.frame_locator("#widget")
            # A mistake first: the answer (field errors) must show inside the iframe too.
            widget.locator("#name").fill("Ilse Marrowby")
            widget.locator("#email").fill("not-an-address")
            widget.locator("button.sign-button").click()
            widget.locator("#email-error").wait_for(timeout=10_000)
            assert "does not look like an email address" in widget.locator(
                "#email-error"
            ).inner_text()
            assert signed_names(app) == []
            widget.locator("#email").fill("ilse@example.org")
            widget.locator("button.sign-button").click()
            widget.locator("#status-heading").wait_for(timeout=10_000)
            assert "Check your email" in widget.locator("#status-heading").inner_text()
            assert signed_names(app) == ["Ilse Marrowby"]

            page.locator("#forge").click()
            page.wait_for_url("**/p/free-the-poet/sign", timeout=10_000)
            assert "This form was sent from another website" in page.content()
            assert signed_names(app) == ["Ilse Marrowby"]
            assert context.cookies() == [], "signing needs no cookie at all"
        finally:
            browser.close()
