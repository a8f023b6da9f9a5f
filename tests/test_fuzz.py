"""Generated hostile input on every path a signer's browser or a script can reach: whatever
arrives, the answer is a page or JSON that says what is wrong (a 4xx), never a 500. Besides
signing: the confidential story form (hosted and in the widget) and anonymous reports of actions
taken (form and JSON), which never move the counted figures.

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
from petitionkit_stories.section import read_stories
from sqlalchemy import select
from werkzeug.test import TestResponse

from petitionkit.actions.services import action_counts
from petitionkit.encryption import generate_key_pair
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import Signature
from petitionkit.signatures.tokens import Purpose, make_token
from petitionkit.testing import sign_and_confirm

from .conftest import TEST_SECRET, add_petition, make_app, migrate, postgres_database

SLUG = "free-the-poet"
FORM = f"/p/{SLUG}/sign"
API = f"/api/v1/petitions/{SLUG}/signatures"
FIELDS = ["name", "email", "country", "postal_code", "consent_updates", "show_name", "lang",
          "embed", "website", "source", "csrf_token"]
# A petition that asks for stories and for reports of actions taken, as well as signatures.
ASKING = "tell-us-what-happened"
STORY_PATHS = [f"/p/{ASKING}/story", f"/embed/{ASKING}/story"]
REPORT_FORM = f"/p/{ASKING}/report"
REPORT_API = f"/api/v1/petitions/{ASKING}/reports"
STORY_FIELDS = ["story", "name", "country", "may_contact", "contact", "altcha", "lang"]
REPORT_FIELDS = ["action", "actions", "outcome", "target", "token", "altcha", "embed", "lang"]
REPORT_ACTIONS = [
    {"key": "called", "label": {"en": "Called the embassy"},
     "outcomes": ["reached", "voicemail", "no-answer"]},
    {"key": "wrote", "label": {"en": "Wrote a letter"}, "outcomes": []},
]
# Values the forms take, so that generated posts get past the first check now and then.
KNOWN_VALUES = ["called", "wrote", "reached", "voicemail", "DE", "1", "en", "A story."]
# A 2xx or 3xx for what was accepted; otherwise one of the refusals a person can act on.
REFUSALS = {400, 403, 404, 405, 409, 413, 415, 422, 429}

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
# Each story is sealed and each report written: fewer examples keep the module quick.
FUZZ_FEW = settings(FUZZ, max_examples=60)

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
form_values = st.sampled_from(KNOWN_VALUES) | texts
# (name, value) pairs rather than a mapping: a form repeats a name (several "action" boxes).
# Each post starts from what the form sends (a story, actions the petition declares, mostly),
# so that many get past the first check; the fields around it are anyone's guess.
story_fields = st.builds(
    lambda story, extra: [("story", story), *extra],
    st.sampled_from(KNOWN_VALUES) | texts,
    st.lists(st.tuples(st.sampled_from(STORY_FIELDS) | texts, form_values), max_size=6),
)
declared_actions = st.sampled_from(["called", "wrote"])
report_fields = st.builds(
    lambda actions, extra: [*(("action", action) for action in actions), *extra],
    st.lists(declared_actions | texts, max_size=3),
    st.lists(st.tuples(st.sampled_from(REPORT_FIELDS) | texts, form_values), max_size=5),
)
report_objects = st.builds(
    lambda actions, extra, unknown: {"actions": actions, **extra, **unknown},
    st.lists(declared_actions, max_size=3) | st.lists(declared_actions | json_values, max_size=3)
    | json_values,
    st.dictionaries(st.sampled_from(REPORT_FIELDS), form_values | json_values, max_size=3),
    st.just({}) | st.dictionaries(st.text(max_size=12), json_values, max_size=1),
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             migrated_sqlite: Path) -> Iterator[Flask]:
    """One app per database for the whole module: hypothesis runs hundreds of requests."""
    folder = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    limits = {"RATELIMIT_SIGN": "1000000/minute", "RATELIMIT_REPORT": "1000000/minute",
              "PLUGINS": {"petitionkit-stories": {"rate_limit": "1000000/minute"}}}
    if request.param == "sqlite":
        application = make_app(folder, migrated_sqlite, **limits)
        add_petitions(application)
        yield application
        return
    with postgres_database() as url:
        application = make_app(folder, migrated_sqlite, DATABASE_URL=url, **limits)
        migrate(application)
        add_petitions(application)
        yield application
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def add_petitions(app: Flask) -> None:
    """The signing petition, and one that also takes stories and reports, with a report counted
    through a confirmed signer's link so that the counted figures start above zero."""
    add_petition(app, asks_country=True, asks_postal_code=True)
    generate_key_pair(app.instance_path, "stories")
    add_petition(app, slug=ASKING, report_actions=REPORT_ACTIONS, sections={
        "stories": read_stories({"prompt": "What happened?", "fields": ["name", "country"]}),
    })
    signature_id = sign_and_confirm(app, ASKING, "Mirela Ionescu", "mirela@example.org")
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        token = make_token(TEST_SECRET, Purpose.REPORT, signature_id, signature.token_nonce)
    counted = app.test_client().post(REPORT_FORM, data={"token": token, "action": "called"})
    assert counted.status_code == 200, counted.text
    assert counted_reports(app) == {"called": 1, "wrote": 0}


