"""When something fails, the answer says what happened: an outage is a 503 that says the
signature was not recorded, and a body the engine cannot read is a 4xx in the endpoint's format."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from sqlalchemy import func, select

from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import Signature

from .conftest import POSTGRES_URL, add_petition, free_port, make_app

FORM = {"name": "Noor Halvorsen", "email": "noor.h@example.org"}
NESTED = "[" * 5000 + "]" * 5000


def assert_not_recorded_page(response_status: int, headers: dict[str, str], body: str) -> None:
    assert response_status == 503
    assert headers["Retry-After"] == "30"
    assert "Your signature was not recorded" in body
    assert "is safe" not in body


def sign_both_ways(app: Flask, slug: str) -> None:
    """A form signing and a JSON signing, each answered 503 with the truth."""
    client = app.test_client()
    page = client.post(f"/p/{slug}/sign", data=FORM)
    assert_not_recorded_page(page.status_code, dict(page.headers), page.get_data(as_text=True))
    assert page.mimetype == "text/html"
    answer = client.post(f"/api/v1/petitions/{slug}/signatures", json=FORM)
    assert answer.mimetype == "application/json"
    assert_not_recorded_page(answer.status_code, dict(answer.headers), answer.json["error"])
    french = client.post(f"/api/v1/petitions/{slug}/signatures", json={**FORM, "lang": "fr"})
    assert french.status_code == 503
    assert "Your signature" not in french.json["error"]


@pytest.mark.parametrize("testing", [True, False])
def test_sqlite_file_that_cannot_be_opened_is_a_503_that_says_nothing_was_recorded(
    tmp_path: Path, migrated_sqlite: Path, testing: bool
) -> None:
    unreachable = tmp_path / "no-such-folder" / "petitionkit.db"
    app = make_app(tmp_path, migrated_sqlite, DATABASE_URL=f"sqlite:///{unreachable}",
                   TESTING=testing)
    sign_both_ways(app, "free-the-poet")
    # Other pages say the service is unavailable, not that a signature was lost.
    page = app.test_client().get("/p/free-the-poet")
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert "unavailable for a moment" in page.get_data(as_text=True)
    assert app.test_client().get("/healthz").status_code == 200


def test_postgresql_server_that_refuses_connections_is_a_503(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    closed = POSTGRES_URL.rsplit("@", 1)[0] + f"@127.0.0.1:{free_port()}/petitionkit"
    app = make_app(tmp_path, migrated_sqlite, DATABASE_URL=closed)
    sign_both_ways(app, "free-the-poet")


def _database_name(app: Flask) -> str:
    with app.app_context():
        return str(db.engine.url.database)


def _allow_connections(database: str, allowed: bool) -> None:
    admin = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = %s", (database,))


def test_a_database_lost_between_reading_the_petition_and_storing_is_a_503(
    pg_app: Flask,
) -> None:
    """The petition is in the process's cache; the INSERT is what fails. The signer hears that
    nothing was recorded, and signing again once the database is back records it once."""
    slug = add_petition(pg_app)
    client = pg_app.test_client()
    assert client.post(f"/p/{slug}/sign", data={"name": "First", "email": "first@example.org"}
                       ).status_code == 303
    database = _database_name(pg_app)
    _allow_connections(database, False)
    try:
        sign_both_ways(pg_app, slug)
    finally:
        _allow_connections(database, True)
    assert client.post(f"/p/{slug}/sign", data=FORM).status_code == 303
    with pg_app.app_context():
        petition_id = db.session.scalar(select(Petition.id).where(Petition.slug == slug))
        stored = db.session.scalar(select(func.count()).select_from(Signature)
                                   .where(Signature.petition_id == petition_id))
    assert stored == 2


@pytest.mark.parametrize("testing", [True, False])
def test_json_nested_five_thousand_deep_is_a_400_in_json(
    tmp_path: Path, migrated_sqlite: Path, testing: bool
) -> None:
    app = make_app(tmp_path, migrated_sqlite, TESTING=testing)
    slug = add_petition(app)
    client = app.test_client()
    for body in (NESTED, '{"name": ' + NESTED + "}", '{"lang": "fr", "x": ' + NESTED + "}"):
        answer = client.post(f"/api/v1/petitions/{slug}/signatures", data=body,
                             content_type="application/json")
        assert answer.status_code == 400
        assert answer.mimetype == "application/json"
        assert answer.json["error"] == "The request body is nested too deeply to be read."


@pytest.mark.parametrize("testing", [True, False])
def test_nested_json_sent_to_pages_is_refused_as_a_page(
    tmp_path: Path, migrated_sqlite: Path, testing: bool
) -> None:
    """Pages that do not read JSON still look at the body's language: that look must not fail."""
    app = make_app(tmp_path, migrated_sqlite, TESTING=testing)
    slug = add_petition(app)
    client = app.test_client()
    for path in (f"/p/{slug}/sign", "/confirm/not-a-token", "/cancel/not-a-token",
                 "/confirm/not-a-token/resend", f"/p/{slug}"):
        answer = client.post(path, data=NESTED, content_type="application/json")
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
        assert answer.mimetype == "text/html"
        assert "<h1>" in answer.get_data(as_text=True)


def test_a_body_that_cannot_be_read_is_parsed_once(
    app: Flask, petition: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses: list[str] = []
    real_loads = json.loads

    def counting_loads(data: str | bytes, **kwargs: object) -> object:
        parses.append("parsed")
        return real_loads(data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(app.json, "loads", counting_loads)
    answer = app.test_client().post(f"/api/v1/petitions/{petition}/signatures",
                                    data='{"name": "Ada", "email": "x", "lang": "fr"',
                                    content_type="application/json")
    assert answer.status_code == 400
    assert parses == ["parsed"]
