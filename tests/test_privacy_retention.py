"""Retention: a petition closed for longer than its retain_days loses its signers' personal
data, by the worker once a day or by `petitionkit privacy purge`; counts and figures stay."""

from __future__ import annotations

import csv
import io
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, insert, select, update

from petitionkit import testing
from petitionkit.config import ConfigurationError
from petitionkit.extensions import db
from petitionkit.outbox.models import PENDING as JOB_PENDING
from petitionkit.outbox.models import OutboxJob
from petitionkit.petitions.loader import PetitionFileError, parse_petition
from petitionkit.petitions.models import Petition
from petitionkit.petitions.offline import record_offline
from petitionkit.privacy import retention
from petitionkit.privacy.retention import RETENTION_CLOCK
from petitionkit.signatures.models import PersonalDataRemoved, Signature

from .conftest import add_petition, base_config, make_app

NAME = "Ayşe Quillfeather"
EMAIL = "ayse.quillfeather@example.org"
POSTAL_CODE = "QX7 9ZZ"
LEGACY_NAME = "Oldrow Plaintextsson"
LEGACY_EMAIL = "oldrow.plaintextsson@example.org"
NEEDLES = (NAME, EMAIL, POSTAL_CODE, "Quillfeather", "Ayşe Q.", LEGACY_NAME, LEGACY_EMAIL)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest) -> Flask:
    app: Flask = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    return app


def close(app: Flask, slug: str, days_ago: float) -> None:
    """Close the petition through its status, then move the closing into the past."""
    add_petition(app, slug=slug, status="closed", asks_country=True, asks_postal_code=True)
    with app.app_context():
        db.session.execute(update(Petition).where(Petition.slug == slug).values(
            closed_at=datetime.now(UTC) - timedelta(days=days_ago)))
        db.session.commit()


def sign_on_the_page(app: Flask, slug: str, name: str, email: str) -> None:
    response = app.test_client().post(f"/p/{slug}/sign", data={
        "name": name, "email": email, "country": "GB", "postal_code": POSTAL_CODE,
        "show_name": "y", "consent_updates": "y"})
    assert response.status_code == 303


def add_legacy_row(app: Flask, slug: str) -> None:
    """A confirmed signature stored before sealing existed: plaintext, nothing sealed."""
    with app.app_context():
        petition_id = db.session.scalar(select(Petition.id).where(Petition.slug == slug))
        db.session.execute(insert(Signature).values(
            petition_id=petition_id, email_hash=b"\x01" * 32, legacy_email=LEGACY_EMAIL,
            legacy_name=LEGACY_NAME, legacy_postal_code=POSTAL_CODE, status="confirmed",
            token_nonce="n", show_name=False, locale="en", plain_extra={"letter_text": "mine"},
            mail_suppressed=False, mails_sent_today=0,
            confirmed_at=datetime(2026, 1, 2, 10, tzinfo=UTC)))
        db.session.execute(update(Petition).where(Petition.id == petition_id).values(
            signature_count=Petition.signature_count + 1))
        db.session.commit()


def campaign(app: Flask, slug: str = "free-the-poet") -> None:
    """A petition with every kind of row retention must deal with."""
    add_petition(app, slug=slug, asks_country=True, asks_postal_code=True, goal=1000)
    sign_on_the_page(app, slug, NAME, EMAIL)  # pending, its confirmation mail waiting
    testing.sign_and_confirm(app, slug, "Second Signer", "second@example.org",
                             country="DE", postal_code="10115", show_name=True,
                             personal_extra={"letter_text": "My own words."},
                             extra={"newsletter": "monthly"})
    withdrawn = testing.sign_and_confirm(app, slug, "Third Signer", "third@example.org")
    testing.withdraw(app, withdrawn)
    testing.sign_and_confirm(app, slug, "Fourth Signer", "fourth@example.org")
    add_legacy_row(app, slug)
    with app.app_context():
        petition = db.session.scalars(select(Petition).where(Petition.slug == slug)).one()
        record_offline(db.session(), petition, 40, "Market stall", "tester")


def figures(app: Flask, slug: str) -> dict[str, Any]:
    """What must survive: counts, goal, statuses and the per-day figures."""
    with app.app_context():
        petition = db.session.scalars(select(Petition).where(Petition.slug == slug)).one()
        rows = db.session.execute(
            select(Signature.status, Signature.country, Signature.confirmed_at,
                   Signature.consent_updates, Signature.consent_text_id, Signature.locale)
            .where(Signature.petition_id == petition.id).order_by(Signature.id)
        ).all()
        result = {
            "count": petition.signature_count, "offline": petition.offline_count,
            "goal": petition.goal, "rows": [tuple(row) for row in rows],
        }
        db.session.remove()
        return result


