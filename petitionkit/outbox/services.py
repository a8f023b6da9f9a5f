"""The transactional outbox: enqueue with the cause, claim with a lease, finish or back off.

Delivery is at least once. A job is claimed by writing a lease (``locked_by``, ``locked_until``)
onto its row; every later write by that worker is guarded by the lease, so a worker that was too
slow or died cannot overwrite what the next worker did. A worker that dies leaves its lease to
expire and the job is claimed again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from petitionkit.admin import audit
from petitionkit.outbox.models import DEAD, DONE, PENDING, SEALED_PAYLOAD_KEY, OutboxJob
from petitionkit.petitions.models import utcnow

LEASE_NAME_LENGTH = 100
# outbox_jobs.id is an INTEGER: 32 bits on PostgreSQL.
MAX_JOB_ID = 2**31 - 1


def new_message_id(message_domain: str) -> str:
    """The Message-ID an e-mail job keeps for all its attempts."""
    return make_msgid(domain=message_domain)


def _new_job_values(
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str | None,
    now: datetime | None,
    message_domain: str,
) -> dict[str, Any]:
    """The columns a new job is written with; ``created_at`` takes its column default."""
    return {
        "kind": kind,
        "payload": payload,
        "idempotency_key": idempotency_key,
        "message_id": new_message_id(message_domain) if kind.startswith("email.") else None,
        "status": PENDING,
        "attempts": 0,
        "available_at": now or utcnow(),
    }


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    now: datetime | None = None,
    message_domain: str = "petitionkit.invalid",
) -> OutboxJob:
    """Add a job to the caller's transaction; it is delivered only if that transaction commits.

    It costs one INSERT (at the next flush) and nothing else. E-mail jobs get their Message-ID
    here, once, so every retry of the same row sends the same Message-ID.
    """
    job = OutboxJob(**_new_job_values(kind, payload, idempotency_key, now, message_domain))
    session.add(job)
    return job


_NEW_JOB = insert(OutboxJob.__table__)


def enqueue_now(
    connection: Connection,
    kind: str,
    payload: dict[str, Any],
    *,
    now: datetime | None = None,
    message_domain: str = "petitionkit.invalid",
) -> None:
    """``enqueue`` for the signing hot path: the same row, inserted at once in the transaction
    of ``connection`` by a prebuilt Core statement.

    The ORM object, its flush at commit and the unit of work's bookkeeping cost more than the
    INSERT itself; a signing never looks at the job again, so it gets no object back.
    """
    connection.execute(
        _NEW_JOB, _new_job_values(kind, payload, None, now, message_domain)
    )


def enqueue_once(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    available_at: datetime | None = None,
) -> bool:
    """Add a job unless one with this key exists; True when it was added.

    ON CONFLICT DO NOTHING makes concurrent transactions agree without an error or a retry.
    """
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert_of = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = session.execute(
        insert_of(OutboxJob)
        .values(
            kind=kind,
            payload=payload,
            idempotency_key=idempotency_key,
            status=PENDING,
            attempts=0,
            available_at=available_at or now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxJob.id)
    ).scalar_one_or_none()
    return inserted is not None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff, capped, for as long as the retries span ``give_up_after`` seconds.

    Giving up is counted in attempts rather than from the job's creation: a job that waited days
    for a worker still gets its full series of retries, and a replayed job gets a fresh one.
    """

    backoff_base: float
    backoff_max: float
    give_up_after: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetryPolicy:
        return cls(
            backoff_base=float(config["OUTBOX_BACKOFF_BASE"]),
            backoff_max=float(config["OUTBOX_BACKOFF_MAX"]),
            give_up_after=float(config["OUTBOX_GIVE_UP_AFTER"]),
        )

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt (1 for the first)."""
        exponent = min(max(attempts - 1, 0), 60)
        return float(min(self.backoff_max, self.backoff_base * (2**exponent)))

    def retry_span(self, attempts: int) -> float:
        """Seconds spent waiting between the first ``attempts`` attempts."""
        return sum(self.delay(attempt) for attempt in range(1, attempts))

    def gives_up(self, attempts: int) -> bool:
        """True when the next attempt would come later than ``give_up_after`` after the first."""
        return self.retry_span(attempts + 1) > self.give_up_after


@dataclass(frozen=True)
class Claim:
    lease: str
    job_ids: list[int]


def new_lease(worker: str) -> str:
    suffix = uuid.uuid4().hex[:12]
    return f"{worker[: LEASE_NAME_LENGTH - len(suffix) - 1]}:{suffix}"


def _claimable(now: datetime) -> ColumnElement[bool]:
    lease_free = or_(OutboxJob.locked_until.is_(None), OutboxJob.locked_until < now)
    return and_(OutboxJob.status == PENDING, OutboxJob.available_at <= now, lease_free)


def claim(
    session: Session,
    worker: str,
    batch_size: int,
    lease_seconds: float,
    now: datetime | None = None,
) -> Claim:
    """Take up to ``batch_size`` due jobs for ``lease_seconds``, in one statement.

    On PostgreSQL the SELECT ... FOR UPDATE SKIP LOCKED lets concurrent workers pass over
    each other's rows without waiting. SQLite has no row locks, but a single UPDATE takes its
    write lock before it reads, so the claim is exclusive there too; the outer condition repeats
    the inner one so a row finished by another worker in the meantime is never taken again.
    """
    now = now or utcnow()
    lease = new_lease(worker)
    # A materialized CTE runs once; as a plain IN (subquery) PostgreSQL may run it again for
    # each row it updates, and every run locks another batch.
    due = (
        select(OutboxJob.id)
        .where(_claimable(now))
        .order_by(OutboxJob.available_at, OutboxJob.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED")
    )
    claimed = session.scalars(
        update(OutboxJob)
        .where(OutboxJob.id.in_(select(due.c.id)), _claimable(now))
        .values(locked_until=now + timedelta(seconds=lease_seconds), locked_by=lease)
        .returning(OutboxJob.id)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    return Claim(lease, sorted(claimed))


def _held(job_ids: Iterable[int], lease: str) -> ColumnElement[bool]:
    return and_(
        OutboxJob.id.in_(list(job_ids)), OutboxJob.locked_by == lease, OutboxJob.status == PENDING
    )


def extend(
    session: Session,
    lease: str,
    job_ids: list[int],
    lease_seconds: float,
    now: datetime | None = None,
) -> set[int]:
    """Renew the lease on jobs still to do; returns those this worker still holds.

    A job whose lease ran out may already belong to another worker, which then wins.
    """
    if not job_ids:
        return set()
    now = now or utcnow()
    held = session.scalars(
        update(OutboxJob)
        .where(_held(job_ids, lease))
        .values(locked_until=now + timedelta(seconds=lease_seconds))
        .returning(OutboxJob.id)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    return set(held)


def complete(
    session: Session,
    job_id: int,
    lease: str,
    now: datetime | None = None,
    *,
    payload: dict[str, Any] | None = None,
) -> bool:
    """Mark the job done; False when the lease was lost to another worker meanwhile.

    A job that carried sealed personal data (``SEALED_PAYLOAD_KEY``) is stored done without it:
    hand in its ``payload`` and the copy goes in the same statement.
    """
    values: dict[str, Any] = {"status": DONE, "done_at": now or utcnow(), "locked_until": None,
                              "last_error": None}
    if payload is not None and SEALED_PAYLOAD_KEY in payload:
        values["payload"] = {key: value for key, value in payload.items()
                             if key != SEALED_PAYLOAD_KEY}
    result = session.execute(
        update(OutboxJob)
        .where(_held([job_id], lease))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0))


LOST_LEASE = "lost-lease"


def fail(
    session: Session,
    job_id: int,
    lease: str,
    error: str,
    policy: RetryPolicy,
    now: datetime | None = None,
) -> str:
    """Record a failed attempt and schedule the next one; returns the job's new status.

    Returns ``LOST_LEASE`` (and changes nothing) when another worker holds the job by now.
    """
    now = now or utcnow()
    attempts = session.scalar(
        select(OutboxJob.attempts).where(_held([job_id], lease))
    )
    if attempts is None:
        session.rollback()
        return LOST_LEASE
    attempts += 1
    status = DEAD if policy.gives_up(attempts) else PENDING
    result = session.execute(
        update(OutboxJob)
        .where(_held([job_id], lease))
        .values(
            attempts=attempts,
            status=status,
            available_at=now + timedelta(seconds=policy.delay(attempts)),
            locked_until=None,
            locked_by=None,
            last_error=error[:500],
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return status if getattr(result, "rowcount", 0) else LOST_LEASE


def replay(session: Session, job_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Put dead jobs back in the queue (all of them when ``job_ids`` is None).

    Attempts start again from zero, so a replayed job gets the whole retry series once more.
    """
    statement = update(OutboxJob).where(OutboxJob.status == DEAD)
    if job_ids is not None:
        # A number past the column's range names no job; PostgreSQL would refuse to compare it.
        job_ids = [job_id for job_id in job_ids if 0 < job_id <= MAX_JOB_ID]
        if not job_ids:
            return 0
        statement = statement.where(OutboxJob.id.in_(job_ids))
    result = session.execute(
        statement.values(
            status=PENDING,
            attempts=0,
            available_at=now or utcnow(),
            locked_until=None,
            locked_by=None,
        ).execution_options(synchronize_session=False)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0))


