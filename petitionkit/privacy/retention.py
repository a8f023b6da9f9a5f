"""Retention: the personal data of a petition's signers is removed once the petition has been
closed for its ``retain_days`` (the site's ``PERSONAL_DATA_RETAIN_DAYS`` by default).

A signature keeps what counts and figures need (status, times, country, language, source, the
consent flags, the non-personal plugin fields); its sealed data, public display name, blind
index and any plaintext left from before sealing go, and ``anonymised_at`` says so. The work
is done in batches, each its own transaction, so a petition of a million signatures never holds
one huge transaction, and a run cut short is finished by the next.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from petitionkit.outbox.models import DONE, OutboxJob
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.privacy import truncate_sqlite_log
from petitionkit.registry import Slot
from petitionkit.signatures.models import CANCELLED, CONFIRMED, PENDING, Signature

log = logging.getLogger("petitionkit.privacy")

# Every status a signature can have: the batches walk the (petition, status, id) index.
_STATUSES = (PENDING, CONFIRMED, CANCELLED)
# How often a worker looks for petitions due, in seconds.
CHECK_INTERVAL = 24 * 3600


def default_retain_days(app: Flask) -> int:
    return int(app.config["PERSONAL_DATA_RETAIN_DAYS"])


@dataclass(frozen=True)
class PurgeReport:
    slug: str
    due_since: datetime
    anonymised: int
    jobs_dropped: int


def due_petitions(engine: Engine, default_days: int, now: datetime | None = None
                  ) -> list[Petition]:
    """Petitions closed for longer than their retention and not purged since they closed.

    One query over the petitions table (a few hundred rows at most); the rest is arithmetic.
    The petitions come back detached, for reading.
    """
    now = now or utcnow()
    with Session(engine, expire_on_commit=False) as session:
        petitions = session.scalars(
            select(Petition).where(Petition.status != "draft").order_by(Petition.slug)
        ).all()
    due = []
    for petition in petitions:
        closed = petition.closed_since(now)
        when = petition.purge_due_at(default_days, now)
        if when is None or closed is None or when > now:
            continue
        if petition.purged_at is not None and petition.purged_at >= closed:
            continue  # purged after its last closing: nothing has been signed since
        due.append(petition)
    return due


def remaining(engine: Engine, petition_id: int) -> int:
    """How many signatures of the petition still hold personal data."""
    with engine.connect() as connection:
        return int(connection.scalar(
            select(func.count(Signature.id))
            .where(Signature.petition_id == petition_id, Signature.anonymised_at.is_(None))
        ) or 0)


_ANONYMISE = (
    update(Signature)
    .where(Signature.id == bindparam("row_id"), Signature.anonymised_at.is_(None))
    .values(
        sealed=None, public_name=None, hidden_public_name=None, email_domain_hash=None,
        legacy_email=None, legacy_name=None,
        legacy_postal_code=None, email_hash=bindparam("random_hash"),
        anonymised_at=bindparam("now"),
    )
)
# Rows stored before sealing keep plugin fields in plaintext without saying which were
# personal (see `keys encrypt-existing`): all of them go.
_ANONYMISE_LEGACY = _ANONYMISE.values(plain_extra={})


def anonymise(engine: Engine, petition_id: int, batch_size: int = 1000,
              now: datetime | None = None) -> Iterator[int]:
    """Remove the personal data of the petition's signatures, ``batch_size`` rows per
    transaction; yields how many each batch anonymised.

    The blind index goes too, replaced by random bytes: kept, it would let anyone with the
    blind-index key test whether an address signed. Resumable: only rows not yet anonymised are
    picked, along the (petition, status, id) index, so neither a batch nor a resumed run scans
    the rows already done more than once.
    """
    now = now or utcnow()
    for status in _STATUSES:
        last_id = 0
        while True:
            with engine.begin() as connection:
                _forget_deleted_content(connection)
                rows = connection.execute(
                    select(Signature.id, Signature.sealed.is_(None).label("legacy"))
                    .where(Signature.petition_id == petition_id, Signature.status == status,
                           Signature.id > last_id, Signature.anonymised_at.is_(None))
                    .order_by(Signature.id)
                    .limit(batch_size)
                ).all()
                for legacy in (False, True):
                    params = [{"row_id": row.id, "random_hash": secrets.token_bytes(32),
                               "now": now} for row in rows if bool(row.legacy) is legacy]
                    if params:
                        connection.execute(_ANONYMISE_LEGACY if legacy else _ANONYMISE, params)
            if not rows:
                break
            last_id = rows[-1].id
            yield len(rows)


def _forget_deleted_content(connection: Connection) -> None:
    """SQLite keeps overwritten and deleted bytes in its pages until they are reused; with
    secure_delete it writes zeros over them, so a removed name leaves no trace in the file."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA secure_delete = ON")


