"""MAIL_URL: the folder sink, plain SMTP, STARTTLS, SMTPS, and a clear refusal to send a
password in clear."""

from __future__ import annotations

import email
import email.policy
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask
from sqlalchemy import select

from petitionkit.config import ConfigurationError
from petitionkit.extensions import db
from petitionkit.outbox.mail import MailConfigError, parse_mail_url
from petitionkit.outbox.models import DONE, PENDING, OutboxJob
from petitionkit.outbox.worker import run_batch

from .conftest import add_petition, free_port, make_app
from .smtp import RecordingSMTPServer, link_from
from .test_worker_delivery import jobs, sign_many


def test_mail_urls_are_read_or_refused_with_a_reason() -> None:
    assert parse_mail_url(None, "/srv/mail").folder == "/srv/mail"
    assert parse_mail_url("file:///var/spool/petitions", "/x").folder == "/var/spool/petitions"
    relay = parse_mail_url("smtp://mailer%40example.org:p%40ss@relay.example.org?starttls=require",
                           "/x")
    assert (relay.host, relay.port, relay.username, relay.password, relay.starttls) == (
        "relay.example.org", 587, "mailer@example.org", "p@ss", "require"
    )
    assert parse_mail_url("smtps://relay.example.org", "/x").port == 465
    assert parse_mail_url("smtp://127.0.0.1:2525", "/x").port == 2525
    refusals = {
        "http://relay.example.org": "must start with smtp://, smtps:// or file://",
        "smtp://relay.example.org?starttls=maybe": "starttls=maybe is not understood",
        "smtp://user:secret@relay.example.org?starttls=never": "would cross the network in clear",
        "smtp://relay.example.org:99999": "invalid port",
        "file://": "needs a folder",
    }
    for url, reason in refusals.items():
        with pytest.raises(MailConfigError, match=reason):
            parse_mail_url(url, "/x")


def test_the_worker_command_refuses_a_wrong_mail_url_at_start(app: Flask) -> None:
    app.config["MAIL_URL"] = "smtp://user:secret@relay.example.org?starttls=never"
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 1
    assert "password would cross the network in clear" in result.output


def test_the_app_refuses_to_start_with_a_wrong_mail_url(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    with pytest.raises(ConfigurationError, match="MAIL_URL must start with smtp://"):
        make_app(tmp_path, migrated_sqlite, MAIL_URL="mailto:petitions@example.org")


def deliver_all(app: Flask) -> int:
    delivered = 0
    with app.app_context():
        while (batch := run_batch(app)).claimed:
            delivered += batch.delivered
    return delivered


def test_the_file_sink_writes_eml_and_an_html_page(tmp_path: Path, migrated_sqlite: Path) -> None:
    folder = tmp_path / "outgoing mail"
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=f"file://{folder}")
    sign_many(app, add_petition(app), 2)
    assert deliver_all(app) == 2

    emls = sorted(folder.glob("*.eml"))
    pages = sorted(folder.glob("*.html"))
    assert len(emls) == 2 and [page.stem for page in pages] == [eml.stem for eml in emls]
    assert not list(folder.glob(".partial-*"))
    messages = [email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
                for eml in emls]
    assert {str(message["Message-ID"]) for message in messages} == {
        row.message_id for row in jobs(app)
    }
    for message, page in zip(messages, pages, strict=True):
        confirm = link_from(message, "http://localhost/confirm/")  # type: ignore[arg-type]
        html = page.read_text(encoding="utf-8")
        assert html.startswith("<!doctype html>") and f'href="{confirm}"' in html