def personal_columns(app: Flask) -> list[tuple[Any, ...]]:
    with app.app_context():
        rows = db.session.execute(select(
            Signature.id, Signature.sealed, Signature.public_name, Signature.email_hash,
            Signature.legacy_name, Signature.legacy_email, Signature.anonymised_at,
        ).order_by(Signature.id)).all()
        db.session.remove()
        return [tuple(row) for row in rows]


def purge(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["privacy", "purge", *args])
    assert result.exit_code == 0, result.output
    return str(result.output)


# The petition file and the setting


def test_retain_days_is_read_from_the_petition_file() -> None:
    values = parse_petition("p.md", {"title": "T", "retain_days": 30}, "")
    assert values["retain_days"] == 30
    assert parse_petition("p.md", {"title": "T", "retain_days": 0}, "")["retain_days"] == 0
    assert parse_petition("p.md", {"title": "T"}, "")["retain_days"] is None


@pytest.mark.parametrize("value", [-1, "30", 1.5, True, 10**9, [30]])
def test_a_wrong_retain_days_is_refused_naming_the_key(value: object) -> None:
    with pytest.raises(PetitionFileError, match="retain_days must be a whole number of days"):
        parse_petition("p.md", {"title": "T", "retain_days": value}, "")


@pytest.mark.parametrize("value", [-1, "180", None, 2.5, False])
def test_a_wrong_site_retention_is_refused(tmp_path: Path, value: object) -> None:
    from petitionkit import create_app

    with pytest.raises(ConfigurationError, match="PERSONAL_DATA_RETAIN_DAYS"):
        create_app(base_config(tmp_path / "instance", PERSONAL_DATA_RETAIN_DAYS=value))


def test_the_closing_is_remembered_and_forgotten_on_reopening(app: Flask) -> None:
    slug = add_petition(app)
    with app.app_context():
        assert db.session.scalars(select(Petition)).one().closed_at is None
    add_petition(app, status="closed")
    with app.app_context():
        petition = db.session.scalars(select(Petition)).one()
        assert petition.closed_at is not None
        assert petition.closed_since() == petition.closed_at
        db.session.remove()
    add_petition(app, slug=slug, status="open")
    with app.app_context():
        assert db.session.scalars(select(Petition)).one().closed_at is None


def test_a_deadline_closes_a_petition_without_a_status_change() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    petition = Petition(status="open", closes_at=now - timedelta(days=200), retain_days=None)
    assert petition.closed_since(now) == now - timedelta(days=200)
    assert petition.purge_due_at(180, now) == now - timedelta(days=20)
    petition.retain_days = 365
    assert petition.purge_due_at(180, now) == now + timedelta(days=165)
    assert Petition(status="open", closes_at=now + timedelta(days=1)).closed_since(now) is None
    assert Petition(status="draft").closed_since(now) is None


# Purging


def test_dry_run_changes_nothing(any_app: Flask) -> None:
    campaign(any_app)
    close(any_app, "free-the-poet", days_ago=200)
    before = (figures(any_app, "free-the-poet"), personal_columns(any_app))
    output = purge(any_app, "--dry-run")
    assert "free-the-poet: would anonymise 5 signature(s)" in output
    assert "nothing was changed" in output
    assert (figures(any_app, "free-the-poet"), personal_columns(any_app)) == before
    with any_app.app_context():
        assert db.session.scalars(select(Petition)).one().purged_at is None