def drop_jobs(engine: Engine, petition_id: int) -> int:
    """Delete the jobs not yet done that would carry the petition's signers somewhere (their
    mail, plugin events, letters to targets); returns how many.

    Jobs name signatures by id: those waiting are few, so they are read and matched here
    rather than by a JSON query each database spells differently.
    """
    with engine.begin() as connection:
        jobs = connection.execute(
            select(OutboxJob.id, OutboxJob.payload).where(OutboxJob.status != DONE)
        ).all()
        named: dict[int, set[int]] = {}
        doomed = set()
        for job in jobs:
            payload: dict[str, Any] = job.payload or {}
            ids = [payload["signature_id"]] if "signature_id" in payload else []
            ids += payload.get("signature_ids") or []
            for signature_id in ids:
                if isinstance(signature_id, int):
                    named.setdefault(signature_id, set()).add(job.id)
        if named:
            ours = connection.scalars(
                select(Signature.id).where(Signature.petition_id == petition_id,
                                           Signature.id.in_(list(named)))
            )
            for signature_id in ours:
                doomed |= named[signature_id]
        if doomed:
            connection.execute(delete(OutboxJob).where(OutboxJob.id.in_(sorted(doomed))))
        return len(doomed)


def purge_petition(engine: Engine, petition: Petition, batch_size: int = 1000,
                   now: datetime | None = None) -> PurgeReport:
    """Anonymise the petition's signers and note when; a second run finds nothing to do."""
    now = now or utcnow()
    closed = petition.closed_since(now) or now
    jobs = drop_jobs(engine, petition.id)
    done = sum(anonymise(engine, petition.id, batch_size, now))
    # Plugins remove what they keep of these signers (stories …) before the petition counts
    # as purged: one that fails leaves it due, and the next run asks every plugin again.
    for listener in REMOVAL_LISTENERS.of():
        listener(petition)
    with engine.begin() as connection:
        # Not a change of the petition: its updated_at stays as it was.
        connection.execute(
            update(Petition).where(Petition.id == petition.id)
            .values(purged_at=now, updated_at=Petition.updated_at)
        )
    truncate_sqlite_log(engine)
    log.info("personal data removed petition=%s signatures=%d jobs=%d",
             petition.slug, done, jobs)
    return PurgeReport(petition.slug, closed, done, jobs)


def purge_due(app: Flask, engine: Engine, now: datetime | None = None,
              batch_size: int = 1000) -> list[PurgeReport]:
    """Purge every petition due now."""
    now = now or utcnow()
    return [purge_petition(engine, petition, batch_size, now)
            for petition in due_petitions(engine, default_retain_days(app), now)]


class RetentionClock:
    """When this process last looked for petitions due: a worker looks at most once a day."""

    def __init__(self) -> None:
        self.last_check: float | None = None

    def run_if_due(self, app: Flask, engine: Engine) -> list[PurgeReport] | None:
        """Purge what is due unless this process looked within CHECK_INTERVAL; None when it
        did not look."""
        moment = time.monotonic()
        if self.last_check is not None and moment - self.last_check < CHECK_INTERVAL:
            return None
        self.last_check = moment
        return purge_due(app, engine)


# What the app holds of this module's, read with .of() (see petitionkit/registry.py).
# Who hears that a petition's personal data was removed: the plugin layer puts its hook here.
REMOVAL_LISTENERS: Slot[list[Callable[[Petition], None]]] = Slot(
    "petitionkit.retention_listeners", list)
RETENTION_CLOCK: Slot[RetentionClock] = Slot("petitionkit.retention_clock", RetentionClock)
