"""The write API: tokens (command, workspace page), every route against every role and no
token, petitions created and changed through the editing service, moderation, the signatures'
JSON Lines, and hostile requests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from petitionkit.admin.models import StaffAudit
from petitionkit.api.tokens import ApiToken
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import CANCELLED, Signature
from petitionkit.testing import run_jobs, sign_and_confirm

from .admin import csrf_token, sign_in
from .conftest import add_petition, make_app

NEW = {"slug": "clean-river", "title": "A clean river", "body": "Stop the **dumping**.",
       "status": "open", "goal": 500}


def token(app: Flask, role: str, name: str | None = None) -> str:
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", "--role", role, "--name", name or f"{role} robot"])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def call(client: FlaskClient, method: str, path: str, secret: str | None = None,
         body: Any = None, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    if body is not None:
        kwargs["json"] = body
    return client.open(path, method=method, headers=headers, **kwargs)


def test_tokens_from_the_command_line(app: Flask) -> None:
    runner = app.test_cli_runner()
    secret = token(app, "editor", "newsletter sync")
    assert re.fullmatch(r"pk_[A-Za-z0-9_-]{43}", secret)
    with app.app_context():
        stored = db.session.scalars(select(ApiToken)).one()
        assert secret not in (stored.token_hash, stored.hint) and len(stored.token_hash) == 64
    listing = runner.invoke(args=["tokens", "list"]).output
    assert "newsletter sync\teditor\tpk_" in listing and "live\tnever used" in listing
    assert runner.invoke(args=["tokens", "revoke", "1"]).exit_code == 0
    assert "revoked" in runner.invoke(args=["tokens", "list"]).output
    assert runner.invoke(args=["tokens", "revoke", "99"]).exit_code != 0
    bad = runner.invoke(args=["tokens", "create", "--role", "owner", "--name", " "])
    assert bad.exit_code != 0 and "Name the token" in bad.output


def test_create_read_change_and_list_petitions(app: Flask, client: FlaskClient) -> None:
    editor = token(app, "editor")
    created = call(client, "POST", "/api/v1/petitions", editor, NEW)
    assert created.status_code == 201, created.json
    assert created.json["slug"] == "clean-river" and created.json["goal"] == 500
    assert client.get("/p/clean-river").status_code == 200
    changed = call(client, "PATCH", "/api/v1/petitions/clean-river", editor,
                   {"title": "A clean river now", "goal": None})
    assert changed.status_code == 200
    assert changed.json["changed"] == ["goal", "title"]
    assert "goal" not in changed.json["petition"]
    read = call(client, "GET", "/api/v1/petitions/clean-river/data", editor)
    assert read.json["title"] == "A clean river now" and read.json["body"] == NEW["body"]
    listed = call(client, "GET", "/api/v1/petitions", token(app, "viewer"))
    assert [item["slug"] for item in listed.json["petitions"]] == ["clean-river"]
    with app.app_context():
        actors = set(db.session.scalars(select(StaffAudit.actor).where(
            StaffAudit.action.in_(["petition created", "petition changed"]))))
    assert actors == {"token 1 (editor robot)"}


@pytest.mark.parametrize("body, key", [
    ({**NEW, "slug": "Bad Slug"}, "slug"), ({**NEW, "title": ""}, "title"),
    ({**NEW, "status": "gone"}, "status"), ({**NEW, "colour": "red"}, "petition"),
    ({**NEW, "body": ["not", "text"]}, "body"),
])
def test_refused_petitions_say_why_per_key(app: Flask, client: FlaskClient,
                                           body: dict[str, Any], key: str) -> None:
    answer = call(client, "POST", "/api/v1/petitions", token(app, "editor"), body)
    assert answer.status_code == 422
    assert list(answer.json["errors"]) == [key] and answer.json["error"]
    with app.app_context():
        assert db.session.scalars(select(Petition)).all() == []


def test_a_file_managed_petition_is_not_changed(app: Flask, client: FlaskClient) -> None:
    add_petition(app, slug="from-a-file", file_managed=True)
    answer = call(client, "PATCH", "/api/v1/petitions/from-a-file", token(app, "editor"),
                  {"title": "Changed"})
    assert answer.status_code == 409 and "petition release from-a-file" in answer.json["error"]


def test_hostile_requests_get_clear_4xx(app: Flask, client: FlaskClient) -> None:
    editor = token(app, "editor")
    headers = {"Authorization": f"Bearer {editor}"}
    cases = [
        client.post("/api/v1/petitions", headers=headers, data="title=x",
                    content_type="application/x-www-form-urlencoded"),
        client.post("/api/v1/petitions", headers=headers, data=b"{\"title\": \"\xff\"}",
                    content_type="application/json"),
        client.post("/api/v1/petitions", headers=headers, data="[1, 2]",
                    content_type="application/json"),
        client.post("/api/v1/petitions", headers=headers, data="[" * 100_000 + "]" * 100_000,
                    content_type="application/json"),
        client.post("/api/v1/petitions", headers=headers,
                    data=json.dumps({**NEW, "body": "x" * 2_000_000}),
                    content_type="application/json"),
    ]
    assert [answer.status_code for answer in cases] == [415, 400, 400, 400, 413]
    assert all(answer.is_json and answer.json["error"] for answer in cases)
    for method in ("PUT", "DELETE"):
        assert client.open("/api/v1/petitions", method=method, headers=headers).status_code == 405
    hostile = call(client, "POST", "/api/v1/petitions", editor,
                   {**NEW, "title": "<script>alert(1)</script>\u202e"})
    assert hostile.status_code == 201
    assert "<script>alert(1)</script>" not in client.get("/p/clean-river").text


def test_no_token_a_bad_token_a_revoked_token(app: Flask, client: FlaskClient) -> None:
    secret = token(app, "owner")
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "},
                    {"Authorization": "Bearer pk_" + "x" * 43},
                    {"Authorization": "Bearer " + secret[:-1] + "y"}):
        answer = client.get("/api/v1/petitions", headers=headers)
        assert answer.status_code == 401 and answer.json["error"]
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="petitionkit"'
    assert call(client, "GET", "/api/v1/petitions", secret).status_code == 200
    app.test_cli_runner().invoke(args=["tokens", "revoke", "1"])
    assert call(client, "GET", "/api/v1/petitions", secret).status_code == 401
    # A workspace cookie gives no authority here.
    sign_in(client, "owner@example.org", "owner", app)
    assert client.get("/api/v1/petitions").status_code == 401


ROUTES = [
    ("GET", "/api/v1/petitions", None, "viewer"),
    ("POST", "/api/v1/petitions", {**NEW, "slug": "another"}, "editor"),
    ("GET", "/api/v1/petitions/free-the-poet/data", None, "editor"),
    ("PATCH", "/api/v1/petitions/free-the-poet", {"goal": 50}, "editor"),
    ("GET", "/api/v1/petitions/free-the-poet/signatures", None, "moderator"),
    ("POST", "/api/v1/petitions/free-the-poet/signatures/1/hide", None, "moderator"),
    ("POST", "/api/v1/petitions/free-the-poet/signatures/1/show", None, "moderator"),
    ("POST", "/api/v1/petitions/free-the-poet/signatures/1/invalidate", {"reason": "r"},
     "moderator"),
    ("POST", "/api/v1/petitions/free-the-poet/invalidations", {"domain": "example.org"},
     "moderator"),
    ("POST", "/api/v1/petitions/free-the-poet/organizations/1/approve", None, "moderator"),
]
ORDER = ("viewer", "moderator", "editor", "owner")


@pytest.mark.parametrize("role", ORDER)
def test_every_route_for_every_role(app: Flask, client: FlaskClient, role: str) -> None:
    add_petition(app)
    sign_and_confirm(app, "free-the-poet", "Ayşe Yılmaz", "ayse@example.org", show_name=True)
    secret = token(app, role)
    for method, path, body, needed in ROUTES:
        answer = call(client, method, path, secret, body)
        allowed = ORDER.index(role) >= ORDER.index(needed)
        if allowed:
            assert answer.status_code in (200, 201, 404), (path, answer.status_code)
        else:
            assert answer.status_code == 403, (path, answer.status_code)
            assert role in answer.json["error"]


def test_signatures_as_json_lines(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = make_app(tmp_path, migrated_sqlite)
    add_petition(app)
    ids = [sign_and_confirm(app, "free-the-poet", f"Signer {n}", f"s{n}@example.org",
                            show_name=True) for n in range(3)]
    client = app.test_client()
    moderator = call(client, "GET", "/api/v1/petitions/free-the-poet/signatures",
                     token(app, "moderator"))
    assert moderator.mimetype == "application/x-ndjson" and moderator.is_streamed
    lines = [json.loads(line) for line in moderator.text.splitlines()]
    assert [line["id"] for line in lines] == ids
    assert all("email" not in line and "name" not in line for line in lines)
    assert lines[0]["public_name"].startswith("Signer")
    owner = call(client, "GET", "/api/v1/petitions/free-the-poet/signatures?after=" + str(ids[0]),
                 token(app, "owner"))
    records = [json.loads(line) for line in owner.text.splitlines()]
    assert [record["email"] for record in records] == ["s1@example.org", "s2@example.org"]
    bad = call(client, "GET", "/api/v1/petitions/free-the-poet/signatures?after=-1",
               token(app, "owner"))
    assert bad.status_code == 400
    # A web process without the private key gives owners no personal data either.
    web = make_app(tmp_path, migrated_sqlite, DATA_PRIVATE_KEY_FILE=None,
                   DATABASE_URL=app.config["DATABASE_URL"])
    plain = call(web.test_client(), "GET", "/api/v1/petitions/free-the-poet/signatures",
                 token(web, "owner"))
    assert all("email" not in json.loads(line) for line in plain.text.splitlines())


def test_moderation_through_the_api(app: Flask, client: FlaskClient) -> None:
    add_petition(app, signers=["people", "organizations"])
    troll = sign_and_confirm(app, "free-the-poet", "Rude Name", "troll@spam.example",
                             show_name=True)
    bots = [sign_and_confirm(app, "free-the-poet", f"Bot {n}", f"b{n}@spam.example")
            for n in range(3)]
    organisation = sign_and_confirm(app, "free-the-poet", "Contact", "c@example.org",
                                    kind="organization", organization="Harbour Watch")
    secret = token(app, "moderator")
    base = "/api/v1/petitions/free-the-poet"
    assert call(client, "POST", f"{base}/signatures/{troll}/hide", secret).json == {
        "changed": True}
    assert "Rude N." not in client.get("/embed/free-the-poet").text
    refused = call(client, "POST", f"{base}/signatures/{troll}/invalidate", secret,
                   {"reason": 7})
    assert refused.status_code == 422
    done = call(client, "POST", f"{base}/signatures/{troll}/invalidate", secret,
                {"reason": "troll"})
    assert done.json == {"changed": True}
    preview = call(client, "POST", f"{base}/invalidations", secret, {"domain": "spam.example"})
    assert preview.json == {"matching": 3, "unindexed": 0}
    started = call(client, "POST", f"{base}/invalidations", secret,
                   {"domain": "spam.example", "reason": "bots", "confirm": True})
    assert started.status_code == 202 and started.json["total"] == 3
    run_jobs(app)
    progress = call(client, "GET", f"{base}/invalidations/{started.json['run']}", secret)
    assert progress.json == {"run": started.json["run"], "total": 3, "done": 3,
                             "finished": True}
    with app.app_context():
        assert all(db.session.get(Signature, b).status == CANCELLED for b in bots)
    assert call(client, "POST", f"{base}/invalidations", secret,
                {"since": "tomorrow"}).status_code == 422
    assert call(client, "POST", f"{base}/organizations/{organisation}/approve",
                secret).json == {"changed": True}
    assert call(client, "POST", f"{base}/organizations/{troll}/approve",
                secret).status_code == 404


def test_owners_manage_tokens_in_the_workspace(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "owner@example.org", "owner", app)
    page = client.post("/admin/tokens", data={"csrf_token": csrf_token(client, "/admin/tokens"),
                                              "name": "crm sync", "role": "moderator"})
    assert page.status_code == 200
    secret = re.search(r'<code class="secret">(pk_[^<]+)</code>', page.text)
    assert secret
    assert call(client, "GET", "/api/v1/petitions", secret.group(1)).status_code == 200
    assert "pk_" not in client.get("/admin/tokens").text.replace(secret.group(1)[:10], "")
    revoked = client.post("/admin/tokens/1/revoke",
                          data={"csrf_token": csrf_token(client, "/admin/tokens")})
    assert revoked.status_code == 303
    assert call(client, "GET", "/api/v1/petitions", secret.group(1)).status_code == 401
    assert client.post("/admin/tokens/99/revoke",
                       data={"csrf_token": csrf_token(client, "/admin/tokens")}
                       ).status_code == 404


@pytest.mark.parametrize("role", ["viewer", "moderator", "editor"])
def test_only_owners_see_tokens(app: Flask, client: FlaskClient, role: str) -> None:
    sign_in(client, f"{role}@example.org", role, app)
    assert client.get("/admin/tokens").status_code == 403


# Each case below answered 500 before the fuzzing of the OpenAPI document found it
# (tests/test_api_schemathesis.py).
@pytest.mark.parametrize("database", ["app", "pg_app"])
def test_what_the_fuzzing_found_is_refused(database: str, request: pytest.FixtureRequest) -> None:
    app: Flask = request.getfixturevalue(database)
    add_petition(app)
    ayse = sign_and_confirm(app, "free-the-poet", "Ayşe Yılmaz", "ayse@example.org",
                            show_name=True)
    client = app.test_client()
    owner = token(app, "owner")
    base = "/api/v1/petitions/free-the-poet"
    # Row numbers past what the database holds name no row.
    for path in (f"{base}/signatures/{2**63}/hide", f"{base}/organizations/{2**64}/approve"):
        assert call(client, "POST", path, owner).status_code == 404
    assert call(client, "GET", f"{base}/invalidations/{10**30}", owner).status_code == 404
    # Times that leave the datetime's years once moved to UTC.
    for since in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00+01:00"):
        answer = call(client, "POST", f"{base}/invalidations", owner, {"since": since})
        assert answer.status_code == 422 and "ISO 8601" in answer.json["error"]
    changes = [({"opens_at": "9999-12-31T23:59:59-23:59"}, "opens_at"),
               ({"goal": 10**30}, "goal"), ({"show_count_from": 2**31}, "show_count_from"),
               ({"goal_ladder": [10, 2**40]}, "goal_ladder"), ({"title": "Free\x00"}, "title"),
               ({"extra": {"note\x00": "x"}}, "extra"), ({"body": "a\x00b"}, "body")]
    for change, key in changes:
        answer = call(client, "PATCH", base, owner, change)
        assert answer.status_code == 422, (change, answer.status_code)
        assert list(answer.json["errors"]) == [key]
    # NUL in a reason or a source: PostgreSQL stores none, so they are refused for both.
    refused = call(client, "POST", f"{base}/signatures/{ayse}/invalidate", owner,
                   {"reason": "spam\x00"})
    assert refused.status_code == 422 and "control characters" in refused.json["error"]
    assert call(client, "POST", f"{base}/invalidations", owner,
                {"source": "\x00", "reason": "r", "confirm": True}).status_code == 422
    with app.app_context():
        assert db.session.get(Signature, ayse).status != CANCELLED