def test_purge_removes_personal_data_and_keeps_the_figures(any_app: Flask) -> None:
    campaign(any_app)
    add_petition(any_app, slug="still-open")
    testing.sign_and_confirm(any_app, "still-open", "Open Signer", "open@example.org")
    close(any_app, "free-the-poet", days_ago=200)
    before = figures(any_app, "free-the-poet")
    hashes_before = {row[0]: row[3] for row in personal_columns(any_app)}
    with any_app.app_context():
        waiting = db.session.scalar(select(func.count(OutboxJob.id))
                                    .where(OutboxJob.status == JOB_PENDING))
        assert waiting and waiting > 0

    output = purge(any_app)
    assert "free-the-poet: anonymised 5 signature(s)" in output
    assert "personal data removed on" in output
    assert figures(any_app, "free-the-poet") == before
    with any_app.app_context():
        petition = db.session.scalars(select(Petition).where(Petition.slug == "free-the-poet")
                                      ).one()
        assert petition.purged_at is not None
        purged = db.session.scalars(select(Signature).where(
            Signature.petition_id == petition.id).order_by(Signature.id)).all()
        for signature in purged:
            assert signature.anonymised_at is not None and signature.sealed is None
            assert signature.public_name is None and signature.legacy_name is None
            assert signature.legacy_email is None and signature.legacy_postal_code is None
            assert signature.email_hash != hashes_before[signature.id], "the blind index goes"
            with pytest.raises(PersonalDataRemoved, match="personal data removed on"):
                _ = signature.name
        # The non-personal plugin field stays; the legacy row's unlabelled fields go.
        assert [s.plain_extra for s in purged] == [{}, {"newsletter": "monthly"}, {}, {}, {}]
        other = db.session.scalars(select(Signature).join(Petition)
                                   .where(Petition.slug == "still-open")).one()
        assert other.anonymised_at is None and other.name == "Open Signer"
        # The pending signer's confirmation mail is gone with their data.
        jobs = db.session.scalars(select(OutboxJob).where(OutboxJob.status == JOB_PENDING)).all()
        assert all(job.payload.get("signature_id") not in {s.id for s in purged} for job in jobs)
        db.session.remove()

    assert "no petition is due" in purge(any_app), "a second run does nothing"
    assert figures(any_app, "free-the-poet") == before


def test_readers_of_personal_data_skip_anonymised_rows(tmp_path: Path, app: Flask) -> None:
    campaign(app)
    close(app, "free-the-poet", days_ago=200)
    purge(app)
    runner = app.test_cli_runner()
    exported = runner.invoke(args=["export", "free-the-poet", "--format", "csv", "--all"])
    assert exported.exit_code == 0, exported.output
    assert list(csv.DictReader(io.StringIO(exported.stdout))) == []
    assert "personal data removed on" in exported.stderr
    status = runner.invoke(args=["deliver", "free-the-poet"])
    assert status.exit_code == 0 and "personal data removed on" in status.output
    report = runner.invoke(args=["deliver", "free-the-poet", "--report",
                                 "--output-dir", str(tmp_path / "out")])
    assert report.exit_code == 0, report.output
    handover = (tmp_path / "out" / "free-the-poet-handover.csv").read_text()
    assert "total signatures,43" in handover and "personal data removed," in handover
    html = (tmp_path / "out" / "free-the-poet-handover.html").read_text()
    assert "personal data was removed on" in html
    # A job that still names an anonymised signature finds nothing to send.
    with app.app_context():
        ids = db.session.scalars(select(Signature.id)).all()
        for signature_id in ids:
            db.session.add(OutboxJob(kind="email.already_signed",
                                     payload={"signature_id": signature_id}))
            db.session.add(OutboxJob(kind="plugins.signature_withdrawn", payload={
                "signature_id": signature_id, "plugin": "x", "reason": "signer"}))
        db.session.commit()
    assert testing.run_jobs(app) == 2 * len(ids)
    assert not list((tmp_path / "instance" / "mail").glob("*.eml"))
    sealed = runner.invoke(args=["keys", "encrypt-existing"])
    assert sealed.exit_code == 0 and "sealed 0 signature(s)" in sealed.output


def test_purge_is_batched_and_resumable(app: Flask) -> None:
    add_petition(app)
    for number in range(7):
        testing.sign_and_confirm(app, "free-the-poet", f"Signer {number}",
                                 f"s{number}@example.org")
    close(app, "free-the-poet", days_ago=200)
    with app.app_context():
        petition_id = db.session.scalar(select(Petition.id))
        assert petition_id is not None
        batches = retention.anonymise(db.engine, petition_id, batch_size=3)
        assert next(batches) == 3
        batches.close()  # interrupted after the first batch
        assert retention.remaining(db.engine, petition_id) == 4
        db.session.remove()
    output = purge(app, "--batch-size", "2")
    assert "anonymised 4 signature(s)" in output
    with app.app_context():
        assert retention.remaining(db.engine, petition_id) == 0


# Due or not


def test_what_is_due(app: Flask) -> None:
    add_petition(app, slug="open-one")
    add_petition(app, slug="closed-long-ago")
    add_petition(app, slug="closed-recently")
    add_petition(app, slug="keeps-a-year", retain_days=365)
    add_petition(app, slug="keeps-nothing", retain_days=0)
    add_petition(app, slug="deadline-passed",
                 closes_at=datetime.now(UTC) - timedelta(days=181))
    add_petition(app, slug="a-draft", status="draft")
    close(app, "closed-long-ago", days_ago=181)
    close(app, "closed-recently", days_ago=10)
    close(app, "keeps-a-year", days_ago=200)
    add_petition(app, slug="keeps-nothing", status="closed", retain_days=0)
    with app.app_context():
        due = retention.due_petitions(db.engine, 180)
        assert [p.slug for p in due] == ["closed-long-ago", "deadline-passed", "keeps-nothing"]
        assert [p.slug for p in retention.due_petitions(db.engine, 5)] == [
            "closed-long-ago", "closed-recently", "deadline-passed", "keeps-nothing"]