def counted_reports(app: Flask) -> dict[str, int]:
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == ASKING))
        assert petition is not None
        return action_counts(db.session(), petition).counted


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
         "/confirm/{}", "/cancel/{}", "/oembed?url={}", "/?lang={}", "/widget.js?{}",
         "/p/{}/story", "/embed/{}/story", "/p/{}/report", "/api/v1/petitions/{}/reports"]


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
@given(body=extreme_json, template=st.sampled_from([FORM, *PAGES]),
       slug=st.sampled_from([SLUG, ASKING]))
def test_every_address_answers_extreme_json_bodies(
    fuzz_app: Flask, body: str, template: str, slug: str
) -> None:
    """Pages do not read JSON, but the language lookup looks at a posted body: whatever it finds
    there, the page answers in its own format."""
    client = fuzz_app.test_client()
    url = template.format(slug) if "{}" in template else template
    response = client.post(url, data=body, content_type="application/json")
    wants_json = url.startswith(("/api/", "/oembed"))
    check(response, "application/json" if wants_json else "text/html")


@FUZZ_FEW
@given(fields=story_fields, path=st.sampled_from(STORY_PATHS))
def test_the_story_form_answers_any_fields_with_a_page(
    fuzz_app: Flask, fields: list[tuple[str, str]], path: str
) -> None:
    client = fuzz_app.test_client()
    body = urlencode(fields, encoding="utf-8", errors="surrogatepass")
    check(client.post(path, data=body, content_type="application/x-www-form-urlencoded"),
          "text/html")


@FUZZ_FEW
@given(raw=st.binary(max_size=400), path=st.sampled_from(STORY_PATHS),
       content_type=st.sampled_from(["application/x-www-form-urlencoded",
                                     "multipart/form-data; boundary=x", "application/json"]))
def test_the_story_form_answers_any_bytes_with_a_page(
    fuzz_app: Flask, raw: bytes, path: str, content_type: str
) -> None:
    client = fuzz_app.test_client()
    check(client.post(path, data=raw, content_type=content_type), "text/html")


@FUZZ_FEW
@given(fields=report_fields)
def test_anonymous_form_reports_answer_with_a_page_and_never_move_the_counts(
    fuzz_app: Flask, fields: list[tuple[str, str]]
) -> None:
    before = counted_reports(fuzz_app)
    client = fuzz_app.test_client()
    body = urlencode(fields, encoding="utf-8", errors="surrogatepass")
    check(client.post(REPORT_FORM, data=body, content_type="application/x-www-form-urlencoded"),
          "text/html")
    assert counted_reports(fuzz_app) == before


@FUZZ_FEW
@given(body=report_objects.map(json.dumps) | st.binary(max_size=400) | extreme_json)
def test_anonymous_json_reports_answer_with_json_and_never_move_the_counts(
    fuzz_app: Flask, body: str | bytes
) -> None:
    before = counted_reports(fuzz_app)
    client = fuzz_app.test_client()
    check(client.post(REPORT_API, data=body, content_type="application/json"),
          "application/json")
    assert counted_reports(fuzz_app) == before
