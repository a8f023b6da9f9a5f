"""Deliver outbox jobs: ``petitionkit worker`` in production, an in-process loop in the demo."""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from petitionkit.encryption import DATA_SEALER, KeyUnavailable
from petitionkit.extensions import db
from petitionkit.ops import metrics
from petitionkit.outbox import services
from petitionkit.outbox.mail import (
    MailConfigError,
    MailTransport,
    open_transport,
    parse_mail_url,
)
from petitionkit.outbox.models import DEAD, OutboxJob
from petitionkit.privacy.retention import RETENTION_CLOCK
from petitionkit.registry import Slot

log = logging.getLogger("petitionkit.worker")


class TransportUnavailable(RuntimeError):
    """The mail server could not be reached or refused the session: no message can go now."""


@dataclass
class DeliveryContext:
    """What a job handler may use; the SMTP connection opens on first use, once per batch."""

    app: Flask
    _stack: ExitStack
    _mail: MailTransport | None = field(default=None)

    def mail(self) -> MailTransport:
        if self._mail is None:
            config = self.app.config
            try:
                self._mail = self._stack.enter_context(
                    open_transport(
                        config["MAIL_URL"], config["DEV_MAIL_DIR"], config["MAIL_TIMEOUT"]
                    )
                )
            except (OSError, MailConfigError) as error:
                # No recipient is involved yet, so the reason can be logged as it is.
                raise TransportUnavailable(f"{type(error).__name__}: {error}") from error
        return self._mail


