"""Downloads in the workspace: the hand-over report (editors) and the signer exports (owners),
streamed, audited, refused where they must be; and the outbox page with replay (owners)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import GeneratorType

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from petitionkit.admin.models import StaffAudit
from petitionkit.extensions import db
from petitionkit.outbox import services as outbox
from petitionkit.outbox.models import DEAD, PENDING, OutboxJob
from petitionkit.testing import sign_and_confirm

from .admin import csrf_token, sign_in
from .conftest import add_petition, make_app

DOWNLOADS = "/admin/p/free-the-poet/downloads"


def download(client: FlaskClient, path: str) -> object:
    return client.post(path, data={"csrf_token": csrf_token(client, DOWNLOADS)})


@pytest.fixture
def signed(app: Flask) -> list[int]:
    add_petition(app)
    return [
        sign_and_confirm(app, "free-the-poet", "Ayşe Yılmaz", "ayse@example.org",
                         show_name=True, consent_updates=True),
        sign_and_confirm(app, "free-the-poet", "=HYPERLINK(\"http://evil\")", "f@example.org",
                         show_name=True),
        sign_and_confirm(app, "free-the-poet", "Quiet Signer", "quiet@example.org"),
    ]


def test_an_editor_downloads_the_report_as_html_and_csv(app: Flask, client: FlaskClient,
                                                        signed: list[int]) -> None:
    sign_in(client, "editor@example.org", "editor", app)
    page = client.get(DOWNLOADS).text
    assert "Hand-over report" in page and "Only owners download" in page
    html = download(client, f"{DOWNLOADS}/report.html")
    assert html.status_code == 200 and html.is_streamed
    assert html.headers["Content-Disposition"] == 'attachment; filename="free-the-poet-report.html"'
    body = html.get_data(as_text=True)
    assert "Ayşe Y" in body and "Quiet Signer" not in body
    report = download(client, f"{DOWNLOADS}/report.csv")
    rows = list(csv.reader(io.StringIO(report.get_data(as_text=True))))
    assert ["total signatures", "3"] in rows
    names = [row[0] for row in rows[rows.index(["name", "locality"]) + 1:]]
    assert names[0].startswith("Ayşe") and names[1].startswith("'=")  # a formula is neutralised
    with app.app_context():
        targets = db.session.scalars(select(StaffAudit.target).where(
            StaffAudit.action == "downloaded")).all()
    assert targets == ["free-the-poet: hand-over report (html)",
                       "free-the-poet: hand-over report (csv)"]
    assert download(client, f"{DOWNLOADS}/report.pdf").status_code == 404
    assert client.get(f"{DOWNLOADS}/report.html").status_code == 405


def test_an_owner_downloads_each_export_format(app: Flask, client: FlaskClient,
                                               signed: list[int]) -> None:
    sign_in(client, "owner@example.org", "owner", app)
    answer = download(client, f"{DOWNLOADS}/export/csv")
    assert answer.status_code == 200 and answer.is_streamed
    assert isinstance(answer.response, GeneratorType) or hasattr(answer.response, "__next__")
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert sorted(row["email"] for row in rows) == ["ayse@example.org", "f@example.org",
                                                   "quiet@example.org"]
    assert all(not row["name"].startswith("=") for row in rows)
    jsonl = download(client, f"{DOWNLOADS}/export/jsonl")
    records = [json.loads(line) for line in jsonl.get_data(as_text=True).splitlines()]
    assert {record["signature_id"] for record in records} == set(signed)
    page = client.get(DOWNLOADS).text
    for name in ("csv", "jsonl", "osdi"):
        assert f"/export/{name}" in page
        assert download(client, f"{DOWNLOADS}/export/{name}").status_code == 200
    assert download(client, f"{DOWNLOADS}/export/nope").status_code == 404


def test_a_large_export_streams_in_chunks(app: Flask, client: FlaskClient) -> None:
    add_petition(app)
    for number in range(120):
        sign_and_confirm(app, "free-the-poet", f"Signer {number} " + "x" * 600,
                         f"s{number}@example.org")
    sign_in(client, "owner@example.org", "owner", app)
    answer = client.post(f"{DOWNLOADS}/export/csv",
                         data={"csrf_token": csrf_token(client, DOWNLOADS)}, buffered=False)
    chunks = [chunk for chunk in answer.response if chunk]
    assert len(chunks) >= 2  # more than one 64 KiB piece: written as it was read
    text = b"".join(chunks).decode()
    assert text.count("@example.org") == 120


@pytest.mark.parametrize("role, report, export", [
    (None, 303, 303), ("viewer", 403, 403), ("moderator", 403, 403), ("editor", 200, 403),
    ("owner", 200, 200),
])
def test_who_downloads_what(app: Flask, client: FlaskClient, signed: list[int],
                            role: str | None, report: int, export: int) -> None:
    if role:
        sign_in(client, f"{role}@example.org", role, app)
    token = csrf_token(client, "/admin/" if role else "/admin/login")
    assert client.post(f"{DOWNLOADS}/report.html",
                       data={"csrf_token": token}).status_code == report
    assert client.post(f"{DOWNLOADS}/export/csv", data={"csrf_token": token}).status_code == export
    assert client.get(DOWNLOADS).status_code == (report if report != 200 or role else 303)


def test_without_the_private_key_the_page_says_so(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = make_app(tmp_path, migrated_sqlite, DATA_PRIVATE_KEY_FILE=None)
    add_petition(app)
    client = app.test_client()
    sign_in(client, "owner@example.org", "owner", app)
    page = client.get(DOWNLOADS).text
    assert "does not hold the private key" in page
    assert download(client, f"{DOWNLOADS}/report.html").status_code == 409
    assert download(client, f"{DOWNLOADS}/export/csv").status_code == 409
    with app.app_context():
        assert db.session.scalars(select(StaffAudit).where(
            StaffAudit.action == "downloaded")).all() == []


def test_downloads_refuse_forged_posts(app: Flask, client: FlaskClient,
                                       signed: list[int]) -> None:
    sign_in(client, "owner@example.org", "owner", app)
    assert client.post(f"{DOWNLOADS}/export/csv").status_code == 400
    cross = client.post(f"{DOWNLOADS}/export/csv",
                        data={"csrf_token": csrf_token(client, DOWNLOADS)},
                        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert client.get("/admin/p/no-such/downloads").status_code == 404


def dead_job(app: Flask) -> int:
    with app.app_context():
        job = outbox.enqueue(db.session(), "email.confirm", {"signature_id": 1})
        db.session.commit()
        claim = outbox.claim(db.session(), "worker", 10, 60)
        outbox.fail(db.session(), job.id, claim.lease, "SMTPRecipientsRefused 550",
                    outbox.RetryPolicy(1, 1, give_up_after=0))
        return job.id


def test_owners_see_dead_jobs_and_replay_them(app: Flask, client: FlaskClient) -> None:
    first, second = dead_job(app), dead_job(app)
    sign_in(client, "owner@example.org", "owner", app)
    page = client.get("/admin/outbox").text
    assert f"#{first}" in page and "SMTPRecipientsRefused 550" in page
    token = csrf_token(client, "/admin/outbox")
    one = client.post("/admin/outbox/replay", data={"csrf_token": token, "job": [str(first)]})
    assert one.status_code == 303 and "replayed=1" in one.location
    with app.app_context():
        statuses = {job.id: job.status for job in db.session.scalars(select(OutboxJob))}
    assert statuses == {first: PENDING, second: DEAD}
    hostile = client.post("/admin/outbox/replay",
                          data={"csrf_token": token, "job": ["abc", "-1", "9" * 40]})
    assert "replayed=0" in hostile.location
    every = client.post("/admin/outbox/replay", data={"csrf_token": token, "all": "1"})
    assert "replayed=1" in every.location
    assert "1 job is back in the queue." in client.get(every.location).text
    with app.app_context():
        assert {job.status for job in db.session.scalars(select(OutboxJob))} == {PENDING}
        actions = db.session.scalars(select(StaffAudit.action).where(
            StaffAudit.action == "jobs replayed")).all()
    assert len(actions) == 3


@pytest.mark.parametrize("role", ["viewer", "moderator", "editor"])
def test_only_owners_see_the_outbox(app: Flask, client: FlaskClient, role: str) -> None:
    dead_job(app)
    sign_in(client, f"{role}@example.org", role, app)
    assert client.get("/admin/outbox").status_code == 403
    token = csrf_token(client, "/admin/")
    assert client.post("/admin/outbox/replay",
                       data={"csrf_token": token, "all": "1"}).status_code == 403
    with app.app_context():
        assert db.session.scalars(select(OutboxJob.status)).all() == [DEAD]
