"""The whole path a signer walks, through a real SMTP server on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from petitionkit.extensions import db
from petitionkit.outbox.models import OutboxJob
from petitionkit.outbox.worker import run_once
from petitionkit.signatures.models import Signature

from .conftest import add_petition, make_app, migrate
from .smtp import RecordingSMTPServer, link_from


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_sign_confirm_and_count(request: pytest.FixtureRequest, tmp_path: Path,
                                migrated_sqlite: Path, smtp_server: RecordingSMTPServer,
                                database: str) -> None:
    overrides = {"MAIL_URL": smtp_server.url}
    if database == "postgresql":
        # Signing writes the signature and its job in one statement there.
        overrides["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app: Flask = make_app(tmp_path, migrated_sqlite, **overrides)
    if database == "postgresql":
        migrate(app)
    slug = add_petition(app)
    client = app.test_client()

    response = client.post(f"/p/{slug}/sign",
                           data={"name": "Ayşe Yılmaz", "email": "ayse@example.org"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/p/{slug}/check-email")
    assert client.get(f"/api/v1/petitions/{slug}").json["count"] == 0

    with app.app_context():
        [signature] = db.session.scalars(select(Signature)).all()
        [job] = db.session.scalars(select(OutboxJob)).all()
        assert (job.kind, job.payload, job.status, job.attempts) == (
            "email.confirm", {"signature_id": signature.id}, "pending", 0)
        assert job.message_id and job.message_id.startswith("<")
        assert job.available_at is not None and job.created_at is not None
        message_id = job.message_id
        db.session.remove()
        assert run_once(app) == 1
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "Ayşe Yılmaz <ayse@example.org>"
    assert "Free the poet" in message["Subject"]
    assert message["Message-ID"] == message_id
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
    if database == "postgresql":
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_json_signing_stores_every_field_and_mails_the_signer(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url)
    slug = add_petition(app, asks_country=True, asks_postal_code=True,
                        consent_text="Send me news of this campaign.", consent_version="2026-03")
    client = app.test_client()
    name = "ئابدۇقادىر, <b>Q</b>"
    response = client.post(f"/api/v1/petitions/{slug}/signatures", json={
        "name": name, "email": "Qasim.Example@Example.org", "country": "de",
        "postal_code": " 10115 ", "consent_updates": True, "show_name": True,
        "source": "newsletter",
    }, headers={"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 202
    assert response.json["status"] == "pending_confirmation"

    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        assert (signature.name, signature.email, signature.country, signature.postal_code) == (
            name, "Qasim.Example@example.org", "DE", "10115"
        )
        assert signature.consent_updates and signature.consent_version == "2026-03"
        assert signature.show_name
        assert signature.source == "newsletter"
        assert signature.status == "pending"
        assert run_once(app) == 1
    [message] = smtp_server.wait_for(1)
    [recipient] = message["To"].addresses
    assert (recipient.display_name, recipient.addr_spec) == (name, "Qasim.Example@example.org")
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    html = str(html_part.get_content())
    assert "&lt;b&gt;Q&lt;/b&gt;" in html and "<b>Q</b>" not in html


def test_without_consent_no_consent_version_is_stored(client: FlaskClient, app: Flask,
                                                       petition: str) -> None:
    response = client.post(f"/p/{petition}/sign",
                           data={"name": "Lio Brannock", "email": "lio@example.org"})
    assert response.status_code == 303
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        assert (signature.consent_updates, signature.consent_version) == (False, None)
        assert signature.show_name is False


def test_embedded_form_lands_on_the_embedded_check_email_page(client: FlaskClient,
                                                              petition: str) -> None:
    response = client.post(f"/p/{petition}/sign", data={
        "name": "Lio Brannock", "email": "lio@example.org", "embed": "1", "lang": "fr",
    }, headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin",
                "Referer": f"http://localhost/embed/{petition}"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/embed/{petition}/check-email?lang=fr"


@pytest.mark.parametrize(
    "closing",
    [{"status": "closed"}, {"closes_at": datetime.now(UTC) - timedelta(seconds=1)}],
    ids=["status-closed", "past-closes-at"],
)
def test_closed_petitions_answer_409(app: Flask, client: FlaskClient,
                                     closing: dict[str, object]) -> None:
    slug = add_petition(app, **closing)
    signer = {"name": "Lio Brannock", "email": "lio@example.org"}
    as_form = client.post(f"/p/{slug}/sign", data=signer)
    assert as_form.status_code == 409
    assert "This petition is closed and no longer takes signatures." in as_form.get_data(
        as_text=True
    )
    as_json = client.post(f"/api/v1/petitions/{slug}/signatures", json=signer,
                          headers={"Origin": "http://127.0.0.1:8000"})
    assert as_json.status_code == 409
    assert as_json.json == {"error": "This petition is closed and no longer takes signatures."}
    assert as_json.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 0


def test_unknown_and_draft_petitions_are_404(app: Flask, client: FlaskClient) -> None:
    add_petition(app, slug="not-yet", status="draft")
    signer = {"name": "Lio Brannock", "email": "lio@example.org"}
    for slug in ("not-yet", "no-such-petition"):
        assert client.post(f"/p/{slug}/sign", data=signer).status_code == 404
        api = client.post(f"/api/v1/petitions/{slug}/signatures", json=signer)
        assert api.status_code == 404
        assert api.json["error"] == "There is no petition at this address."


def test_the_signers_language_is_kept_from_form_and_json(app: Flask, client: FlaskClient,
                                                         petition: str) -> None:
    client.post(f"/p/{petition}/sign",
                data={"name": "Lio Brannock", "email": "lio@example.org", "lang": "es"})
    french = client.post(f"/api/v1/petitions/{petition}/signatures",
                         json={"name": "Maëlle Orrin", "email": "maelle@example.org", "lang": "fr"})
    chinese = client.post(f"/api/v1/petitions/{petition}/signatures",
                          json={"name": "Wen Jiahui", "email": "wen@example.org"},
                          headers={"Accept-Language": "zh-TW,zh;q=0.8"})
    english = client.post(f"/api/v1/petitions/{petition}/signatures",
                          json={"name": "Ola Brisk", "email": "ola@example.org"})
    # The answer is made once per language and then reused: each still in its own language.
    again = client.post(f"/api/v1/petitions/{petition}/signatures",
                        json={"name": "Maëlle Orrin", "email": "maelle2@example.org",
                              "lang": "fr"})
    messages = [answer.json["message"] for answer in (french, chinese, english)]
    assert len(set(messages)) == 3 and messages[2].startswith("Thank you!")
    assert again.get_data() == french.get_data()
    with app.app_context():
        locales = {signature.email: signature.locale
                   for signature in db.session.scalars(select(Signature))}
    assert locales == {"lio@example.org": "es", "maelle@example.org": "fr",
                       "wen@example.org": "zh_Hant", "ola@example.org": "en",
                       "maelle2@example.org": "fr"}