def pending_jobs_naming_signature(session: Session, signature_id: int) -> list[OutboxJob]:
    """The jobs still to do whose payload names ``signature_id`` (its ``signature_id`` key)."""
    named = OutboxJob.payload["signature_id"]
    # PostgreSQL's ->> gives text, and a plugin's payload might hold anything under that key,
    # so compare as text there; SQLite's json_extract gives the number as a number.
    if session.get_bind().dialect.name == "postgresql":
        condition = named.as_string() == str(signature_id)
    else:
        condition = named.as_integer() == signature_id
    return list(session.scalars(
        select(OutboxJob).where(OutboxJob.status == PENDING, condition).order_by(OutboxJob.id)
    ))


def newest_dead_jobs(session: Session, limit: int) -> list[OutboxJob]:
    """The ``limit`` newest dead jobs, for the workspace and the API to show with their
    reasons (the worker's error class and code, never a server's reply text)."""
    return list(session.scalars(select(OutboxJob).where(OutboxJob.status == DEAD)
                                .order_by(OutboxJob.id.desc()).limit(limit)))


def replay_by(session: Session, job_ids: list[int] | None, actor: str) -> int:
    """``replay`` on behalf of a member of staff, written to the audit log; ``job_ids`` None is
    every dead job. Returns how many went back in the queue."""
    replayed = replay(session, job_ids) if job_ids != [] else 0
    what = "every dead job" if job_ids is None else ", ".join(map(str, job_ids)) or "none"
    audit.record(session, actor, "jobs replayed", f"{replayed}: {what}"[:400])
    session.commit()
    return replayed


