"""Every signature records the consent wording it was shown, stored once per wording and
language; exports carry its version and `petitionkit privacy consent-texts` lists them."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from petitionkit.extensions import db
from petitionkit.privacy.consent import ConsentWording, store_wording
from petitionkit.privacy.models import ConsentText
from petitionkit.signatures.models import Signature

from .conftest import add_petition


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest) -> Flask:
    app: Flask = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    return app


def sign(app: Flask, slug: str, email: str, **fields: str) -> None:
    response = app.test_client().post(f"/p/{slug}/sign", data={
        "name": "Signer", "email": email, **fields})
    assert response.status_code == 303, response.get_data(as_text=True)


def texts(app: Flask) -> list[tuple[int, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(ConsentText.id, ConsentText.locale, ConsentText.text).order_by(ConsentText.id)
        ).all()
        db.session.remove()
        return [tuple(row) for row in rows]  # type: ignore[misc]


def recorded(app: Flask) -> list[int | None]:
    with app.app_context():
        ids = list(db.session.scalars(select(Signature.consent_text_id).order_by(Signature.id)))
        db.session.remove()
        return ids


def test_each_wording_is_stored_once_and_two_languages_are_two_versions(any_app: Flask) -> None:
    slug = add_petition(any_app)
    sign(any_app, slug, "one@example.org", consent_updates="y")
    sign(any_app, slug, "two@example.org")  # shown the same question, left it unticked
    sign(any_app, slug, "three@example.org", consent_updates="y", lang="fr")
    sign(any_app, slug, "four@example.org", lang="fr")
    english, french = texts(any_app)
    assert english[1:] == ("en", "Keep me updated about this campaign")
    assert french[1] == "fr" and french[2] != english[2]
    assert recorded(any_app) == [english[0], english[0], french[0], french[0]]


def test_the_petitions_own_wording_is_recorded_in_its_language(app: Flask) -> None:
    slug = add_petition(app, locale="de", consent_text="Haltet mich auf dem Laufenden.")
    sign(app, slug, "one@example.org", consent_updates="y", lang="en")
    sign(app, slug, "two@example.org", lang="fr")
    [(version, locale, text)] = texts(app)
    assert (locale, text) == ("de", "Haltet mich auf dem Laufenden.")
    assert recorded(app) == [version, version]
    # The same page shows it: what is recorded is what was rendered.
    page = app.test_client().get(f"/p/{slug}?lang=en").get_data(as_text=True)
    assert "Haltet mich auf dem Laufenden." in page


def test_a_changed_wording_is_a_new_version(app: Flask) -> None:
    slug = add_petition(app, consent_text="Send me news.")
    sign(app, slug, "one@example.org", consent_updates="y")
    add_petition(app, consent_text="Send me news, and ask me to donate.")
    sign(app, slug, "two@example.org", consent_updates="y")
    first, second = texts(app)
    assert (first[2], second[2]) == ("Send me news.", "Send me news, and ask me to donate.")
    assert recorded(app) == [first[0], second[0]]


def test_the_json_api_records_the_wording_of_its_language(app: Flask) -> None:
    slug = add_petition(app)
    response = app.test_client().post(
        f"/api/v1/petitions/{slug}/signatures", json={
            "name": "Api Signer", "email": "api@example.org", "consent_updates": True},
        headers={"Accept-Language": "es"})
    assert response.status_code == 202, response.get_data(as_text=True)
    [(version, locale, _text)] = texts(app)
    assert locale == "es" and recorded(app) == [version]


def test_a_known_wording_costs_no_query(app: Flask) -> None:
    slug = add_petition(app)
    sign(app, slug, "one@example.org")
    statements: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        sign(app, slug, "two@example.org")
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert statements and not any("consent_texts" in statement for statement in statements)


def test_storing_a_wording_twice_gives_one_row(any_app: Flask) -> None:
    wording = ConsentWording("Keep me posted.", "en")
    with any_app.app_context():
        first = store_wording(db.engine, wording)
        assert store_wording(db.engine, wording) == first
        assert store_wording(db.engine, ConsentWording("Keep me posted.", "en_GB")) != first
    assert len(texts(any_app)) == 2


def test_exports_carry_the_version(any_app: Flask) -> None:
    slug = add_petition(any_app)
    sign(any_app, slug, "one@example.org", consent_updates="y")
    sign(any_app, slug, "two@example.org", lang="fr")
    [(english, *_), (french, *_)] = texts(any_app)
    runner = any_app.test_cli_runner()
    exported = runner.invoke(args=["export", slug, "--format", "csv", "--all"])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(row["consent_updates"], row["consent_text"]) for row in rows] == [
        ("yes", str(english)), ("no", str(french))]
    lines = runner.invoke(args=["export", slug, "--format", "jsonl", "--all"]).stdout
    assert [json.loads(line)["consent_text"] for line in lines.splitlines()] == [english, french]


def test_the_consent_texts_command_lists_every_version(app: Flask) -> None:
    slug = add_petition(app)
    runner = app.test_cli_runner()
    empty = runner.invoke(args=["privacy", "consent-texts"])
    assert empty.exit_code == 0 and "0 consent text(s)" in empty.stderr
    sign(app, slug, "one@example.org")
    sign(app, slug, "two@example.org", lang="fr")
    listed = runner.invoke(args=["privacy", "consent-texts"])
    assert listed.exit_code == 0, listed.output
    first, second = listed.stdout.splitlines()
    assert first.startswith("1\ten\t") and first.endswith("\tKeep me updated about this campaign")
    assert second.startswith("2\tfr\t")
    assert "2 consent text(s)" in listed.stderr
