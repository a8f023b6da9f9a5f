"""Bad input gets a 4xx with a message per field, as HTML or JSON to match the request; never a 500.

The paths that reach the database run on SQLite and on PostgreSQL, where a NUL byte in a text
value is the classic way to turn a form into a 500.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from petitionkit.extensions import db
from petitionkit.outbox.models import OutboxJob
from petitionkit.signatures.models import Signature

from .conftest import add_petition

FORM = "/p/free-the-poet/sign"
API = "/api/v1/petitions/free-the-poet/signatures"
GOOD = {"name": "Mirela Vashti", "email": "mirela@example.org"}


@pytest.fixture(params=["sqlite", "postgresql"])
def storing_app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The app on each database the engine supports, with one open petition."""
    fixture = "app" if request.param == "sqlite" else "pg_app"
    application: Flask = request.getfixturevalue(fixture)
    add_petition(application, asks_postal_code=True, asks_country=True)
    yield application


def stored(app: Flask) -> tuple[int, int]:
    with app.app_context():
        signatures = db.session.scalar(select(func.count()).select_from(Signature))
        jobs = db.session.scalar(select(func.count()).select_from(OutboxJob))
        db.session.remove()
    return int(signatures or 0), int(jobs or 0)


def form(**fields: Any) -> dict[str, Any]:
    return {**GOOD, "country": "DE", "postal_code": "10115", **fields}


def post_json(client: FlaskClient, body: Any) -> Any:
    return client.post(API, data=json.dumps(body), content_type="application/json")


FORM_FIELD_ERRORS: list[tuple[dict[str, str], str, str]] = [
    ({"name": ""}, "name", "Please enter your name."),
    ({"name": "   "}, "name", "Please enter your name."),
    ({"email": ""}, "email", "Please enter your email address."),
    ({"email": "not-an-address"}, "email", "This email address is not valid."),
    ({"email": "two@@example.org"}, "email", "This email address is not valid."),
    ({"email": "mirela@localhost"}, "email", "The domain of this email address does not accept"),
    ({"email": "mirela@example.invalid"}, "email", "The domain of this email address does not"),
    ({"email": "mirela@gmail"}, "email", "The domain of this email address does not accept mail."),
    ({"name": "x" * 121}, "name", "Please shorten your name to 120 characters."),
    ({"email": "a" * 250 + "@example.org"}, "email", "at most 254 characters"),
    ({"postal_code": "1" * 21}, "postal_code", "at most 20 characters"),
    ({"postal_code": ""}, "postal_code", "Please enter your postal code."),
    ({"country": ""}, "country", "Please choose your country."),
    ({"country": "QQ"}, "country", "Please choose a country from the list."),
    ({"name": "Mire\x00la"}, "name", "invisible control characters"),
    ({"name": "Mire\x1bla"}, "name", "invisible control characters"),
    ({"name": "Mirela\r\nBcc: x@example.org"}, "name", "invisible control characters"),
    ({"postal_code": "101\x0015"}, "postal_code", "invisible control characters"),
    ({"email": "mi\x00rela@example.org"}, "email", "invisible control characters"),
]


def test_form_field_errors(storing_app: Flask) -> None:
    client = storing_app.test_client()
    for fields, field, message in FORM_FIELD_ERRORS:
        response = client.post(FORM, data=form(**fields))
        assert response.status_code == 422, fields
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert f'id="{field}-error"' in page, fields
        assert message in page.split(f'id="{field}-error"', 1)[1].split("</p>", 1)[0], fields
    assert stored(storing_app) == (0, 0)