def dead_jobs(session: Session) -> list[OutboxJob]:
    jobs = list(
        session.scalars(select(OutboxJob).where(OutboxJob.status == DEAD).order_by(OutboxJob.id))
    )
    return jobs


@dataclass(frozen=True)
class OutboxStats:
    """``pending`` counts every job still to deliver, ``due`` those whose time has come.

    ``oldest_due_age`` is how long the oldest due job has been due: a job scheduled for later on
    purpose (a letter held back by its target's hourly allowance, a retry after a failure) is not
    late until its time comes, however long ago it was written.
    """

    pending: int
    due: int
    dead: int
    oldest_due_age: float


def stats(session: Session, now: datetime | None = None) -> OutboxStats:
    """Depth and age of the queue, read in one pass over the (status, available_at) index."""
    now = now or utcnow()
    is_due = OutboxJob.available_at <= now
    pending, due, oldest = session.execute(
        select(
            func.count(OutboxJob.id),
            func.count(case((is_due, OutboxJob.id))),
            func.min(case((is_due, OutboxJob.available_at))),
        ).where(OutboxJob.status == PENDING)
    ).one()
    dead = session.scalar(select(func.count(OutboxJob.id)).where(OutboxJob.status == DEAD))
    session.rollback()
    age = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
    return OutboxStats(pending=int(pending), due=int(due), dead=int(dead or 0), oldest_due_age=age)
