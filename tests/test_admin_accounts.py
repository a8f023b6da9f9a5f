"""Staff accounts: the `petitionkit users` command, one-time links, passwords, owners managing
users in the browser, and the audit log of it all."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from petitionkit.admin.models import StaffAudit, StaffUser
from petitionkit.extensions import db

from .admin import PASSWORD, add_user, enrol, post_form, sign_in
from .conftest import make_app

LINK = re.compile(r"(http://localhost/admin/setup/[\w.-]+)")


def audit_actions(app: Flask) -> list[tuple[str | None, str, str]]:
    with app.app_context():
        return [(entry.actor, entry.action, entry.target)
                for entry in db.session.scalars(select(StaffAudit).order_by(StaffAudit.id))]


def add_with_link(app: Flask, email: str, role: str = "editor") -> str:
    result = app.test_cli_runner().invoke(args=["users", "add", email, "--role", role])
    assert result.exit_code == 0, result.output
    found = LINK.search(result.output)
    assert found, result.output
    return found.group(1).removeprefix("http://localhost")


def test_users_add_list_remove(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "add", "Ana@Example.ORG", "--role", "owner"])
    assert result.exit_code == 0, result.output
    assert "added ana@example.org (owner)" in result.output
    assert LINK.search(result.output)
    add_user(app, "bo@example.org", "viewer")

    listing = runner.invoke(args=["users", "list"])
    assert listing.exit_code == 0
    lines = [line.split("\t") for line in listing.stdout.splitlines()]
    assert [line[:4] for line in lines] == [
        ["ana@example.org", "owner", "no password yet", "no second factor"],
        ["bo@example.org", "viewer", "active", "no second factor"],
    ]
    assert runner.invoke(args=["users", "remove", "BO@example.org"]).exit_code == 0
    assert "bo@example.org" not in runner.invoke(args=["users", "list"]).stdout
    actions = [action for _, action, _ in audit_actions(app)]
    assert actions == ["user added", "user added", "password set", "user removed"]
    actor = audit_actions(app)[0][0]
    assert actor is not None and actor.startswith("command line (")


@pytest.mark.parametrize("args, message", [
    (["users", "add", "not-an-address", "--role", "owner"], "not an e-mail address"),
    (["users", "add", "a@example.org", "--role", "king"], "Invalid value for '--role'"),
    (["users", "remove", "nobody@example.org"], "there is no account"),
])
def test_users_command_refuses_bad_input(app: Flask, args: list[str], message: str) -> None:
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output


def test_adding_the_same_address_twice_is_refused(app: Flask) -> None:
    add_user(app, "ana@example.org", "owner")
    result = app.test_cli_runner().invoke(args=["users", "add", "ANA@example.org", "--role",
                                                "viewer"])
    assert result.exit_code == 1
    assert "already an account" in result.output


def test_the_last_owner_cannot_be_removed(app: Flask) -> None:
    add_user(app, "ana@example.org", "owner")
    result = app.test_cli_runner().invoke(args=["users", "remove", "ana@example.org"])
    assert result.exit_code == 1
    assert "only owner" in result.output


def test_a_password_too_short_is_refused(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["users", "add", "ana@example.org", "--role", "owner", "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output
    with app.app_context():
        assert db.session.scalar(select(StaffUser)) is None


def test_the_password_is_stored_as_argon2id(app: Flask) -> None:
    add_user(app, "ana@example.org", "owner")
    with app.app_context():
        user = db.session.scalars(select(StaffUser)).one()
        assert user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_the_one_time_link_sets_the_password_once(app: Flask, client: FlaskClient) -> None:
    path = add_with_link(app, "ana@example.org", "owner")
    page = client.get(path)
    assert page.status_code == 200
    assert "ana@example.org" in page.get_data(as_text=True)

    short = post_form(client, path, {"password": "too short", "confirm": "too short"})
    assert short.status_code == 422
    assert "at least 12 characters" in short.get_data(as_text=True)
    differ = post_form(client, path, {"password": PASSWORD, "confirm": PASSWORD + "x"})
    assert differ.status_code == 422
    assert "differ" in differ.get_data(as_text=True)

    done = post_form(client, path, {"password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 200
    assert "Your password is set" in done.get_data(as_text=True)
    again = client.get(path)
    assert again.status_code == 400
    assert "expired or was already used" in again.get_data(as_text=True)
    enrol(client, "ana@example.org")
    assert client.get("/admin/").status_code == 200


def test_the_one_time_link_expires(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = make_app(tmp_path, migrated_sqlite, ADMIN_SETUP_LINK_MAX_AGE=1)
    path = add_with_link(app, "ana@example.org")
    time.sleep(2.1)
    answer = app.test_client().get(path)
    assert answer.status_code == 400
    assert "expired" in answer.get_data(as_text=True)


def test_a_newer_link_replaces_the_older_and_a_forged_one_fails(
    app: Flask, client: FlaskClient
) -> None:
    path = add_with_link(app, "ana@example.org")
    app.test_cli_runner().invoke(args=["users", "remove", "ana@example.org"])
    assert client.get(path).status_code == 400
    assert client.get(path[:-3] + "abc").status_code == 400
    assert client.get("/admin/setup/" + "x" * 5000).status_code == 400


def test_an_owner_adds_and_removes_users_in_the_browser(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "owner@example.org", "owner", app)
    added = post_form(client, "/admin/users", {"email": "new@example.org", "role": "moderator"})
    assert added.status_code == 200
    text = added.get_data(as_text=True)
    link = LINK.search(text)
    assert link and "new@example.org was added" in text
    assert "/admin/setup/" in link.group(1)

    bad = post_form(client, "/admin/users", {"email": "\u202enot@mail", "role": "owner"})
    assert bad.status_code == 422
    wrong_role = post_form(client, "/admin/users", {"email": "x@example.org", "role": "king"})
    assert wrong_role.status_code == 422

    with app.app_context():
        new_id = db.session.scalars(select(StaffUser.id).where(
            StaffUser.email == "new@example.org")).one()
        owner_id = db.session.scalars(select(StaffUser.id).where(
            StaffUser.email == "owner@example.org")).one()
    removed = post_form(client, f"/admin/users/{new_id}/remove", {}, token_from="/admin/users")
    assert removed.status_code == 303
    last_owner = post_form(client, f"/admin/users/{owner_id}/remove", {},
                           token_from="/admin/users")
    assert last_owner.status_code == 409
    assert post_form(client, "/admin/users/99999/remove", {},
                     token_from="/admin/users").status_code == 404
    actions = [(actor, action) for actor, action, _ in audit_actions(app)]
    assert ("owner@example.org", "user added") in actions
    assert ("owner@example.org", "user removed") in actions


def test_the_audit_log_is_for_owners_and_shows_staff_actions(
    app: Flask, client: FlaskClient
) -> None:
    sign_in(client, "owner@example.org", "owner", app)
    page = client.get("/admin/audit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for words in ("second factor set up", "signed in", "user added", "owner@example.org"):
        assert words in text
    assert client.get("/admin/audit?before=abc").status_code == 200
    assert client.get("/admin/audit?before=1").status_code == 200


def test_no_password_or_code_reaches_the_audit_log(app: Flask, client: FlaskClient) -> None:
    enrolled = sign_in(client, "owner@example.org", "owner", app)
    other = app.test_client()
    post_form(other, "/admin/login", {"email": "owner@example.org", "password": "guess " * 3})
    post_form(other, "/admin/login", {"email": "stranger@example.org", "password": "x" * 12})
    rows = audit_actions(app)
    flat = repr(rows)
    assert "guess" not in flat and "stranger" not in flat and PASSWORD not in flat
    assert enrolled.secret not in flat
    assert (None, "sign-in failed", "owner@example.org") in rows
    assert (None, "sign-in failed", "(no such account)") in rows


def test_the_users_command_on_a_database_never_migrated(tmp_path: Path) -> None:
    app = make_app(tmp_path, tmp_path / "none.db", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    result = app.test_cli_runner().invoke(args=["users", "list"])
    assert result.exit_code == 1
    assert "petitionkit db upgrade" in result.output
