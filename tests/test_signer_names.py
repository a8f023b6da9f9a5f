"""A signer's name as others see it: without the invisible characters that reorder or hide text
(bidi controls, zero-width characters), on every path that shows it to someone else: the public
signer list, letters and hand-over reports to targets, exports, and the e-mail to the address."""

from __future__ import annotations

import csv
import io
import json
import sys
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from petitionkit.extensions import db
from petitionkit.signatures.normalize import shown_name
from petitionkit.testing import run_jobs, sign_and_confirm

from .conftest import add_petition, make_app, migrate
from .smtp import RecordingSMTPServer

BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))] + [
    "\u200e", "\u200f", "\u061c"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
INVISIBLE = BIDI_CONTROLS + ZERO_WIDTH
# Reads "Ilka Tanaka" wherever it is shown, yet every control in it would reorder or hide text:
# the override turns what follows backwards, the zero-width space hides the initial.
TRICKY_NAME = "\u202eIlka\u202c \u200bTanaka\u2066\u200f"
SHOWN = "Ilka Tanaka"


def assert_clean(text: str, where: str) -> None:
    found = sorted({f"U+{ord(char):04X}" for char in text if char in INVISIBLE})
    assert not found, f"{where} shows {found}"


@pytest.mark.parametrize(("typed", "shown"), [
    (TRICKY_NAME, SHOWN),
    ("\u202enamreH\u202c Mueller", "namreH Mueller"),
    ("Jo\u200bhn Sm\u2060ith\ufeff", "John Smith"),
    ("\u2067\u0639\u0644\u064a\u2069 \u061cK.", "\u0639\u0644\u064a K."),
    ("Ana\u00a0\u00a0Mar\u00eda\u3000L\u00f3pez", "Ana Mar\u00eda L\u00f3pez"),
    ("\u200dAli\u200c Reza\u200d", "Ali Reza"),
    ("Ali \u200d Reza", "Ali Reza"),
    ("A\u200d\u200dB", "AB"),
    ("\u200b\u200d\u2060\ufeff", ""),
    ("\u3164", ""),
    ("Ayşe Yılmaz", "Ayşe Yılmaz"),
    ("王小明", "王小明"),
])
def test_shown_name_drops_what_draws_nothing(typed: str, shown: str) -> None:
    assert shown_name(typed) == shown


@pytest.mark.parametrize("name", [
    "Sam \U0001f469\u200d\U0001f4bb",  # woman technologist: an emoji joined by ZWJ
    "\u0915\u094d\u200d\u0937",  # Devanagari half-form requested with ZWJ
    "\u0639\u0644\u06cc\u200c\u0631\u0636\u0627",  # Persian: ZWNJ keeps two parts unjoined
    "\u0d05\u0d35\u0d28\u0d4d\u200d Nair",  # Malayalam chillu: virama and ZWJ end the word
])
def test_joiners_that_join_something_are_kept(name: str) -> None:
    assert shown_name(name) == name


def test_every_format_character_is_dropped_between_letters() -> None:
    format_characters = [chr(c) for c in range(sys.maxunicode + 1)
                         if unicodedata.category(chr(c)) == "Cf" and c not in (0x200C, 0x200D)]
    kept = [f"U+{ord(char):04X}" for char in format_characters
            if shown_name(f"A{char}B") != "AB"]
    assert not kept


def sign_named(app: Flask, slug: str, name: str = TRICKY_NAME, email: str = "ilka@example.org",
               **fields: Any) -> int:
    return sign_and_confirm(app, slug, name, email, show_name=True, **fields)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_app(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path
) -> Iterator[Callable[..., Flask]]:
    """Builds the app with extra settings on SQLite or on a PostgreSQL database of its own."""
    made: list[Flask] = []
    postgres_url = request.getfixturevalue("postgres_url") if request.param == "postgresql" \
        else None

    def build(**config: Any) -> Flask:
        if postgres_url is None:
            app = make_app(tmp_path, migrated_sqlite, **config)
        else:
            app = make_app(tmp_path, migrated_sqlite, DATABASE_URL=postgres_url, **config)
            migrate(app)
        made.append(app)
        return app

    yield build
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_public_signer_list_shows_names_isolated_and_without_controls(
    database_app: Callable[..., Flask],
) -> None:
    app = database_app()
    slug = add_petition(app)
    sign_named(app, slug)
    client = app.test_client()
    for path in (f"/p/{slug}", f"/embed/{slug}"):
        html = client.get(path).get_data(as_text=True)
        assert "<li><bdi>Ilka T.</bdi></li>" in html, path
        assert_clean(html, path)


def test_a_name_of_invisible_characters_is_refused(database_app: Callable[..., Flask]) -> None:
    app = database_app()
    slug = add_petition(app)
    client = app.test_client()
    for name in ("\u200b", "\u202e\u202c", "\u200d\ufeff", "\u3164"):
        answer = client.post(f"/p/{slug}/sign", data={"name": name, "email": "i@example.org"})
        assert answer.status_code == 422
        assert "Please enter your name." in answer.get_data(as_text=True)
        api = client.post(f"/api/v1/petitions/{slug}/signatures",
                          json={"name": name, "email": "i@example.org"})
        assert api.json["errors"]["name"] == ["Please enter your name."]


def test_the_letter_to_a_target_names_signers_without_controls(
    database_app: Callable[..., Flask], smtp_server: RecordingSMTPServer,
) -> None:
    app = database_app(MAIL_URL=smtp_server.url)
    slug = add_petition(app, slug="letter", targets=[{"name": "Vera", "email": "v@example.gov"}],
                        letter={"delivery": "live"})
    sign_named(app, slug, country="FR", postal_code="75001")
    run_jobs(app)
    [letter] = [m for m in smtp_server.messages if "new signature" in str(m["Subject"])]
    body = letter.get_body(preferencelist=("plain",)).get_content()
    assert f"- {SHOWN} (France, 75001)" in body
    assert_clean(body, "the letter")


def test_the_handover_report_names_signers_without_controls(
    database_app: Callable[..., Flask], tmp_path: Path
) -> None:
    app = database_app()
    slug = add_petition(app, slug="letter", targets=[{"name": "Vera"}])
    sign_named(app, slug, country="KE")
    result = app.test_cli_runner().invoke(
        args=["deliver", slug, "--report", "--output-dir", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "out" / f"{slug}-handover.csv").read_text(encoding="utf-8")
    assert list(csv.reader(report.splitlines()))[-1] == [SHOWN, "Kenya"]
    html = (tmp_path / "out" / f"{slug}-handover.html").read_text(encoding="utf-8")
    assert f"<td><bdi>{SHOWN}</bdi></td><td>Kenya</td>" in html
    for text, where in ((report, "the CSV report"), (html, "the HTML report")):
        assert_clean(text, where)


def export(app: Flask, slug: str, format_name: str) -> str:
    result = app.test_cli_runner().invoke(args=["export", slug, "--format", format_name])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_exports_name_signers_without_controls(database_app: Callable[..., Flask]) -> None:
    app = database_app()
    slug = add_petition(app)
    sign_named(app, slug)
    sign_named(app, slug, "\u200b=HYPERLINK(\"http://attacker.example\")", "f@example.org")
    rows = list(csv.DictReader(io.StringIO(export(app, slug, "csv"))))
    assert [row["name"] for row in rows] == [
        SHOWN, "'=HYPERLINK(\"http://attacker.example\")"]
    lines = [json.loads(line) for line in export(app, slug, "jsonl").splitlines()]
    assert [line["name"] for line in lines] == [SHOWN, "=HYPERLINK(\"http://attacker.example\")"]
    for format_name in ("csv", "jsonl"):
        assert_clean(export(app, slug, format_name), format_name)


def test_the_email_to_the_address_shows_the_name_without_controls(
    database_app: Callable[..., Flask], smtp_server: RecordingSMTPServer,
) -> None:
    """Anyone can sign with someone else's address: the name in that e-mail is a stranger's."""
    app = database_app(MAIL_URL=smtp_server.url)
    slug = add_petition(app)
    response = app.test_client().post(f"/p/{slug}/sign",
                                      data={"name": TRICKY_NAME, "email": "ilka@example.org"})
    assert response.status_code == 303
    run_jobs(app)
    [message] = smtp_server.wait_for(1)
    assert str(message["To"]) == f"{SHOWN} <ilka@example.org>"
    for part in ("plain", "html"):
        content = message.get_body(preferencelist=(part,)).get_content()
        assert f"Hello {SHOWN}," in content
        assert_clean(content, f"the {part} part")
