"""The outbox's own rules on a real database: written with its cause, claimed once, retried,
given up and replayed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from petitionkit.extensions import db
from petitionkit.outbox import services
from petitionkit.outbox.models import DEAD, DONE, PENDING, OutboxJob
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.signatures.models import Signature
from petitionkit.signatures.services import CONFIRM_EMAIL, SignatureInput, sign

POLICY = services.RetryPolicy(backoff_base=10.0, backoff_max=60.0, give_up_after=100.0)


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def enqueue_jobs(number: int) -> list[int]:
    jobs = [services.enqueue(db.session(), "email.test", {"n": n}) for n in range(number)]
    db.session.commit()
    return [job.id for job in jobs]


def test_signing_writes_its_email_in_the_same_transaction(app: Flask, petition: str) -> None:
    policy = app.extensions["petitionkit.signing_policy"]
    with app.app_context():
        target = db.session.scalars(select(Petition).where(Petition.slug == petition)).one()
        sign(db.engine, target, SignatureInput(name="Ona Vale", email="ona@example.org"), policy)
        [job] = db.session.scalars(select(OutboxJob)).all()
        [signature] = db.session.scalars(select(Signature)).all()
        assert job.kind == CONFIRM_EMAIL
        assert job.payload == {"signature_id": signature.id}
        assert job.status == PENDING and job.message_id and job.message_id.endswith("@example.org>")


def test_enqueue_costs_one_insert_and_nothing_else(app: Flask) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            services.enqueue(db.session(), "email.confirm", {"signature_id": 1})
            db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    assert len(statements) == 1
    assert statements[0].startswith("INSERT INTO outbox_jobs")


def _sign_while_failing(app: Flask, petition: str, event_name: str,
                        listener: Callable[..., None]) -> None:
    """One signing with ``listener`` on the engine's ``event_name``; the signing must raise."""
    policy = app.extensions["petitionkit.signing_policy"]
    with app.app_context():
        target = db.session.scalars(select(Petition).where(Petition.slug == petition)).one()
        event.listen(db.engine, event_name, listener)
        try:
            with pytest.raises(RuntimeError):
                sign(db.engine, target, SignatureInput(name="Ona Vale", email="ona@example.org"),
                     policy)
        finally:
            event.remove(db.engine, event_name, listener)


def test_a_signing_rolled_back_at_commit_leaves_neither_signature_nor_job(
    app: Flask, petition: str
) -> None:
    def commit_fails(_connection: Any) -> None:
        raise RuntimeError("the database went away at commit")

    _sign_while_failing(app, petition, "commit", commit_fails)
    with app.app_context():
        assert count(OutboxJob) == 0
        assert count(Signature) == 0


