"""Petitions created and changed outside their files (petitionkit/petitions/editing.py), and
how a file load and a web edit meet: the file-managed flag, `petition load --force` and
`petition release`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from petitionkit.admin.models import StaffAudit
from petitionkit.extensions import db
from petitionkit.petitions.editing import (
    PetitionFileManaged,
    PetitionInvalid,
    create_petition,
    petition_as_data,
    set_status,
    update_petition,
)
from petitionkit.petitions.models import Petition
from petitionkit.plugins import calls
from petitionkit.plugins.events import LIFECYCLE
from petitionkit.testing import run_jobs

from .test_hooks_reference import app_with_example

NEW = {"slug": "clean-river", "title": "A clean river", "summary": "Stop the dumping.",
       "body": "The river **must** be clean.", "status": "open", "goal": 500,
       "targets": [{"name": "The minister", "email": "minister@example.org"}],
       "closes_at": "2030-01-01T00:00:00+00:00"}


def create(app: Flask, data: dict[str, Any]) -> Petition:
    return create_petition(db.session(), data, "ana@example.org", calls.petition_sections(),
                           LIFECYCLE.of(app))


def update(app: Flask, petition: Petition, changes: dict[str, Any]) -> list[str]:
    return update_petition(db.session(), petition, changes, "ana@example.org",
                           calls.petition_sections(), LIFECYCLE.of(app))


def petition_named(slug: str) -> Petition:
    petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
    assert petition is not None
    return petition


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_create_change_and_read_back(request: pytest.FixtureRequest, database: str) -> None:
    app: Flask = request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    with app.app_context():
        petition = create(app, NEW)
        assert not petition.file_managed
        assert petition.body_html == "<p>The river <strong>must</strong> be clean.</p>\n"
        assert petition.goal == 500 and petition.targets[0]["name"] == "The minister"
        data = petition_as_data(petition)
        assert data == NEW  # what was written comes back as written

        changed = update(app, petition, {"title": "A clean river now", "goal": None})
        assert sorted(changed) == ["goal", "title"]
        petition = petition_named("clean-river")
        assert petition.title == "A clean river now" and petition.goal is None
        assert "goal" not in petition_as_data(petition)

        assert update(app, petition, {"title": "A clean river now"}) == []
        assert set_status(db.session(), petition, "closed", "ana@example.org",
                          calls.petition_sections(), LIFECYCLE.of(app)) == ["status"]
        assert petition_named("clean-river").closed_at is not None

        audit = db.session.scalars(select(StaffAudit.action).order_by(StaffAudit.id)).all()
        assert audit == ["petition created", "petition changed", "petition changed"]
        targets = db.session.scalars(select(StaffAudit.target).order_by(StaffAudit.id)).all()
        assert targets[1] == "clean-river: goal, title"


@pytest.mark.parametrize("data, key, words", [
    ({**NEW, "slug": "Not A Slug"}, "slug", "lowercase"),
    ({**NEW, "slug": ""}, "slug", "needs a slug"),
    ({**NEW, "title": "  "}, "title", "required"),
    ({**NEW, "status": "hidden"}, "status", "status must be one of"),
    ({**NEW, "goal": -3}, "goal", "a whole number from 1"),
    ({**NEW, "closes_at": "soon"}, "closes_at", "ISO 8601"),
    ({**NEW, "targets": [{"title": "no name"}]}, "targets", "needs a name"),
    ({**NEW, "letter": {"sample": "x" * 4000}}, "letter", "longer than"),
    ({**NEW, "colour": "red"}, "petition", "unknown keys"),
    ({**NEW, "body": 42}, "body", "must be text"),
    ({**NEW, "body": "x" * 100_001}, "body", "longer than"),
    ({**NEW, "image": {"file": "a.png", "alt": "A"}}, "image", "petition file"),
    ({**NEW, "allowed_origins": ["javascript:alert(1)"]}, "allowed_origins", "must look like"),
])
def test_invalid_petitions_are_refused_with_the_key(
    app: Flask, data: dict[str, Any], key: str, words: str,
) -> None:
    with app.app_context():
        with pytest.raises(PetitionInvalid) as refused:
            create(app, data)
        assert list(refused.value.errors) == [key]
        assert words in refused.value.errors[key]
        db.session.rollback()
        assert db.session.scalars(select(Petition)).all() == []
        assert db.session.scalars(select(StaffAudit)).all() == []


def test_a_taken_slug_and_a_changed_slug_are_refused(app: Flask) -> None:
    with app.app_context():
        petition = create(app, NEW)
        with pytest.raises(PetitionInvalid) as taken:
            create(app, {**NEW, "title": "Another"})
        assert "already has this address" in taken.value.errors["slug"]
        db.session.rollback()
        with pytest.raises(PetitionInvalid) as moved:
            update(app, petition, {"slug": "elsewhere"})
        assert "cannot change" in moved.value.errors["slug"]


def test_files_and_the_web_meet_at_the_file_managed_flag(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    file = tmp_path / "clean-river.md"
    file.write_text("---\ntitle: From the file\nstatus: open\n---\nFile text.\n",
                    encoding="utf-8")
    assert runner.invoke(args=["petition", "load", str(file)]).exit_code == 0
    with app.app_context():
        petition = petition_named("clean-river")
        assert petition.file_managed
        with pytest.raises(PetitionFileManaged) as managed:
            update(app, petition, {"title": "From the web"})
        assert "petition release clean-river" in str(managed.value)

    released = runner.invoke(args=["petition", "release", "clean-river"])
    assert released.exit_code == 0 and "released clean-river" in released.output
    with app.app_context():
        petition = petition_named("clean-river")
        assert update(app, petition, {"title": "From the web"}) == ["title"]
        assert petition_as_data(petition)["title"] == "From the web"

    # The file no longer loads over the web's petition, unless forced.
    refused = runner.invoke(args=["petition", "load", str(file)])
    assert refused.exit_code != 0 and "managed in the workspace" in refused.output
    with app.app_context():
        assert petition_named("clean-river").title == "From the web"
    forced = runner.invoke(args=["petition", "load", "--force", str(file)])
    assert forced.exit_code == 0, forced.output
    with app.app_context():
        petition = petition_named("clean-river")
        assert petition.title == "From the file" and petition.file_managed
    assert "there is no petition" in runner.invoke(args=["petition", "release", "nope"]).output


def test_a_petition_stored_before_the_written_form_was_kept_is_rebuilt(app: Flask) -> None:
    with app.app_context():
        petition = create(app, {**NEW, "asks": ["postal_code"], "goal_ladder": [100, 1000],
                                "share": {"hashtags": ["river"], "posts": ["Sign!"]}})
        petition.front_matter = None
        db.session.commit()
        data = petition_as_data(petition)
        assert data["asks"] == ["country", "postal_code"] or data["asks"] == ["postal_code"]
        assert data["goal_ladder"] == [100, 1000]
        assert data["share"]["hashtags"] == ["#river"]
        # What is rebuilt validates again and changes nothing.
        assert update(app, petition, {}) == []


def test_web_edits_reach_plugins_as_file_loads_do(
    tmp_path: Path, migrated_sqlite: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_petition_changed")
    with app.app_context(), caplog.at_level(logging.INFO, logger="petitionkit.petition_log"):
        petition = create(app, NEW)
        update(app, petition, {"goal": 900})
        update(app, petition, {"goal": 900})  # no change, no event
        run_jobs(app)
    logged = [r.getMessage() for r in caplog.records if r.name == "petitionkit.petition_log"]
    assert logged == ["new petition clean-river", "petition clean-river changed: goal"]