def test_a_petition_purged_then_reopened_and_closed_again_is_due_again(app: Flask) -> None:
    add_petition(app, retain_days=0)
    close(app, "free-the-poet", days_ago=1)
    purge(app)
    add_petition(app, status="open", retain_days=0)
    testing.sign_and_confirm(app, "free-the-poet", "Late Signer", "late@example.org")
    assert "no petition is due" in purge(app)
    add_petition(app, status="closed", retain_days=0)
    assert "anonymised 1 signature(s)" in purge(app)


def test_the_worker_purges_due_petitions_once_a_day(app: Flask) -> None:
    campaign(app, "due")
    campaign(app, "open-one")
    add_petition(app, slug="recent", retain_days=30)
    testing.sign_and_confirm(app, "recent", "Recent Signer", "recent@example.org")
    close(app, "due", days_ago=181)
    close(app, "recent", days_ago=10)
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output

    def anonymised(slug: str) -> int:
        with app.app_context():
            return int(db.session.scalar(
                select(func.count(Signature.id)).join(Petition)
                .where(Petition.slug == slug, Signature.anonymised_at.is_not(None))) or 0)

    assert (anonymised("due"), anonymised("open-one"), anonymised("recent")) == (5, 0, 0)
    # The loop of a long-running worker looks at most once a day.
    from petitionkit.outbox.worker import run_retention

    close(app, "recent", days_ago=31)
    with app.app_context():
        run_retention(app)
        assert anonymised("recent") == 0, "this process looked less than a day ago"
        clock = RETENTION_CLOCK.of(app)
        assert clock.last_check is not None
        clock.last_check -= retention.CHECK_INTERVAL
        run_retention(app)
        assert (anonymised("recent"), anonymised("open-one")) == (1, 0)


# No byte left


def _found(data: bytes, sealed: list[bytes]) -> list[str]:
    found = [needle for needle in NEEDLES
             if needle.encode("utf-8") in data or needle.encode("utf-16-le") in data]
    return found + [f"sealed data {number}" for number, box in enumerate(sealed) if box in data]


def test_no_byte_of_the_sqlite_files_holds_purged_personal_data(app: Flask) -> None:
    campaign(app)
    with app.app_context():
        sealed = [box for box in db.session.scalars(select(Signature.sealed)) if box]
        db.session.remove()
    database = Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
    wal = Path(f"{database}-wal")

    def files() -> bytes:
        return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    # The check itself can fail: the display form and the legacy row are there before.
    assert {"Ayşe Q.", LEGACY_NAME} <= set(_found(files(), sealed))
    close(app, "free-the-poet", days_ago=200)
    purge(app)
    assert _found(files(), sealed) == []
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(FULL)")
    assert _found(files(), sealed) == []


def test_no_byte_of_a_postgresql_dump_holds_purged_personal_data(pg_app: Flask,
                                                                   pg_dump: str) -> None:
    campaign(pg_app)
    with pg_app.app_context():
        sealed = [box.hex().encode() for box in db.session.scalars(select(Signature.sealed))
                  if box]
        url = db.engine.url.render_as_string(hide_password=False)
        db.session.remove()
    command = [pg_dump, "--dbname", url.replace("postgresql+psycopg://", "postgresql://")]

    def dump() -> bytes:
        return subprocess.run(command, check=True, capture_output=True, timeout=60).stdout

    assert {"Ayşe Q.", LEGACY_NAME} <= set(_found(dump(), sealed))
    close(pg_app, "free-the-poet", days_ago=200)
    purge(pg_app)
    after = dump()
    assert b"COPY public.signatures" in after
    assert _found(after, sealed) == []


def test_purge_needs_no_private_key(tmp_path: Path, migrated_sqlite: Path) -> None:
    web = make_app(tmp_path, migrated_sqlite, DATA_PRIVATE_KEY_FILE=None)
    add_petition(web)
    sign_on_the_page(web, "free-the-poet", NAME, EMAIL)
    close(web, "free-the-poet", days_ago=200)
    assert "anonymised 1 signature(s)" in purge(web)