def test_without_mail_url_mail_lands_in_the_instance_folder(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = make_app(tmp_path, migrated_sqlite)
    assert app.config["MAIL_URL"] is None
    sign_many(app, add_petition(app), 1)
    assert deliver_all(app) == 1
    mail_folder = Path(app.instance_path) / "mail"
    assert len(list(mail_folder.glob("*.eml"))) == 1
    assert len(list(mail_folder.glob("*.html"))) == 1


def test_plain_smtp_without_starttls_delivers(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url)
    sign_many(app, add_petition(app), 2)
    assert deliver_all(app) == 2
    assert len(smtp_server.wait_for(2)) == 2


@pytest.mark.parametrize(
    ("query", "reason"),
    [("", "has credentials"), ("?starttls=require", "says starttls=require")],
)
def test_credentials_or_required_tls_without_starttls_are_refused(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer,
    query: str, reason: str,
) -> None:
    credentials = "mailer:hunter2-secret@" if "credentials" in reason else ""
    url = f"smtp://{credentials}127.0.0.1:{smtp_server.port}{query}"
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=url)
    sign_many(app, add_petition(app), 1)
    assert deliver_all(app) == 0
    [row] = jobs(app)
    assert row.status == PENDING and row.attempts == 1
    assert row.last_error is not None
    assert f"does not offer STARTTLS, and MAIL_URL {reason}" in row.last_error
    assert "refusing to send in clear" in row.last_error
    assert "hunter2" not in row.last_error
    assert smtp_server.messages == [] and smtp_server.refused == []


@pytest.fixture(scope="module")
def loopback_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


class TlsRecorder:
    def __init__(self) -> None:
        self.sessions: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.sessions.append({
                "tls": server.transport.get_extra_info("ssl_object") is not None,
                "login": session.auth_data if session.authenticated else None,
                "message": email.message_from_bytes(envelope.content,
                                                    policy=email.policy.default),
            })
        return "250 OK"


def authenticate(_server: Any, _session: Any, _envelope: Any, _mechanism: str,
                 auth_data: Any) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and (
        auth_data.login, auth_data.password) == (b"mailer", b"hunter2-secret")
    return AuthResult(success=good, auth_data=auth_data.login if good else None)


@pytest.fixture
def trust_loopback_certificate(
    loopback_certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ssl.SSLContext]:
    cert, key = loopback_certificate
    # The transport verifies certificates against the default trust store; point it at ours.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    yield context


def test_starttls_is_used_when_offered_and_then_credentials_go_through(
    tmp_path: Path, migrated_sqlite: Path, trust_loopback_certificate: ssl.SSLContext
) -> None:
    recorder = TlsRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port,
                            tls_context=trust_loopback_certificate, authenticator=authenticate)
    controller.start()
    try:
        app = make_app(tmp_path, migrated_sqlite,
                       MAIL_URL=f"smtp://mailer:hunter2-secret@127.0.0.1:{port}")
        sign_many(app, add_petition(app), 2)
        assert deliver_all(app) == 2
        (tmp_path / "anonymous").mkdir()
        anonymous = make_app(tmp_path / "anonymous", migrated_sqlite,
                             MAIL_URL=f"smtp://127.0.0.1:{port}")
        sign_many(anonymous, add_petition(anonymous), 1)
        assert deliver_all(anonymous) == 1
    finally:
        controller.stop()
    assert [(session["tls"], session["login"]) for session in recorder.sessions] == [
        (True, b"mailer"), (True, b"mailer"), (True, None)
    ], "STARTTLS every time it is offered; the password only inside TLS"


def test_smtps_speaks_tls_from_the_first_byte(
    tmp_path: Path, migrated_sqlite: Path, trust_loopback_certificate: ssl.SSLContext
) -> None:
    recorder = TlsRecorder()
    port = free_port()
    # aiosmtpd only counts STARTTLS as TLS for AUTH; here the whole connection is TLS.
    controller = Controller(recorder, hostname="127.0.0.1", port=port,
                            ssl_context=trust_loopback_certificate, authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    try:
        app = make_app(tmp_path, migrated_sqlite,
                       MAIL_URL=f"smtps://mailer:hunter2-secret@127.0.0.1:{port}")
        sign_many(app, add_petition(app), 1)
        assert deliver_all(app) == 1
    finally:
        controller.stop()
    assert [(session["tls"], session["login"]) for session in recorder.sessions] == [
        (True, b"mailer")
    ]
    with app.app_context():
        assert db.session.scalars(select(OutboxJob.status)).all() == [DONE]
