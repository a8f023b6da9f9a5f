"""A real SMTP server on loopback (aiosmtpd) that records what it receives and can refuse."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, server: RecordingSMTPServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        refusal = self.server.refuse_recipients.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        if self.server.refuse_with:
            with self.server.lock:
                self.server.refused.append(message)  # type: ignore[arg-type]
            return self.server.refuse_with
        with self.server.lock:
            self.server.messages.append(message)  # type: ignore[arg-type]
            self.server.raw.append(envelope.original_content or envelope.content)
        return "250 OK"


class RecordingSMTPServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        # The bytes of each accepted message as they crossed the wire, for checks of the syntax.
        self.raw: list[bytes] = []
        # What arrived while ``refuse_with`` was set: the server saw it and said no.
        self.refused: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.refuse_with: str | None = None
        # Replies to RCPT TO by address, as a server answers for a mailbox it does not have.
        self.refuse_recipients: dict[str, str] = {}
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")


def link_from(message: EmailMessage, prefix: str) -> str:
    """The first URL in the text part that starts with ``prefix``."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    for word in str(body.get_content()).split():
        if word.startswith(prefix):
            return word
    raise AssertionError(f"no link starting with {prefix} in the message")
