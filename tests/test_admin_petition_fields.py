"""The petition form's rows: targets, share texts, reported actions and steps as fields, without
JavaScript and without YAML; the example campaigns survive the form unchanged; hostile rows get
messages, never a server error."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import frontmatter
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from petitionkit.extensions import db
from petitionkit.petitions.editing import create_petition, petition_as_data
from petitionkit.petitions.loader import parse_petition
from petitionkit.petitions.models import Petition
from petitionkit.plugins import calls

from .admin import csrf_token, sign_in
from .conftest import add_petition

EXAMPLES = sorted((Path(__file__).parent.parent / "examples" / "petitions").glob("*.md"))
BASE = {"title": "A clean river", "slug": "clean-river", "summary": "Stop the dumping.",
        "body": "The river must be clean.", "status": "draft", "kind": "letter",
        "locale": "en", "people": "y"}
ROWS = {
    "targets-0-name": "Mina Osei", "targets-0-title": "Minister",
    "targets-0-email": "minister@example.org", "targets-0-phone": "+99 555 0100",
    "targets-0-hours": "Mon–Fri 09:00–17:00", "targets-0-timezone": "Europe/Brussels",
    "targets-0-languages": "en fr", "targets-0-address": "1 River Road\r\nPort Selwyn",
    "targets-1-name": "Aurel Vantic", "targets-1-organization": "Harbour Office",
    "targets-2-name": "",  # the blank row
    "hashtags": "#CleanRiver Rivers", "posts-0-text": "Sign for a clean river.",
    "posts-1-text": "",
    "report_actions-0-key": "called", "report_actions-0-label": "I called the minister",
    "report_actions-0-other_labels": "fr: J'ai appelé la ministre",
    "report_actions-0-outcomes": "reached voicemail",
    "report_actions-1-key": "", "report_actions-1-label": "",
    "steps-0-name": "sign", "steps-1-name": "letter",
    "steps-2-name": "report", "steps-2-shown": "y", "steps-2-position": "2",
    "steps-3-name": "share", "steps-3-shown": "y", "steps-3-position": "1",
}


class _FormFields(HTMLParser):
    """What a browser sends for the petition form as rendered: its inputs, checked boxes,
    text areas and chosen options (no button pressed but the default one)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._in_form = False
        self._textarea: str | None = None
        self._select: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form" and "petition-form" in found.get("class", ""):
            self._in_form = True
        if tag == "option" and self._select and "selected" in found:
            self.fields.append((self._select, found["value"]))
        if not self._in_form or "name" not in found:
            return
        if tag == "input" and found.get("type") in ("checkbox", "radio"):
            if "checked" in found:
                self.fields.append((found["name"], found.get("value", "on")))
        elif tag == "input" and found.get("type") != "submit":
            self.fields.append((found["name"], found.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = found["name"], ""
        elif tag == "select":
            self._select = found["name"]

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the newline that opens a text area's content.
            text = self._text.replace("\r\n", "\n")
            self.fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_as_sent(html: str) -> dict[str, str]:
    parser = _FormFields()
    parser.feed(html)
    return dict(parser.fields)


def post(client: FlaskClient, path: str, data: dict[str, str]) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_token(client, path)})


def stored(app: Flask, slug: str = "clean-river") -> Petition | None:
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        if petition is not None:
            db.session.expunge(petition)
        return petition


def test_a_petition_from_the_fields_alone(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "editor@example.org", "editor", app)
    created = post(client, "/admin/petitions/new", {**BASE, **ROWS})
    assert created.status_code == 303, created.text
    petition = stored(app)
    assert petition is not None
    assert [target["name"] for target in petition.targets] == ["Mina Osei", "Aurel Vantic"]
    first = petition.targets[0]
    assert first["languages"] == ["en", "fr"] and first["timezone"] == "Europe/Brussels"
    assert first["address"] == "1 River Road\nPort Selwyn"
    assert "email" not in petition.targets[1]
    assert petition.share == {"hashtags": ["#CleanRiver", "#Rivers"],
                              "posts": ["Sign for a clean river."]}
    assert petition.report_actions == [{
        "key": "called", "outcomes": ["reached", "voicemail"],
        "label": {"en": "I called the minister", "fr": "J'ai appelé la ministre"}}]
    assert petition.sections["steps"] == ["share", "report"]  # by the numbers given

    page = client.get("/admin/p/clean-river/edit").text
    sent = form_as_sent(page)
    assert sent["targets-1-name"] == "Aurel Vantic" and sent["targets-2-name"] == ""
    assert sent["report_actions-0-other_labels"] == "fr: J'ai appelé la ministre"
    assert sent["steps-0-name"] == "share" and sent["steps-0-position"] == "1"
    assert "steps-2-shown" not in sent  # the letter is not listed
    assert "targets:" not in sent["more"]


def test_removing_a_row(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "editor@example.org", "editor", app)
    assert post(client, "/admin/petitions/new", {**BASE, **ROWS}).status_code == 303
    sent = form_as_sent(client.get("/admin/p/clean-river/edit").text)
    sent["targets-0-remove"] = "y"
    sent["report_actions-0-remove"] = "y"
    sent["steps-1-shown"] = ""  # report unticked: it has no actions left
    del sent["steps-1-shown"]
    assert post(client, "/admin/p/clean-river/edit", sent).status_code == 303
    petition = stored(app)
    assert petition is not None
    assert [target["name"] for target in petition.targets] == ["Aurel Vantic"]
    assert petition.report_actions == [] and petition.sections["steps"] == ["share"]


