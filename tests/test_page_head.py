"""What every page's head carries: the site's icon (served here, never a 404) and a description."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from .conftest import add_petition

ICON_LINK = re.compile(r'<link rel="icon" href="(/favicon\.svg)" type="image/svg\+xml">')


def test_every_kind_of_page_links_the_icon_from_this_site(
    app: Flask, client: FlaskClient
) -> None:
    slug = add_petition(app, allowed_origins=[])
    pages = {
        "/": 200, f"/p/{slug}": 200, f"/embed/{slug}": 200, f"/p/{slug}/check-email": 200,
        "/p/no-such-petition": 404,
        # Framed by a site the petition does not allow: a page of its own.
        f"/embed/{slug}?_": 403,
    }
    for path, status in pages.items():
        headers = {"Referer": "https://elsewhere.example/"} if path.endswith("?_") else {}
        response = client.get(path, headers=headers)
        assert response.status_code == status, path
        assert ICON_LINK.search(response.get_data(as_text=True)), path


def test_favicon_ico_and_svg_are_icons_kept_in_caches(client: FlaskClient) -> None:
    ico = client.get("/favicon.ico")
    assert ico.status_code == 200
    assert ico.mimetype == "image/vnd.microsoft.icon"
    assert ico.data[:4] == b"\x00\x00\x01\x00", "an ICO file"
    svg = client.get("/favicon.svg")
    assert svg.status_code == 200
    assert svg.mimetype == "image/svg+xml"
    assert svg.data.lstrip().startswith(b"<svg")
    for response in (ico, svg):
        assert response.cache_control.public
        assert (response.cache_control.max_age or 0) >= 3600
        assert response.headers["ETag"]
        again = client.get(response.request.path,
                           headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304


def test_the_front_page_describes_itself_in_the_visitors_language(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert ('<meta name="description" content="The petitions open for signing here: '
            'read them and add your name.">') in page


def test_a_petition_page_is_described_by_its_summary(app: Flask, client: FlaskClient) -> None:
    slug = add_petition(app, summary="A poet is held for his verses.")
    page = client.get(f"/p/{slug}").get_data(as_text=True)
    assert '<meta name="description" content="A poet is held for his verses.">' in page
