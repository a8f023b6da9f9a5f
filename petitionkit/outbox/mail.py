"""Mail transports chosen by ``MAIL_URL``: SMTP (STARTTLS or SMTPS) or a folder of files.

``smtp://user:password@host:587`` upgrades with STARTTLS whenever the server offers it, and
requires it when credentials are given (``?starttls=require`` requires it without credentials,
``?starttls=never`` never upgrades and refuses credentials). ``smtps://host:465`` speaks TLS from
the first byte. ``file:///path/to/folder`` writes each message there, and no ``MAIL_URL`` at all
writes to ``instance/mail/``: an ``.eml`` file and an ``.html`` file a person can open.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.policy import default as default_policy
from email.utils import format_datetime
from typing import Any, Protocol, cast
from urllib.parse import parse_qs, unquote, urlsplit

STARTTLS_CHOICES = ("auto", "require", "never")


# RFC 5322's hard limit for a line, CRLF excluded.
MAX_LINE = 998


class URLListHeader(UnstructuredHeader):
    """A header of ``<URL>`` elements (RFC 2369: List-Unsubscribe), written as it was given.

    The default policy folds lines at 78 characters, and a URL longer than that has no place to
    fold, so it would go out RFC 2047-encoded (``=?utf-8?q?=3Chttps...``), which no mail program
    reads as a link: the one-click "it wasn't me" of RFC 8058 would silently not be offered. A
    line may be up to 998 characters; a value that would not fit is refused, not mangled.
    """

    def fold(self, *, policy: EmailPolicy) -> str:
        assert isinstance(self, BaseHeader)
        line = f"{self.name}: {self}"
        if not line.isascii() or len(line) > MAX_LINE or "\r" in line or "\n" in line:
            raise ValueError(f"{self.name} must be one line of at most {MAX_LINE} ASCII characters")
        return line + policy.linesep


def _mail_policy() -> EmailPolicy[EmailMessage]:
    registry = HeaderRegistry()
    # The registry mixes BaseHeader in itself; the stubs want the mixed class.
    registry.map_to_type("list-unsubscribe", cast(type[BaseHeader], URLListHeader))
    return default_policy.clone(header_factory=registry)


# What every message the engine writes is built with: the default policy, and URL lists kept raw.
MAIL_POLICY = _mail_policy()


def new_message() -> EmailMessage:
    """An empty message with the engine's policy, dated now.

    The zone is written +0000, which says the time is UTC; ``formatdate``'s -0000 would say the
    zone is unknown (RFC 5322 3.3), and mail programs then show the time as such.
    """
    message = EmailMessage(policy=MAIL_POLICY)
    message["Date"] = format_datetime(datetime.now(UTC))
    return message


class MailTransport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class MailConfigError(ValueError):
    """MAIL_URL cannot work as written; the message says what to change."""


@dataclass(frozen=True)
class MailSettings:
    scheme: str
    host: str = ""
    port: int = 0
    username: str | None = None
    password: str | None = None
    starttls: str = "auto"
    folder: str = ""

    def describe(self) -> str:
        """Where mail goes, for the log: never the password."""
        if self.scheme == "file":
            return f"file://{self.folder}"
        login = " with login" if self.username else ""
        tls = "" if self.scheme == "smtps" else f" starttls={self.starttls}"
        return f"{self.scheme}://{self.host}:{self.port}{tls}{login}"


def parse_mail_url(mail_url: str | None, dev_folder: str) -> MailSettings:
    """Read MAIL_URL, refusing anything that would fail later or leak a password."""
    if not mail_url:
        return MailSettings(scheme="file", folder=dev_folder)
    parts = urlsplit(mail_url)
    if parts.scheme == "file":
        if not parts.path:
            raise MailConfigError("MAIL_URL file:// needs a folder, as in file:///var/mail/petitions")
        return MailSettings(scheme="file", folder=unquote(parts.path))
    if parts.scheme not in ("smtp", "smtps"):
        raise MailConfigError(
            f"MAIL_URL must start with smtp://, smtps:// or file://, not {parts.scheme or '?'}://"
        )
    options = parse_qs(parts.query)
    starttls = options.get("starttls", ["auto"])[0]
    if starttls not in STARTTLS_CHOICES:
        raise MailConfigError(
            f"MAIL_URL starttls={starttls} is not understood; "
            f"use one of {', '.join(STARTTLS_CHOICES)}"
        )
    username = unquote(parts.username) if parts.username else None
    if username and parts.scheme == "smtp" and starttls == "never":
        raise MailConfigError(
            "MAIL_URL has credentials and starttls=never: the password would cross the network "
            "in clear. Remove starttls=never or use smtps://."
        )
    try:
        port = parts.port
    except ValueError as error:
        raise MailConfigError(f"MAIL_URL has an invalid port: {error}") from error
    return MailSettings(
        scheme=parts.scheme,
        host=parts.hostname or "localhost",
        port=port or (465 if parts.scheme == "smtps" else 587),
        username=username,
        password=unquote(parts.password or "") if username else None,
        starttls=starttls,
    )


class SmtpTransport:
    def __init__(self, connection: smtplib.SMTP) -> None:
        self._connection = connection

    def send(self, message: EmailMessage) -> None:
        self._connection.send_message(message)


class DirectoryTransport:
    """Development sink: each message as ``.eml`` plus an ``.html`` a person can open."""

    def __init__(self, folder: str) -> None:
        os.makedirs(folder, exist_ok=True)
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        local_part = str(message["Message-ID"] or "").strip("<>").split("@")[0]
        tag = "".join(char for char in local_part if char.isalnum())[-12:] or "message"
        base = os.path.join(self.folder, f"{stamp}-{tag}")
        html = message.get_body(preferencelist=("html",))
        if html is not None:
            self._write(base + ".html", str(html.get_content()).encode("utf-8"))
        # The .eml last: whoever watches the folder for it finds the .html already there.
        self._write(base + ".eml", bytes(message))

    def _write(self, path: str, content: bytes) -> None:
        # Write then rename, so nobody reading the folder ever sees half a message.
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as partial:
                partial.write(content)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise


def _connect(settings: MailSettings, timeout: float) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if settings.scheme == "smtps":
        return smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
    connection = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    try:
        connection.ehlo()
        offered = connection.has_extn("starttls")
        # Credentials never cross the wire in clear: with a password STARTTLS is required.
        required = settings.starttls == "require" or settings.username is not None
        if required and not offered:
            raise MailConfigError(
                f"the SMTP server at {settings.host}:{settings.port} does not offer STARTTLS, "
                "and MAIL_URL "
                + ("has credentials" if settings.username else "says starttls=require")
                + ": refusing to send in clear. Use smtps:// or a server that offers STARTTLS."
            )
        if offered and settings.starttls != "never":
            connection.starttls(context=context)
            connection.ehlo()
    except BaseException:
        connection.close()
        raise
    return connection


@contextmanager
def open_transport(
    mail_url: str | None, dev_folder: str, timeout: float
) -> Iterator[MailTransport]:
    """A transport for one batch; SMTP connects once per batch, not once per message."""
    settings = parse_mail_url(mail_url, dev_folder)
    if settings.scheme == "file":
        yield DirectoryTransport(settings.folder)
        return
    connection = _connect(settings, timeout)
    try:
        if settings.username is not None:
            connection.login(settings.username, settings.password or "")
        yield SmtpTransport(connection)
    finally:
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            # The server is already gone; there is nothing left to say goodbye to.
            connection.close()


def demo_mail_folder(config: Mapping[str, Any]) -> str | None:
    """Where the "check your email" page says the demo's mail is; only in demo mode.

    An instance that merely forgot MAIL_URL must not show signers a path on the server.
    """
    if config.get("DEMO_MODE") and not config.get("MAIL_URL"):
        return str(config["DEV_MAIL_DIR"])
    return None
