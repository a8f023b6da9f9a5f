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


@pytest.fixture
def engine(tmp_path: Path, migrated_sqlite: Path) -> Iterator[tuple[Flask, str]]:
    port = free_port()
    base = f"http://localhost:{port}"
    app = make_app(tmp_path, migrated_sqlite, PUBLIC_URL=base)
    add_petition(app)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, base
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


def organization_page(engine_url: str) -> bytes:
    """A campaign group's page on another site: the widget's iframe, and a forged form."""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Campaign</title></head>
<body>
<iframe id="widget" src="{engine_url}/embed/free-the-poet" width="500" height="700"></iframe>
<form id="forged" method="post" action="{engine_url}/p/free-the-poet/sign">
  <input name="name" value="Forged Name"><input name="email" value="forged@example.org">
  <button id="forge" type="submit">Win a prize</button>
</form>
</body></html>""".encode()


@pytest.fixture
def third_party_site(engine: tuple[Flask, str]) -> Iterator[str]:
    page = organization_page(engine[1])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def signed_names(app: Flask) -> list[str]:
    with app.app_context():
        names = list(db.session.scalars(select(Signature.name)))
        db.session.remove()
    return names


def test_widget_signs_inside_a_third_party_iframe_and_forgery_fails(
    engine: tuple[Flask, str], third_party_site: str
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
            page.goto(third_party_site)
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
