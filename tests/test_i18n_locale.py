"""Which language a signer sees: the widget's lang, then the petition's, then the browser's."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext

from petitionkit.outbox.worker import run_once

from .conftest import add_petition, make_app
from .smtp import RecordingSMTPServer


def test_data_lang_wins_and_arabic_is_right_to_left(client: FlaskClient, petition: str) -> None:
    html = client.get(f"/embed/{petition}?lang=ar",
                      headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in html
    assert "وقّع" in html
    assert 'name="lang" value="ar"' in html, "the form carries the language to the next page"


def test_the_petitions_language_comes_next_with_a_switch_to_the_visitors(
    app: Flask, client: FlaskClient
) -> None:
    slug = add_petition(app, slug="zhong-wen", locale="zh_Hans", title="释放他")
    html = client.get(f"/p/{slug}", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    assert '<html lang="zh-Hans" dir="ltr"' in html
    assert "加入联署" in html
    assert '<a href="/p/zhong-wen?lang=en" lang="en" hreflang="en">English</a>' in html
    english = client.get(f"/p/{slug}?lang=en", headers={"Accept-Language": "en"}).text
    assert '<html lang="en"' in english and "Add your name" in english
    assert 'href="/p/zhong-wen?lang=zh_Hans" lang="zh-Hans" hreflang="zh-Hans">中文' in english
    assert 'name="lang" value="en"' in english, "the choice goes on with the form"
    embed = client.get(f"/embed/{slug}", headers={"Accept-Language": "ar"}).text
    assert '<html lang="zh-Hans"' in embed
    same = client.get(f"/p/{slug}", headers={"Accept-Language": "zh-CN"}).text
    assert 'class="languages"' not in same, "no switch when the page already speaks both"


def test_the_browsers_language_speaks_where_there_is_no_petition(
    client: FlaskClient, petition: str
) -> None:
    html = client.get("/", headers={"Accept-Language": "zh-TW,zh;q=0.9"}).text
    assert '<html lang="zh-Hant" dir="ltr"' in html
    api = client.post(f"/api/v1/petitions/{petition}/signatures", json={"name": ""},
                      headers={"Accept-Language": "fr"})
    assert api.status_code == 422
    assert "nom" in str(api.json).lower() or "adresse" in str(api.json).lower()


def test_petition_language_beats_an_unknown_browser_language(
    app: Flask, client: FlaskClient
) -> None:
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


def _validator_reason(address: str) -> str:
    """What email-validator says of an address, in English, its only language."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        return str(error)
    raise AssertionError(f"{address} is valid")


@pytest.mark.parametrize("locale", ["fr", "ar"])
@pytest.mark.parametrize(("address", "message"), [
    ("pas-une-adresse", "This email address is not valid."),
    ("two@@example.org", "This email address is not valid."),
    ("nadia@localhost", "The domain of this email address does not accept mail."),
    ("nadia@gmail", "The domain of this email address does not accept mail."),
])
def test_a_refused_address_is_explained_in_our_words_not_the_validators(
    app: Flask, client: FlaskClient, petition: str, locale: str, address: str, message: str
) -> None:
    with app.test_request_context(), force_locale(locale):
        expected = gettext(message)
    reason = _validator_reason(address)
    page = client.post(f"/p/{petition}/sign", data={"name": "Nadia", "email": address,
                                                    "lang": locale},
                       headers={"Accept-Language": locale})
    assert page.status_code == 422
    html = unescape(page.get_data(as_text=True))
    assert f'<html lang="{locale}"' in html
    error = html.split('id="email-error">', 1)[1].split("</p>", 1)[0]
    assert error == expected
    assert reason not in html and "@-sign" not in html

    answer = client.post(f"/api/v1/petitions/{petition}/signatures",
                         json={"name": "Nadia", "email": address},
                         headers={"Accept-Language": locale})
    assert answer.status_code == 422
    assert answer.json["errors"]["email"] == [expected]
    assert reason not in answer.get_data(as_text=True)


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
