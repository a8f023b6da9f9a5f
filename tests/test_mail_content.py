"""What a signer receives: both parts, the right language, safe headers, "it wasn't me"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from petitionkit.extensions import db
from petitionkit.outbox.mail import MAIL_POLICY
from petitionkit.outbox.models import OutboxJob
from petitionkit.outbox.worker import run_once
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import CANCELLED, Signature
from petitionkit.signatures.services import SignatureInput, sign

from .conftest import add_petition, make_app
from .smtp import RecordingSMTPServer, link_from


def signed_and_delivered(
    app: Flask, server: RecordingSMTPServer, slug: str, name: str, email: str, locale: str = "en"
) -> EmailMessage:
    policy = app.extensions["petitionkit.signing_policy"]
    before = len(server.messages)
    with app.app_context():
        petition = db.session.scalars(select(Petition).where(Petition.slug == slug)).one()
        sign(db.engine, petition, SignatureInput(name=name, email=email, locale=locale), policy)
        assert run_once(app) == 1
    return server.wait_for(before + 1)[-1]


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def mail_app(tmp_path: Path, migrated_sqlite: Path, server: RecordingSMTPServer) -> Flask:
    return make_app(tmp_path, migrated_sqlite, MAIL_URL=server.url)


def test_confirmation_has_text_and_html_title_links_and_headers(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = mail_app(tmp_path, migrated_sqlite, smtp_server)
    slug = add_petition(app, title="Release the cartographer")
    message = signed_and_delivered(app, smtp_server, slug, "Tomas Brin", "tomas@example.org")
    text, html = parts(message)

    assert message["Subject"] == "Please confirm your signature: Release the cartographer"
    assert message["From"] == "Petitions <petitions@example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "en"
    with app.app_context():
        job = db.session.scalars(select(OutboxJob)).one()
        assert message["Message-ID"] == job.message_id
    confirm = link_from(message, "http://localhost/confirm/")
    cancel = link_from(message, "http://localhost/cancel/")
    assert message["List-Unsubscribe"] == f"<{cancel}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for body in (text, html):
        assert "Release the cartographer" in body
        assert "Tomas Brin" in body
        assert "If you did not sign, nothing happens unless you confirm" in body
        assert cancel in body
        assert f"http://localhost/p/{slug}" in body
    assert confirm in text and f'href="{confirm}"' in html
    assert "It wasn&#39;t me" in html or "It wasn't me" in html
    assert '<html lang="en" dir="ltr">' in html


def test_it_wasnt_me_link_withdraws_with_one_post(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = mail_app(tmp_path, migrated_sqlite, smtp_server)
    slug = add_petition(app)
    message = signed_and_delivered(app, smtp_server, slug, "Tomas Brin", "tomas@example.org")
    cancel_path = str(message["List-Unsubscribe"]).strip("<>").removeprefix("http://localhost")

    # What a mail provider's one-click unsubscribe sends (RFC 8058): a bare POST.
    response = app.test_client().post(cancel_path, data="List-Unsubscribe=One-Click",
                                      content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        assert signature.status == CANCELLED and signature.mail_suppressed


def test_the_email_speaks_the_signers_language(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = mail_app(tmp_path, migrated_sqlite, smtp_server)
    slug = add_petition(app, locale="en")
    arabic = signed_and_delivered(app, smtp_server, slug, "Samir Haddad", "samir@example.org",
                                  locale="ar")
    _text, html = parts(arabic)
    assert arabic["Content-Language"] == "ar"
    assert '<html lang="ar" dir="rtl">' in html
    chinese = signed_and_delivered(app, smtp_server, slug, "Lin Qiao", "lin@example.org",
                                   locale="zh_Hant")
    assert chinese["Content-Language"] == "zh-Hant"
    assert '<html lang="zh-Hant" dir="ltr">' in parts(chinese)[1]


def test_a_hostile_name_is_escaped_in_the_html_part(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = mail_app(tmp_path, migrated_sqlite, smtp_server)
    slug = add_petition(app, title='Stop "fast" <b>tracks</b> & more')
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    message = signed_and_delivered(app, smtp_server, slug, hostile, "mallory@example.org")
    text, html = parts(message)
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;tracks&lt;/b&gt; &amp; more" in html
    # Plain text is not HTML: there the name reads as it was typed.
    assert hostile in text
    assert message["Subject"] == 'Please confirm your signature: Stop "fast" <b>tracks</b> & more'


def test_line_breaks_in_a_name_or_title_never_add_headers(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = mail_app(tmp_path, migrated_sqlite, smtp_server)
    slug = add_petition(app, title="Open the archive\r\nBcc: everyone@example.net")
    name = "Eve\r\nBcc: victim@example.net\r\nX-Injected: yes\n\nbody"
    message = signed_and_delivered(app, smtp_server, slug, name, "eve@example.org")
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert getaddresses([str(message["To"])]) == [
        ("Eve Bcc: victim@example.net X-Injected: yes body", "eve@example.org")
    ]
    assert "\n" not in str(message["Subject"])
    assert message["Subject"].endswith("Open the archive Bcc: everyone@example.net")


def test_a_name_that_looks_like_addresses_stays_one_recipient(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = mail_app(tmp_path, migrated_sqlite, smtp_server)
    slug = add_petition(app)
    name = 'Ann <ann@attacker.example>, "Bob" <bob@attacker.example>;'
    message = signed_and_delivered(app, smtp_server, slug, name, "ann@example.org")
    assert [address for _name, address in getaddresses([str(message["To"])])] == [
        "ann@example.org"
    ]


def test_list_unsubscribe_and_date_are_written_as_mail_programs_read_them(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    """Checked on the bytes that crossed the wire: a parser would decode an RFC 2047-encoded
    List-Unsubscribe back into the URL and hide the defect, but mail programs do not."""
    app = mail_app(tmp_path, migrated_sqlite, smtp_server)
    slug = add_petition(app, title="Release the cartographer — now")
    message = signed_and_delivered(app, smtp_server, slug, "Tomás Brin", "tomas@example.org")
    cancel = link_from(message, "http://localhost/cancel/")
    assert len(cancel) > 78, "the link must be longer than a folded line to test the folding"
    raw = smtp_server.raw[-1]
    headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
    assert f"List-Unsubscribe: <{cancel}>" in headers
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in headers
    assert not any(line.startswith("List-Unsubscribe:") and "=?" in line for line in headers)
    [date] = [line for line in headers if line.startswith("Date: ")]
    assert date.endswith(" +0000"), date
    parsed = parsedate_to_datetime(date.removeprefix("Date: "))
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - parsed) < timedelta(minutes=5)


def test_a_url_list_header_too_long_for_a_line_is_refused_not_mangled() -> None:
    message = EmailMessage(policy=MAIL_POLICY)
    message["List-Unsubscribe"] = "<https://example.org/" + "x" * 1000 + ">"
    message.set_content("text")
    with pytest.raises(ValueError, match="one line of at most 998"):
        bytes(message)