def test_add_another_keeps_what_was_typed_and_saves_nothing(
    app: Flask, client: FlaskClient,
) -> None:
    sign_in(client, "editor@example.org", "editor", app)
    answer = post(client, "/admin/petitions/new", {**BASE, **ROWS, "add_row": "targets"})
    assert answer.status_code == 200
    assert stored(app) is None
    sent = form_as_sent(answer.text)
    assert sent["targets-0-name"] == "Mina Osei" and sent["hashtags"] == "#CleanRiver Rivers"
    assert sent["targets-3-name"] == ""  # one more blank row than was sent
    assert "targets-4-name" not in sent
    assert "Add another target" in answer.text
    # The form shown again saves as it would have.
    assert post(client, "/admin/petitions/new", sent).status_code == 303
    petition = stored(app)
    assert petition is not None and len(petition.targets) == 2


@pytest.mark.parametrize("change, where, words", [
    ({"targets-1-email": "not an address"}, "targets-1-error", "targets[2].email"),
    ({"report_actions-0-key": "Called!"}, "report_actions-0-error", "key must be"),
    ({"report_actions-0-other_labels": "no colon here"}, "report_actions-0-other_labels-error",
     "language tag, a colon"),
    ({"steps-0-shown": "y", "steps-0-position": "9"}, "steps-error", "sign comes first"),
    ({"steps-2-position": "two"}, "steps-2-position-error", "whole number"),
    ({"targets-0-name": "x" * 6000}, "targets-0-name-error", "At most"),
    ({"targets-0-name": "A\x00B"}, "targets-error", "NUL"),
    ({"more": "targets:\n  - name: Someone else\n"}, "more-error", "both in their fields"),
    ({"hashtags": "", "posts-0-text": "", "steps-3-position": "1", "more": "share: [x]"},
     "more-error", "share is a mapping"),
])
def test_mistakes_are_shown_beside_their_rows(
    app: Flask, client: FlaskClient, change: dict[str, str], where: str, words: str,
) -> None:
    sign_in(client, "editor@example.org", "editor", app)
    answer = post(client, "/admin/petitions/new", {**BASE, **ROWS, **change})
    assert answer.status_code == 422
    assert "Nothing was saved" in answer.text
    message = answer.text.split(f'id="{where}">')[1].split("</p>")[0]
    assert words in message
    assert re.search(rf'aria-describedby="[^"]*\b{where}"', answer.text)  # linked to it
    assert stored(app) is None


def test_hostile_rows_get_messages_or_stay_text(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "editor@example.org", "editor", app)
    many_posts = {f"posts-{number}-text": "a post" for number in range(1000)}
    answer = post(client, "/admin/petitions/new", {**BASE, **many_posts})
    assert answer.status_code == 422 and "At most 100 rows" in answer.text
    many_targets = {f"targets-{number}-name": f"Official {number}" for number in range(1000)}
    answer = post(client, "/admin/petitions/new", {**BASE, **many_targets})
    assert answer.status_code == 422 and "At most 100 rows" in answer.text
    big = post(client, "/admin/petitions/new", {**BASE, "targets-0-name": "x" * 1_000_000})
    assert big.status_code == 422 and "At most 5000 characters" in big.text
    assert stored(app) is None

    hostile = {**BASE, "targets-0-name": "<script>alert(1)</script>\u202eMinister",
               "posts-0-text": "<img src=x onerror=alert(1)>",
               "report_actions-0-key": "called", "report_actions-0-label": "<b>I</b> called"}
    assert post(client, "/admin/petitions/new", hostile).status_code == 303
    page = client.get("/admin/p/clean-river/edit").text
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\u202eMinister" in page
    petition = stored(app)
    assert petition is not None and petition.targets[0]["name"].startswith("<script>")


def test_a_file_managed_petition_still_refuses_edits(app: Flask, client: FlaskClient) -> None:
    add_petition(app, slug="clean-river", file_managed=True)
    sign_in(client, "editor@example.org", "editor", app)
    before = stored(app)
    answer = post(client, "/admin/p/clean-river/edit", {**BASE, **ROWS})
    assert answer.status_code == 409
    after = stored(app)
    assert before is not None and after is not None
    assert after.targets == before.targets and after.title == before.title


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_an_example_campaign_survives_the_form_unchanged(
    app: Flask, client: FlaskClient, path: Path,
) -> None:
    written = frontmatter.load(str(path))
    meta = {key: value for key, value in written.metadata.items() if key != "image"}
    meta["slug"] = path.stem
    with app.app_context():
        create_petition(db.session(), {**meta, "body": written.content}, "test",
                        calls.petition_sections(), steps=calls.step_names())
        db.session.commit()
    sign_in(client, "editor@example.org", "editor", app)
    edit = f"/admin/p/{path.stem}/edit"
    sent = form_as_sent(client.get(edit).text)
    answer = post(client, edit, sent)
    assert answer.status_code == 303, answer.text[:3000]
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == path.stem))
        assert petition is not None
        after = petition_as_data(petition)
        sections, steps = calls.petition_sections(), calls.step_names()
        body = after.pop("body")
        was = parse_petition("before", meta, written.content, sections, steps)
        now = parse_petition("after", after, body, sections, steps)
    for values in (was, now):
        values.pop("front_matter")
    assert now == was
    for key in ("targets", "share", "report_actions", "steps"):
        assert f"\n{key}:" not in "\n" + sent["more"], key  # shown as fields, not YAML
