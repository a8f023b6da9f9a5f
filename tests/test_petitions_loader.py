"""Petitions as files: every example loads, loading is an idempotent upsert that never touches
the count, and a bad file is refused with a message that names the file and the problem."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from petitionkit_calls import call_step_missing, read_call
from petitionkit_stories import story_step_missing
from petitionkit_stories.section import read_stories
from sqlalchemy import select, update

from petitionkit.extensions import db
from petitionkit.petitions.loader import (
    ASKS,
    KNOWN_KEYS,
    LETTER_KEYS,
    SHARE_KEYS,
    TARGET_KEYS,
    PetitionFileError,
    parse_petition_file,
)
from petitionkit.petitions.models import Petition

EXAMPLES = sorted((Path(__file__).parent.parent / "examples" / "petitions").glob("*.md"))
# The examples use the first-party plugins' keys (`call:`, `stories:`), as `make demo` loads them.
EXAMPLE_SECTIONS = {"call": read_call, "stories": read_stories}
EXAMPLE_STEPS = {"call": call_step_missing, "story": story_step_missing}


def parse_example(path: Path) -> dict[str, Any]:
    return parse_petition_file(path, EXAMPLE_SECTIONS, EXAMPLE_STEPS)
DEMO_SITE_ORIGINS = {"http://127.0.0.1:8000", "http://localhost:8000"}

MINIMAL = """---
title: Keep the river library open
status: open
goal: 300
---
The river library lends books to everyone.
"""


def stored(app: Flask, slug: str) -> Petition:
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        assert petition is not None
        db.session.expunge(petition)
        return petition


def test_there_are_examples_of_each_shape() -> None:
    kinds = {parse_example(path)["kind"] for path in EXAMPLES}
    assert {"petition", "joint-letter", "letter", "urgent-action"} <= kinds
    locales = {parse_example(path)["locale"] for path in EXAMPLES}
    assert {"zh_Hans", "ar"} <= locales


def test_the_urgent_action_asks_signers_to_write_from_their_own_mail() -> None:
    [urgent] = [v for v in map(parse_example, EXAMPLES) if v["kind"] == "urgent-action"]
    assert urgent["letter"]["via"] == "signer" and urgent["letter"]["sample"]
    assert "letter" in urgent["sections"]["steps"]
    assert any(target.get("email") for target in urgent["targets"])


def test_an_example_page_mixes_signing_calls_letters_sharing_and_stories() -> None:
    mixed = [v for v in map(parse_example, EXAMPLES) if v["kind"] == "petition"
             and {"sign", "call", "letter", "share", "story"} <= set(
                 v["sections"].get("steps") or ())]
    assert mixed, "a petition whose page asks for more than a signature"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_petition_loads(app: Flask, runner: FlaskCliRunner, path: Path) -> None:
    result = runner.invoke(args=["petition", "load", str(path)])
    assert result.exit_code == 0, result.output
    values = parse_example(path)
    assert result.output == f"created {values['slug']}\n"

    petition = stored(app, values["slug"])
    assert petition.status == "open"
    assert petition.is_open()
    assert petition.closes_at is not None and petition.closes_at.year >= 2027
    assert DEMO_SITE_ORIGINS <= set(petition.allowed_origins)
    assert petition.body_html.startswith("<")
    assert petition.goal or petition.goal_settings.get("ladder")

    page = app.test_client().get(f"/p/{values['slug']}")
    assert page.status_code == 200
    assert petition.title in page.get_data(as_text=True)


def test_letter_example_carries_salutation_and_targets() -> None:
    [letter] = [v for v in map(parse_example, EXAMPLES) if v["kind"] == "letter"]
    assert letter["letter"]["salutation"] == "Your Excellency,"
    assert letter["status_line"] == "Arbitrarily detained"
    salutations = {target["salutation"] for target in letter["targets"]}
    assert "Dear Ambassador" in salutations
    for target in letter["targets"]:
        assert {"name", "title", "organization", "address", "email", "languages"} <= set(target)
        assert target["email"].endswith(("@example.org", "@example.net"))


def test_loading_again_changes_nothing_and_reports_changes(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "river-library.md"
    path.write_text(MINIMAL, encoding="utf-8")
    assert runner.invoke(args=["petition", "load", str(path)]).output == "created river-library\n"
    assert runner.invoke(args=["petition", "load", str(path)]).output == (
        "unchanged river-library\n"
    )

    with app.app_context():
        db.session.execute(update(Petition).values(signature_count=42))
        db.session.commit()
    path.write_text(MINIMAL.replace("Keep the river", "Save the river"), encoding="utf-8")
    result = runner.invoke(args=["petition", "load", str(path)])
    assert result.output == "updated river-library: title\n"
    petition = stored(app, "river-library")
    assert petition.title == "Save the river library open"
    assert petition.signature_count == 42, "loading never touches the count"


def test_a_key_removed_from_the_file_returns_to_its_default(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "river-library.md"
    path.write_text(MINIMAL, encoding="utf-8")
    runner.invoke(args=["petition", "load", str(path)])
    path.write_text(MINIMAL.replace("goal: 300\n", ""), encoding="utf-8")
    result = runner.invoke(args=["petition", "load", str(path)])
    assert result.output == "updated river-library: goal\n"
    assert stored(app, "river-library").goal is None


def test_front_matter_is_normalised(tmp_path: Path) -> None:
    path = tmp_path / "anything.md"
    path.write_text(
        "---\nslug: harbour-school\ntitle: '  Repair the harbour school '\n"
        "opens_at: 2027-01-02T10:00:00+02:00\nshare:\n  hashtags: [SafeSchools, '#Harbour']\n"
        "allowed_origins: ['HTTPS://Example.ORG/']\nasks: [postal_code]\n---\nBody\n",
        encoding="utf-8",
    )
    values = parse_petition_file(path)
    assert values["slug"] == "harbour-school"
    assert values["title"] == "Repair the harbour school"
    assert values["opens_at"] == datetime(2027, 1, 2, 8, 0, tzinfo=UTC)
    assert values["share"] == {"hashtags": ["#SafeSchools", "#Harbour"], "posts": []}
    assert values["allowed_origins"] == ["https://example.org"]
    assert values["asks_country"] and values["asks_postal_code"]
    assert values["status"] == "draft"
    assert values["listed"] is True, "a petition is listed unless its file says otherwise"


BAD_FILES = {
    "unknown key": ("---\ntitle: T\ncolour: red\n---\n", "unknown keys: colour"),
    "no title": ("---\nstatus: open\n---\nBody\n", "a title is required"),
    "no front matter": ("Just a body\n", "a title is required"),
    "numeric title": ("---\ntitle: 1984\n---\n", "title must be text"),
    "not utf-8": ("\udcff", "cannot be read"),
    "broken yaml": ("---\ntitle: [unclosed\n---\n", "cannot be read"),
    "bad status": ("---\ntitle: T\nstatus: published\n---\n", "status must be one of"),
    "bad kind": ("---\ntitle: T\nkind: poll\n---\n", "kind must be one of"),
    "bad goal": ("---\ntitle: T\ngoal: lots\n---\n", "goal must be a whole number"),
    "falling ladder": ("---\ntitle: T\ngoal_ladder: [100, 50]\n---\n", "goal_ladder must rise"),
    "bad date": ("---\ntitle: T\ncloses_at: next spring\n---\n", "closes_at is not an ISO 8601"),
    "closes first": (
        "---\ntitle: T\nopens_at: 2027-05-01\ncloses_at: 2027-04-01\n---\n",
        "closes_at must be later than opens_at",
    ),
    "origin with path": (
        "---\ntitle: T\nallowed_origins: ['https://example.org/blog']\n---\n",
        "allowed origin 'https://example.org/blog'",
    ),
    "target email": (
        "---\ntitle: T\ntargets:\n  - name: A. Official\n    email: not-an-address\n---\n",
        "targets[1].email",
    ),
    "nameless target": ("---\ntitle: T\ntargets:\n  - title: Director\n---\n", "needs a name"),
    "bad slug": ("---\ntitle: T\nslug: Not A Slug\n---\n", "slug must be"),
    "bad share": ("---\ntitle: T\nshare:\n  tweets: [hi]\n---\n", "share is a mapping"),
    "bad asks": ("---\ntitle: T\nasks: [phone]\n---\n", "asks may list"),
    "bad rate limit": ("---\ntitle: T\nrate_limit: lots per day\n---\n", "rate_limit must"),
    "listed as text": ("---\ntitle: T\nlisted: 'no'\n---\n", "listed must be true or false"),
    "count in file": ("---\ntitle: T\nsignature_count: 5000\n---\n", "unknown keys"),
    "negative show_count_from": ("---\ntitle: T\nshow_count_from: -1\n---\n",
                                 "show_count_from must be a whole number from 0 to"),
    "show_count_from as text": ("---\ntitle: T\nshow_count_from: lots\n---\n",
                                "show_count_from must be a whole number"),
    "show_count_from as a fraction": ("---\ntitle: T\nshow_count_from: 2.5\n---\n",
                                      "show_count_from must be a whole number"),
    "show_count_from as yes": ("---\ntitle: T\nshow_count_from: true\n---\n",
                               "show_count_from must be a whole number"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_bad_file_is_refused_clearly(tmp_path: Path, case: str) -> None:
    text, expected = BAD_FILES[case]
    path = tmp_path / "bad-petition.md"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    with pytest.raises(PetitionFileError) as raised:
        parse_petition_file(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert expected in str(raised.value)


def test_cli_refuses_a_batch_with_a_bad_file_and_loads_nothing(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    good = tmp_path / "river-library.md"
    good.write_text(MINIMAL, encoding="utf-8")
    bad = tmp_path / "broken.md"
    bad.write_text("---\ntitle: T\nstatus: published\n---\n", encoding="utf-8")

    result = runner.invoke(args=["petition", "load", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"error: {bad}: status must be one of draft, open, closed" in result.output
    assert "no petition was loaded" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(select(Petition)) is None


def test_loading_again_on_postgresql_changes_nothing(pg_app: Flask) -> None:
    runner = pg_app.test_cli_runner()
    first = runner.invoke(args=["petition", "load", *map(str, EXAMPLES)])
    assert first.output.count("created ") == len(EXAMPLES), first.output
    again = runner.invoke(args=["petition", "load", *map(str, EXAMPLES)])
    assert again.output.count("unchanged ") == len(EXAMPLES), again.output


def test_cli_refuses_two_files_with_one_slug(runner: FlaskCliRunner, tmp_path: Path) -> None:
    for name in ("one.md", "two.md"):
        (tmp_path / name).write_text("---\nslug: same\ntitle: T\n---\n", encoding="utf-8")
    result = runner.invoke(args=["petition", "load", str(tmp_path / "one.md"),
                                 str(tmp_path / "two.md")])
    assert result.exit_code == 1
    assert "slug 'same' is used by more than one file" in result.output


def test_cli_missing_file(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(args=["petition", "load", str(tmp_path / "nowhere.md")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_petition_list(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert "no petitions yet" in runner.invoke(args=["petition", "list"]).output
    result = runner.invoke(args=["petition", "load", *map(str, EXAMPLES)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.session.execute(
            update(Petition).where(Petition.slug == "bring-daniel-home").values(signature_count=12)
        )
        db.session.commit()
    lines = runner.invoke(args=["petition", "list"]).output.splitlines()
    assert len(lines) == len(EXAMPLES)
    assert lines[0] == "bring-daniel-home\topen\t12\tBring Daniel Oduya home"
    assert [line.split("\t")[0] for line in lines] == sorted(
        parse_example(path)["slug"] for path in EXAMPLES
    )


DOCS = Path(__file__).parent.parent / "docs" / "petitions.md"


def test_every_front_matter_key_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented_rows = {line.split("|")[1].strip().strip("`") for line in text.splitlines()
                       if line.startswith("| `")}
    assert documented_rows == set(KNOWN_KEYS)
    for key in (*SHARE_KEYS, *LETTER_KEYS, *TARGET_KEYS, *ASKS):
        assert f"`{key}`" in text, key


def test_the_documented_example_loads(tmp_path: Path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    example = text.split("```markdown\n", 1)[1].split("\n```", 1)[0]
    path = tmp_path / "rosa.md"
    path.write_text(example, encoding="utf-8")
    values = parse_petition_file(path)
    assert values["kind"] == "letter"
    assert values["letter"]["salutation"] == "Your Excellency,"
    assert values["targets"][0]["languages"] == ["en", "es"]


def test_the_readme_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("```markdown\n", 1)[1].split("\n```", 1)[0]
    path = tmp_path / "bring-daniel-home.md"
    path.write_text(example, encoding="utf-8")
    values = parse_petition_file(path)
    assert values["goal_settings"] == {"ladder": [1000, 5000, 25000]}
    assert values["allowed_origins"] == ["https://www.example.org"]
