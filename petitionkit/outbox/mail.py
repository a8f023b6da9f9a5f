"""Mail transports chosen by ``MAIL_URL``: SMTP (STARTTLS or SMTPS) or a folder of files."""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit


class MailTransport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class MailConfigError(ValueError):
    pass


class SmtpTransport:
    def __init__(self, connection: smtplib.SMTP) -> None:
        self._connection = connection

    def send(self, message: EmailMessage) -> None:
        self._connection.send_message(message)


class DirectoryTransport:
    """Development sink: each message as ``.eml`` plus an ``.html`` a person can open in a browser."""

    def __init__(self, folder: str) -> None:
        os.makedirs(folder, exist_ok=True)
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        message_id = str(message["Message-ID"] or "").strip("<>").split("@")[0][-12:]
        base = os.path.join(self.folder, f"{stamp}-{message_id}")
        with open(base + ".eml", "wb") as eml:
            eml.write(bytes(message))
        html = message.get_body(preferencelist=("html",))
        if html is not None:
            with open(base + ".html", "w", encoding="utf-8") as page:
                page.write(str(html.get_content()))


@contextmanager
def open_transport(mail_url: str | None, dev_folder: str, timeout: float) -> Iterator[MailTransport]:
    """A transport for one batch; SMTP connects once per batch, not once per message."""
    if not mail_url:
        yield DirectoryTransport(dev_folder)
        return
    parts = urlsplit(mail_url)
    if parts.scheme == "file":
        yield DirectoryTransport(unquote(parts.path))
        return
    if parts.scheme not in ("smtp", "smtps"):
        raise MailConfigError(f"MAIL_URL must start with smtp://, smtps:// or file://, not {parts.scheme}://")
    host = parts.hostname or "localhost"
    options = parse_qs(parts.query)
    context = ssl.create_default_context()
    connection: smtplib.SMTP
    if parts.scheme == "smtps":
        connection = smtplib.SMTP_SSL(host, parts.port or 465, timeout=timeout, context=context)
    else:
        connection = smtplib.SMTP(host, parts.port or 587, timeout=timeout)
    try:
        connection.ehlo()
        if parts.scheme == "smtp":
            wants_tls = options.get("starttls", ["auto"])[0]
            offered = connection.has_extn("starttls")
            # Credentials never cross the wire in clear: with a password STARTTLS is required.
            if wants_tls == "require" or (parts.username and wants_tls != "never"):
                if not offered:
                    raise smtplib.SMTPNotSupportedError("server does not offer STARTTLS")
            if offered and wants_tls != "never":
                connection.starttls(context=context)
                connection.ehlo()
        if parts.username:
            connection.login(unquote(parts.username), unquote(parts.password or ""))
        yield SmtpTransport(connection)
    finally:
        try:
            connection.quit()
        except smtplib.SMTPException:
            connection.close()
        except OSError:
            connection.close()
