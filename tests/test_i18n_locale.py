"""Which language a signer sees: the widget's lang, then the browser's, then the petition's."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from petitionkit.outbox.worker import run_once

from .conftest import add_petition, make_app
from .smtp import RecordingSMTPServer


def test_data_lang_wins_and_arabic_is_right_to_left(client: FlaskClient, petition: str) -> None:
    html = client.get(f"/embed/{petition}?lang=ar",
                      headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in html
    assert "وقّع" in html
    assert 'name="lang" value="ar"' in html, "the form carries the language to the next page"


def test_browser_language_comes_next(client: FlaskClient, petition: str) -> None:
    html = client.get(f"/embed/{petition}",
                      headers={"Accept-Language": "zh-TW,zh;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh-Hant" dir="ltr"' in html
    assert "加入連署" in html or "連署" in html


def test_petition_language_is_the_last_resort(app: Flask, client: FlaskClient) -> None:
    slug = add_petition(app, slug="en-francais", locale="fr")
    html = client.get(f"/p/{slug}", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert '<html lang="fr"' in html
    assert "Ajoutez votre nom" in html


def test_errors_are_in_the_signers_language(client: FlaskClient, petition: str) -> None:
    response = client.post(f"/p/{petition}/sign?lang=es",
                           data={"name": "", "email": "x@example.org", "embed": "1", "lang": "es"},
                           headers={"Origin": "http://localhost"})
    assert response.status_code == 422
    assert "Escribe tu nombre." in response.get_data(as_text=True)


def test_confirmation_email_is_in_the_signers_language(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url)
    slug = add_petition(app)
    client = app.test_client()
    client.post(f"/p/{slug}/sign", data={"name": "Lin Wen", "email": "lin@example.org",
                                         "lang": "zh_Hans"})
    with app.app_context():
        assert run_once(app) == 1
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "请确认你的签名：Free the poet"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Lin Wen，你好：" in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert 'lang="zh-Hans"' in html
