"""Headers every answer carries: no framing where the widget is not meant to be, no powerful
browser features, and HTTPS remembered when the instance is served over it."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from .conftest import add_petition, make_app

FRAMED = {"Sec-Fetch-Dest": "iframe", "Referer": "http://127.0.0.1:8000/campaign"}


def pages(slug: str) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/", {}), (f"/p/{slug}", {}), (f"/p/{slug}/check-email", {}), ("/no-such-page", {}),
        ("/confirm/not-a-token", {}), ("/cancel/not-a-token", {}),
        (f"/embed/{slug}", FRAMED), (f"/embed/{slug}/check-email", FRAMED),
        ("/embed/no-such-petition", FRAMED),
    ]


def test_pages_that_may_not_be_framed_say_so_to_older_browsers_too(app: Flask) -> None:
    slug = add_petition(app, allowed_origins=["http://127.0.0.1:8000"])
    client = app.test_client()
    for path, headers in pages(slug):
        answer = client.get(path, headers=headers)
        assert answer.mimetype == "text/html", path
        policy = answer.headers["Content-Security-Policy"]
        if "frame-ancestors 'none'" in policy:
            assert answer.headers.get("X-Frame-Options") == "DENY", path
        else:
            # The widget's pages: X-Frame-Options cannot name several origins, and DENY would
            # break the widget in the very browsers that still read it.
            assert path.startswith("/embed/"), path
            assert "X-Frame-Options" not in answer.headers, path
    assert client.get(f"/p/{slug}").headers["X-Frame-Options"] == "DENY"
    assert "X-Frame-Options" not in client.get(f"/embed/{slug}", headers=FRAMED).headers


def test_every_answer_refuses_powerful_features(app: Flask) -> None:
    slug = add_petition(app)
    client = app.test_client()
    for path in ("/", f"/p/{slug}", f"/embed/{slug}", f"/api/v1/petitions/{slug}", "/widget.js",
                 "/healthz", "/static/petitionkit.css"):
        with client.get(path) as answer:
            policy = answer.headers["Permissions-Policy"]
        for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()",
                        "browsing-topics=()"):
            assert feature in policy, (path, feature)
    signing = client.post(f"/api/v1/petitions/{slug}/signatures",
                          json={"name": "Ada", "email": "ada@example.org"})
    assert "camera=()" in signing.headers["Permissions-Policy"]


@pytest.mark.parametrize("public_url, settings, expected", [
    ("https://petitions.example.org", {}, "max-age=31536000"),
    ("https://petitions.example.org", {"HSTS_INCLUDE_SUBDOMAINS": True},
     "max-age=31536000; includeSubDomains"),
    ("https://petitions.example.org", {"HSTS_MAX_AGE": 600}, "max-age=600"),
    ("https://petitions.example.org", {"HSTS_MAX_AGE": 0}, None),
    ("http://127.0.0.1:5000", {}, None),
])
def test_https_instances_send_strict_transport_security(
    tmp_path: Path, migrated_sqlite: Path, public_url: str, settings: dict[str, object],
    expected: str | None,
) -> None:
    app = make_app(tmp_path, migrated_sqlite, PUBLIC_URL=public_url, **settings)
    slug = add_petition(app)
    client = app.test_client()
    for path in (f"/p/{slug}", f"/api/v1/petitions/{slug}", "/healthz"):
        assert client.get(path).headers.get("Strict-Transport-Security") == expected, path
