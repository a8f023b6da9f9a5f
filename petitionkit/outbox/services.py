"""The transactional outbox: enqueue with the cause, claim with a lease, finish or back off."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from petitionkit.outbox.models import DEAD, DONE, PENDING, OutboxJob
from petitionkit.petitions.models import utcnow


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    now: datetime | None = None,
    message_domain: str = "petitionkit.invalid",
) -> OutboxJob:
    """Add a job to the caller's transaction; it is delivered only if that transaction commits."""
    job = OutboxJob(
        kind=kind,
        payload=payload,
        idempotency_key=idempotency_key,
        message_id=make_msgid(domain=message_domain) if kind.startswith("email.") else None,
        status=PENDING,
        attempts=0,
        available_at=now or utcnow(),
    )
    session.add(job)
    return job


@dataclass(frozen=True)
class Claim:
    lease: str
    job_ids: list[int]


def claim(
    session: Session, worker: str, batch_size: int, lease_seconds: float, now: datetime | None = None
) -> Claim:
    """Take up to ``batch_size`` due jobs for ``lease_seconds``.

    SKIP LOCKED lets concurrent workers on PostgreSQL pass over each other's rows without waiting;
    the guarded UPDATE makes the claim exclusive on any database (SQLite serialises writers).
    """
    now = now or utcnow()
    lease = f"{worker}:{uuid.uuid4().hex[:12]}"
    free = or_(OutboxJob.locked_until.is_(None), OutboxJob.locked_until < now)
    due = (
        select(OutboxJob.id)
        .where(OutboxJob.status == PENDING, OutboxJob.available_at <= now, free)
        .order_by(OutboxJob.available_at, OutboxJob.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    candidates = list(session.scalars(due))
    if not candidates:
        session.rollback()
        return Claim(lease, [])
    session.execute(
        update(OutboxJob)
        .where(OutboxJob.id.in_(candidates), free)
        .values(locked_until=now + timedelta(seconds=lease_seconds), locked_by=lease)
    )
    session.commit()
    claimed = list(
        session.scalars(
            select(OutboxJob.id).where(OutboxJob.locked_by == lease).order_by(OutboxJob.id)
        )
    )
    session.rollback()
    return Claim(lease, claimed)


def complete(session: Session, job_id: int, lease: str, now: datetime | None = None) -> None:
    session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == job_id, OutboxJob.locked_by == lease)
        .values(status=DONE, done_at=now or utcnow(), locked_until=None, last_error=None)
    )
    session.commit()


def fail(
    session: Session,
    job_id: int,
    lease: str,
    error: str,
    *,
    backoff_base: float,
    backoff_max: float,
    give_up_after: float,
    now: datetime | None = None,
) -> str:
    """Record a failed attempt and schedule the next one; returns the job's new status."""
    now = now or utcnow()
    job = session.get(OutboxJob, job_id)
    if job is None or job.locked_by != lease:
        session.rollback()
        return "lost-lease"
    attempts = job.attempts + 1
    delay = min(backoff_max, backoff_base * (2 ** (attempts - 1)))
    created = job.created_at if job.created_at.tzinfo else job.created_at.replace(tzinfo=now.tzinfo)
    status = DEAD if (now - created).total_seconds() > give_up_after else PENDING
    job.attempts = attempts
    job.status = status
    job.available_at = now + timedelta(seconds=delay)
    job.locked_until = None
    job.last_error = error[:500]
    session.commit()
    return status


def replay(session: Session, job_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Put dead jobs back in the queue (all of them when ``job_ids`` is None)."""
    statement = update(OutboxJob).where(OutboxJob.status == DEAD)
    if job_ids is not None:
        statement = statement.where(OutboxJob.id.in_(job_ids))
    replayed = session.execute(
        statement.values(status=PENDING, available_at=now or utcnow(), locked_until=None)
    ).rowcount
    session.commit()
    return int(replayed)


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    dead: int
    oldest_pending_age: float


def stats(session: Session, now: datetime | None = None) -> OutboxStats:
    now = now or utcnow()
    pending, oldest = session.execute(
        select(func.count(OutboxJob.id), func.min(OutboxJob.created_at)).where(
            OutboxJob.status == PENDING
        )
    ).one()
    dead = session.scalar(select(func.count(OutboxJob.id)).where(OutboxJob.status == DEAD))
    age = 0.0
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
        age = max(0.0, (now - oldest).total_seconds())
    session.rollback()
    return OutboxStats(pending=int(pending), dead=int(dead or 0), oldest_pending_age=age)
