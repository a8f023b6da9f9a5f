"""Moderation: finding signatures, hiding public names, invalidating one signature or a wave
of them (by domain, time window, source) through the outbox, approving organisations; every
role against every route, and hostile input."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from petitionkit.admin.models import StaffAudit
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.signatures import moderation
from petitionkit.signatures.models import CANCELLED, ModerationRun, Signature
from petitionkit.testing import recording_http_server, run_jobs, sign_and_confirm

from .admin import csrf_token, sign_in
from .conftest import add_petition
from .test_hooks_reference import app_with_example

PAGE = "/admin/p/free-the-poet/signatures"


def post(client: FlaskClient, path: str, data: dict[str, str]) -> object:
    return client.post(path, data={**data, "csrf_token": csrf_token(client, PAGE)})


def count(app: Flask, slug: str = "free-the-poet") -> int:
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        assert petition is not None
        return petition.signature_count


def signature(app: Flask, signature_id: int) -> Signature:
    with app.app_context():
        found = db.session.get(Signature, signature_id)
        assert found is not None
        db.session.expunge(found)
        return found


@pytest.fixture
def signed(app: Flask) -> dict[str, int]:
    add_petition(app)
    return {
        "ayse": sign_and_confirm(app, "free-the-poet", "Ayşe Yılmaz", "ayse@example.org",
                                 show_name=True),
        "troll": sign_and_confirm(app, "free-the-poet", "Rude Name", "troll@spam.example",
                                  show_name=True, source="forum"),
        "bot1": sign_and_confirm(app, "free-the-poet", "Bot One", "b1@spam.example",
                                 source="forum"),
        "bot2": sign_and_confirm(app, "free-the-poet", "Bot Two", "b2@Spam.Example"),
    }


def test_find_by_address_and_by_public_name(app: Flask, client: FlaskClient,
                                            signed: dict[str, int]) -> None:
    sign_in(client, "mod@example.org", "moderator", app)
    by_address = post(client, PAGE, {"email": "AYSE@example.org"})
    assert by_address.status_code == 200
    assert f"#{signed['ayse']}" in by_address.text and f"#{signed['troll']}" not in by_address.text
    assert "ayse@example.org" not in by_address.text.replace('value="AYSE@example.org"', "")
    by_name = post(client, PAGE, {"name": "rude"})
    assert f"#{signed['troll']}" in by_name.text and f"#{signed['ayse']}" not in by_name.text
    # Full names are sealed: a name nobody chose to show finds nothing.
    assert "No signature matches." in post(client, PAGE, {"name": "Bot One"}).text
    # LIKE's own characters are searched for, not obeyed.
    assert "No signature matches." in post(client, PAGE, {"name": "%"}).text
    nothing = post(client, PAGE, {"email": "", "name": ""})
    assert nothing.status_code == 422 and "Type an e-mail address or a name" in nothing.text
    bad = post(client, PAGE, {"email": "not an address"})
    assert bad.status_code == 422


def test_hide_and_show_a_public_name(app: Flask, client: FlaskClient,
                                     signed: dict[str, int]) -> None:
    assert "Rude N." in client.get("/embed/free-the-poet").text
    sign_in(client, "mod@example.org", "moderator", app)
    hidden = post(client, f"{PAGE}/{signed['troll']}/hide", {})
    assert hidden.status_code == 303 and "done=hidden" in hidden.location
    stored = signature(app, signed["troll"])
    assert stored.public_name is None and not stored.show_name
    assert stored.name_hidden_at is not None and stored.hidden_public_name == "Rude N."
    for path in ("/embed/free-the-poet", "/p/free-the-poet"):
        assert "Rude N." not in client.get(path).text
    assert "Ayşe Y." in client.get("/p/free-the-poet").text
    assert count(app) == 4  # hiding a name keeps the signature
    again = post(client, f"{PAGE}/{signed['troll']}/hide", {})
    assert "done=already" in again.location
    shown = post(client, f"{PAGE}/{signed['troll']}/show", {})
    assert "done=shown" in shown.location
    assert "Rude N." in client.get("/embed/free-the-poet").text
    with app.app_context():
        actions = db.session.scalars(select(StaffAudit.action).where(
            StaffAudit.actor == "mod@example.org")).all()
        targets = " ".join(db.session.scalars(select(StaffAudit.target)))
    assert actions.count("name hidden") == 1 and actions.count("name shown again") == 1
    assert "Rude" not in targets and "troll" not in targets  # no signer data in the log


def test_invalidate_one_signature_reaches_count_and_plugins(
    tmp_path: Path, migrated_sqlite: Path,
) -> None:
    with recording_http_server() as server:
        app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_signature_withdrawn",
                               PLUGINS={"withdrawal_ping": {"url": server.url}})
        add_petition(app)
        troll = sign_and_confirm(app, "free-the-poet", "Rude Name", "troll@spam.example")
        client = app.test_client()
        sign_in(client, "mod@example.org", "moderator", app)
        no_reason = post(client, f"{PAGE}/{troll}/invalidate", {"reason": "  "})
        assert no_reason.status_code == 422 and "Say why" in no_reason.text
        assert count(app) == 1
        too_long = post(client, f"{PAGE}/{troll}/invalidate", {"reason": "x" * 201})
        assert too_long.status_code == 422
        done = post(client, f"{PAGE}/{troll}/invalidate", {"reason": "fake <b>troll</b>"})
        assert done.status_code == 303 and "done=invalidated" in done.location
        assert count(app) == 0
        stored = signature(app, troll)
        assert stored.status == CANCELLED and stored.invalidation_reason == "fake <b>troll</b>"
        run_jobs(app)
        assert [(request.json()["signature"], request.json()["reason"])
                for request in server.requests] == [(troll, "operator")]
        page = post(client, PAGE, {"email": "troll@spam.example"}).text
        assert "fake &lt;b&gt;troll&lt;/b&gt;" in page
        assert "done=already" in post(client, f"{PAGE}/{troll}/invalidate",
                                      {"reason": "again"}).location


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_bulk_invalidation_by_domain_runs_in_resumable_batches(
    request: pytest.FixtureRequest, database: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    app: Flask = request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    add_petition(app)
    kept = [sign_and_confirm(app, "free-the-poet", f"Real {n}", f"real{n}@example.org")
            for n in range(3)]
    bots = [sign_and_confirm(app, "free-the-poet", f"Bot {n}", f"bot{n}@Spam.Example",
                             source="forum") for n in range(7)]
    client = app.test_client()
    sign_in(client, "mod@example.org", "moderator", app)
    preview = post(client, "/admin/p/free-the-poet/invalidations/preview",
                   {"domain": "spam.example"})
    assert preview.status_code == 200 and "7 signatures match." in preview.text
    started = post(client, "/admin/p/free-the-poet/invalidations",
                   {"domain": "SPAM.example", "reason": "a bot wave"})
    assert started.status_code == 303
    run_path = started.location
    progress = client.get(run_path).text
    assert 'data-running="true"' in progress and "admin-progress.js" in progress
    assert 'value="0"' in progress and 'http-equiv="refresh"' not in progress
    # Batches of two, one batch per job: the worker is "killed" between jobs and resumes.
    monkeypatch.setattr(moderation, "BATCH", 2)
    monkeypatch.setattr(moderation, "BATCHES_PER_JOB", 1)
    run_jobs(app)
    with app.app_context():
        run = db.session.scalars(select(ModerationRun)).one()
        assert run.total == 7 and run.done == 7 and run.finished_at is not None
        assert "spam" not in str(run.criteria)  # the domain's blind index only
        statuses = {s.id: s.status for s in db.session.scalars(select(Signature))}
    assert all(statuses[i] == CANCELLED for i in bots)
    assert all(statuses[i] == "confirmed" for i in kept)
    assert count(app) == 3
    finished = client.get(run_path).text
    assert 'data-running="false"' in finished and "7 of 7 signatures" in finished
    assert "admin-progress.js" not in finished


def test_bulk_by_time_window_and_source(app: Flask, client: FlaskClient,
                                        signed: dict[str, int]) -> None:
    with app.app_context():
        db.session.execute(update(Signature).where(Signature.id == signed["ayse"])
                           .values(created_at=utcnow() - timedelta(days=2)))
        db.session.commit()
    sign_in(client, "mod@example.org", "moderator", app)
    since = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    window = post(client, "/admin/p/free-the-poet/invalidations/preview", {"since": since})
    assert "3 signatures match." in window.text
    both = post(client, "/admin/p/free-the-poet/invalidations/preview",
                {"since": since, "source": "forum"})
    assert "2 signatures match." in both.text
    post(client, "/admin/p/free-the-poet/invalidations",
         {"since": since, "source": "forum", "reason": "forum raid"})
    run_jobs(app)
    assert count(app) == 2


@pytest.mark.parametrize("data, words", [
    ({}, "at least one of"),
    ({"domain": "not a domain!"}, "not a domain"),
    ({"domain": "<script>x</script>.org"}, "not a domain"),
    ({"since": "yesterday"}, "must look like"),
    ({"since": "2026-12-05T10:00", "until": "2026-12-05T09:00"}, "after its start"),
    ({"source": "s" * 101}, "at most"),
    # Past the years a datetime holds once moved to UTC: refused, not a server error.
    ({"since": "9999-12-31T23:59-05:00"}, "must look like"),
    ({"until": "0001-01-01T00:00+01:00"}, "must look like"),
    ({"source": "widget\x00"}, "control characters"),
])
def test_bulk_criteria_are_checked(app: Flask, client: FlaskClient, signed: dict[str, int],
                                   data: dict[str, str], words: str) -> None:
    sign_in(client, "mod@example.org", "moderator", app)
    answer = post(client, "/admin/p/free-the-poet/invalidations/preview", data)
    assert answer.status_code == 422 and words in answer.text
    start = post(client, "/admin/p/free-the-poet/invalidations", {**data, "reason": "x"})
    assert start.status_code == 422
    with app.app_context():
        assert db.session.scalars(select(ModerationRun)).all() == []


def test_organisations_are_approved_and_rejected(app: Flask, client: FlaskClient) -> None:
    add_petition(app, signers=["people", "organizations"])
    fields = {"kind": "organization", "organization": "Harbour Watch"}
    first = sign_and_confirm(app, "free-the-poet", "Contact", "c1@example.org", **fields)
    second = sign_and_confirm(app, "free-the-poet", "Contact", "c2@example.org",
                              kind="organization", organization="Impostor Org")
    person = sign_and_confirm(app, "free-the-poet", "A Person", "p@example.org")
    sign_in(client, "mod@example.org", "moderator", app)
    page = client.get(PAGE).text
    assert "Harbour Watch" in page and "Impostor Org" in page
    approved = post(client, f"/admin/p/free-the-poet/organizations/{first}/approve", {})
    assert "done=approved" in approved.location
    rejected = post(client, f"/admin/p/free-the-poet/organizations/{second}/reject", {})
    assert "done=rejected" in rejected.location
    assert signature(app, first).approved_at is not None
    assert signature(app, second).status == CANCELLED
    assert "Harbour Watch" in client.get("/p/free-the-poet").text
    assert "Impostor Org" not in client.get("/p/free-the-poet").text
    assert post(client, f"/admin/p/free-the-poet/organizations/{person}/approve",
                {}).status_code == 404
    assert post(client, "/admin/p/free-the-poet/organizations/99999/reject", {}).status_code == 404
    assert post(client, f"/admin/p/free-the-poet/organizations/{first}/delete",
                {}).status_code == 404


ROUTES = [("GET", PAGE), ("POST", PAGE), ("POST", f"{PAGE}/ID/hide"),
          ("POST", f"{PAGE}/ID/show"), ("POST", f"{PAGE}/ID/invalidate"),
          ("POST", "/admin/p/free-the-poet/invalidations/preview"),
          ("POST", "/admin/p/free-the-poet/invalidations")]


@pytest.mark.parametrize("role, allowed", [(None, False), ("viewer", False),
                                           ("moderator", True), ("editor", True),
                                           ("owner", True)])
def test_every_route_for_every_role(app: Flask, client: FlaskClient, signed: dict[str, int],
                                    role: str | None, allowed: bool) -> None:
    if role:
        sign_in(client, f"{role}@example.org", role, app)
    token = csrf_token(client, "/admin/login" if role is None else "/admin/")
    for method, path in ROUTES:
        path = path.replace("ID", str(signed["ayse"]))
        answer = client.open(path, method=method, data={"csrf_token": token, "reason": "r",
                                                        "name": "x", "domain": "spam.example"})
        if role is None:
            assert answer.status_code in (303, 400), (path, answer.status_code)
            assert "/admin/login" in (answer.location or "/admin/login")
        elif allowed:
            assert answer.status_code in (200, 303), (path, answer.status_code)
        else:
            assert answer.status_code == 403, (path, answer.status_code)
    assert count(app) == (3 if allowed else 4)  # the invalidation went through only if allowed


def test_forged_tampered_and_foreign(app: Flask, client: FlaskClient,
                                     signed: dict[str, int]) -> None:
    add_petition(app, slug="other-petition", title="Another")
    other = sign_and_confirm(app, "other-petition", "Someone", "someone@example.org",
                             show_name=True)
    sign_in(client, "mod@example.org", "moderator", app)
    assert client.post(f"{PAGE}/{signed['ayse']}/hide").status_code == 400  # no CSRF token
    assert post(client, f"{PAGE}/{other}/hide", {}).status_code == 404  # another petition's
    assert post(client, f"{PAGE}/abc/hide", {}).status_code == 404
    assert client.get(f"{PAGE}/{signed['ayse']}/hide").status_code == 405
    assert client.put(PAGE).status_code == 405
    assert client.get("/admin/p/free-the-poet/invalidations/12345").status_code == 404
    # A number past any row's: no row, where SQLite would have raised on it.
    assert client.get(f"/admin/p/free-the-poet/invalidations/{2**64}").status_code == 404
    assert post(client, f"{PAGE}/{2**64}/hide", {}).status_code == 404
    assert client.get("/admin/p/no-such/signatures").status_code == 404
    hostile = post(client, PAGE, {"name": "\u202e<script>alert(1)</script>" + "x" * 10_000})
    assert hostile.status_code == 200 and "<script>alert(1)</script>" not in hostile.text
    assert signature(app, other).public_name == "Someone"


def test_a_limited_moderator_sees_only_its_petitions(app: Flask, client: FlaskClient,
                                                     signed: dict[str, int]) -> None:
    add_petition(app, slug="other-petition", title="Another")
    sign_in(client, "mod@example.org", "moderator", app)
    assert app.test_cli_runner().invoke(
        args=["users", "limit", "mod@example.org", "other-petition"]).exit_code == 0
    assert client.get(PAGE).status_code == 404
    token = csrf_token(client, "/admin/")
    assert client.post(PAGE, data={"csrf_token": token, "name": "Rude"}).status_code == 404
    assert client.post(f"{PAGE}/{signed['troll']}/hide",
                       data={"csrf_token": token}).status_code == 404
    assert client.get("/admin/p/other-petition/signatures").status_code == 200
    assert re.search(r"Moderation", client.get("/admin/").text)


def test_an_invalidation_reason_stays_out_of_the_audit_log(
    app: Flask, client: FlaskClient, signed: dict[str, int],
) -> None:
    """A moderator may quote a signer in the reason; the audit log holds no signer data, so the
    reason is kept on the signature and on the run only."""
    reason = "duplicate of ayse@example.org, says Ayşe Yılmaz"
    sign_in(client, "mod@example.org", "moderator", app)
    one = post(client, f"{PAGE}/{signed['troll']}/invalidate", {"reason": reason})
    assert one.status_code == 303 and "done=invalidated" in one.location
    bulk = post(client, "/admin/p/free-the-poet/invalidations",
                {"domain": "spam.example", "reason": reason})
    assert bulk.status_code == 303
    run_jobs(app)
    assert signature(app, signed["troll"]).invalidation_reason == reason
    assert signature(app, signed["bot1"]).invalidation_reason == reason
    with app.app_context():
        run = db.session.scalars(select(ModerationRun)).one()
        assert run.reason == reason and run.done == 2
        entries = db.session.execute(select(StaffAudit.action, StaffAudit.target)).all()
    logged = {action: target for action, target in entries}
    assert logged["signature invalidated"] == f"signature {signed['troll']}"
    assert logged["bulk invalidation started"] == f"free-the-poet: run {run.id}, 2 signature(s)"
    assert logged["bulk invalidation finished"] == f"run {run.id}, 2 signature(s)"
    everything = " ".join(f"{action} {target}" for action, target in entries)
    for fragment in ("ayse", "Ayşe", "Yılmaz", "duplicate", "says"):
        assert fragment not in everything
