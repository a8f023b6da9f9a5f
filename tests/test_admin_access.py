"""Accounts limited to named petitions: the command, the owners' page, and what a limited
account sees (only its petitions; the others do not exist for it)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from petitionkit.admin.models import StaffAudit, StaffPetitionAccess, StaffUser
from petitionkit.extensions import db

from .admin import add_user, csrf_token, sign_in
from .conftest import add_petition


@pytest.fixture
def two_petitions(app: Flask) -> tuple[str, str]:
    first = add_petition(app, slug="free-the-poet", title="Free the poet")
    second = add_petition(app, slug="clean-river", title="A clean river")
    return first, second


def user_id(app: Flask, email: str) -> int:
    with app.app_context():
        return db.session.scalars(select(StaffUser.id).where(StaffUser.email == email)).one()


def test_the_command_limits_and_lifts(app: Flask, two_petitions: tuple[str, str]) -> None:
    runner = app.test_cli_runner()
    add_user(app, "mod@example.org", "moderator")
    result = runner.invoke(args=["users", "limit", "mod@example.org", "clean-river"])
    assert result.exit_code == 0, result.output
    assert "now sees only: clean-river" in result.output
    listing = runner.invoke(args=["users", "list"]).stdout
    assert listing.splitlines()[0].split("\t")[-1] == "clean-river"

    lifted = runner.invoke(args=["users", "limit", "mod@example.org", "--every-petition"])
    assert lifted.exit_code == 0, lifted.output
    assert runner.invoke(args=["users", "list"]).stdout.splitlines()[0].endswith("every petition")
    with app.app_context():
        assert db.session.scalars(select(StaffPetitionAccess)).all() == []
        targets = db.session.scalars(select(StaffAudit.target)
                                     .where(StaffAudit.action == "petitions limited")).all()
    assert targets == ["mod@example.org: clean-river", "mod@example.org: every petition"]


@pytest.mark.parametrize("args, message", [
    (["users", "limit", "mod@example.org", "no-such-petition"], "There is no petition"),
    (["users", "limit", "nobody@example.org", "clean-river"], "there is no account"),
    (["users", "limit", "mod@example.org"], "name the petitions"),
    (["users", "limit", "mod@example.org", "clean-river", "--every-petition"], "not both"),
    (["users", "limit", "own@example.org", "clean-river"], "cannot be limited"),
])
def test_the_command_refuses_what_cannot_be(app: Flask, two_petitions: tuple[str, str],
                                            args: list[str], message: str) -> None:
    add_user(app, "mod@example.org", "moderator")
    add_user(app, "own@example.org", "owner")
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalars(select(StaffPetitionAccess)).all() == []


def test_a_limited_account_sees_only_its_petitions(
    app: Flask, client: FlaskClient, two_petitions: tuple[str, str],
) -> None:
    sign_in(client, "viewer@example.org", "viewer", app)
    page = client.get("/admin/").get_data(as_text=True)
    assert "Free the poet" in page and "A clean river" in page

    runner = app.test_cli_runner()
    limited = runner.invoke(args=["users", "limit", "viewer@example.org", "clean-river"])
    assert limited.exit_code == 0
    page = client.get("/admin/").get_data(as_text=True)
    assert "A clean river" in page
    assert "Free the poet" not in page


def test_owners_limit_accounts_in_the_browser(
    app: Flask, client: FlaskClient, two_petitions: tuple[str, str],
) -> None:
    sign_in(client, "owner@example.org", "owner", app)
    add_user(app, "mod@example.org", "moderator")
    target = user_id(app, "mod@example.org")
    path = f"/admin/users/{target}/petitions"
    users_page = client.get("/admin/users").get_data(as_text=True)
    assert path in users_page and "every petition" in users_page

    page = client.get(path).get_data(as_text=True)
    assert 'value="free-the-poet"' in page and 'value="clean-river"' in page
    token = csrf_token(client, path)
    saved = client.post(path, data={"csrf_token": token, "petition": ["free-the-poet"]})
    assert saved.status_code == 303
    assert "free-the-poet" in client.get("/admin/users").get_data(as_text=True)
    form = client.get(path).get_data(as_text=True)
    assert 'value="free-the-poet" id="petition-1" checked' in form

    # Unknown and hostile slugs are refused with the reason, and nothing changes.
    hostile = "<script>alert(1)</script>\u202e"
    refused = client.post(path, data={"csrf_token": csrf_token(client, path),
                                      "petition": ["clean-river", hostile]})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "There is no petition" in body and "<script>alert(1)" not in body
    with app.app_context():
        kept = db.session.scalars(select(StaffPetitionAccess.petition_id)).all()
    assert len(kept) == 1

    # Ticking nothing lifts the limit.
    assert client.post(path, data={"csrf_token": csrf_token(client, path)}).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(StaffPetitionAccess)).all() == []


def test_limits_need_an_owner_a_token_and_a_post(
    app: Flask, client: FlaskClient, two_petitions: tuple[str, str],
) -> None:
    add_user(app, "mod@example.org", "moderator")
    target = user_id(app, "mod@example.org")
    path = f"/admin/users/{target}/petitions"
    assert client.get(path).status_code == 303  # signed out: to the sign-in page
    sign_in(client, "editor@example.org", "editor", app)
    assert client.get(path).status_code == 403
    assert client.post(path, data={"petition": ["clean-river"]}).status_code in (400, 403)


def test_owner_page_without_token_or_for_unknown_account(
    app: Flask, client: FlaskClient, two_petitions: tuple[str, str],
) -> None:
    sign_in(client, "owner@example.org", "owner", app)
    add_user(app, "mod@example.org", "moderator")
    target = user_id(app, "mod@example.org")
    assert client.get("/admin/users/99999/petitions").status_code == 404
    no_token = client.post(f"/admin/users/{target}/petitions", data={"petition": ["clean-river"]})
    assert 400 <= no_token.status_code < 500
    assert client.put(f"/admin/users/{target}/petitions").status_code == 405
    with app.app_context():
        assert db.session.scalars(select(StaffPetitionAccess)).all() == []
    own = user_id(app, "owner@example.org")
    page = client.get(f"/admin/users/{own}/petitions").get_data(as_text=True)
    assert "cannot be limited" in page
