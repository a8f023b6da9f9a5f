"""State changes only on a checked POST: every route, every method, every kind of body.

Mail scanners and link previewers fetch the links in a confirmation mail with GET and HEAD, and a
hostile page can make a visitor's browser send any simple request to any address. This walks the
app's URL map (plugins' blueprints included), sends every method with and without a signing body
and from another site, and compares every row of every table before and after.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import MetaData, select

from petitionkit.extensions import db
from petitionkit.signatures.models import Signature
from petitionkit.signatures.tokens import Purpose, make_token

from .conftest import TEST_SECRET, add_petition, make_app

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND")
SIGNING_FORM = {"name": "Wren Alcott", "email": "wren.alcott@example.org",
                "consent_updates": "y", "show_name": "y"}
CROSS_SITE = {"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"}
OWN_SITE = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}


def snapshot(app: Flask) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in a stable order."""
    with app.app_context():
        metadata = app.extensions.get("test.reflected")
        if metadata is None:  # the schema does not change during a walk
            metadata = app.extensions["test.reflected"] = MetaData()
            metadata.reflect(db.engine)
        with db.engine.connect() as connection:
            return {
                name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
                for name, table in metadata.tables.items()
            }


def changed_tables(
    before: dict[str, list[tuple[object, ...]]], after: dict[str, list[tuple[object, ...]]]
) -> list[str]:
    return sorted(name for name in before.keys() | after.keys()
                  if before.get(name) != after.get(name))


def pending_signature(app: Flask, slug: str) -> tuple[str, str, str]:
    """A pending signature, and its confirm, cancel and erase tokens."""
    response = app.test_client().post(f"/p/{slug}/sign", data={
        "name": "Ilse Marrow", "email": "ilse.marrow@example.org",
    }, headers=OWN_SITE)
    assert response.status_code == 303
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        return (make_token(TEST_SECRET, Purpose.CONFIRM, signature.id, signature.token_nonce),
                make_token(TEST_SECRET, Purpose.CANCEL, signature.id, signature.token_nonce),
                make_token(TEST_SECRET, Purpose.ERASE, signature.id, signature.token_nonce))


def paths(app: Flask, slug: str, tokens: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(rule, path) for every rule, with each placeholder filled by a value that reaches the
    view: the petition's slug, each kind of token, or a plain word."""
    for rule in app.url_map.iter_rules():
        candidates = [rule.rule]
        for argument in rule.arguments:
            placeholder = re.compile(r"<(?:[^:<>]+:)?" + re.escape(argument) + ">")
            values: tuple[str, ...] = {"slug": (slug,), "token": tokens,
                                       "filename": ("petitionkit.css",)}.get(argument, ("x",))
            candidates = [placeholder.sub(value, path) for path in candidates for value in values]
        for path in candidates:
            yield rule.rule, path


def requests_that_may_not_change_state() -> Iterator[tuple[str, dict[str, str], dict[str, object]]]:
    """Every method but POST from anywhere, and POST from another site, each with a signing
    body as a form, as JSON and with none."""
    bodies: tuple[dict[str, object], ...] = ({}, {"data": SIGNING_FORM}, {"json": SIGNING_FORM})
    for method in METHODS:
        for headers in ({}, OWN_SITE, CROSS_SITE):
            if method == "POST" and headers is not CROSS_SITE:
                continue
            for body in bodies:
                yield method, headers, body


def state_changes(app: Flask, slug: str, tokens: tuple[str, ...]) -> list[str]:
    client = app.test_client()
    found = []
    for rule, path in paths(app, slug, tokens):
        for method, headers, body in requests_that_may_not_change_state():
            before = snapshot(app)
            with client.open(path, method=method, headers=headers, **body) as response:  # type: ignore[arg-type]
                status = response.status_code
            assert status < 500, f"{method} {rule} answered {status}"
            changed = changed_tables(before, snapshot(app))
            if changed:
                origin = headers.get("Origin", "no origin")
                found.append(f"{method} {rule} ({origin}, body {sorted(body) or 'none'}) "
                             f"changed {changed}")
    return found


def walk_every_route(app: Flask) -> None:
    slug = add_petition(app, allowed_origins=["http://127.0.0.1:8000"])
    tokens = pending_signature(app, slug)
    assert state_changes(app, slug, tokens) == []
    # The walk sees changes when they happen: the checked POSTs do change state.
    confirm_token, cancel_token, _erase_token = tokens
    client = app.test_client()
    for path in (f"/confirm/{confirm_token}", f"/cancel/{cancel_token}"):
        before = snapshot(app)
        assert client.post(path, headers=OWN_SITE).status_code == 200
        assert changed_tables(before, snapshot(app)) != []


def test_only_a_checked_post_changes_state_on_sqlite(app: Flask) -> None:
    walk_every_route(app)


def test_only_a_checked_post_changes_state_on_postgresql(pg_app: Flask) -> None:
    walk_every_route(pg_app)


@pytest.mark.parametrize("method", ["HEAD", "GET"])
def test_a_link_preview_neither_confirms_nor_withdraws(app: Flask, method: str) -> None:
    """What a mail scanner does with both links of a confirmation mail."""
    slug = add_petition(app)
    confirm_token, cancel_token, erase_token = pending_signature(app, slug)
    client = app.test_client()
    for path in (f"/confirm/{confirm_token}", f"/cancel/{cancel_token}", f"/erase/{erase_token}"):
        assert client.open(path, method=method).status_code == 200
        assert client.open(path, method=method, headers=CROSS_SITE).status_code == 200
    with app.app_context():
        statuses = db.session.scalars(select(Signature.status)).all()
    assert statuses == ["pending"]


def test_the_walk_includes_plugin_routes_and_catches_a_write_on_get(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    """A plugin's blueprint is walked like the core's: a GET that writes is reported."""
    plugins = tmp_path / "instance" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "careless.py").write_text(textwrap.dedent('''
        from flask import Blueprint
        from sqlalchemy import text

        from petitionkit import hookimpl
        from petitionkit.extensions import db

        careless = Blueprint("careless", __name__)


        @careless.get("/careless/<slug>/touch")
        def touch(slug):
            db.session.execute(text("UPDATE petitions SET title = title || '!' WHERE slug = :s"),
                               {"s": slug})
            db.session.commit()
            return "touched"


        @hookimpl
        def petitionkit_register_blueprints():
            return [careless]
    '''))
    app = make_app(tmp_path, migrated_sqlite)
    slug = add_petition(app)
    tokens = pending_signature(app, slug)
    found = state_changes(app, slug, tokens)
    assert found and all(line.startswith(("GET /careless/", "HEAD /careless/"))
                         for line in found), found
