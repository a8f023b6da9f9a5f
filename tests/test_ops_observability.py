"""Readiness, Prometheus metrics, and logs that never name a signer."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from petitionkit.extensions import db
from petitionkit.outbox import services
from petitionkit.outbox.worker import run_batch
from petitionkit.petitions.models import utcnow
from petitionkit.signatures.models import ORGANIZATION, Signature

from .admin import post_form, sign_in
from .conftest import add_petition, make_app
from .smtp import RecordingSMTPServer, link_from


def test_healthz_and_readyz_when_all_is_well(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {"status": "ok", "database": "ok", "outbox_pending": 0, "outbox_due": 0,
                          "outbox_oldest_age_seconds": 0.0, "outbox_dead": 0}


def add_job(app: Flask, created_ago: float, due_in: float, attempts: int = 0) -> None:
    """A waiting job created ``created_ago`` seconds ago, due in ``due_in`` (negative: overdue)."""
    now = utcnow()
    with app.app_context():
        job = services.enqueue(db.session(), "targets.deliver", {"batch": 1})
        job.created_at = now - timedelta(seconds=created_ago)
        job.available_at = now + timedelta(seconds=due_in)
        job.attempts = attempts
        db.session.commit()
        db.session.remove()


def oldest_age_gauge(app: Flask) -> float:
    return scrape(app.test_client())[("petitionkit_outbox_oldest_age_seconds", ())]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest) -> Flask:
    app: Flask = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    app.config["READY_MAX_OUTBOX_AGE"] = 300
    return app


def test_readyz_degrades_when_a_due_job_waits_too_long(any_app: Flask) -> None:
    add_job(any_app, created_ago=1800, due_in=-900)
    ready = any_app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.json["status"] == "degraded"
    assert ready.json["outbox_pending"] == 1
    assert ready.json["outbox_due"] == 1
    # Measured from when the job became due, not from when it was written.
    assert 899 <= ready.json["outbox_oldest_age_seconds"] < 960
    assert 899 <= oldest_age_gauge(any_app) < 960


def test_a_job_scheduled_for_later_is_no_alarm(any_app: Flask) -> None:
    """A letter throttled to its target's hourly allowance waits on purpose."""
    add_job(any_app, created_ago=1800, due_in=3600)
    ready = any_app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {"status": "ok", "database": "ok", "outbox_pending": 1,
                          "outbox_due": 0, "outbox_oldest_age_seconds": 0.0, "outbox_dead": 0}
    assert oldest_age_gauge(any_app) == 0
    assert scrape(any_app.test_client())[("petitionkit_outbox_pending", ())] == 1


def test_a_job_backing_off_is_no_alarm(any_app: Flask) -> None:
    """A webhook whose receiver failed waits for its next attempt; only once that attempt is
    due and nobody takes it does the age grow."""
    add_job(any_app, created_ago=7200, due_in=240, attempts=5)
    assert any_app.test_client().get("/readyz").status_code == 200
    assert oldest_age_gauge(any_app) == 0
    add_job(any_app, created_ago=7200, due_in=-60, attempts=5)
    ready = any_app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert 59 <= ready.json["outbox_oldest_age_seconds"] < 120
    assert ready.json["outbox_due"] == 1


