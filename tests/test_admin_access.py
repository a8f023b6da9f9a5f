"""Who sees what in the workspace: accounts limited to named petitions (the command, the owners'
page, and what a limited account sees: only its petitions; the others do not exist for it), and
every /admin route for every role."""

from __future__ import annotations

import re
from typing import NamedTuple

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from petitionkit.admin.models import StaffAudit, StaffPetitionAccess, StaffUser
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.signatures import moderation
from petitionkit.signatures.services import SIGNING_POLICY
from petitionkit.testing import sign_and_confirm

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


# Every workspace route and the role it needs: a role below gets 403, a signed-out visitor the
# sign-in page, and a signer's name and address show only in the downloads of the roles that
# may make them. {user} is a second account, {token} an API token, {signature} a person's
# signature and {organisation} an organisation's; the table must name every /admin route.
class AdminRoute(NamedTuple):
    method: str
    path: str
    role: str
    data: dict[str, str] | None = None
    # What a role allowed in gets: a page or a redirect, unless the route says otherwise (the
    # passkey routes take only JSON from the page's script, and there is no passkey 1 here).
    answers: tuple[int, ...] = (200, 303)


PETITION_FORM = {"summary": "A summary.", "body": "Release him.", "status": "open",
                 "kind": "petition", "locale": "en", "people": "y", "organizations": "y"}
ADMIN_ROUTES = [
    AdminRoute("GET", "/admin/", "viewer"),
    AdminRoute("GET", "/admin/p/free-the-poet", "viewer"),
    # Before the moderation below withdraws the signature they would show.
    AdminRoute("GET", "/admin/p/free-the-poet/downloads", "editor"),
    AdminRoute("POST", "/admin/p/free-the-poet/downloads/report.csv", "editor"),
    AdminRoute("POST", "/admin/p/free-the-poet/downloads/export/csv", "owner"),
    AdminRoute("GET", "/admin/p/free-the-poet/signatures", "moderator"),
    AdminRoute("POST", "/admin/p/free-the-poet/signatures", "moderator", {"name": "Ayşe"}),
    AdminRoute("POST", "/admin/p/free-the-poet/signatures/{signature}/hide", "moderator"),
    AdminRoute("POST", "/admin/p/free-the-poet/signatures/{signature}/show", "moderator"),
    AdminRoute("POST", "/admin/p/free-the-poet/signatures/{signature}/invalidate", "moderator",
               {"reason": "a duplicate"}),
    AdminRoute("POST", "/admin/p/free-the-poet/invalidations/preview", "moderator",
               {"domain": "spam.example"}),
    AdminRoute("POST", "/admin/p/free-the-poet/invalidations", "moderator",
               {"domain": "spam.example", "reason": "bots"}),
    AdminRoute("GET", "/admin/p/free-the-poet/invalidations/{run}", "moderator"),
    AdminRoute("POST", "/admin/p/free-the-poet/organizations/{organisation}/approve",
               "moderator"),
    AdminRoute("POST", "/admin/p/free-the-poet/organizations/{organisation}/reject",
               "moderator"),
    AdminRoute("GET", "/admin/petitions/new", "editor"),
    AdminRoute("POST", "/admin/petitions/new", "editor",
               {**PETITION_FORM, "slug": "new-river", "title": "A new river"}),
    AdminRoute("GET", "/admin/p/free-the-poet/edit", "editor"),
    AdminRoute("POST", "/admin/p/free-the-poet/edit", "editor",
               {**PETITION_FORM, "slug": "free-the-poet", "title": "Free the poet"}),
    AdminRoute("POST", "/admin/p/free-the-poet/status", "editor", {"status": "closed"}),
    AdminRoute("GET", "/admin/users", "owner"),
    AdminRoute("POST", "/admin/users", "owner", {"email": "new@example.org",
                                                 "role": "viewer"}),
    AdminRoute("GET", "/admin/users/{user}/petitions", "owner"),
    AdminRoute("POST", "/admin/users/{user}/petitions", "owner", {"petition": "clean-river"}),
    AdminRoute("POST", "/admin/users/{user}/reset-second-factor", "owner"),
    AdminRoute("POST", "/admin/users/{user}/disable", "owner"),
    AdminRoute("POST", "/admin/users/{user}/enable", "owner"),
    AdminRoute("POST", "/admin/users/{user}/remove", "owner"),
    AdminRoute("GET", "/admin/audit", "owner"),
    AdminRoute("GET", "/admin/outbox", "owner"),
    AdminRoute("POST", "/admin/outbox/replay", "owner", {"all": "1"}),
    AdminRoute("GET", "/admin/tokens", "owner"),
    AdminRoute("POST", "/admin/tokens", "owner", {"name": "crm sync", "role": "viewer",
                                                  "petition": "clean-river"}),
    AdminRoute("POST", "/admin/tokens/{token}/revoke", "owner"),
    AdminRoute("GET", "/admin/account", "viewer"),
    AdminRoute("POST", "/admin/account/passkeys/options", "viewer", answers=(415,)),
    AdminRoute("POST", "/admin/account/passkeys", "viewer", answers=(415,)),
    AdminRoute("POST", "/admin/account/passkeys/1/remove", "viewer", answers=(404,)),
]
# Signing in and setting a password: for visitors who are not signed in yet.
SIGN_IN_ROUTES = {"/admin/login", "/admin/login/enrol", "/admin/login/second-factor",
                  "/admin/logout", "/admin/setup/<token>", "/admin/login/passkey",
                  "/admin/login/passkey/options", "/admin/login/enrol/passkey",
                  "/admin/login/enrol/passkey/options"}
