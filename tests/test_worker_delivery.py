"""The worker against a real SMTP server on loopback: down, refusing, back up, and dead jobs."""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select, update

from petitionkit.extensions import db
from petitionkit.outbox.models import DEAD, DONE, PENDING, OutboxJob
from petitionkit.outbox.worker import run_batch
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.signatures.services import SignatureInput, sign

from .conftest import add_petition, free_port, make_app
from .smtp import RecordingSMTPServer


def sign_many(app: Flask, slug: str, number: int) -> None:
    policy = app.extensions["petitionkit.signing_policy"]
    with app.app_context():
        petition = db.session.scalars(select(Petition).where(Petition.slug == slug)).one()
        for n in range(number):
            data = SignatureInput(name=f"Signer {n}", email=f"signer{n}@example.org")
            sign(db.engine, petition, data, policy)
        db.session.remove()


def jobs(app: Flask) -> list[OutboxJob]:
    with app.app_context():
        found = list(db.session.scalars(select(OutboxJob).order_by(OutboxJob.id)))
        db.session.expunge_all()
        db.session.remove()
        return found


def make_all_due(app: Flask) -> None:
    """Instead of sleeping through the backoff: what the clock would do."""
    with app.app_context():
        db.session.execute(
            update(OutboxJob).where(OutboxJob.status == PENDING).values(available_at=utcnow())
        )
        db.session.commit()
        db.session.remove()


def drain(app: Flask) -> int:
    """What ``petitionkit worker --once`` does: batch after batch while any job is due."""
    total = 0
    with app.app_context():
        while (batch := run_batch(app)).claimed > 0:
            total += batch.delivered
    return total


def test_mail_waits_while_the_server_is_down_and_all_goes_out_when_it_is_back(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    port = free_port()
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=f"smtp://127.0.0.1:{port}",
                   OUTBOX_BACKOFF_BASE=30.0, OUTBOX_BACKOFF_MAX=100.0, OUTBOX_BATCH_SIZE=4)
    slug = add_petition(app)
    sign_many(app, slug, 10)

    waits: list[float] = []
    for attempt in range(1, 4):
        started = utcnow()
        assert drain(app) == 0
        rows = jobs(app)
        assert all(row.status == PENDING and row.attempts == attempt for row in rows), (
            "one refused connection fails the whole batch, and every batch is tried once"
        )
        assert {row.last_error for row in rows} == {
            "TransportUnavailable (ConnectionRefusedError: [Errno 111] Connection refused)"
        }
        waits.append(min((row.available_at - started).total_seconds()
                         for row in rows))
        assert drain(app) == 0, "nothing is due again before its backoff has passed"
        make_all_due(app)
    assert waits[0] >= 29 and waits[1] >= 59 and waits[2] >= 99, waits

    server = RecordingSMTPServer(port=port)
    server.start()
    try:
        assert drain(app) == 10
        delivered = server.wait_for(10)
    finally:
        server.stop()
    rows = jobs(app)
    assert all(row.status == DONE for row in rows)
    assert Counter(str(message["Message-ID"]) for message in delivered) == Counter(
        row.message_id for row in rows
    ), "each job went out exactly once, with the Message-ID kept on its row"
    assert sorted(str(message["To"]) for message in delivered) == sorted(
        f"Signer {n} <signer{n}@example.org>" for n in range(10)
    )


def test_temporary_refusals_are_retried_with_the_same_message_id(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url, OUTBOX_BACKOFF_BASE=60.0)
    slug = add_petition(app)
    sign_many(app, slug, 3)

    smtp_server.refuse_with = "451 4.3.0 Mailbox busy, try again later"
    assert drain(app) == 0
    smtp_server.refuse_with = "554 5.3.0 Transaction failed"
    make_all_due(app)
    assert drain(app) == 0
    rows = jobs(app)
    assert [(row.attempts, row.last_error) for row in rows] == [(2, "SMTPDataError 554")] * 3
    assert len(smtp_server.refused) == 6, "each message was offered on each attempt"

    smtp_server.refuse_with = None
    assert drain(app) == 0, "backing off: not due yet"
    make_all_due(app)
    assert drain(app) == 3
    delivered = smtp_server.wait_for(3)
    assert len(delivered) == 3
    ids_on_rows = {row.message_id for row in rows}
    assert {str(message["Message-ID"]) for message in delivered} == ids_on_rows
    assert {str(message["Message-ID"]) for message in smtp_server.refused} == ids_on_rows, (
        "a resend is recognisable: the refused tries carried the same Message-IDs"
    )


