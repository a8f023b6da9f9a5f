"""The API's routes for what the workspace does besides petitions and moderation: a petition's
figures, finding signatures, organisations awaiting approval, the outbox's dead jobs, the
hand-over report and the exports. Each answers what the workspace's page shows, through the
same service, writes the same audit entries, and refuses hostile requests with a JSON 4xx."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from petitionkit.admin.models import StaffAudit
from petitionkit.extensions import db
from petitionkit.outbox.models import DEAD, PENDING, OutboxJob
from petitionkit.testing import sign_and_confirm

from .conftest import add_petition, make_app, migrate, postgres_database
from .test_api_roles import dead_job
from .test_api_write import call, token

SLUG = "free-the-poet"
BASE = f"/api/v1/petitions/{SLUG}"


@pytest.fixture
def signed(app: Flask) -> list[int]:
    add_petition(app, signers=["people", "organizations"], goal=2,
                 goal_settings={"ladder": [1, 2, 5]},
                 report_actions=[{"key": "called", "label": {"en": "Called", "fr": "Appelé"},
                                  "outcomes": ["reached"]}])
    return [
        sign_and_confirm(app, SLUG, "Ayşe Yılmaz", "ayse@example.org", show_name=True,
                         source="newsletter"),
        sign_and_confirm(app, SLUG, "Quiet Signer", "quiet@example.org"),
        sign_and_confirm(app, SLUG, "Contact", "h@example.org", kind="organization",
                         organization="Harbour Watch"),
    ]


def audit_targets(app: Flask, action: str) -> list[tuple[str, str]]:
    with app.app_context():
        return [(entry.actor, entry.target) for entry in db.session.scalars(
            select(StaffAudit).where(StaffAudit.action == action).order_by(StaffAudit.id))]


def test_figures_are_the_workspace_figures(app: Flask, signed: list[int]) -> None:
    client, secret = app.test_client(), token(app, "viewer")
    answer = client.get(f"{BASE}/figures", headers={"Authorization": f"Bearer {secret}",
                                                      "Accept-Language": "fr"})
    assert answer.status_code == 200, answer.json
    figures = answer.json
    assert (figures["confirmed"], figures["pending"], figures["withdrawn"]) == (3, 0, 0)
    assert figures["confirmation_rate"] == 1
    assert len(figures["hours"]) == 72 and sum(bar["count"] for bar in figures["hours"]) == 3
    assert sum(bar["count"] for bar in figures["days"]) == 3
    assert {"source": "newsletter", "count": 1} in figures["sources"]
    # The organisation awaits approval, so the count (and the ladder) stands at 2.
    assert figures["milestones"] == [{"goal": 1, "reached": True}, {"goal": 2, "reached": True},
                                     {"goal": 5, "reached": False}]
    assert figures["actions"] == [{"key": "called", "label": "Appelé", "counted": 0,
                                   "anonymous": 0}]
    assert set(figures["outbox"]) == {"pending", "due", "dead", "oldest_due_age"}
    assert "Ayşe" not in answer.text
    missing = call(client, "GET", "/api/v1/petitions/no-such/figures", secret)
    assert missing.status_code == 404 and missing.json["error"]


def test_signatures_are_found_by_address_or_name(app: Flask, signed: list[int]) -> None:
    client = app.test_client()
    moderator, owner = token(app, "moderator"), token(app, "owner")
    path = f"{BASE}/signatures/search"
    found = call(client, "POST", path, moderator, {"email": " AYSE@Example.org "})
    assert found.status_code == 200, found.json
    [signature] = found.json["signatures"]
    assert signature["id"] == signed[0] and signature["source"] == "newsletter"
    assert "email" not in signature and "ayse@" not in found.text
    by_name = call(client, "POST", path, moderator, {"name": "harbour"}).json["signatures"]
    assert [record["id"] for record in by_name] == [signed[2]]
    opened = call(client, "POST", path, owner, {"email": "ayse@example.org"}).json
    assert opened["signatures"][0]["email"] == "ayse@example.org"
    assert call(client, "POST", path, owner, {"email": "nobody@example.org"}).json == {
        "signatures": []}
    # A wildcard in a name is a letter, not a pattern.
    assert call(client, "POST", path, moderator, {"name": "%"}).json == {"signatures": []}


@pytest.mark.parametrize("body, status", [
    ({}, 422), ({"email": ""}, 422), ({"email": "not an address"}, 422),
    ({"email": 5}, 422), ({"name": ["a"]}, 422), ({"email": "a@" + "b" * 400}, 422),
    ([1], 400), ("text", 400),
])
def test_a_search_refuses_what_is_not_one(app: Flask, signed: list[int], body: object,
                                          status: int) -> None:
    answer = call(app.test_client(), "POST", f"{BASE}/signatures/search",
                  token(app, "moderator"), body)
    assert answer.status_code == status and answer.json["error"], answer.text[:200]


def test_a_search_refuses_other_bodies(app: Flask, signed: list[int]) -> None:
    client, secret = app.test_client(), token(app, "moderator")
    headers = {"Authorization": f"Bearer {secret}"}
    path = f"{BASE}/signatures/search"
    for data, content_type, status in (("email=a@b.c", "application/x-www-form-urlencoded", 415),
                                       ("{", "application/json", 400),
                                       ("\xff", "application/json", 400),
                                       ('{"name": "' + "x" * 2_000_000 + '"}',
                                        "application/json", 413)):
        answer = client.post(path, headers=headers, data=data, content_type=content_type)
        assert answer.status_code == status and answer.json["error"], (status, answer.text[:200])


def test_organisations_awaiting_approval(app: Flask, signed: list[int]) -> None:
    client, secret = app.test_client(), token(app, "moderator")
    pending = call(client, "GET", f"{BASE}/organizations/pending", secret)
    assert pending.status_code == 200
    [organisation] = pending.json["organizations"]
    assert organisation["id"] == signed[2] and organisation["name"] == "Harbour Watch"
    assert organisation["status"] == "pending" and organisation["approved_at"] is None
    assert organisation["confirmed_at"]
    assert call(client, "POST", f"{BASE}/organizations/{signed[2]}/approve",
                secret).json == {"changed": True}
    assert call(client, "GET", f"{BASE}/organizations/pending", secret).json == {
        "organizations": []}
    # A person's signature is no organisation to decide on, nor an unknown number.
    for tampered in (signed[0], 99999, 2**63 - 1):
        answer = call(client, "POST", f"{BASE}/organizations/{tampered}/reject", secret)
        assert answer.status_code == 404 and answer.json["error"]
    assert call(client, "GET", "/api/v1/petitions/NO%20such/organizations/pending",
                secret).status_code == 404


def test_dead_jobs_are_listed_and_replayed(app: Flask) -> None:
    first, second = dead_job(app), dead_job(app)
    client, secret = app.test_client(), token(app, "owner", "ops")
    listed = call(client, "GET", "/api/v1/outbox/dead", secret)
    assert listed.status_code == 200
    assert listed.json["dead"] == 2
    assert [job["id"] for job in listed.json["jobs"]] == [second, first]
    job = listed.json["jobs"][0]
    assert set(job) == {"id", "kind", "attempts", "reason", "created_at"}
    assert job["reason"] == "SMTPRecipientsRefused 550" and "payload" not in listed.text
    assert call(client, "POST", f"/api/v1/outbox/dead/{first}/replay", secret).json == {
        "replayed": 1}
    again = call(client, "POST", f"/api/v1/outbox/dead/{first}/replay", secret)
    assert again.status_code == 404 and again.json["error"]
    for tampered in ("abc", "-1", "9" * 40, "0"):
        answer = call(client, "POST", f"/api/v1/outbox/dead/{tampered}/replay", secret)
        assert answer.status_code == 404 and answer.json["error"], tampered
    with app.app_context():
        statuses = dict(db.session.execute(select(OutboxJob.id, OutboxJob.status)).all())
    assert (statuses[first], statuses[second]) == (PENDING, DEAD)
    assert call(client, "POST", "/api/v1/outbox/dead/replay", secret).json == {"replayed": 1}
    assert call(client, "POST", "/api/v1/outbox/dead/replay", secret).json == {"replayed": 0}
    actor = "token 1 (ops)"
    assert audit_targets(app, "jobs replayed") == [
        (actor, f"1: {first}"), (actor, f"0: {first}"), (actor, "0: 0"),
        (actor, "1: every dead job"),
        (actor, "0: every dead job")]
    assert call(client, "GET", "/api/v1/outbox/dead", secret).json == {"dead": 0, "jobs": []}


def test_the_report_is_streamed_and_logged(app: Flask, signed: list[int]) -> None:
    client, secret = app.test_client(), token(app, "editor", "press desk")
    report = call(client, "GET", f"{BASE}/report", secret)
    assert report.status_code == 200 and report.is_streamed
    assert report.mimetype == "text/csv"
    assert report.headers["Content-Disposition"] == f'attachment; filename="{SLUG}-report.csv"'
    rows = list(csv.reader(io.StringIO(report.get_data(as_text=True))))
    assert ["total signatures", "2"] in rows
    assert [row[0] for row in rows[rows.index(["name", "locality"]) + 1:]] == ["Ayşe Yılmaz"]
    html = call(client, "GET", f"{BASE}/report?format=html", secret)
    assert html.mimetype == "text/html" and "Ayşe Yılmaz" in html.get_data(as_text=True)
    for kind in ("pdf", "", "csv\x00", "../csv"):
        refused = call(client, "GET", f"{BASE}/report", secret, query_string={"format": kind})
        assert refused.status_code == 400 and "csv" in refused.json["error"]
    assert audit_targets(app, "downloaded") == [
        ("token 1 (press desk)", f"{SLUG}: hand-over report (csv)"),
        ("token 1 (press desk)", f"{SLUG}: hand-over report (html)")]


def test_exports_are_streamed_and_logged(app: Flask, signed: list[int]) -> None:
    client, secret = app.test_client(), token(app, "owner", "crm")
    answer = call(client, "GET", f"{BASE}/exports/csv", secret)
    assert answer.status_code == 200 and answer.is_streamed
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert sorted(row["email"] for row in rows) == ["ayse@example.org", "h@example.org",
                                                   "quiet@example.org"]
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{SLUG}-signers.csv"'
    for name in ("jsonl", "osdi"):
        assert call(client, "GET", f"{BASE}/exports/{name}", secret).status_code == 200
    unknown = call(client, "GET", f"{BASE}/exports/{'x' * 300}", secret)
    assert unknown.status_code == 404 and len(unknown.json["error"]) < 120
    assert call(client, "GET", "/api/v1/petitions/no-such/exports/csv",
                secret).status_code == 404
    assert [target for _, target in audit_targets(app, "downloaded")] == [
        f"{SLUG}: signers (csv)", f"{SLUG}: signers (jsonl)", f"{SLUG}: signers (osdi)"]


def test_without_the_private_key_downloads_are_refused(tmp_path: Path,
                                                      migrated_sqlite: Path) -> None:
    app = make_app(tmp_path, migrated_sqlite, DATA_PRIVATE_KEY_FILE=None)
    add_petition(app)
    client, secret = app.test_client(), token(app, "owner")
    for path in (f"{BASE}/report", f"{BASE}/report?format=html", f"{BASE}/exports/csv"):
        answer = call(client, "GET", path, secret)
        assert answer.status_code == 409 and "private key" in answer.json["error"], path
    assert audit_targets(app, "downloaded") == []


def test_what_postgresql_refuses_is_refused_first(tmp_path: Path,
                                                   migrated_sqlite: Path) -> None:
    with postgres_database() as url:
        app = make_app(tmp_path, migrated_sqlite, DATABASE_URL=url)
        migrate(app)
        try:
            job = dead_job(app)
            client, secret = app.test_client(), token(app, "owner")
            for number in (2**31, 2**63 - 1):
                answer = call(client, "POST", f"/api/v1/outbox/dead/{number}/replay", secret)
                assert answer.status_code == 404 and answer.json["error"], answer.text[:200]
            assert call(client, "POST", f"/api/v1/outbox/dead/{job}/replay", secret).json == {
                "replayed": 1}
            # PostgreSQL refuses NUL in text; no stored name holds one, so it is refused first.
            add_petition(app)
            nul = call(client, "POST", f"{BASE}/signatures/search", secret, {"name": "a\x00b"})
            assert nul.status_code == 422 and nul.json["error"], nul.text[:200]
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
