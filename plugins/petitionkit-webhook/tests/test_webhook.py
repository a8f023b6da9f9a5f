"""petitionkit-webhook against an HTTP server on loopback that records and fails on purpose."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from petitionkit_webhook import utc_moment
from sqlalchemy import select

from petitionkit.actions import Action
from petitionkit.extensions import db
from petitionkit.outbox.models import DEAD, DONE, OutboxJob
from petitionkit.petitions.models import Petition
from petitionkit.testing import (
    RecordingHTTPServer,
    add_petition,
    make_test_app,
    recording_http_server,
    run_jobs,
    sign_and_confirm,
    withdraw,
)

README = Path(__file__).resolve().parent.parent / "README.md"
SECRET = "webhook-test-secret"


def readme_verify() -> Any:
    """The verification snippet of the README, run as it is written."""
    snippet = re.search(r"## Verify a request.*?```python\n(.*?)```", README.read_text(),
                        re.DOTALL)
    assert snippet
    namespace: dict[str, Any] = {}
    exec(snippet.group(1), namespace)  # noqa: S102 - our own documentation
    return namespace["verify"]


def webhook_app(tmp_path: Path, server: RecordingHTTPServer, **settings: Any) -> Any:
    config = {"url": server.url + "/hook", "secret": SECRET, **settings}
    return make_test_app(tmp_path, PLUGINS={"petitionkit-webhook": config})


def jobs(app: Any) -> list[tuple[str, int]]:
    with app.app_context():
        rows = db.session.execute(
            select(OutboxJob.status, OutboxJob.attempts)
            .where(OutboxJob.idempotency_key.like("signature-confirmed:%:petitionkit-webhook"))
        ).all()
        return [(status, attempts) for status, attempts in rows]


def test_posts_signed_json_that_the_readme_snippet_verifies(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = webhook_app(tmp_path, server)
        slug = add_petition(app, goal=1)
        sign_and_confirm(app, slug, "Lina Example", "lina@example.org", country="FR",
                         consent_updates=True)
        run_jobs(app)
    by_event = {request.headers["X-Petitionkit-Event"]: request for request in server.requests}
    assert set(by_event) == {"signature.confirmed", "goal.reached"}
    confirmed = by_event["signature.confirmed"]
    assert confirmed.path == "/hook"
    assert confirmed.headers["Content-Type"] == "application/json"
    assert confirmed.headers["Idempotency-Key"] == "signature.confirmed:1"
    verify = readme_verify()
    assert verify(SECRET, confirmed.headers, confirmed.body)
    assert not verify("another-secret", confirmed.headers, confirmed.body)
    assert not verify(SECRET, confirmed.headers, confirmed.body + b" ")
    body = confirmed.json()
    assert body["petition"] == {"slug": slug, "title": "A test petition", "count": 1}
    assert {k: body["signature"][k] for k in ("name", "email", "country", "consent_updates")} == {
        "name": "Lina Example", "email": "lina@example.org", "country": "FR",
        "consent_updates": True,
    }
    assert by_event["goal.reached"].json()["goal"] == 1
    assert jobs(app) == [(DONE, 0)]


def test_retries_after_a_5xx(tmp_path: Path) -> None:
    with recording_http_server([(503, {}), (200, {})]) as server:
        app = webhook_app(tmp_path, server)
        slug = add_petition(app)
        sign_and_confirm(app, slug, "Signer", "s@example.org")
        run_jobs(app)
        run_jobs(app)
    assert len(server.requests) == 2
    first, second = server.requests
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert jobs(app) == [(DONE, 1)]


def test_retries_after_a_timeout(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with recording_http_server([("timeout", 0.6), (200, {})]) as server:
        app = webhook_app(tmp_path, server, timeout=0.2)
        slug = add_petition(app)
        sign_and_confirm(app, slug, "Signer", "s@example.org")
        with caplog.at_level(logging.WARNING, logger="petitionkit.worker"):
            run_jobs(app)
            run_jobs(app)
    assert "kind=plugins.signature_confirmed error=ReadTimeout status=pending" in caplog.text
    assert len(server.requests) == 2
    assert jobs(app) == [(DONE, 1)]


def test_no_retry_after_a_4xx(tmp_path: Path) -> None:
    with recording_http_server([(422, {"error": "unknown list"})]) as server:
        app = webhook_app(tmp_path, server)
        slug = add_petition(app)
        sign_and_confirm(app, slug, "Signer", "s@example.org")
        run_jobs(app)
        run_jobs(app)
        assert len(server.requests) == 1
        assert jobs(app) == [(DEAD, 1)]
        dead = app.test_cli_runner().invoke(args=["outbox", "dead"]).output
        [dead_job] = [line for line in dead.splitlines() if "plugins.signature_confirmed" in line]
        assert "\t1 attempts\t" in dead_job and dead_job.endswith("\tWebhookRefused 422")
        # The operator fixes the receiver and replays.
        app.test_cli_runner().invoke(args=["outbox", "replay"])
        run_jobs(app)
    assert len(server.requests) == 2
    assert [status for status, _ in jobs(app)] == [DONE]


def test_installed_without_a_url_sends_nothing(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = make_test_app(tmp_path)
        slug = add_petition(app)
        sign_and_confirm(app, slug, "Signer", "s@example.org")
        run_jobs(app)
        with app.app_context():
            queued = db.session.scalar(select(OutboxJob.id).where(
                OutboxJob.kind == "plugins.signature_confirmed"))
    assert server.requests == []
    assert queued is None, "an unconfigured plugin costs no job"
    listed = app.test_cli_runner().invoke(args=["plugins"]).output
    assert ("petitionkit-webhook\t0.1.0\tentry point\t"
            "petitionkit_action_taken, petitionkit_goal_reached, "
            "petitionkit_organization_approved, petitionkit_petition_changed, "
            "petitionkit_signature_confirmed, petitionkit_signature_withdrawn") in listed


def test_a_withdrawal_is_sent_with_the_id_and_reason_only(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = webhook_app(tmp_path, server)
        slug = add_petition(app)
        sign_and_confirm(app, slug, "Kept Signer", "kept@example.org")
        gone = sign_and_confirm(app, slug, "Gone Signer", "gone@example.org")
        run_jobs(app)
        withdraw(app, gone, "signer")
        run_jobs(app)
    withdrawals = [request for request in server.requests
                   if request.headers["X-Petitionkit-Event"] == "signature.withdrawn"]
    [request] = withdrawals
    assert readme_verify()(SECRET, request.headers, request.body)
    assert request.headers["Idempotency-Key"] == f"signature.withdrawn:{gone}"
    assert request.json() == {
        "event": "signature.withdrawn",
        "petition": {"slug": slug, "title": "A test petition", "count": 1},
        "signature": {"id": gone},
        "reason": "signer",
    }
    assert b"gone@example.org" not in request.body and b"Gone Signer" not in request.body


def test_petitions_created_and_changed_from_files_are_announced(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = webhook_app(tmp_path, server)
        petition_file = tmp_path / "clean-air.md"
        text = "---\ntitle: Clean air now\nstatus: draft\n---\nFilter the air.\n"
        petition_file.write_text(text)
        runner = app.test_cli_runner()
        runner.invoke(args=["petition", "load", str(petition_file)])
        run_jobs(app)
        petition_file.write_text(text.replace("status: draft", "status: open"))
        runner.invoke(args=["petition", "load", str(petition_file)])
        run_jobs(app)
    created, changed = server.requests
    assert readme_verify()(SECRET, changed.headers, changed.body)
    assert created.headers["X-Petitionkit-Event"] == "petition.created"
    assert created.json()["petition"] == {"slug": "clean-air", "title": "Clean air now",
                                          "count": 0, "status": "draft"}
    assert changed.headers["X-Petitionkit-Event"] == "petition.changed"
    assert changed.json()["changed"] == ["status"]
    assert changed.json()["petition"]["status"] == "open"


def test_an_action_is_announced_without_personal_data(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = webhook_app(tmp_path, server)
        slug = add_petition(app)
        signature_id = sign_and_confirm(app, slug, "Caller", "caller@example.org")
        run_jobs(app)
        before = len(server.requests)
        with app.app_context():
            petition_id = db.session.scalar(select(Petition.id).where(Petition.slug == slug))
            app.extensions["petitionkit.lifecycle"].action_taken(db.session(), Action(
                "call", petition_id, datetime(2027, 1, 5, 9, 30, tzinfo=UTC),
                signature_id=signature_id, target="minister", outcome="answered"))
            db.session.commit()
        run_jobs(app)
    [request] = server.requests[before:]
    assert request.headers["X-Petitionkit-Event"] == "action.taken"
    assert request.json()["action"] == {
        "kind": "call", "taken_at": "2027-01-05T09:30:00+00:00", "signature_id": signature_id,
        "target": "minister", "outcome": "answered", "count": 1, "report": None,
    }
    assert b"caller@example.org" not in request.body


def test_each_reported_action_is_sent_with_its_key(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = webhook_app(tmp_path, server)
        app.config["RATELIMIT_REPORT"] = "1000/minute"
        slug = add_petition(app, report_actions=[
            {"key": "called", "label": {"en": "Called"}, "outcomes": ["reached"]},
            {"key": "wrote", "label": {"en": "Wrote"}, "outcomes": []},
        ])
        answer = app.test_client().post(f"/p/{slug}/report",
                                        data={"action": ["called", "wrote"]})
        assert answer.status_code == 200
        run_jobs(app)
    sent = [request for request in server.requests
            if request.headers["X-Petitionkit-Event"] == "action.taken"]
    assert sorted(request.json()["action"]["report"] for request in sent) == ["called", "wrote"]
    assert {request.json()["action"]["signature_id"] for request in sent} == {None}
    assert len({request.headers["Idempotency-Key"] for request in sent}) == 2



def test_every_moment_sent_is_utc_with_its_offset(tmp_path: Path) -> None:
    """SQLite keeps no zone and an action may be dated in any zone: the receiver gets UTC with
    "+00:00" whatever the database or the caller had."""
    paris = timezone(timedelta(hours=2))
    with recording_http_server() as server:
        app = webhook_app(tmp_path, server)
        slug = add_petition(app)
        signature_id = sign_and_confirm(app, slug, "Zoned Signer", "zoned@example.org")
        with app.app_context():
            petition_id = db.session.scalar(select(Petition.id).where(Petition.slug == slug))
            app.extensions["petitionkit.lifecycle"].action_taken(db.session(), Action(
                "call", petition_id, datetime(2027, 1, 5, 11, 30, tzinfo=paris),
                signature_id=signature_id))
            db.session.commit()
        run_jobs(app)
    by_event = {request.headers["X-Petitionkit-Event"]: request.json()
                for request in server.requests}
    confirmed_at = by_event["signature.confirmed"]["signature"]["confirmed_at"]
    assert confirmed_at.endswith("+00:00"), confirmed_at
    assert datetime.fromisoformat(confirmed_at).utcoffset() == timedelta(0)
    assert by_event["action.taken"]["action"]["taken_at"] == "2027-01-05T09:30:00+00:00"


def test_a_moment_without_a_zone_is_refused() -> None:
    assert utc_moment(datetime(2027, 1, 5, 9, 30, tzinfo=UTC)) == "2027-01-05T09:30:00+00:00"
    with pytest.raises(ValueError, match="without a time zone"):
        utc_moment(datetime(2027, 1, 5, 9, 30))  # noqa: DTZ001 - the point of the test


def test_an_approved_organisation_is_announced_with_its_public_facts(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = webhook_app(tmp_path, server)
        slug = add_petition(app, signers=["organizations"])
        signed = sign_and_confirm(app, slug, "Contact Person", "contact@example.org",
                                  kind="organization", organization="River Keepers",
                                  organization_url="https://rk.example")
        run_jobs(app)
        result = app.test_cli_runner().invoke(args=["signers", "approve", slug, str(signed)])
        assert result.exit_code == 0, result.output
        run_jobs(app)
    by_event = {request.headers["X-Petitionkit-Event"]: request for request in server.requests}
    assert set(by_event) == {"signature.confirmed", "organization.approved"}
    assert by_event["signature.confirmed"].json()["signature"]["organization"] == "River Keepers"
    approved = by_event["organization.approved"]
    assert readme_verify()(SECRET, approved.headers, approved.body)
    body = approved.json()
    assert body["petition"]["count"] == 1
    assert {key: body["signature"][key] for key in ("id", "organization", "organization_url")} == {
        "id": signed, "organization": "River Keepers", "organization_url": "https://rk.example"}
    assert b"contact@example.org" not in approved.body and b"Contact Person" not in approved.body
