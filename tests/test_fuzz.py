"""Generated hostile input on every path a signer's browser or a script can reach: whatever
arrives, the answer is a page or JSON that says what is wrong (a 4xx), never a 500.

Hypothesis generates the bodies, paths and headers; the cases that test_bad_input.py names one by
one are the known ones, these are the ones nobody thought of. Both databases, because PostgreSQL
refuses some values (NUL in text) that SQLite stores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from petitionkit.extensions import db

from .conftest import add_petition, make_app, migrate, postgres_database

SLUG = "free-the-poet"
FORM = f"/p/{SLUG}/sign"
API = f"/api/v1/petitions/{SLUG}/signatures"
FIELDS = ["name", "email", "country", "postal_code", "consent_updates", "show_name", "lang",
          "embed", "website", "source", "csrf_token"]
# A 2xx or 3xx for what was accepted; otherwise one of the refusals a person can act on.
REFUSALS = {400, 403, 404, 405, 409, 413, 415, 422, 429}

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
# Mostly the fields the engine reads, with values of any type, so the checks past the first are
# reached too; now and then a key nobody expects.
signing_objects = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=12), json_values, max_size=8
)
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
# What can reach the app in a header at all: HTTP ends a header at CR or LF, and servers refuse NUL.
header_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=300
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             migrated_sqlite: Path) -> Iterator[Flask]:
    """One app per database for the whole module: hypothesis runs hundreds of requests."""
    folder = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    limits = {"RATELIMIT_SIGN": "1000000/minute"}
    if request.param == "sqlite":
        application = make_app(folder, migrated_sqlite, **limits)
        add_petition(application, asks_country=True, asks_postal_code=True)
        yield application
        return
    with postgres_database() as url:
        application = make_app(folder, migrated_sqlite, DATABASE_URL=url, **limits)
        migrate(application)
        add_petition(application, asks_country=True, asks_postal_code=True)
        yield application
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def check(response: TestResponse, mimetype: str) -> None:
    status = response.status_code
    assert status < 400 or status in REFUSALS, (status, response.get_data(as_text=True)[:500])
    if status >= 400:
        assert response.mimetype == mimetype, (status, response.mimetype)
        assert response.get_data(), "a refusal says why"


@FUZZ
@given(body=signing_objects)
def test_json_signing_answers_any_object_with_json(fuzz_app: Flask, body: dict[str, Any]) -> None:
    client = fuzz_app.test_client()
    response = client.post(API, data=json.dumps(body), content_type="application/json")
    check(response, "application/json")


@FUZZ
@given(raw=st.binary(max_size=400))
def test_json_signing_answers_any_bytes_with_json(fuzz_app: Flask, raw: bytes) -> None:
    client = fuzz_app.test_client()
    check(client.post(API, data=raw, content_type="application/json"), "application/json")


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(FIELDS) | texts, texts, max_size=8))
def test_form_signing_answers_any_fields_with_a_page(
    fuzz_app: Flask, fields: dict[str, str]
) -> None:
    client = fuzz_app.test_client()
    body = urlencode(fields, encoding="utf-8", errors="surrogatepass")
    response = client.post(FORM, data=body, content_type="application/x-www-form-urlencoded")
    check(response, "text/html")


@FUZZ
@given(raw=st.binary(max_size=400))
def test_form_signing_answers_any_bytes_with_a_page(fuzz_app: Flask, raw: bytes) -> None:
    client = fuzz_app.test_client()
    check(client.post(FORM, data=raw, content_type="application/x-www-form-urlencoded"),
          "text/html")


@FUZZ
@given(
    accept_language=header_texts, origin=header_texts, forwarded=header_texts, lang=texts,
    path=st.sampled_from([FORM, API]),
)
def test_signing_answers_any_headers(
    fuzz_app: Flask, accept_language: str, origin: str, forwarded: str, lang: str, path: str
) -> None:
    client = fuzz_app.test_client()
    headers = {"Accept-Language": accept_language, "Origin": origin,
               "X-Forwarded-For": forwarded}
    # Header values travel as Latin-1; what cannot be sent that way is sent as its UTF-8 bytes.
    headers = {name: value.encode("utf-8", "surrogatepass").decode("latin-1")
               for name, value in headers.items()}
    query = "?lang=" + quote(lang, safe="", errors="surrogatepass")
    if path == API:
        response = client.post(path + query, headers=headers, content_type="application/json",
                               data=json.dumps({"name": "Mirela", "email": "m@example.org"}))
        check(response, "application/json")
    else:
        response = client.post(path + query, headers=headers,
                               data={"name": "Mirela", "email": "m@example.org",
                                     "country": "DE", "postal_code": "10115"})
        check(response, "text/html")


PAGES = ["/p/{}", "/p/{}/check-email", "/embed/{}", "/api/v1/petitions/{}",
         "/confirm/{}", "/cancel/{}", "/oembed?url={}", "/?lang={}", "/widget.js?{}"]


@FUZZ
@given(template=st.sampled_from(PAGES), value=texts, method=st.sampled_from(["GET", "POST"]))
def test_every_address_answers_any_value(
    fuzz_app: Flask, template: str, value: str, method: str
) -> None:
    client: FlaskClient = fuzz_app.test_client()
    url = template.format(quote(value, safe="", errors="surrogatepass"))
    response = client.open(url, method=method)
    wants_json = url.startswith(("/api/", "/oembed"))
    check(response, "application/json" if wants_json else "text/html")


@st.composite
def deep_documents(draw: st.DrawFn) -> str:
    """JSON nested from one level to far past what a parser follows, as a body or in a field."""
    depth = draw(st.integers(min_value=1, max_value=20_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"name":', "}")]))
    core = draw(st.sampled_from(["0", "null", '"x"', "{}", "[]", "1e999"]))
    nested = opener * depth + core + closer * depth
    field = draw(st.sampled_from([None, *FIELDS]))
    if field is None:
        return nested
    return '{"name": "Mirela", "email": "m@example.org", ' + json.dumps(field) + ": " + nested + "}"


@st.composite
def huge_numbers(draw: st.DrawFn) -> str:
    """Numbers past every limit: thousands of digits, exponents far beyond a double."""
    digits = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=1, max_size=20))
                     ) * draw(st.integers(min_value=1, max_value=1_000))
    sign = draw(st.sampled_from(["", "-"]))
    shape = draw(st.sampled_from(["{d}", "{d}.{d}", "1e{d}", "-1e-{d}", "0.{d}e{d}"]))
    number = sign + shape.format(d=digits.lstrip("0") or "1")
    field = draw(st.sampled_from(FIELDS))
    return '{"name": "Mirela", "email": "m@example.org", ' + json.dumps(field) + ": " + number + "}"


@st.composite
def long_keys(draw: st.DrawFn) -> str:
    """Keys from one character to past the body limit, one or many."""
    character = draw(st.characters(codec="utf-8", exclude_categories=["Cs"]))
    length = draw(st.integers(min_value=1, max_value=80_000))
    count = draw(st.integers(min_value=1, max_value=3))
    keys = {character * (length // count) + str(index): "x" for index in range(count)}
    return json.dumps({"name": "Mirela", "email": "m@example.org", **keys})


extreme_json = deep_documents() | huge_numbers() | long_keys()


@FUZZ
@given(body=extreme_json)
def test_json_signing_answers_extreme_documents_with_json(fuzz_app: Flask, body: str) -> None:
    client = fuzz_app.test_client()
    check(client.post(API, data=body, content_type="application/json"), "application/json")


@FUZZ
@given(body=extreme_json, template=st.sampled_from([FORM, *PAGES]))
def test_every_address_answers_extreme_json_bodies(
    fuzz_app: Flask, body: str, template: str
) -> None:
    """Pages do not read JSON, but the language lookup looks at a posted body: whatever it finds
    there, the page answers in its own format."""
    client = fuzz_app.test_client()
    url = template.format(SLUG) if "{}" in template else template
    response = client.post(url, data=body, content_type="application/json")
    wants_json = url.startswith(("/api/", "/oembed"))
    check(response, "application/json" if wants_json else "text/html")
