"""The whole path a signer walks, through a real SMTP server on loopback."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from petitionkit.outbox.worker import run_once

from .conftest import add_petition, make_app
from .smtp import RecordingSMTPServer, link_from


def test_sign_confirm_and_count(tmp_path: Path, migrated_sqlite: Path,
                                smtp_server: RecordingSMTPServer) -> None:
    app: Flask = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url)
    slug = add_petition(app)
    client = app.test_client()

    response = client.post(f"/p/{slug}/sign", data={"name": "Ayşe Yılmaz", "email": "ayse@example.org"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/p/{slug}/check-email")
    assert client.get(f"/api/v1/petitions/{slug}").json["count"] == 0

    with app.app_context():
        assert run_once(app) == 1
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "Ayşe Yılmaz <ayse@example.org>"
    assert "Free the poet" in message["Subject"]
    assert message["Message-ID"]
    confirm_path = link_from(message, "http://localhost/confirm/").removeprefix("http://localhost")

    page = client.get(confirm_path)
    assert page.status_code == 200
    assert b"Confirm my signature" in page.data
    assert client.get(f"/api/v1/petitions/{slug}").json["count"] == 0, "a GET must not confirm"

    confirmed = client.post(confirm_path)
    assert confirmed.status_code == 200
    app.extensions["petitionkit.summary_cache"].clear()
    assert client.get(f"/api/v1/petitions/{slug}").json["count"] == 1

    replay = client.post(confirm_path)
    assert replay.status_code == 200
    app.extensions["petitionkit.summary_cache"].clear()
    assert client.get(f"/api/v1/petitions/{slug}").json["count"] == 1, "replay counts once"
