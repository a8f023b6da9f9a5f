"""Cross-site posts are refused by what the browser says of their origin, with no cookie.

PUBLIC_URL in the tests is http://localhost and the test client's host is localhost; the
petition allows the organization's site http://127.0.0.1:8000 to use the JSON API.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from petitionkit.extensions import db
from petitionkit.signatures.models import Signature

from .conftest import add_petition, make_app

FORM = "/p/free-the-poet/sign"
API = "/api/v1/petitions/free-the-poet/signatures"
SIGNER = {"name": "Tomas Quillfeather", "email": "tomas@example.org"}
REFUSAL = "This form was sent from another website"


def signature_count(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Signature))
        db.session.remove()
    return int(count or 0)


ACCEPTED_FORM_POSTS = {
    "no browser headers (curl, server-side integration)": {},
    "own origin": {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    "own origin with the default port spelt out": {"Origin": "http://localhost:80"},
    "own origin in capitals": {"Origin": "HTTP://LOCALHOST"},
    "embedded form in a third-party iframe": {
        "Origin": "http://localhost", "Sec-Fetch-Site": "same-origin",
        "Sec-Fetch-Dest": "iframe", "Referer": "http://localhost/embed/free-the-poet",
    },
    "referer only, from our own page": {"Referer": "http://localhost/p/free-the-poet"},
    "typed or bookmarked (Sec-Fetch-Site: none)": {"Sec-Fetch-Site": "none"},
}

REFUSED_FORM_POSTS = {
    "another site": {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
    "another site, Origin only": {"Origin": "http://evil.example"},
    "opaque origin (sandboxed frame, data: URL)": {"Origin": "null"},
    "opaque origin claiming same-origin": {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    "cross-site by Sec-Fetch-Site alone": {"Sec-Fetch-Site": "cross-site"},
    "sibling subdomain (same-site is not ours)": {
        "Origin": "http://blog.localhost", "Sec-Fetch-Site": "same-site",
    },
    "same-site by Sec-Fetch-Site alone": {"Sec-Fetch-Site": "same-site"},
    "other scheme": {"Origin": "https://localhost"},
    "other port": {"Origin": "http://localhost:8080"},
    "our host as a prefix of theirs": {"Origin": "http://localhost.evil.example"},
    "referer only, from another site": {"Referer": "http://evil.example/free-the-poet"},
    "unparseable origin": {"Origin": "http://"},
    "lying Origin but browser says cross-site": {
        "Origin": "http://localhost", "Sec-Fetch-Site": "cross-site",
    },
    "the petition's allowed origin (allowed for the JSON API only)": {
        "Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "cross-site",
    },
}


@pytest.mark.parametrize("headers", ACCEPTED_FORM_POSTS.values(), ids=ACCEPTED_FORM_POSTS.keys())
def test_form_posts_from_our_own_pages_are_accepted(
    app: Flask, client: FlaskClient, petition: str, headers: dict[str, str]
) -> None:
    response = client.post(FORM, data=SIGNER, headers=headers)
    assert response.status_code == 303
    assert signature_count(app) == 1


@pytest.mark.parametrize("headers", REFUSED_FORM_POSTS.values(), ids=REFUSED_FORM_POSTS.keys())
def test_cross_site_form_posts_are_refused(
    app: Flask, client: FlaskClient, petition: str, headers: dict[str, str]
) -> None:
    response = client.post(FORM, data=SIGNER, headers=headers)
    assert response.status_code == 403
    assert REFUSAL in response.get_data(as_text=True)
    assert signature_count(app) == 0


def test_public_url_behind_a_proxy_is_our_origin(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = make_app(tmp_path, migrated_sqlite, PUBLIC_URL="https://petitions.example.org/")
    add_petition(app)
    client = app.test_client()
    ours = client.post(FORM, data=SIGNER, headers={"Origin": "https://petitions.example.org"})
    assert ours.status_code == 303
    theirs = client.post(FORM, data=SIGNER, headers={"Origin": "https://example.org"})
    assert theirs.status_code == 403


def test_no_cookie_is_needed_or_set(client: FlaskClient, petition: str) -> None:
    page = client.get("/embed/free-the-poet")
    assert "Set-Cookie" not in page.headers
    client.delete_cookie("session")
    response = client.post(FORM, data={**SIGNER, "embed": "1"},
                           headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/embed/free-the-poet/check-email")
    assert "Set-Cookie" not in response.headers


def test_widget_answers_may_be_framed_by_allowed_origins_only(
    app: Flask, client: FlaskClient, petition: str
) -> None:
    widget = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin",
              "Referer": "http://localhost/embed/free-the-poet"}
    framed_by_allowed = "frame-ancestors 'self' http://127.0.0.1:8000;"
    invalid = client.post(FORM, data={"name": "", "email": "x", "embed": "1"}, headers=widget)
    assert invalid.status_code == 422
    assert framed_by_allowed in invalid.headers["Content-Security-Policy"]

    add_petition(app, slug="closed-one", status="closed")
    closed = client.post("/p/closed-one/sign", data=SIGNER,
                         headers={**widget, "Referer": "http://localhost/embed/closed-one"})
    assert closed.status_code == 409
    assert "frame-ancestors 'self' http://127.0.0.1:8000;" in closed.headers[
        "Content-Security-Policy"
    ]

    hosted = client.post(FORM, data={"name": "", "email": "x"},
                         headers={"Origin": "http://localhost",
                                  "Referer": "http://localhost/p/free-the-poet"})
    assert hosted.status_code == 422
    assert "frame-ancestors 'none'" in hosted.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in client.get(FORM.removesuffix("/sign")).headers[
        "Content-Security-Policy"
    ]


def post_json(client: FlaskClient, headers: dict[str, str], body: object = None) -> object:
    return client.post(API, data=json.dumps(body if body is not None else SIGNER),
                       content_type="application/json", headers=headers)


def test_api_accepts_the_petitions_allowed_origins_with_cors(
    app: Flask, client: FlaskClient, petition: str
) -> None:
    response = client.post(API, json=SIGNER, headers={
        "Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "cross-site",
    })
    assert response.status_code == 202
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    assert "Origin" in response.headers["Vary"]
    assert signature_count(app) == 1


def test_api_allowed_origins_are_compared_in_canonical_form(
    app: Flask, client: FlaskClient
) -> None:
    add_petition(app, allowed_origins=["HTTPS://Campaign.Example.ORG:443/", "null", "*"])
    accepted = client.post(API, json=SIGNER, headers={"Origin": "https://campaign.example.org"})
    assert accepted.status_code == 202
    assert accepted.headers["Access-Control-Allow-Origin"] == "https://campaign.example.org"
    for origin in ("null", "*", "https://evil.example"):
        refused = client.post(API, json=SIGNER, headers={"Origin": origin})
        assert refused.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in refused.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://shop.localhost", "Sec-Fetch-Site": "same-site"},
        {"Referer": "http://evil.example/"},
    ],
    ids=["other-site", "null", "fetch-site-only", "same-site", "referer-only"],
)
def test_api_refuses_other_origins_without_cors(
    app: Flask, client: FlaskClient, petition: str, headers: dict[str, str]
) -> None:
    response = client.post(API, json=SIGNER, headers=headers)
    assert response.status_code == 403
    assert response.json["error"] == (
        "This website is not allowed to collect signatures for this petition."
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert signature_count(app) == 0


def test_api_same_origin_and_server_side_calls_need_no_cors(
    app: Flask, client: FlaskClient, petition: str
) -> None:
    own = client.post(API, json=SIGNER, headers={"Origin": "http://localhost"})
    assert own.status_code == 202
    server = client.post(API, json={**SIGNER, "email": "tomas2@example.org"})
    assert server.status_code == 202
    assert "Access-Control-Allow-Origin" not in own.headers
    assert signature_count(app) == 2


def test_preflight_only_for_allowed_origins(client: FlaskClient, app: Flask,
                                            petition: str) -> None:
    request_headers = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    allowed = client.options(API, headers={"Origin": "http://127.0.0.1:8000", **request_headers})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert allowed.headers["Access-Control-Allow-Headers"].lower() == "content-type"
    assert "Origin" in allowed.headers["Vary"]

    other = client.options(API, headers={"Origin": "http://evil.example", **request_headers})
    assert "Access-Control-Allow-Origin" not in other.headers

    add_petition(app, slug="draft-letter", status="draft", allowed_origins=["http://a.example"])
    draft = client.options("/api/v1/petitions/draft-letter/signatures",
                           headers={"Origin": "http://a.example", **request_headers})
    assert "Access-Control-Allow-Origin" not in draft.headers


def test_api_errors_are_readable_by_allowed_origins(client: FlaskClient, petition: str) -> None:
    headers = {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "cross-site"}
    for body, status in (({"name": "", "email": "x"}, 422), ([], 400)):
        response = client.post(API, json=body, headers=headers)
        assert response.status_code == status
        assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    wrong_type = client.post(API, data="name=x", content_type="text/plain", headers=headers)
    assert wrong_type.status_code == 415
    assert wrong_type.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"


@pytest.mark.parametrize("path", ["/confirm/{token}", "/cancel/{token}",
                                  "/confirm/{token}/resend"])
def test_token_posts_from_other_sites_are_refused(
    app: Flask, client: FlaskClient, petition: str, path: str
) -> None:
    from petitionkit.signatures.tokens import Purpose, make_token

    assert client.post(FORM, data=SIGNER).status_code == 303
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        purpose = Purpose.CANCEL if path.startswith("/cancel") else Purpose.CONFIRM
        token = make_token(app.config["SECRET_KEY"], purpose, signature.id, signature.token_nonce)
    cross_site = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    response = client.post(path.format(token=token), headers=cross_site)
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalars(select(Signature)).one().status == "pending"