def test_a_recipient_refused_for_good_is_dead_at_once_and_the_rest_go_out(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url, OUTBOX_BACKOFF_BASE=60.0)
    slug = add_petition(app)
    sign_many(app, slug, 4)
    smtp_server.refuse_recipients = {
        "signer0@example.org": "550 5.1.1 No such user here",
        "signer1@example.org": "452 4.2.2 Mailbox over quota, try later",
        "signer2@example.org": "552 5.2.2 Mailbox full",
    }

    assert drain(app) == 1, "the session goes on past a refused recipient"
    assert [str(message["To"]) for message in smtp_server.wait_for(1)] == [
        "Signer 3 <signer3@example.org>"
    ]
    outcome = [(row.status, row.attempts, row.last_error) for row in jobs(app)]
    assert outcome == [
        (DEAD, 1, "SMTPRecipientsRefused 550"),
        (PENDING, 1, "SMTPRecipientsRefused 452"),
        (PENDING, 1, "SMTPRecipientsRefused 552"),
        (DONE, 0, None),
    ], "a 5xx for the mailbox is final, except 552, which RFC 5321 treats as temporary"

    smtp_server.refuse_recipients = {}
    make_all_due(app)
    assert drain(app) == 2, "the temporary refusals are retried; the dead job is not"
    assert [row.status for row in jobs(app)] == [DEAD, DONE, DONE, DONE]


def test_dead_jobs_are_listed_and_replayed_through_the_cli(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url,
                   OUTBOX_BACKOFF_BASE=10.0, OUTBOX_BACKOFF_MAX=10.0, OUTBOX_GIVE_UP_AFTER=15.0)
    slug = add_petition(app)
    sign_many(app, slug, 2)
    runner = app.test_cli_runner()

    smtp_server.refuse_with = "550 5.7.1 Refused"
    assert drain(app) == 0
    assert {row.status for row in jobs(app)} == {PENDING}
    make_all_due(app)
    assert drain(app) == 0
    rows = jobs(app)
    assert {(row.status, row.attempts) for row in rows} == {(DEAD, 2)}, (
        "two attempts 10 s apart span the 15 s allowed, so the third is never made"
    )
    make_all_due(app)
    assert drain(app) == 0

    listing = runner.invoke(args=["outbox", "dead"])
    assert listing.exit_code == 0, listing.output
    lines = [line.split("\t") for line in listing.stdout.splitlines()]
    assert [(int(line[0]), line[1], line[2], line[4]) for line in lines] == [
        (row.id, "email.confirm", "2 attempts", "SMTPDataError 550") for row in rows
    ]
    assert "signer" not in listing.output, "the listing names no one"

    status = runner.invoke(args=["outbox", "status"])
    assert "pending 0 (due 0), dead 2" in status.output

    smtp_server.refuse_with = None
    replay_one = runner.invoke(args=["outbox", "replay", str(rows[0].id)])
    assert replay_one.exit_code == 0 and "replayed 1" in replay_one.output
    assert drain(app) == 1
    replay_rest = runner.invoke(args=["outbox", "replay"])
    assert "replayed 1" in replay_rest.output
    assert drain(app) == 1
    assert {row.status for row in jobs(app)} == {DONE}
    assert len(smtp_server.wait_for(2)) == 2
    empty = runner.invoke(args=["outbox", "dead"])
    assert empty.stdout == ""
    assert runner.invoke(args=["outbox", "replay"]).output.strip() == "replayed 0"


class HangsUpAfterOne:
    """Accepts one message per connection, then drops the connection mid-reply."""

    def __init__(self) -> None:
        self.accepted: list[str] = []
        self.sessions_served: set[int] = set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if id(session) in self.sessions_served:
            server.transport.close()
            return "421 4.3.2 Going away"
        self.sessions_served.add(id(session))
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.accepted.append(str(message["Message-ID"]))
        return "250 OK"


def test_a_connection_dropped_mid_batch_backs_off_the_rest_and_loses_nothing(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    handler = HangsUpAfterOne()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = make_app(tmp_path, migrated_sqlite, MAIL_URL=f"smtp://127.0.0.1:{port}",
                       OUTBOX_BATCH_SIZE=10)
        sign_many(app, add_petition(app), 3)
        with app.app_context():
            first = run_batch(app)
        assert (first.claimed, first.delivered, first.transport_down) == (3, 1, True)
        rows = jobs(app)
        assert [(row.status, row.attempts) for row in rows] == [
            (DONE, 0), (PENDING, 1), (PENDING, 1)
        ]
        assert rows[1].last_error == "SMTPServerDisconnected"
        for _round in range(2):
            make_all_due(app)
            drain(app)
    finally:
        controller.stop()
    rows = jobs(app)
    assert {row.status for row in rows} == {DONE}
    assert sorted(handler.accepted) == sorted(str(row.message_id) for row in rows)
