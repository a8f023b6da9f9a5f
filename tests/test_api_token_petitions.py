"""Tokens limited to named petitions, as workspace accounts are: the others do not exist for
such a token (404, left out of the list), on every route that names a petition."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from petitionkit.admin.models import StaffAudit
from petitionkit.api.tokens import ApiToken
from petitionkit.extensions import db
from petitionkit.testing import sign_and_confirm

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
