"""GET /api/v1/petitions/SLUG: the count every widget and CDN polls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from petitionkit.extensions import db
from petitionkit.petitions.models import Petition

from .conftest import add_petition, make_app


@pytest.fixture
def fresh_app(tmp_path: Path, migrated_sqlite: Path) -> Flask:
    """No per-process caching, so every request sees the database as it is."""
    return make_app(tmp_path, migrated_sqlite, COUNT_CACHE_SECONDS=0)


def set_count(app: Flask, slug: str, count: int) -> None:
    with app.app_context():
        db.session.execute(
            update(Petition).where(Petition.slug == slug).values(signature_count=count)
        )
        db.session.commit()


def test_summary_fields(client: FlaskClient, app: Flask) -> None:
    add_petition(app, slug="river-school", title="Reopen the river school", locale="zh_Hans",
                 closes_at=datetime(2027, 6, 30, 12, 0, tzinfo=UTC), status_line="Closed by decree")
    response = client.get("/api/v1/petitions/river-school")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json == {
        "slug": "river-school",
        "title": "Reopen the river school",
        "summary": "A poet is held for his verses.",
        "count": 0,
        "offline": 0,
        "total": 0,
        "count_hidden": False,
        "organizations": 0,
        "goal": 1000,
        "goal_counts": "signatures",
        "actions": {},
        "actions_anonymous": {},
        "status": "open",
        "status_line": "Closed by decree",
        "opens_at": None,
        "closes_at": "2027-06-30T12:00:00+00:00",
        "locale": "zh_Hans",
    }


def test_cache_headers(client: FlaskClient, petition: str) -> None:
    response = client.get(f"/api/v1/petitions/{petition}")
    cache_control = response.cache_control
    assert cache_control.public
    assert cache_control.max_age == 5
    assert cache_control.stale_while_revalidate == 30
    assert cache_control.stale_if_error == 86400
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["ETag"].startswith('"')


def test_if_none_match_gives_304(client: FlaskClient, petition: str) -> None:
    first = client.get(f"/api/v1/petitions/{petition}")
    etag = first.headers["ETag"]

    unchanged = client.get(f"/api/v1/petitions/{petition}", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.data == b""
    assert unchanged.headers["ETag"] == etag
    assert "max-age=5" in unchanged.headers["Cache-Control"]

    # Proxies that compress may weaken the validator; the comparison is weak (RFC 9110).
    weakened = client.get(f"/api/v1/petitions/{petition}", headers={"If-None-Match": f"W/{etag}"})
    assert weakened.status_code == 304

    other = client.get(f"/api/v1/petitions/{petition}", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200
    assert other.json["slug"] == petition


def test_new_count_new_etag(fresh_app: Flask) -> None:
    slug = add_petition(fresh_app)
    client = fresh_app.test_client()
    before = client.get(f"/api/v1/petitions/{slug}")
    set_count(fresh_app, slug, 7)
    after = client.get(f"/api/v1/petitions/{slug}",
                       headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.json["count"] == 7
    assert after.headers["ETag"] != before.headers["ETag"]


def test_goal_climbs_the_ladder(fresh_app: Flask) -> None:
    slug = add_petition(fresh_app, goal=None, goal_settings={"ladder": [1000, 5000, 25000]})
    client = fresh_app.test_client()
    assert client.get(f"/api/v1/petitions/{slug}").json["goal"] == 1000
    set_count(fresh_app, slug, 1000)
    assert client.get(f"/api/v1/petitions/{slug}").json["goal"] == 5000
    set_count(fresh_app, slug, 30000)
    assert client.get(f"/api/v1/petitions/{slug}").json["goal"] == 25000


def test_unknown_slug_is_404_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/petitions/no-such-petition")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.json == {"error": "There is nothing at this address."}


def test_draft_is_404(client: FlaskClient, app: Flask) -> None:
    slug = add_petition(app, slug="work-in-progress", status="draft")
    response = client.get(f"/api/v1/petitions/{slug}")
    assert response.status_code == 404
    assert response.json == {"error": "There is nothing at this address."}
    assert client.get(f"/p/{slug}").status_code == 404


def test_status_follows_the_calendar(fresh_app: Flask) -> None:
    now = datetime.now(UTC)
    client = fresh_app.test_client()
    add_petition(fresh_app, slug="later", opens_at=now + timedelta(days=3))
    add_petition(fresh_app, slug="over", closes_at=now - timedelta(minutes=1))
    add_petition(fresh_app, slug="ended", status="closed")
    assert client.get("/api/v1/petitions/later").json["status"] == "scheduled"
    assert client.get("/api/v1/petitions/over").json["status"] == "closed"
    assert client.get("/api/v1/petitions/ended").json["status"] == "closed"