def test_a_failing_outbox_write_keeps_the_signature_out_too(app: Flask, petition: str) -> None:
    """The other direction: no signature is ever stored without the e-mail that confirms it."""

    def refuse_outbox_rows(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().startswith("INSERT INTO outbox_jobs"):
            raise RuntimeError("outbox insert refused")

    _sign_while_failing(app, petition, "before_cursor_execute", refuse_outbox_rows)
    with app.app_context():
        assert count(Signature) == 0
        assert count(OutboxJob) == 0


def test_a_claim_is_exclusive_until_its_lease_expires(app: Flask) -> None:
    with app.app_context():
        ids = enqueue_jobs(5)
        now = utcnow()
        first = services.claim(db.session(), "one", 3, lease_seconds=60, now=now)
        second = services.claim(db.session(), "two", 10, lease_seconds=60, now=now)
        assert first.job_ids == ids[:3]
        assert second.job_ids == ids[3:]
        assert services.claim(db.session(), "three", 10, 60, now=now).job_ids == []

        later = now + timedelta(seconds=61)
        # "one" died: its lease ran out and another worker takes the jobs over.
        taken_over = services.claim(db.session(), "three", 10, 60, now=later)
        assert taken_over.job_ids == ids  # "two" has run out as well by then
        assert services.complete(db.session(), ids[0], first.lease) is False
        assert services.fail(db.session(), ids[0], first.lease, "late", POLICY) == (
            services.LOST_LEASE
        )
        assert services.complete(db.session(), ids[0], taken_over.lease) is True
        assert db.session.get(OutboxJob, ids[0]).status == DONE


def test_a_finished_job_is_never_claimed_again(app: Flask) -> None:
    with app.app_context():
        [job_id] = enqueue_jobs(1)
        now = utcnow()
        claim = services.claim(db.session(), "one", 10, 60, now=now)
        assert services.complete(db.session(), job_id, claim.lease, now=now)
        far_later = now + timedelta(days=30)
        assert services.claim(db.session(), "two", 10, 60, now=far_later).job_ids == []


def test_extend_keeps_only_the_jobs_still_held(app: Flask) -> None:
    with app.app_context():
        ids = enqueue_jobs(3)
        now = utcnow()
        claim = services.claim(db.session(), "slow", 10, 10, now=now)
        thief = services.claim(db.session(), "fast", 1, 10, now=now + timedelta(seconds=11))
        assert thief.job_ids == ids[:1]
        assert services.extend(db.session(), claim.lease, ids, 10) == set(ids[1:])


def test_backoff_grows_to_its_cap_and_gives_up_after_the_span() -> None:
    delays = [POLICY.delay(attempt) for attempt in range(1, 6)]
    assert delays == [10.0, 20.0, 40.0, 60.0, 60.0]
    # The fourth attempt comes 10 + 20 + 40 = 70 s after the first, within the 100 s allowed;
    # a fifth would come at 130 s, so the job gives up when the fourth fails.
    assert not POLICY.gives_up(3)
    assert POLICY.gives_up(4)
    assert POLICY.delay(500) == 60.0


def test_failures_back_off_then_die_and_replay_starts_over(app: Flask) -> None:
    with app.app_context():
        [job_id] = enqueue_jobs(1)
        now = utcnow()
        statuses = []
        waits = []
        for _attempt in range(4):
            claim = services.claim(db.session(), "w", 10, 60, now=now)
            assert claim.job_ids == [job_id]
            statuses.append(services.fail(db.session(), job_id, claim.lease, "SMTPDataError 451",
                                          POLICY, now=now))
            job = db.session.get(OutboxJob, job_id)
            waits.append((job.available_at - now).total_seconds())
            now = job.available_at
        assert statuses == [PENDING] * 3 + [DEAD]
        assert waits == [10.0, 20.0, 40.0, 60.0]
        assert services.claim(db.session(), "w", 10, 60, now=now).job_ids == []
        assert [job.id for job in services.dead_jobs(db.session())] == [job_id]

        assert services.replay(db.session(), None, now=now) == 1
        job = db.session.get(OutboxJob, job_id)
        assert (job.status, job.attempts, job.last_error) == (PENDING, 0, "SMTPDataError 451")
        assert services.claim(db.session(), "w", 10, 60, now=now).job_ids == [job_id]


def test_stats_count_depth_and_age_with_naive_sqlite_datetimes(app: Flask) -> None:
    with app.app_context():
        ids = enqueue_jobs(3)
        job = db.session.get(OutboxJob, ids[0])
        job.created_at = utcnow() - timedelta(seconds=500)
        db.session.commit()
        claim = services.claim(db.session(), "w", 1, 60)
        services.fail(db.session(), ids[0], claim.lease, "x",
                      services.RetryPolicy(1, 1, give_up_after=0))
        stats = services.stats(db.session())
        assert (stats.pending, stats.due, stats.dead) == (2, 2, 1)
        # The oldest due job is one of the fresh ones now.
        assert 0 <= stats.oldest_due_age < 60


def test_the_signing_path_writes_the_same_job_as_enqueue(app: Flask) -> None:
    now = utcnow()
    with app.app_context():
        services.enqueue(db.session(), "email.confirm", {"signature_id": 7}, now=now,
                         message_domain="example.org")
        services.enqueue_now(db.session.connection(), "email.confirm", {"signature_id": 7}, now=now,
                             message_domain="example.org")
        db.session.commit()
        first, second = db.session.scalars(select(OutboxJob).order_by(OutboxJob.id)).all()
    columns = [column.key for column in OutboxJob.__table__.columns
               if column.key not in ("id", "message_id", "created_at")]
    assert [getattr(second, key) for key in columns] == [getattr(first, key) for key in columns]
    assert second.payload == {"signature_id": 7} and second.status == PENDING
    assert first.message_id and second.message_id and first.message_id != second.message_id
    assert second.message_id.endswith("@example.org>")
    assert second.created_at is not None
