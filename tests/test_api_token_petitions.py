"""Tokens limited to named petitions, as workspace accounts are: the others do not exist for
such a token (404, left out of the list), on every route that names a petition; made from the
command line or the workspace's tokens page."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from petitionkit.admin.models import StaffAudit
from petitionkit.api.tokens import ApiToken
from petitionkit.extensions import db
from petitionkit.testing import sign_and_confirm

from .admin import csrf_token, sign_in
from .conftest import add_petition
from .test_api_write import call

MINE, OTHER, THIRD = "free-the-poet", "clean-river", "open-the-archive"


def create(app: Flask, role: str, *slugs: str) -> str:
    words = [word for slug in slugs for word in ("--petition", slug)]
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", "--role", role, "--name", f"{role} for one", *words])
    assert result.exit_code == 0, result.output
    return str(result.output.strip().splitlines()[-1])


@pytest.fixture
def petitions(app: Flask) -> dict[str, int]:
    signatures = {}
    for slug in (MINE, OTHER, THIRD):
        add_petition(app, slug=slug, title=slug)
        signatures[slug] = sign_and_confirm(app, slug, "Ayşe Yılmaz", f"a@{slug}.example",
                                            show_name=True)
    return signatures


def test_a_limited_token_reaches_its_petitions_only(app: Flask,
                                                    petitions: dict[str, int]) -> None:
    client = app.test_client()
    owner_secret = create(app, "owner")
    secret = create(app, "editor", MINE, THIRD)
    listed = call(client, "GET", "/api/v1/petitions", secret).json["petitions"]
    assert sorted(petition["slug"] for petition in listed) == sorted([MINE, THIRD])
    assert len(call(client, "GET", "/api/v1/petitions", owner_secret).json["petitions"]) == 3
    for slug, status in ((MINE, 200), (OTHER, 404), (THIRD, 200)):
        for method, path, body in (
            ("GET", f"/api/v1/petitions/{slug}/figures", None),
            ("GET", f"/api/v1/petitions/{slug}/data", None),
            ("PATCH", f"/api/v1/petitions/{slug}", {"goal": 10}),
            ("GET", f"/api/v1/petitions/{slug}/signatures", None),
            ("POST", f"/api/v1/petitions/{slug}/signatures/search", {"name": "Ayşe"}),
            ("POST", f"/api/v1/petitions/{slug}/signatures/{petitions[slug]}/hide", None),
            ("POST", f"/api/v1/petitions/{slug}/invalidations", {"domain": "spam.example"}),
            ("GET", f"/api/v1/petitions/{slug}/organizations/pending", None),
            ("GET", f"/api/v1/petitions/{slug}/report", None),
        ):
            answer = call(client, method, path, secret, body)
            assert answer.status_code == status, (method, path, answer.text[:200])
            answer.close()
            if status == 404:
                assert answer.json["error"] == "There is no petition at this address."
    # Refused before anything was done: the other petition's signer keeps a shown name.
    hidden = call(client, "GET", f"/api/v1/petitions/{OTHER}/signatures", owner_secret).text
    assert '"name_hidden": false' in hidden


def test_the_list_and_the_audit_log_show_the_limit(app: Flask,
                                                   petitions: dict[str, int]) -> None:
    create(app, "moderator", OTHER, MINE, MINE)
    create(app, "viewer")
    listing = app.test_cli_runner().invoke(args=["tokens", "list"]).output.splitlines()
    assert listing[0].endswith(f"\t{OTHER}, {MINE}") and listing[1].endswith("\tevery petition")
    with app.app_context():
        targets = db.session.scalars(select(StaffAudit.target).where(
            StaffAudit.action == "token created").order_by(StaffAudit.id)).all()
    assert targets == [f"1 moderator for one (moderator): {OTHER}, {MINE}",
                       "2 viewer for one (viewer)"]


@pytest.mark.parametrize("role, slugs, message", [
    ("editor", ["no-such"], "There is no petition 'no-such'."),
    ("editor", [MINE, "x" * 300], "There is no petition"),
    ("owner", [MINE], "Owners see every petition"),
])
def test_a_limit_that_cannot_be_is_refused(app: Flask, petitions: dict[str, int], role: str,
                                           slugs: list[str], message: str) -> None:
    words = [word for slug in slugs for word in ("--petition", slug)]
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", "--role", role, "--name", "n", *words])
    assert result.exit_code != 0 and message in result.output
    assert "pk_" not in result.output
    assert app.test_cli_runner().invoke(args=["tokens", "list"]).output == ""



@pytest.mark.parametrize("database", ["app", "pg_app"])
def test_a_token_name_or_petition_with_control_characters_is_refused(
    request: pytest.FixtureRequest, database: str,
) -> None:
    """NUL and other control characters get a message, on PostgreSQL too, which refuses NUL in
    any text it is asked to store or compare."""
    app: Flask = request.getfixturevalue(database)
    add_petition(app)
    runner = app.test_cli_runner()
    named = runner.invoke(args=["tokens", "create", "--role", "viewer", "--name", "a\x00b"])
    assert named.exit_code != 0 and "control characters" in named.output
    limited = runner.invoke(args=["tokens", "create", "--role", "viewer", "--name", "figures",
                                  "--petition", "free-the-poet\x00"])
    assert limited.exit_code != 0 and "There is no petition" in limited.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def post_token(client: FlaskClient, name: str, role: str, *slugs: str) -> TestResponse:
    return client.post("/admin/tokens", data={
        "csrf_token": csrf_token(client, "/admin/tokens"), "name": name, "role": role,
        "petition": list(slugs)})


def test_owners_limit_a_token_in_the_workspace(app: Flask, client: FlaskClient,
                                              petitions: dict[str, int]) -> None:
    sign_in(client, "owner@example.org", "owner", app)
    form = client.get("/admin/tokens").text
    for slug in (MINE, OTHER, THIRD):
        assert f'name="petition" value="{slug}"' in form
    page = post_token(client, "volunteer desk", "moderator", MINE)
    assert page.status_code == 200, page.text[:500]
    secret = re.search(r'<code class="secret">(pk_[^<]+)</code>', page.text)
    assert secret
    listed = call(client, "GET", "/api/v1/petitions", secret[1]).json["petitions"]
    assert [petition["slug"] for petition in listed] == [MINE]
    assert call(client, "GET", f"/api/v1/petitions/{MINE}/figures", secret[1]).status_code == 200
    assert call(client, "GET", f"/api/v1/petitions/{OTHER}/figures",
                secret[1]).status_code == 404
    # The list shows each token's limit; a token made with nothing ticked reaches every one.
    assert post_token(client, "figures", "viewer").status_code == 200
    rows = re.findall(r'<th scope="row">(.*?)</th>.*?data-label="Petitions">(.*?)</td>',
                      client.get("/admin/tokens").text, re.S)
    assert [tuple(re.sub(r"<[^>]+>", "", cell) for cell in row) for row in rows] == [
        ("volunteer desk", MINE), ("figures", "every petition")]
    with app.app_context():
        targets = db.session.scalars(select(StaffAudit.target).where(
            StaffAudit.action == "token created").order_by(StaffAudit.id)).all()
    assert targets == [f"1 volunteer desk (moderator): {MINE}", "2 figures (viewer)"]


def test_the_workspace_refuses_to_limit_an_owners_token(app: Flask, client: FlaskClient,
                                                        petitions: dict[str, int]) -> None:
    sign_in(client, "owner@example.org", "owner", app)
    page = post_token(client, "all of it", "owner", MINE)
    assert page.status_code == 422
    assert "Owners see every petition; they cannot be limited." in page.text
    assert "pk_" not in page.text
    # What was ticked stays ticked, to correct the role instead.
    assert re.search(rf'value="{MINE}" id="petition-\d+" checked', page.text)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


@pytest.mark.parametrize("database", ["app", "pg_app"])
@pytest.mark.parametrize("tampered", [
    "no-such-petition", "<script>alert(1)</script>\u202e", f"{MINE}\x00", "x" * 2_000,
    MINE.upper(),
])
def test_the_workspace_refuses_unknown_or_tampered_petitions(
    request: pytest.FixtureRequest, database: str, tampered: str,
) -> None:
    app: Flask = request.getfixturevalue(database)
    add_petition(app, slug=MINE, title=MINE)
    client = app.test_client()
    sign_in(client, "owner@example.org", "owner", app)
    page = post_token(client, "crm sync", "editor", MINE, tampered)
    assert page.status_code == 422, page.text[:500]
    assert "There is no petition" in page.text
    assert "<script>alert(1)" not in page.text and "pk_" not in page.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


@pytest.mark.parametrize("role", ["viewer", "moderator", "editor"])
def test_only_owners_create_limited_tokens(app: Flask, client: FlaskClient,
                                           petitions: dict[str, int], role: str) -> None:
    sign_in(client, f"{role}@example.org", role, app)
    token = csrf_token(client, "/admin/")
    assert client.get("/admin/tokens").status_code == 403
    refused = client.post("/admin/tokens", data={"csrf_token": token, "name": "mine",
                                                 "role": "viewer", "petition": [MINE]})
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0