JobHandler = Callable[[OutboxJob, DeliveryContext], None]


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (a 4xx answer): the job goes dead at once."""


def job_handlers(app: Flask) -> dict[str, JobHandler]:
    handlers: dict[str, JobHandler] = JOB_HANDLERS.of(app)
    return handlers


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


def describe_error(error: BaseException) -> str:
    """Class and SMTP code only: server replies to a message often quote the recipient's address."""
    if isinstance(error, TransportUnavailable):
        return f"{type(error).__name__} ({error})"
    code = getattr(error, "smtp_code", None) or getattr(error, "status_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        code = min(code for code, _reply in error.recipients.values())
    return f"{type(error).__name__}" + (f" {code}" if code else "")


def _refused_for_good(error: BaseException) -> bool:
    """True when retrying cannot help: a plugin said so, or the server refused the recipient.

    A 5xx reply to RCPT means the mailbox does not exist or will never take mail from us; waiting
    days on it only delays the report. 552 is the exception RFC 5321 makes (a full mailbox may
    empty). Refusals of the sender, the login or the message body stay temporary: they come from
    the operator's setup or the server's mood, and the mail must go out once that is fixed.
    """
    if isinstance(error, PermanentJobError):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        codes = [code for code, _reply in error.recipients.values()]
        return all(500 <= code < 600 and code != 552 for code in codes)
    return False


def _transport_down(error: BaseException) -> bool:
    """True when the rest of the batch would fail the same way, whatever its messages."""
    if isinstance(error, TransportUnavailable | smtplib.SMTPServerDisconnected):
        return True
    # An SMTP reply about one message (4xx, 5xx) is an OSError too, but the session goes on.
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


@dataclass(frozen=True)
class BatchResult:
    claimed: int
    delivered: int
    transport_down: bool = False


def run_once(app: Flask, worker: str | None = None) -> int:
    """Claim one batch and work through it; returns how many jobs were delivered."""
    return run_batch(app, worker).delivered


def run_batch(app: Flask, worker: str | None = None) -> BatchResult:
    """Claim one batch and work through it. Needs an application context.

    Each job is finished or failed on its own; when the mail server cannot be reached, every job
    left in the batch is failed with it (each backs off on its own schedule) instead of knocking
    on a closed door once per message.
    """
    config = app.config
    worker = worker or worker_name()
    lease_seconds = float(config["OUTBOX_LEASE_SECONDS"])
    policy = services.RetryPolicy.from_config(config)
    session = db.session()
    try:
        claim = services.claim(session, worker, int(config["OUTBOX_BATCH_SIZE"]), lease_seconds)
        if not claim.job_ids:
            return BatchResult(claimed=0, delivered=0)
        handlers = job_handlers(app)
        finished = 0
        transport_down = False
        leased_at = time.monotonic()
        remaining = list(claim.job_ids)
        with ExitStack() as stack:
            context = DeliveryContext(app, stack)
            while remaining:
                if time.monotonic() - leased_at > lease_seconds / 2:
                    # A slow server must not let the lease lapse under jobs still to send.
                    held = services.extend(session, claim.lease, remaining, lease_seconds)
                    remaining = [job_id for job_id in remaining if job_id in held]
                    leased_at = time.monotonic()
                    if not remaining:
                        break
                job_id = remaining.pop(0)
                job = session.get(OutboxJob, job_id)
                if job is None:
                    continue
                kind, attempt, payload = job.kind, job.attempts + 1, job.payload
                try:
                    handler = handlers.get(kind)
                    if handler is None:
                        raise LookupError(f"no handler for job kind {kind!r}")
                    handler(job, context)
                except Exception as error:  # noqa: BLE001 - any failure is retried with backoff
                    session.rollback()
                    _record_failure(session, claim.lease, job_id, kind, error, policy)
                    # Only mail jobs share the transport; a plugin's failed HTTP call says nothing
                    # about the rest of the batch.
                    if kind.startswith("email.") and _transport_down(error):
                        transport_down = True
                        for untried in remaining:
                            _record_failure(session, claim.lease, untried, None, error, policy)
                        break
                    continue
                if services.complete(session, job_id, claim.lease, payload=payload):
                    metrics.JOBS_DONE.labels(kind=metrics.job_kind_label(kind)).inc()
                    log.info("job delivered id=%s kind=%s attempt=%s", job_id, kind, attempt)
                    finished += 1
                else:
                    log.warning("job lease lost id=%s kind=%s", job_id, kind)
        return BatchResult(len(claim.job_ids), finished, transport_down)
    finally:
        db.session.remove()


def _record_failure(
    session: Session,
    lease: str,
    job_id: int,
    kind: str | None,
    error: BaseException,
    policy: services.RetryPolicy,
) -> None:
    if kind is None:
        kind = session.scalar(select(OutboxJob.kind).where(OutboxJob.id == job_id)) or "?"
    reason = describe_error(error)
    if _refused_for_good(error):
        policy = services.RetryPolicy(policy.backoff_base, policy.backoff_max, give_up_after=-1)
    status = services.fail(session, job_id, lease, reason, policy)
    metrics.DELIVERY_FAILURES.labels(kind=metrics.job_kind_label(kind)).inc()
    if status == DEAD:
        log.error("job dead id=%s kind=%s error=%s", job_id, kind, reason)
    else:
        log.warning("job failed id=%s kind=%s error=%s status=%s", job_id, kind, reason, status)


def run_forever(app: Flask, stop: threading.Event, poll_interval: float | None = None) -> None:
    interval = poll_interval if poll_interval is not None else app.config["OUTBOX_POLL_INTERVAL"]
    worker = worker_name()
    config = app.config
    try:
        destination = parse_mail_url(config["MAIL_URL"], config["DEV_MAIL_DIR"]).describe()
    except MailConfigError as error:
        # Keep looping: every attempt fails with this reason, backs off and shows in /readyz.
        destination = f"unusable ({error})"
    log.info("worker started name=%s mail=%s", worker, destination)
    while not stop.is_set():
        with app.app_context():
            run_retention(app)
            try:
                result = run_batch(app, worker)
            except Exception as error:  # noqa: BLE001 - a database hiccup must not end the loop
                log.error("worker batch failed error=%s", describe_error(error))
                result = BatchResult(claimed=0, delivered=0, transport_down=True)
        if result.claimed == 0 or result.transport_down:
            stop.wait(interval)
    log.info("worker stopped name=%s", worker)


def run_retention(app: Flask) -> None:
    """Remove the personal data of petitions due for it, when this process has not looked
    within a day (petitionkit/privacy/retention.py). Needs an application context."""
    try:
        # Each petition purged is logged by name and number, never by signer.
        RETENTION_CLOCK.of(app).run_if_due(app, db.engine)
    except Exception as error:  # noqa: BLE001 - retention must not stop delivery; next day again
        log.error("retention failed error=%s", type(error).__name__)


_inprocess_lock = threading.Lock()


class PrivateKeyMissing(RuntimeError):  # noqa: N818 - reads as the message it carries
    pass


def require_private_key(app: Flask, what: str) -> None:
    """Stop unless this process can open sealed personal data."""
    try:
        DATA_SEALER.of(app).opener()
    except KeyUnavailable as error:
        raise PrivateKeyMissing(
            f"{what} reads signers' personal data and so needs the private key: {error}. "
            "Either give this process DATA_PRIVATE_KEY_FILE, or run it without that work "
            "(OUTBOX_INPROCESS_WORKER = False on web processes) and run `petitionkit worker` "
            "where the key is."
        ) from error


INPROCESS_DELIVERY = "the in-process delivery loop (OUTBOX_INPROCESS_WORKER)"


def require_inprocess_key(app: Flask) -> None:
    """Stop unless this app, when it is to deliver from inside its web process, holds the
    private key that delivery opens signers' addresses with. Checked before the first request,
    so that a process missing it never starts serving, rather than answering every request with
    an error."""
    if app.config["OUTBOX_INPROCESS_WORKER"] and not app.testing:
        require_private_key(app, INPROCESS_DELIVERY)


def start_inprocess_loop(app: Flask) -> threading.Thread | None:
    """The embedded default: deliver from inside the web process, once per process.

    Delivering reads signers' addresses, so this process must hold the private key: without it
    this stops with the message saying so, rather than mail silently piling up (``create_app``
    and ``petitionkit run`` check it before serving: ``require_inprocess_key``).
    """
    if app.extensions.get("petitionkit.inprocess_worker") is not None:
        return None
    require_private_key(app, INPROCESS_DELIVERY)
    with _inprocess_lock:
        if app.extensions.get("petitionkit.inprocess_worker") is not None:
            return None
        stop = threading.Event()
        thread = threading.Thread(
            target=run_forever, args=(app, stop), name="petitionkit-outbox", daemon=True
        )
        app.extensions["petitionkit.inprocess_worker"] = (thread, stop)
        thread.start()
        return thread


# What the app holds of this module's, read with .of() (see petitionkit/registry.py).
JOB_HANDLERS: Slot[dict[str, JobHandler]] = Slot("petitionkit.job_handlers", dict)
