"""Petitions in the workspace: create with a preview, edit, open/close/archive, and the refusals:
roles, file-managed petitions, hostile and oversized input, forged posts."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from petitionkit.admin import access
from petitionkit.admin.models import StaffAudit, StaffUser
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition

from .admin import add_user, csrf_token, sign_in
from .conftest import add_petition

FORM = {"title": "A clean river", "slug": "clean-river", "summary": "Stop the dumping.",
        "body": "The river **must** be clean.", "status": "open", "kind": "petition",
        "locale": "en", "goal": "500", "people": "y", "allowed_origins": "https://river.example",
        "more": "targets:\n  - name: The minister\n    email: minister@example.org\n"}


def post(client: FlaskClient, path: str, data: dict[str, str], token_from: str | None = None,
         ) -> object:
    return client.post(path, data={**data, "csrf_token": csrf_token(client, token_from or path)})


def stored(app: Flask, slug: str = "clean-river") -> Petition | None:
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        if petition is not None:
            db.session.expunge(petition)
        return petition


def test_an_editor_creates_previews_edits_and_opens_a_petition(
    app: Flask, client: FlaskClient,
) -> None:
    sign_in(client, "editor@example.org", "editor", app)
    assert "New petition" in client.get("/admin/").text

    preview = post(client, "/admin/petitions/new", {**FORM, "preview": "1"})
    assert preview.status_code == 200
    assert "<strong>must</strong>" in preview.text
    assert stored(app) is None  # a preview saves nothing

    created = post(client, "/admin/petitions/new", {**FORM, "status": "draft"})
    assert created.status_code == 303
    assert created.location.endswith("/admin/p/clean-river/edit?saved=1")
    petition = stored(app)
    assert petition is not None and not petition.file_managed and petition.status == "draft"
    assert petition.goal == 500 and petition.targets[0]["name"] == "The minister"
    assert petition.allowed_origins == ["https://river.example"]

    page = client.get("/admin/p/clean-river/edit?saved=1").text
    assert "Saved." in page and 'value="A clean river"' in page
    assert "The minister" in page  # More settings hold what the fields do not

    edited = post(client, "/admin/p/clean-river/edit", {**FORM, "title": "A clean river now",
                                                        "goal": "", "status": "draft"})
    assert edited.status_code == 303
    petition = stored(app)
    assert petition is not None and petition.title == "A clean river now" and petition.goal is None

    opened = post(client, "/admin/p/clean-river/status", {"status": "open"},
                  token_from="/admin/p/clean-river/edit")
    assert opened.status_code == 303
    assert client.get("/p/clean-river").status_code == 200
    closed = post(client, "/admin/p/clean-river/status", {"status": "closed"},
                  token_from="/admin/p/clean-river/edit")
    assert closed.status_code == 303
    petition = stored(app)
    assert petition is not None and petition.status == "closed"
    with app.app_context():
        actions = db.session.scalars(select(StaffAudit.action)
                                     .where(StaffAudit.actor == "editor@example.org")).all()
    assert actions.count("petition created") == 1 and actions.count("petition changed") == 3


@pytest.mark.parametrize("change, field, words", [
    ({"title": ""}, "title", "a title is required"),
    ({"slug": "Free The Poet!"}, "slug", "lowercase letters"),
    ({"goal": "many"}, "goal", "whole number"),
    ({"goal": "9" * 40}, "goal", "whole number"),
    ({"closes_at": "next week"}, "closes_at", "ISO 8601"),
    ({"more": "targets: [unclosed"}, "more", "not valid YAML"),
    ({"more": "- a list"}, "more", "keys with values"),
    ({"more": "title: twice"}, "more", "fields of their own"),
    ({"more": "a: &a [x, x]\nb: [*a, *a]"}, "more", "aliases"),
    ({"more": "[" * 5000 + "]" * 5000}, "more", "YAML"),
    ({"more": "colour: red"}, "more", "unknown keys: colour"),
    ({"more": "targets:\n  - title: no name"}, "more", "needs a name"),
    ({"people": ""}, "people", "signers must list"),
])
def test_each_mistake_is_shown_beside_its_field(
    app: Flask, client: FlaskClient, change: dict[str, str], field: str, words: str,
) -> None:
    sign_in(client, "editor@example.org", "editor", app)
    data = {**FORM, **change}
    if change.get("people") == "":
        data.pop("people")
    answer = post(client, "/admin/petitions/new", data)
    assert answer.status_code == 422
    assert "Nothing was saved" in answer.text
    error = answer.text.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert words in error
    assert stored(app, "clean-river") is None and stored(app, "Free The Poet!") is None


def test_hostile_text_is_kept_as_text(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "editor@example.org", "editor", app)
    hostile = {**FORM, "title": "<script>alert(1)</script>\u202eriver",
               "body": "<img src=x onerror=alert(1)> [x](javascript:alert(1)) =HYPERLINK(1)"}
    preview = post(client, "/admin/petitions/new", {**hostile, "preview": "1"})
    assert "<script>alert(1)</script>" not in preview.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview.text  # the title, as text
    rendered = preview.text.split('class="petition-body"')[1].split("</section>")[0]
    assert "<img" not in rendered and "href=\"javascript" not in rendered
    assert post(client, "/admin/petitions/new", hostile).status_code == 303
    page = client.get("/p/clean-river").text
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page


def test_oversized_and_malformed_posts(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "editor@example.org", "editor", app)
    big = post(client, "/admin/petitions/new", {**FORM, "body": "x" * 200_000})
    assert big.status_code == 422 and "longer than" in big.text
    huge = client.post("/admin/petitions/new", data={"csrf_token": "x", "body": "x" * 2_000_000})
    assert huge.status_code == 413
    bad_bytes = client.post("/admin/petitions/new", data=b"title=%ff%fe&slug=a",
                            content_type="application/x-www-form-urlencoded")
    assert 400 <= bad_bytes.status_code < 500
    assert client.put("/admin/petitions/new").status_code == 405
    assert client.delete("/admin/p/clean-river/edit").status_code == 405
    unknown_status = post(client, "/admin/p/clean-river/status", {"status": "hidden"},
                          token_from="/admin/")
    assert unknown_status.status_code == 404


def test_a_file_managed_petition_is_read_only(app: Flask, client: FlaskClient) -> None:
    add_petition(app, slug="from-a-file", title="From a file", file_managed=True)
    sign_in(client, "editor@example.org", "editor", app)
    page = client.get("/admin/p/from-a-file/edit").text
    assert "managed by its file" in page and "petition release from-a-file" in page
    assert "Open for signing" not in page
    refused = post(client, "/admin/p/from-a-file/edit", {**FORM, "title": "Changed"})
    assert refused.status_code == 409
    status = post(client, "/admin/p/from-a-file/status", {"status": "closed"},
                  token_from="/admin/p/from-a-file/edit")
    assert status.status_code == 409
    petition = stored(app, "from-a-file")
    assert petition is not None and petition.title == "From a file" and petition.status == "open"


@pytest.mark.parametrize("role, allowed", [("viewer", False), ("moderator", False),
                                           ("editor", True), ("owner", True)])
def test_only_editors_and_owners_edit(app: Flask, client: FlaskClient, role: str,
                                      allowed: bool) -> None:
    add_petition(app, slug="free-the-poet")
    for path in ("/admin/petitions/new", "/admin/p/free-the-poet/edit"):
        assert client.get(path).status_code == 303  # signed out: to the sign-in page
    sign_in(client, f"{role}@example.org", role, app)
    for path in ("/admin/petitions/new", "/admin/p/free-the-poet/edit"):
        assert client.get(path).status_code == (200 if allowed else 403)
    token = csrf_token(client, "/admin/")
    answer = client.post("/admin/p/free-the-poet/status", data={"status": "closed",
                                                                "csrf_token": token})
    assert answer.status_code == (303 if allowed else 403)
    assert "New petition" in client.get("/admin/").text if allowed else True


def test_forged_posts_and_limited_accounts(app: Flask, client: FlaskClient) -> None:
    add_petition(app, slug="free-the-poet")
    add_petition(app, slug="clean-river", title="A clean river")
    sign_in(client, "editor@example.org", "editor", app)
    no_token = client.post("/admin/p/free-the-poet/status", data={"status": "closed"})
    assert no_token.status_code == 400
    cross_site = client.post("/admin/p/free-the-poet/status",
                             data={"status": "closed", "csrf_token": csrf_token(client, "/admin/")},
                             headers={"Origin": "https://evil.example",
                                      "Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    add_user(app, "owner@example.org", "owner")
    limited = app.test_cli_runner().invoke(args=["users", "limit", "editor@example.org",
                                                 "clean-river"])
    assert limited.exit_code == 0
    assert client.get("/admin/p/free-the-poet/edit").status_code == 404
    assert client.get("/admin/p/clean-river/edit").status_code == 200
    assert client.get("/admin/p/no-such-petition/edit").status_code == 404


def test_a_limited_editor_keeps_sight_of_the_petition_it_creates(
    app: Flask, client: FlaskClient,
) -> None:
    add_petition(app, slug="free-the-poet", title="Free the poet")
    add_petition(app, slug="other-campaign", title="Another campaign")
    sign_in(client, "editor@example.org", "editor", app)
    limited = app.test_cli_runner().invoke(args=["users", "limit", "editor@example.org",
                                                 "free-the-poet"])
    assert limited.exit_code == 0, limited.output

    created = post(client, "/admin/petitions/new", {**FORM, "status": "draft"})
    assert created.status_code == 303
    assert client.get(created.location).status_code == 200
    listing = client.get("/admin/").text
    assert "A clean river" in listing and "Free the poet" in listing
    assert "Another campaign" not in listing  # still limited, to one more petition
    assert client.get("/admin/p/other-campaign/edit").status_code == 404
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == "editor@example.org"))
        assert user is not None
        assert access.slugs_of(db.session(), user) == ["clean-river", "free-the-poet"]


def test_an_unlimited_editor_stays_unlimited_after_creating(
    app: Flask, client: FlaskClient,
) -> None:
    add_petition(app, slug="free-the-poet", title="Free the poet")
    sign_in(client, "editor@example.org", "editor", app)
    assert post(client, "/admin/petitions/new", FORM).status_code == 303
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == "editor@example.org"))
        assert user is not None
        assert access.limited_to(db.session(), user) is None
    assert "Free the poet" in client.get("/admin/").text
