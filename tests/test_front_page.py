"""GET /: the open petitions, or a redirect to the organization's own site."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from petitionkit import create_app
from petitionkit.config import ConfigurationError
from petitionkit.petitions.models import utcnow

from .conftest import add_petition, base_config, make_app


def listed_slugs(page: str) -> list[str]:
    return re.findall(r'href="/p/([a-z0-9-]+)"', page)


def test_the_front_page_lists_what_is_open_for_signing_newest_first(app: Flask) -> None:
    now = utcnow()
    add_petition(app, slug="older-open", title="Older and open")
    add_petition(app, slug="newer-open", title="Newer and open", goal=500,
                 closes_at=now + timedelta(days=30))
    add_petition(app, slug="a-draft", title="Draft", status="draft")
    add_petition(app, slug="was-closed", title="Closed by hand", status="closed")
    add_petition(app, slug="past-deadline", title="Deadline passed",
                 closes_at=now - timedelta(minutes=1))
    add_petition(app, slug="not-yet", title="Opens next week", opens_at=now + timedelta(days=7))
    add_petition(app, slug="off-the-list", title="Unlisted", listed=False)

    response = app.test_client().get("/")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert listed_slugs(page) == ["newer-open", "older-open"]
    assert "0 have signed. Let&#39;s get to 500!" in page, "each entry carries its count and goal"
    assert "Open until" in page, "and its deadline when it has one"


def test_an_unlisted_petition_still_works_at_its_own_address(app: Flask) -> None:
    add_petition(app, slug="off-the-list", title="Unlisted", listed=False)
    client = app.test_client()
    assert listed_slugs(client.get("/").get_data(as_text=True)) == []
    assert client.get("/p/off-the-list").status_code == 200
    assert client.get("/api/v1/petitions/off-the-list").status_code == 200


def test_with_nothing_open_the_page_says_so_in_the_visitors_language(app: Flask) -> None:
    add_petition(app, slug="a-draft", status="draft")
    response = app.test_client().get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="fr"' in page
    assert "<h1>Pétitions</h1>" in page
    assert "Aucune pétition n’est ouverte à la signature pour le moment." in page


def test_titles_are_shown_as_text_with_their_own_language_and_direction(app: Flask) -> None:
    add_petition(app, slug="hostile", title='<script>alert("x")</script> & co',
                 summary="<img src=x onerror=alert(1)>")
    add_petition(app, slug="arabic", title="أطلقوا سراح الشاعر", locale="ar")
    page = app.test_client().get("/").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in page
    assert '<h2 lang="ar" dir="auto"><a href="/p/arabic">أطلقوا سراح الشاعر</a></h2>' in page


def test_home_url_sends_visitors_to_the_organizations_site(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = make_app(tmp_path, migrated_sqlite, HOME_URL="https://www.example.org/campaigns")
    add_petition(app)
    response = app.test_client().get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://www.example.org/campaigns"


@pytest.mark.parametrize("home_url", ["javascript:alert(1)", "/relative/path", "www.example.org",
                                      "ftp://example.org/"])
def test_a_home_url_that_is_not_a_web_address_is_refused_at_start(
    tmp_path: Path, home_url: str
) -> None:
    with pytest.raises(ConfigurationError, match="HOME_URL must be a web address"):
        create_app(base_config(tmp_path, HOME_URL=home_url))


def test_the_front_page_on_postgresql(pg_app: Flask) -> None:
    add_petition(pg_app, slug="listed-one")
    add_petition(pg_app, slug="unlisted-one", listed=False)
    page = pg_app.test_client().get("/").get_data(as_text=True)
    assert listed_slugs(page) == ["listed-one"]