def test_readyz_says_when_the_database_is_unreachable(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    missing = tmp_path / "no such folder" / "petitionkit.db"
    app = make_app(tmp_path, migrated_sqlite, DATABASE_URL=f"sqlite:///{missing}")
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json == {"status": "unavailable", "database": "unreachable"}
    assert client.get("/healthz").status_code == 200, "alive, only not ready"
    assert client.get("/metrics").status_code == 200, "counters still scrape without a database"


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    values = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_metrics_count_signings_confirmations_refusals_and_the_outbox(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url, RATELIMIT_SIGN="3/minute")
    slug = add_petition(app)
    client = app.test_client()
    before = scrape(client)

    def change(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    for n in range(4):
        client.post(f"/p/{slug}/sign", data={"name": "Ines", "email": f"ines{n}@example.org"})
    smtp_server.refuse_with = "451 4.3.0 Try later"
    with app.app_context():
        assert run_batch(app).delivered == 0
    after = scrape(client)
    assert change("petitionkit_signings_total", channel="form") == 3
    assert change("petitionkit_rate_limited_total") == 1
    assert change("petitionkit_outbox_failures_total", kind="email") == 3
    assert after[("petitionkit_outbox_pending", ())] == 3
    assert after[("petitionkit_outbox_oldest_age_seconds", ())] >= 0
    assert after[("petitionkit_outbox_dead", ())] == 0

    smtp_server.refuse_with = None
    with app.app_context():
        db.session.execute(services.update(services.OutboxJob).values(available_at=utcnow()))
        db.session.commit()
        assert run_batch(app).delivered == 3
    confirm_url = link_from(smtp_server.wait_for(3)[0], "http://localhost/confirm/")
    client.post(confirm_url.removeprefix("http://localhost"))
    after = scrape(client)
    assert change("petitionkit_confirmations_total") == 1
    assert change("petitionkit_outbox_jobs_done_total", kind="email") == 3
    assert after[("petitionkit_outbox_pending", ())] == 0


def test_logs_never_carry_names_addresses_or_ips(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url, RATELIMIT_SIGN="2/minute")
    slug = add_petition(app)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    secrets = ["Zofia Quellbrunn", "Quellbrunn", "zofia.q@example.org", "zofia.q",
               "Anouk Merriweather", "anouk@example.net", "203.0.113.77"]
    caplog.set_level(logging.DEBUG)

    client.post(f"/p/{slug}/sign", data={"name": "Zofia Quellbrunn",
                                         "email": "zofia.q@example.org"})
    client.post(f"/p/{slug}/sign", data={"name": "Anouk Merriweather",
                                         "email": "not an address anouk@example.net"})
    client.post(f"/p/{slug}/sign", data={"name": "Anouk Merriweather",
                                         "email": "anouk@example.net"})  # 429 by now
    # A server whose refusal quotes the recipient, as real ones do.
    smtp_server.refuse_with = "550 5.1.1 <zofia.q@example.org>: Recipient Zofia rejected"
    with app.app_context():
        assert run_batch(app).claimed == 1
    smtp_server.refuse_with = None
    with app.app_context():
        db.session.execute(services.update(services.OutboxJob).values(available_at=utcnow()))
        db.session.commit()
        assert run_batch(app).delivered == 1
    message = smtp_server.wait_for(1)[0]
    client.post(link_from(message, "http://localhost/confirm/").removeprefix("http://localhost"))
    client.post(link_from(message, "http://localhost/cancel/").removeprefix("http://localhost"))

    ours = [record for record in caplog.records if not record.name.startswith("mail.log")]
    assert any(record.name == "petitionkit.worker" for record in ours)
    assert any("job failed" in record.getMessage() for record in ours)
    assert any(record.name == "petitionkit.signatures" for record in ours)
    for record in ours:
        text = " ".join([record.getMessage(), record.exc_text or "", str(record.args)])
        leaked = [secret for secret in secrets if secret.lower() in text.lower()]
        assert not leaked, f"{record.name} logged {leaked}: {text}"



def test_the_workspace_logs_no_signer_either(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What staff do with signers' data (a search by address, an organisation's approval, an
    export of every signer) leaves no name or address in the logs."""
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url)
    slug = add_petition(app, signers=["people", "organizations"])
    client = app.test_client()
    secrets = ["Zofia Quellbrunn", "Quellbrunn", "zofia.q@example.org", "zofia.q",
               "Wanjiru Kamau-Odhiambo", "Kamau-Odhiambo", "wanjiru@riverkeepers.example"]
    caplog.set_level(logging.DEBUG)

    assert client.post(f"/p/{slug}/sign", data={
        "name": "Zofia Quellbrunn", "email": "zofia.q@example.org", "show_name": "y",
    }).status_code == 303
    assert client.post(f"/p/{slug}/sign", data={
        "signer": "organization", "organization": "River Keepers",
        "organization_url": "https://riverkeepers.example", "country": "ke",
        "name": "Wanjiru Kamau-Odhiambo", "email": "wanjiru@riverkeepers.example",
    }).status_code == 303
    with app.app_context():
        assert run_batch(app).delivered == 2
    for message in smtp_server.wait_for(2):
        confirm = link_from(message, "http://localhost/confirm/")
        assert client.post(confirm.removeprefix("http://localhost")).status_code == 200

    staff = app.test_client()
    sign_in(staff, "owner@example.org", "owner", app)
    moderation = f"/admin/p/{slug}/signatures"
    found = post_form(staff, moderation, {"email": "Zofia.Q@example.org"})
    assert found.status_code == 200 and "No signature matches." not in found.text
    assert post_form(staff, moderation, {"name": "Quellbrunn"}).status_code == 200
    with app.app_context():
        organisation = db.session.scalar(select(Signature.id).where(
            Signature.kind == ORGANIZATION))
    approved = post_form(staff, f"/admin/p/{slug}/organizations/{organisation}/approve", {},
                         token_from=moderation)
    assert approved.status_code == 303 and "done=approved" in approved.location
    downloads = f"/admin/p/{slug}/downloads"
    export = post_form(staff, f"{downloads}/export/csv", {}, token_from=downloads)
    assert export.status_code == 200 and "zofia.q@example.org" in export.get_data(as_text=True)
    report = post_form(staff, f"{downloads}/report.csv", {}, token_from=downloads)
    assert report.status_code == 200 and "River Keepers" in report.get_data(as_text=True)

    ours = [record for record in caplog.records if not record.name.startswith("mail.log")]
    assert any(record.name == "petitionkit.signatures" for record in ours)
    for record in ours:
        text = " ".join([record.getMessage(), record.exc_text or "", str(record.args)])
        leaked = [secret for secret in secrets if secret.lower() in text.lower()]
        assert not leaked, f"{record.name} logged {leaked}: {text}"
