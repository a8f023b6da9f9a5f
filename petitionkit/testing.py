"""Helpers for testing petitionkit plugins against real parts (SQLite, loopback HTTP).

A plugin's own tests use them the way the core's do::

    from petitionkit.testing import make_test_app, add_petition, sign_and_confirm, run_jobs

and a plugin whose form asks for the proof-of-work check solves it with ``solve_challenge``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import flask_migrate
from flask import Flask
from sqlalchemy import select

from petitionkit import create_app
from petitionkit.encryption import ensure_key_pair
from petitionkit.extensions import db
from petitionkit.outbox.worker import run_once
from petitionkit.petitions.loader import upsert_petition
from petitionkit.petitions.models import Petition
from petitionkit.plugins.events import LIFECYCLE
from petitionkit.signatures import services
from petitionkit.signatures.models import Signature
from petitionkit.signatures.services import SIGNING_POLICY

TEST_SECRET = "plugin-test-secret-0123456789abcdef"


def key_settings(instance: Path) -> dict[str, Any]:
    """A key pair in ``instance`` (made when absent) and the settings that give a test app both
    keys, as one process of the embedded default holds them."""
    public, private = ensure_key_pair(instance)
    return {"DATA_PUBLIC_KEY_FILE": str(public), "DATA_PRIVATE_KEY_FILE": str(private)}


def make_test_app(folder: Path, **config: Any) -> Flask:
    """An app on a fresh, migrated SQLite database in ``folder`` (use pytest's ``tmp_path``)."""

    instance = Path(folder) / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = {
        **key_settings(instance),
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'petitionkit.db'}",
        "PUBLIC_URL": "http://localhost",
        "RATELIMIT_SIGN": "1000/minute",
        "OUTBOX_INPROCESS_WORKER": False,
        "MAIL_URL": f"file://{instance / 'mail'}",
        "MAIL_FROM": "Petitions <petitions@example.org>",
        "OUTBOX_BACKOFF_BASE": 0.0,
        "OUTBOX_BACKOFF_MAX": 0.0,
    }
    settings.update(config)
    app = create_app(settings)
    if str(settings["DATABASE_URL"]).startswith("sqlite"):
        with app.app_context():
            flask_migrate.upgrade(revision="heads")
    return app


def add_petition(app: Flask, **values: Any) -> str:

    petition: dict[str, Any] = {
        "slug": "test-petition",
        "title": "A test petition",
        "summary": "For tests.",
        "body": "Please do the right thing.",
        "body_html": "<p>Please do the right thing.</p>",
        "status": "open",
        "locale": "en",
        "goal": None,
    }
    petition.update(values)
    with app.app_context():
        upsert_petition(db.session(), petition)
    return str(petition["slug"])


def sign_and_confirm(app: Flask, slug: str, name: str, email: str, **fields: Any) -> int:
    """A confirmed signature through the real services (plugins' validation and events run)."""

    with app.app_context(), app.test_request_context():
        session = db.session()
        petition = session.scalar(select(Petition).where(Petition.slug == slug))
        assert petition is not None, f"no petition {slug}"
        policy = SIGNING_POLICY.of(app)
        mine = Signature.petition_id == petition.id
        before = set(session.scalars(select(Signature.id).where(mine)))
        services.sign(db.engine, petition,
                      services.SignatureInput(name=name, email=email, **fields), policy)
        [signature_id] = set(session.scalars(
            select(Signature.id).where(Signature.petition_id == petition.id)
        )) - before
        signature = session.get(Signature, signature_id)
        assert signature is not None
        outcome, _ = services.confirm(
            session, signature_id, signature.token_nonce,
            listener=LIFECYCLE.of(app),
        )
        assert outcome is services.ConfirmOutcome.CONFIRMED
        return signature_id


def withdraw(app: Flask, signature_id: int, reason: str = "signer") -> None:
    """Withdraw a signature through the real services, as "it wasn't me" (``reason="signer"``),
    an organiser (``"operator"``) or an erasure (``"erasure"``) would."""

    with app.app_context(), app.test_request_context():
        session = db.session()
        signature = session.get(Signature, signature_id)
        assert signature is not None, f"no signature {signature_id}"
        events = LIFECYCLE.of(app)
        outcome = services.withdraw(session, signature, reason, listener=events)
        assert outcome is services.CancelOutcome.CANCELLED


def run_jobs(app: Flask) -> int:
    """Deliver every job that is due now; returns how many finished."""

    total = 0
    with app.app_context():
        while (done := run_once(app)) > 0:
            total += done
    return total


def solve_challenge(challenge: dict[str, Any]) -> str:
    """The ``altcha`` value a browser would send for ``challenge`` (the JSON of
    ``GET /api/v1/petitions/SLUG/challenge``). Written from the protocol alone (ALTCHA PoW v2,
    iterated SHA-256 with one iteration), not from the engine's code, so it checks that code."""
    parameters = challenge["parameters"]
    assert parameters["algorithm"] == "SHA-256" and parameters["cost"] == 1
    start = bytes.fromhex(parameters["salt"]) + bytes.fromhex(parameters["nonce"])
    prefix = bytes.fromhex(parameters["keyPrefix"])
    for counter in range(2**32):
        key = hashlib.sha256(start + counter.to_bytes(4, "big")).digest()
        if key.startswith(prefix):
            break
    derived = key[: parameters["keyLength"]].hex()
    return challenge_payload({"parameters": parameters, "signature": challenge["signature"]},
                             {"counter": counter, "derivedKey": derived})


def challenge_payload(challenge: dict[str, Any], solution: dict[str, Any]) -> str:
    """An ``altcha`` value: base64 of the challenge and a solution, solved or not."""
    body = json.dumps({"challenge": challenge, "solution": solution})
    return base64.b64encode(body.encode()).decode()


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RecordingHTTPServer:
    """An HTTP server on 127.0.0.1 that records requests and answers from a script.

    ``responses`` is consumed one per request: ``(status, body)`` or ``("timeout", seconds)`` to
    hold the answer back; once empty every request gets ``default``.
    """

    responses: list[tuple[Any, Any]] = field(default_factory=list)
    default: tuple[int, Any] = (200, {"ok": True})
    requests: list[RecordedRequest] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append(RecordedRequest(
                handler.command, handler.path, {k: v for k, v in handler.headers.items()}, body
            ))
            status, content = self.responses.pop(0) if self.responses else self.default
        if status == "timeout":
            time.sleep(float(content))
            status, content = 504, {"late": True}
        data = content if isinstance(content, bytes) else json.dumps(content).encode()
        handler.send_response(int(status))
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        try:
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting, which is what a timeout test wants

    def start(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                recorder._answer(self)

            do_PUT = do_POST  # noqa: N815
            do_PATCH = do_POST  # noqa: N815
            do_GET = do_POST  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextmanager
def recording_http_server(
    responses: list[tuple[Any, Any]] | None = None,
) -> Iterator[RecordingHTTPServer]:
    server = RecordingHTTPServer(responses=list(responses or []))
    server.start()
    try:
        yield server
    finally:
        server.stop()