ADMIN_ROLES = ("viewer", "moderator", "editor", "owner")
SIGNER = ("Ayşe Yılmaz", "ayse@example.org")
# The hand-over report names signers; the export has their addresses too.
DOWNLOADS_WITH_SIGNERS = {"/admin/p/free-the-poet/downloads/report.csv": {SIGNER[0]},
                          "/admin/p/free-the-poet/downloads/export/csv": set(SIGNER)}


def test_the_admin_table_names_every_route(app: Flask) -> None:
    adapter = app.url_map.bind("localhost")
    written = {}
    for route in ADMIN_ROUTES:
        rule, _ = adapter.match(re.sub(r"\{\w+\}", "1", route.path), method=route.method,
                                return_rule=True)
        assert app.view_functions[rule.endpoint].required_role == route.role, route
        written[(route.method, rule.rule)] = route
    routes = {(method, rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/admin") and rule.rule not in SIGN_IN_ROUTES
              for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert routes == set(written), "the table and the workspace's routes differ"
    assert len(written) == len(ADMIN_ROUTES)


@pytest.fixture
def workspace(app: Flask) -> dict[str, str]:
    """The rows the routes act on, by the name the table gives them."""
    add_petition(app, signers=["people", "organizations"])
    add_petition(app, slug="clean-river", title="A clean river")
    signature = sign_and_confirm(app, "free-the-poet", SIGNER[0], SIGNER[1], show_name=True)
    organisation = sign_and_confirm(app, "free-the-poet", "Mariam Haddad", "mariam@example.org",
                                    kind="organization", organization="Harbour Watch")
    add_user(app, "second@example.org", "viewer")
    created = app.test_cli_runner().invoke(
        args=["tokens", "create", "--role", "viewer", "--name", "robot"])
    assert created.exit_code == 0
    with app.app_context(), app.test_request_context():
        petition = db.session.scalars(select(Petition).where(
            Petition.slug == "free-the-poet")).one()
        run = moderation.start_run(db.session(), petition,
                                   moderation.Criteria.read(domain="spam.example"), "bots",
                                   "seed", SIGNING_POLICY.of().index_key)
        run_id = run.id
    return {"signature": str(signature), "organisation": str(organisation), "run": str(run_id),
            "user": str(user_id(app, "second@example.org")), "token": "1"}


@pytest.mark.parametrize("role", [None, *ADMIN_ROLES])
def test_every_admin_route_for_every_role(app: Flask, client: FlaskClient,
                                          workspace: dict[str, str], role: str | None) -> None:
    if role:
        sign_in(client, f"{role}@example.org", role, app)
    token = csrf_token(client, "/admin/" if role else "/admin/login")
    for route in ADMIN_ROUTES:
        path = re.sub(r"\{(\w+)\}", lambda found: workspace[found.group(1)], route.path)
        data = {**(route.data or {}), "csrf_token": token} if route.method == "POST" else None
        answer = client.open(path, method=route.method, data=data)
        shown = answer.get_data(as_text=True)
        where = (route.method, path, answer.status_code)
        if role is None:
            assert answer.status_code == 303, where
            assert "/admin/login" in answer.location, where
        elif ADMIN_ROLES.index(role) >= ADMIN_ROLES.index(route.role):
            assert answer.status_code in route.answers, where
            assert "/admin/login" not in (answer.location or ""), where
        else:
            assert answer.status_code == 403, where
        seen = DOWNLOADS_WITH_SIGNERS.get(route.path, set()) if answer.status_code == 200 else set()
        for value in SIGNER:
            assert (value in shown) == (value in seen), (value, *where)
