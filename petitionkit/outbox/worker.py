"""Deliver outbox jobs: ``petitionkit worker`` in production, an in-process loop in the demo."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from petitionkit.extensions import db
from petitionkit.ops import metrics
from petitionkit.outbox import services
from petitionkit.outbox.mail import MailTransport, open_transport
from petitionkit.outbox.models import OutboxJob

log = logging.getLogger("petitionkit.worker")


@dataclass
class DeliveryContext:
    """What a job handler may use; the SMTP connection opens on first use, once per batch."""

    app: Flask
    _stack: ExitStack
    _mail: MailTransport | None = field(default=None)

    def mail(self) -> MailTransport:
        if self._mail is None:
            config = self.app.config
            self._mail = self._stack.enter_context(
                open_transport(config["MAIL_URL"], config["DEV_MAIL_DIR"], config["MAIL_TIMEOUT"])
            )
        return self._mail


JobHandler = Callable[[OutboxJob, DeliveryContext], None]


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (a 4xx answer): the job goes dead at once."""


def job_handlers(app: Flask) -> dict[str, JobHandler]:
    handlers: dict[str, JobHandler] = app.extensions["petitionkit.job_handlers"]
    return handlers


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


def describe_error(error: BaseException) -> str:
    """Class and SMTP code only: server messages often quote the recipient's address."""
    code = getattr(error, "smtp_code", None) or getattr(error, "status_code", None)
    return f"{type(error).__name__}" + (f" {code}" if code else "")


def run_once(app: Flask, worker: str | None = None) -> int:
    """Claim one batch and work through it; returns how many jobs were finished."""
    config = app.config
    worker = worker or worker_name()
    session = db.session
    claim = services.claim(
        session, worker, config["OUTBOX_BATCH_SIZE"], config["OUTBOX_LEASE_SECONDS"]
    )
    if not claim.job_ids:
        return 0
    handlers = job_handlers(app)
    finished = 0
    with ExitStack() as stack:
        context = DeliveryContext(app, stack)
        for job_id in claim.job_ids:
            job = session.get(OutboxJob, job_id)
            if job is None:
                continue
            handler = handlers.get(job.kind)
            try:
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind!r}")
                handler(job, context)
            except Exception as error:  # noqa: BLE001 - any failure is retried with backoff
                session.rollback()
                status = services.fail(
                    session,
                    job_id,
                    claim.lease,
                    describe_error(error),
                    backoff_base=config["OUTBOX_BACKOFF_BASE"],
                    backoff_max=config["OUTBOX_BACKOFF_MAX"],
                    give_up_after=(
                        -1 if isinstance(error, PermanentJobError)
                        else config["OUTBOX_GIVE_UP_AFTER"]
                    ),
                )
                metrics.DELIVERY_FAILURES.labels(kind=job.kind).inc()
                log.warning(
                    "job failed id=%s kind=%s error=%s status=%s",
                    job_id, job.kind, describe_error(error), status,
                )
                if _is_connection_error(error):
                    # The server is unreachable: the rest of the batch would fail the same way.
                    _release(session, claim, after=job_id)
                    break
                continue
            services.complete(session, job_id, claim.lease)
            metrics.JOBS_DONE.labels(kind=job.kind).inc()
            finished += 1
    db.session.remove()
    return finished


def _is_connection_error(error: BaseException) -> bool:
    return isinstance(error, OSError)


def _release(session: Session, claim: services.Claim, after: int) -> None:
    remaining = [job_id for job_id in claim.job_ids if job_id > after]
    if remaining:
        session.execute(
            update(OutboxJob)
            .where(OutboxJob.id.in_(remaining), OutboxJob.locked_by == claim.lease)
            .values(locked_until=None, locked_by=None)
        )
        session.commit()


def run_forever(app: Flask, stop: threading.Event, poll_interval: float | None = None) -> None:
    interval = poll_interval if poll_interval is not None else app.config["OUTBOX_POLL_INTERVAL"]
    worker = worker_name()
    log.info("worker started name=%s", worker)
    while not stop.is_set():
        with app.app_context():
            try:
                finished = run_once(app, worker)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
                log.exception("worker batch failed")
                finished = 0
        if finished == 0:
            stop.wait(interval)
    log.info("worker stopped name=%s", worker)


_inprocess_lock = threading.Lock()


def start_inprocess_loop(app: Flask) -> threading.Thread | None:
    """The embedded default: deliver from inside the web process, once per process."""
    if app.extensions.get("petitionkit.inprocess_worker") is not None:
        return None
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
