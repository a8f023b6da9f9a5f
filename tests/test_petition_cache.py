"""The signing endpoints reuse a petition for PETITION_CACHE_SECONDS: what that may and may not
change. Other processes are stood in for by writes through a connection of their own."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text

from petitionkit.extensions import db
from petitionkit.signatures.models import Signature

from .conftest import add_petition, make_app
from .smtp import RecordingSMTPServer, link_from

FORM = {"name": "Lin Example", "email": "lin@example.org"}


def _close_from_another_process(app: Flask, slug: str) -> None:
    engine = create_engine(app.config["DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(text("UPDATE petitions SET status = 'closed' WHERE slug = :slug"),
                           {"slug": slug})
    engine.dispose()


def _signed_once(tmp_path: Path, migrated_sqlite: Path,
                 **config: object) -> tuple[Flask, str, FlaskClient]:
    """An app whose signing path has read (and so cached) the open petition once."""
    app = make_app(tmp_path, migrated_sqlite, **config)
    slug = add_petition(app)
    client = app.test_client()
    assert client.post(f"/p/{slug}/sign", data=FORM).status_code == 303
    return app, slug, client


def _signatures(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Signature)) or 0)


def test_a_change_made_in_this_process_is_seen_at_once(tmp_path: Path,
                                                        migrated_sqlite: Path) -> None:
    app, slug, client = _signed_once(tmp_path, migrated_sqlite, PETITION_CACHE_SECONDS=3600)

    add_petition(app, status="closed")  # `petition load` in this process

    refused = client.post(f"/p/{slug}/sign", data={**FORM, "email": "two@example.org"})
    assert refused.status_code == 409
    assert _signatures(app) == 1


@pytest.mark.parametrize(("seconds", "path"), [
    (0.5, "/api/v1/petitions/{slug}/signatures"),  # seen once the copy is older than that
    (0, "/p/{slug}/sign"),  # no copy kept: seen at once
])
def test_a_change_made_elsewhere_is_seen_within_the_cache_time(
    tmp_path: Path, migrated_sqlite: Path, seconds: float, path: str
) -> None:
    app, slug, client = _signed_once(tmp_path, migrated_sqlite, PETITION_CACHE_SECONDS=seconds)

    _close_from_another_process(app, slug)
    time.sleep(seconds * 1.2)

    late = {**FORM, "email": "late@example.org"}
    target = path.format(slug=slug)
    if "/api/" in target:
        refused = client.post(target, json=late)
    else:
        refused = client.post(target, data=late)
    assert refused.status_code == 409
    assert _signatures(app) == 1


def test_a_signature_taken_from_a_stale_copy_is_never_counted(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    from petitionkit.outbox.worker import run_once

    app, slug, client = _signed_once(tmp_path, migrated_sqlite, PETITION_CACHE_SECONDS=3600,
                                     MAIL_URL=smtp_server.url)
    _close_from_another_process(app, slug)

    # Within the cache time the closed petition still looks open to this process...
    late = client.post(f"/p/{slug}/sign", data={**FORM, "email": "late@example.org"})
    assert late.status_code == 303
    with app.app_context():
        assert run_once(app) == 2
    messages = smtp_server.wait_for(2)
    [late_mail] = [m for m in messages if "late@example.org" in m["To"]]
    confirm_path = link_from(late_mail, "http://localhost/confirm/").removeprefix(
        "http://localhost"
    )

    # ...but confirming reads the petition afresh, so the late signature never counts.
    confirmed = client.post(confirm_path)
    assert confirmed.status_code == 409
    with app.app_context():
        count = db.session.scalar(text("SELECT signature_count FROM petitions"))
    assert count == 0


def test_the_copy_is_shared_by_requests_but_not_by_sessions(tmp_path: Path,
                                                            migrated_sqlite: Path) -> None:
    """A request's commit must not expire the copy other threads are reading."""
    app = make_app(tmp_path, migrated_sqlite, PETITION_CACHE_SECONDS=3600)
    slug = add_petition(app)
    client = app.test_client()
    for number in range(3):
        response = client.post(f"/p/{slug}/sign",
                               data={**FORM, "email": f"signer{number}@example.org"})
        assert response.status_code == 303
    cache = app.extensions["petitionkit.petition_cache"]
    copy = cache.get(slug)
    assert copy is not None
    with app.app_context():
        assert copy not in db.session
        assert copy.title == "Free the poet"  # readable outside any session
    assert _signatures(app) == 3


def test_a_signing_needs_one_pooled_connection_at_a_time(tmp_path: Path,
                                                         migrated_sqlite: Path) -> None:
    """With a pool of one, a signing that reads the petition and then writes still goes through:
    the petition's session is closed before the signing's own transaction starts. (Holding both
    once exhausted the pool under concurrent signings.)"""
    app = make_app(tmp_path, migrated_sqlite, PETITION_CACHE_SECONDS=0,
                   SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0,
                                              "pool_timeout": 1})
    slug = add_petition(app)
    client = app.test_client()
    for number in range(3):
        form = {**FORM, "email": f"pool{number}@example.org"}
        assert client.post(f"/p/{slug}/sign", data=form).status_code == 303
    assert client.post(f"/api/v1/petitions/{slug}/signatures",
                       json={**FORM, "email": "pool-api@example.org"}).status_code == 202
    assert _signatures(app) == 4
