"""Generated hostile input on every form of the workspace, posted by a signed-in owner with a
valid CSRF token, so that it reaches the checks behind the token: markup and script, bidi
controls, NUL and other control characters, huge values and bytes that are not UTF-8. Whatever
arrives, the answer is never a 5xx; a refusal is a page that says what is wrong, and nothing
typed comes back as markup.

Both databases, because PostgreSQL refuses some values (NUL in text) that SQLite stores.
tests/test_fuzz.py does the same for the signers' side.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_from_bytes

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from petitionkit.extensions import db
from petitionkit.testing import sign_and_confirm

from .admin import csrf_token, sign_in
from .conftest import add_petition, make_app, migrate, postgres_database

SLUG = "free-the-poet"
SCRIPT = "<script>alert(1)</script>"
# Values that are known to be hard, mixed into the generated ones.
HOSTILE = [
    SCRIPT, '"><img src=x onerror=alert(1)>', "javascript:alert(1)", "=HYPERLINK(\"x\")",
    "\u202egnp.exe", "\u2066\u2067\u2068\u2069\u200f", "\x00", "a\x00b", "\x1b[31m",
    "\ufeff", "\ud7ff\ue000\U0010ffff", "%00", "%ff", "{{ 7*7 }}", "' OR 1=1 --",
    "../../etc/passwd", "ana@example.org\x00", "@", "a@", "\u0130@example.org",
    "2026-12-05T14:30", "9999-12-31T23:59-05:00", "-1", "9" * 40, "spam.example",
    "targets: [unclosed", "a: &a [x, x]\nb: [*a, *a]",
]
# Bytes a browser never sends in a UTF-8 form but a script can: cut sequences, overlong forms,
# surrogates, bytes that never occur in UTF-8.
BAD_BYTES = [b"\xff", b"\xfe\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80",
             b"ok\xffthen"]

texts = (st.sampled_from(HOSTILE)
         | st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
         | st.lists(st.sampled_from(HOSTILE), min_size=2, max_size=5).map("".join))
# Long and very long values: past the fields' limits, and past the size of a whole request.
huge = st.sampled_from([2_000, 70_000, 150_000, 1_200_000]).flatmap(
    lambda size: st.sampled_from(["x", "\u202e", "<b>", "é", "\x00"]).map(lambda c: c * size))
values = st.one_of(texts.map(str.encode), st.sampled_from(BAD_BYTES) | st.binary(max_size=60),
                   huge.map(str.encode))


@dataclass(frozen=True)
class Form:
    path: str
    fields: tuple[str, ...]
    # Sent as they are with every generated post (the preview button).
    fixed: tuple[tuple[str, str], ...] = ()


PETITION_FIELDS = ("title", "slug", "summary", "body", "status", "kind", "locale", "goal",
                   "opens_at", "closes_at", "people", "organizations", "allowed_origins", "more")
FORMS = {
    "petition create": Form("/admin/petitions/new", PETITION_FIELDS),
    "petition preview": Form("/admin/petitions/new", PETITION_FIELDS, (("preview", "1"),)),
    "petition edit": Form(f"/admin/p/{SLUG}/edit", PETITION_FIELDS),
    "moderation search": Form(f"/admin/p/{SLUG}/signatures", ("email", "name")),
    "hide a name": Form(f"/admin/p/{SLUG}/signatures/{{signature}}/hide", ("reason",)),
    "invalidate": Form(f"/admin/p/{SLUG}/signatures/{{signature}}/invalidate", ("reason",)),
    "bulk preview": Form(f"/admin/p/{SLUG}/invalidations/preview",
                         ("domain", "since", "until", "source")),
    "user add": Form("/admin/users", ("email", "role")),
    "token create": Form("/admin/tokens", ("name", "role", "petition")),
}
# A 2xx or 3xx for what was accepted; otherwise a refusal a person can act on.
REFUSALS = {400, 404, 409, 413, 422}
_MESSAGE = re.compile(r'class="error"[^>]*>\s*([^<\s][^<]*)<|<h1>\s*([^<\s][^<]*)</h1>')

FUZZ = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass
class Workspace:
    app: Flask
    client: FlaskClient
    token: str
    signature: int


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def workspace(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
              migrated_sqlite: Path) -> Iterator[Workspace]:
    """One app and one owner's sign-in per database for the module: hypothesis posts hundreds
    of forms."""
    folder = tmp_path_factory.mktemp(f"admin-fuzz-{request.param}")
    if request.param == "sqlite":
        yield _signed_in(make_app(folder, migrated_sqlite))
        return
    with postgres_database() as url:
        application = make_app(folder, migrated_sqlite, DATABASE_URL=url)
        migrate(application)
        yield _signed_in(application)
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def _signed_in(app: Flask) -> Workspace:
    add_petition(app, slug=SLUG)
    signature = sign_and_confirm(app, SLUG, "Ayşe Yılmaz", "ayse@example.org", show_name=True)
    client = app.test_client()
    sign_in(client, "owner@example.org", "owner", app)
    return Workspace(app, client, csrf_token(client, "/admin/"), signature)


def encoded(fields: dict[str, bytes], token: str) -> bytes:
    """A form body as a script would send it: each value's bytes percent-encoded as they are,
    whether or not they are UTF-8."""
    pairs = [f"{quote(name)}={quote_from_bytes(value)}" for name, value in fields.items()]
    return "&".join([*pairs, f"csrf_token={quote(token)}"]).encode("ascii")


def check(answer: TestResponse, sent: dict[str, bytes]) -> None:
    status = answer.status_code
    page = answer.get_data(as_text=True)
    assert status < 400 or status in REFUSALS, (status, page[:500])
    if status >= 400:
        found = _MESSAGE.search(page)
        assert found, (status, page[:2000])
        message = (found.group(1) or found.group(2)).strip()
        assert len(message) > 3 and "Traceback" not in page, (status, message)
    if any(SCRIPT.encode() in value for value in sent.values()):
        assert SCRIPT not in page  # kept as text, never as markup


@pytest.mark.parametrize("name", FORMS)
def test_generated_input_never_breaks_a_workspace_form(workspace: Workspace, name: str) -> None:
    form = FORMS[name]
    path = form.path.format(signature=workspace.signature)

    @FUZZ
    @given(data=st.fixed_dictionaries({}, optional={field: values for field in form.fields}))
    def post(data: dict[str, bytes]) -> None:
        sent = {**data, **{key: value.encode() for key, value in form.fixed}}
        answer = workspace.client.post(path, data=encoded(sent, workspace.token),
                                       content_type="application/x-www-form-urlencoded")
        check(answer, sent)

    post()


@pytest.mark.parametrize("name, data, words", [
    ("petition create", {"title": b"\xff\xfe", "slug": b"bad-bytes"}, "Nothing was saved"),
    ("petition create", {"title": b"A title\x00", "slug": b"nul"}, "Nothing was saved"),
    ("moderation search", {"email": b"ayse\xffexample.org"}, "not an e-mail address"),
    ("moderation search", {"name": b"Ay\x00e"}, "control characters"),
    ("moderation search", {"name": b"Ay\xffe"}, "could not be read"),
    ("bulk preview", {"source": b"widget\x00"}, "control characters"),
    ("bulk preview", {"domain": b"<b>x</b>.org"}, "not a domain"),
    ("user add", {"email": b"\x00@example.org", "role": b"viewer"}, "address"),
    ("token create", {"name": b"", "role": b"viewer"}, "required"),
    ("token create", {"name": b"figures", "role": b"viewer", "petition": b"free-the-poet\xff"},
     "There is no petition"),
    ("token create", {"name": b"figures", "role": b"viewer", "petition": b"free-the-poet\x00"},
     "There is no petition"),
])
def test_known_bad_values_are_refused_in_words(workspace: Workspace, name: str,
                                               data: dict[str, bytes], words: str) -> None:
    form = FORMS[name]
    answer = workspace.client.post(form.path.format(signature=workspace.signature),
                                   data=encoded(data, workspace.token),
                                   content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 422, answer.get_data(as_text=True)[:2000]
    assert words in answer.get_data(as_text=True)