def test_a_refused_form_shows_back_what_was_typed(storing_app: Flask) -> None:
    client = storing_app.test_client()
    response = client.post(FORM, data=form(name="  Mirela Vashti ", email="not-an-address",
                                           country="de", consent_updates="y"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="Mirela Vashti"' in page
    assert 'value="not-an-address"' in page
    assert '<option value="DE" selected>' in page
    assert 'value="10115"' in page
    assert 'name="consent_updates" type="checkbox" value="y" checked' in page
    assert 'name="show_name" type="checkbox" value="y">' in page
    assert 'id="email-error"' in page and 'id="name-error"' not in page
    assert stored(storing_app) == (0, 0)


JSON_FIELD_ERRORS: list[tuple[dict[str, Any], str, str]] = [
    ({"source": "s" * 101}, "source", "The source has at most 100 characters."),
    ({"name": None}, "name", "Please enter your name."),
    ({"email": "not-an-address"}, "email", "This email address is not valid."),
    ({"name": "x" * 121}, "name", "Please shorten your name"),
    ({"postal_code": "1" * 21}, "postal_code", "at most 20 characters"),
    ({"name": "Mire\u0000la"}, "name", "invisible control characters"),
    ({"name": "\ud800"}, "name", "invisible control characters"),
    ({"email": "mirela\u0000@example.org"}, "email", "invisible control characters"),
    ({"postal_code": "\u000010115"}, "postal_code", "invisible control characters"),
]


def test_json_field_errors(storing_app: Flask) -> None:
    client = storing_app.test_client()
    for fields, field, message in JSON_FIELD_ERRORS:
        response = post_json(client, form(**fields))
        assert response.status_code == 422, fields
        assert response.mimetype == "application/json"
        assert any(message in text for text in response.json["errors"][field]), fields
    assert stored(storing_app) == (0, 0)


UNREADABLE_FORMS = [
    b"name=Mir%FFela&email=mirela%40example.org&country=DE&postal_code=10115",
        "name=Mir\udcffela&email=mirela@example.org&country=DE&postal_code=10115".encode(
            "utf-8", "surrogateescape"
        ),
    b"name=Mirela&email=mir%C3%28ela%40example.org&country=DE&postal_code=10115",
    b"name=Mirela&email=mirela%40example.org&country=DE&postal_code=%ED%A0%80",
]


def test_form_invalid_utf8(storing_app: Flask) -> None:
    """Percent-encoded and raw bytes that are not UTF-8, and an encoded surrogate."""
    client = storing_app.test_client()
    for body in UNREADABLE_FORMS:
        response = client.post(FORM, data=body, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 422, body
        assert "could not be read" in response.get_data(as_text=True), body
    assert stored(storing_app) == (0, 0)


def test_json_invalid_utf8(storing_app: Flask) -> None:
    body = b'{"name": "Mir\xffela", "email": "mirela@example.org"}'
    response = storing_app.test_client().post(API, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"] == "The request body is not valid JSON in UTF-8."
    assert stored(storing_app) == (0, 0)


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"name": "Mirela",}', b"", b"NaN", b'{"name": "Mirela"} trailing'],
    ids=["truncated", "trailing-comma", "empty", "nan", "trailing-garbage"],
)
def test_malformed_json(app: Flask, petition: str, raw: bytes) -> None:
    response = app.test_client().post(API, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert response.json["error"]


@pytest.mark.parametrize("body", [[], ["Mirela"], "Mirela", 42, None, True])
def test_json_that_is_not_an_object(app: Flask, petition: str, body: Any) -> None:
    response = post_json(app.test_client(), body)
    assert response.status_code == 400
    assert response.json["errors"] == {"body": ["The body must be a JSON object."]}
    assert stored(app) == (0, 0)


WRONG_TYPES: list[tuple[dict[str, Any], str, str]] = [
    ({"name": 42}, "name", "This must be text."),
    ({"email": ["mirela@example.org"]}, "email", "This must be text."),
    ({"country": {"code": "DE"}}, "country", "This must be text."),
    ({"consent_updates": "yes"}, "consent_updates", "This must be true or false."),
    ({"show_name": 1}, "show_name", "This must be true or false."),
    ({"favourite_colour": "green"}, "favourite_colour", "This field is not known."),
]


def test_json_wrong_types_and_unknown_fields(storing_app: Flask) -> None:
    client = storing_app.test_client()
    for fields, field, message in WRONG_TYPES:
        response = post_json(client, form(**fields))
        assert response.status_code == 400, fields
        assert response.json["errors"][field] == [message], fields
    assert stored(storing_app) == (0, 0)


def test_megabyte_bodies_are_refused_with_413(app: Flask, petition: str) -> None:
    client = app.test_client()
    big = "x" * (1024 * 1024)
    as_form = client.post(FORM, data={**GOOD, "name": big})
    assert as_form.status_code == 413
    assert as_form.mimetype == "text/html"
    assert "far too large" in as_form.get_data(as_text=True)

    as_json = client.post(API, data=json.dumps({**GOOD, "name": big}),
                          content_type="application/json")
    assert as_json.status_code == 413
    assert as_json.json["error"].startswith("What you sent is far too large")

    boundary = "petition-boundary"
    multipart_body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n{big}\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    multipart = client.post(FORM, data=multipart_body,
                            content_type=f"multipart/form-data; boundary={boundary}")
    assert multipart.status_code == 413
    assert stored(app) == (0, 0)


def test_large_body_without_content_length_is_refused(app: Flask, petition: str) -> None:
    body = b"name=" + b"x" * (1024 * 1024) + b"&email=mirela%40example.org"
    response = app.test_client().post(
        FORM, input_stream=io.BytesIO(body),
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Transfer-Encoding": "chunked"},
        # What a server says of a chunked body: it ends where the stream ends.
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert stored(app) == (0, 0)


@pytest.mark.parametrize(
    ("content_type", "endpoint"),
    [("text/plain", FORM), ("application/json", FORM), ("application/xml", FORM),
     ("text/plain", API), ("application/x-www-form-urlencoded", API),
     ("multipart/form-data; boundary=x", API)],
)
def test_wrong_content_type_is_415(app: Flask, petition: str, content_type: str,
                                   endpoint: str) -> None:
    response = app.test_client().post(endpoint, data=b"name=Mirela", content_type=content_type)
    assert response.status_code == 415
    if endpoint == API:
        assert "JSON" in response.json["error"]
    else:
        assert "web form" in response.get_data(as_text=True)


def test_html_in_names_is_stored_as_typed_and_escaped_on_output(storing_app: Flask) -> None:
    client = storing_app.test_client()
    name = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    invalid = client.post(FORM, data=form(name=name, email="broken"))
    assert invalid.status_code == 422
    page = invalid.get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page

    assert client.post(FORM, data=form(name=name)).status_code == 303
    with storing_app.app_context():
        assert db.session.scalars(select(Signature)).one().name == name


NAMES_IN_ANY_SCRIPT = [
    "王小明", "ئابدۇرېھىم", "Zoë 🌻", "👩‍👩‍👧 family", "Ngọc Ánh", "Σοφία", "ⴰⵎⴰⵣⵉⵖ",
    "\u202eevil\u202c",  # bidi controls are format characters, stored and escaped like any
    "x" * 120,
]


def test_names_in_any_script_are_stored_exactly(storing_app: Flask) -> None:
    client = storing_app.test_client()
    for number, name in enumerate(NAMES_IN_ANY_SCRIPT):
        response = client.post(FORM, data=form(name=name, email=f"s{number}@example.org"))
        assert response.status_code == 303, name
    with storing_app.app_context():
        stored = db.session.scalars(select(Signature).order_by(Signature.id))
        assert [signature.name for signature in stored] == NAMES_IN_ANY_SCRIPT


def test_impossible_slugs_are_404(storing_app: Flask) -> None:
    client = storing_app.test_client()
    for path in ("/p/%00/sign", "/p/free%00the-poet/sign", "/p/%FF%FE/sign",
                 "/api/v1/petitions/%00/signatures", "/api/v1/petitions/%C3%28/signatures"):
        response = client.post(path, data=json.dumps(GOOD), content_type="application/json")
        assert response.status_code == 404, path
    for path in ("/p/%00", "/embed/%00", "/api/v1/petitions/%00", "/p/%00/check-email",
                 "/embed/%00/check-email"):
        assert client.get(path).status_code == 404, path


def test_garbage_tokens_get_the_broken_link_page(storing_app: Flask) -> None:
    client = storing_app.test_client()
    for token in ("%00", "abc%00def", "%FF%FE.x.y", "x" * 5000, "Im9rIg.AAAA.BBBB"):
        for path in (f"/confirm/{token}", f"/cancel/{token}"):
            assert client.get(path).status_code == 400, path
            assert client.post(path).status_code == 400, path
        assert client.post(f"/confirm/{token}/resend").status_code == 400, token


def test_the_wrong_method_is_a_405_that_says_what_is_allowed(client: FlaskClient,
                                                             petition: str) -> None:
    page = client.get(FORM)
    assert page.status_code == 405
    assert "POST" in page.headers["Allow"]
    assert b"This address does not accept that kind of request." in page.data
    # GET there is the write API's signature list (with a token); PUT is nobody's.
    api = client.put(API)
    assert api.status_code == 405
    assert "POST" in api.headers["Allow"]
    assert api.json == {"error": "This address does not accept that kind of request."}
