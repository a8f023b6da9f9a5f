"""Signer safety across the parts: what logs, metrics and error pages may never give away."""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text
from werkzeug.test import TestResponse

from petitionkit.extensions import db
from petitionkit.outbox.models import OutboxJob
from petitionkit.outbox.worker import run_batch
from petitionkit.signatures.models import Signature
from petitionkit.signatures.tokens import Purpose, make_token

from .conftest import TEST_SECRET, add_petition, make_app


@pytest.mark.parametrize("purpose, path", [(Purpose.CONFIRM, "/confirm/"),
                                           (Purpose.CANCEL, "/cancel/")])
def test_an_unexpected_error_on_a_link_does_not_log_its_token(
    tmp_path: Path, migrated_sqlite: Path, caplog: pytest.LogCaptureFixture,
    purpose: Purpose, path: str,
) -> None:
    """The token in a confirmation or "it wasn't me" link acts on a signature: a log reader
    must not be able to use it."""
    app = make_app(tmp_path, migrated_sqlite, TESTING=False)
    add_petition(app)
    token = make_token(TEST_SECRET, purpose, 1, "nonce-of-the-signature")
    with app.app_context():
        # A broken database: the kind of failure that reaches the catch-all error handler.
        db.session.execute(text("DROP TABLE signatures"))
        db.session.commit()
    caplog.set_level(logging.DEBUG)

    response = app.test_client().get(path + token)

    assert response.status_code == 500
    errors = [record for record in caplog.records if record.name == "petitionkit.errors"]
    assert errors, "the unexpected error was not logged at all"
    for record in caplog.records:
        logged = " ".join([record.getMessage(), record.exc_text or "", str(record.args)])
        assert token not in logged, f"{record.name} logged the token: {logged}"


def _metrics(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def _changes(
    before: dict[tuple[str, tuple[tuple[str, str], ...]], float],
    after: dict[tuple[str, tuple[tuple[str, str], ...]], float],
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {key: value - before.get(key, 0.0) for key, value in after.items()
            if key[0].startswith("petitionkit_") and not key[0].endswith("_created")
            and value != before.get(key, 0.0)}


def test_metrics_do_not_tell_a_first_signing_from_an_address_that_had_signed(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    """/metrics is read by whoever can reach it: signing with someone's address and scraping
    must not show whether that address had already signed."""
    app = make_app(tmp_path, migrated_sqlite)
    slug = add_petition(app)
    client = app.test_client()
    form = {"name": "Orla Fennimore", "email": "orla.f@example.org"}

    before_first = _metrics(client)
    assert client.post(f"/p/{slug}/sign", data=form).status_code == 303
    with app.app_context():
        assert run_batch(app).delivered == 1
        signature = db.session.scalars(select(Signature)).one()
        token = make_token(TEST_SECRET, Purpose.CONFIRM, signature.id, signature.token_nonce)
    first = _changes(before_first, _metrics(client))

    assert client.post(f"/confirm/{token}").status_code == 200
    before_repeat = _metrics(client)
    assert client.post(f"/p/{slug}/sign", data=form).status_code == 303
    with app.app_context():
        assert run_batch(app).delivered == 1
    repeat = _changes(before_repeat, _metrics(client))

    assert first, "the first signing changed no metric at all"
    assert repeat == first


@pytest.mark.parametrize("petition_status", ["open", "closed"])
def test_an_error_met_inside_the_widget_can_be_shown_in_its_frame(
    tmp_path: Path, migrated_sqlite: Path, petition_status: str
) -> None:
    """A signer on a shared connection can hit the rate limit from the widget, or sign as the
    petition closes: the page saying so must be allowed in the frame, or the signer sees only
    the browser's refusal to show it."""
    app = make_app(tmp_path, migrated_sqlite, RATELIMIT_SIGN="1/minute")
    slug = add_petition(app)
    client = app.test_client()
    form = {"name": "Orla Fennimore", "email": "orla.f@example.org", "embed": "1"}
    framed = {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "same-origin"}
    assert client.post(f"/p/{slug}/sign", data=form, headers=framed).status_code == 303
    if petition_status == "closed":
        add_petition(app, status="closed")
        app.extensions["petitionkit.summary_cache"].clear()
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    expected = 429 if petition_status == "open" else 409

    refused = client.post(f"/p/{slug}/sign", data=form, headers=framed)

    assert refused.status_code == expected
    assert refused.mimetype == "text/html"
    assert ("Too many attempts from your connection" if expected == 429 else "closed") in (
        refused.get_data(as_text=True))
    policy = refused.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' http://127.0.0.1:8000" in policy
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    # The hosted page's own post keeps the strict policy.
    if petition_status == "closed":
        client.environ_base["REMOTE_ADDR"] = "198.51.100.10"
    hosted = client.post(f"/p/{slug}/sign", data={**form, "embed": ""},
                         headers={"Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "same-origin"})
    assert hosted.status_code == expected
    assert "frame-ancestors 'none'" in hosted.headers["Content-Security-Policy"]


def _answer(response: TestResponse) -> tuple[int, str, dict[str, str]]:
    varying = {"Date", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"}
    headers = {key: value for key, value in response.headers.items() if key not in varying}
    return response.status_code, response.get_data(as_text=True), headers


def test_no_answer_tells_whether_an_address_had_signed(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    """First signing, repeat while pending, repeat once confirmed, after "it wasn't me", and past
    the daily mail allowance: the form and the JSON API answer each the same way."""
    from petitionkit.signatures import services

    app = make_app(tmp_path, migrated_sqlite, MAX_EMAILS_PER_ADDRESS_PER_DAY=3)
    slug = add_petition(app)
    client = app.test_client()

    def sign(email: str) -> tuple[tuple[int, str, dict[str, str]], ...]:
        form = client.post(f"/p/{slug}/sign", data={"name": "Orla Fennimore", "email": email})
        api = client.post(f"/api/v1/petitions/{slug}/signatures",
                          json={"name": "Orla Fennimore", "email": email})
        return _answer(form), _answer(api)

    def signature_of(email: str) -> Signature:
        return next(signature for signature in db.session.scalars(select(Signature))
                    if signature.email == email)

    first = sign("first@example.org")
    assert first[0][0] == 303 and first[1][0] == 202
    sign("pending@example.org")
    sign("confirmed@example.org")
    sign("withdrawn@example.org")
    with app.app_context():
        confirmed = signature_of("confirmed@example.org")
        assert services.confirm(db.session, confirmed.id, confirmed.token_nonce)[0] is (
            services.ConfirmOutcome.CONFIRMED)
        withdrawn = signature_of("withdrawn@example.org")
        assert services.cancel(db.session, withdrawn.id, withdrawn.token_nonce) is (
            services.CancelOutcome.CANCELLED)
    for email in ("pending@example.org", "confirmed@example.org", "withdrawn@example.org"):
        assert sign(email) == sign("new-" + email), email
    # Each round signs twice (form, then API): this address is past its three mails of the day.
    assert sign("pending@example.org") == sign("another@example.org")


def test_the_honeypot_answers_like_a_person_and_keeps_nothing(client: FlaskClient,
                                                              petition: str, app: Flask) -> None:
    person = {"name": "Orla Fennimore", "email": "orla.f@example.org"}
    bot = {"name": "Bot Example", "email": "bot@example.org", "website": "http://spam.example"}
    assert _answer(client.post(f"/p/{petition}/sign", data=bot)) == _answer(
        client.post(f"/p/{petition}/sign", data=person))
    api = f"/api/v1/petitions/{petition}/signatures"
    assert _answer(client.post(api, json={**bot, "email": "bot2@example.org"})) == _answer(
        client.post(api, json={**person, "email": "orla.g@example.org"}))
    with app.app_context():
        stored = {signature.email for signature in db.session.scalars(select(Signature))}
        jobs = db.session.scalar(select(func.count(OutboxJob.id)))
    assert stored == {"orla.f@example.org", "orla.g@example.org"}
    assert jobs == 2


def test_rate_limits_in_redis_hold_no_client_address(
    tmp_path: Path, migrated_sqlite: Path, redis_url: str
) -> None:
    import redis

    prefix = f"pk-test-{uuid.uuid4().hex[:8]}"
    app = make_app(tmp_path, migrated_sqlite, RATELIMIT_STORAGE_URI=redis_url,
                   RATELIMIT_KEY_PREFIX=prefix, TRUSTED_PROXIES=1)
    slug = add_petition(app)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    response = client.post(f"/p/{slug}/sign", data={"name": "Orla", "email": "o@example.org"},
                           headers={"X-Forwarded-For": "203.0.113.77"})
    assert response.status_code == 303
    store = redis.Redis.from_url(redis_url)
    try:
        keys = [key.decode() for key in store.scan_iter(match=f"*{prefix}*")]
        assert keys, "the signing left no rate-limit key in Redis"
        values = [str(store.dump(key)) for key in keys]
        for text_found in keys + values:
            assert "203.0.113.77" not in text_found and "10.0.0.2" not in text_found
    finally:
        for key in store.scan_iter(match=f"*{prefix}*"):
            store.delete(key)
        store.close()


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def test_every_page_escapes_what_it_shows_and_carries_a_policy(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    """Titles, texts, share posts, hashtags, targets and signers' names that try to be markup
    stay text on every page a signer can reach, and each HTML answer has a CSP."""
    app = make_app(tmp_path, migrated_sqlite)
    slug = add_petition(
        app, title="T" + HOSTILE, summary="S" + HOSTILE, status_line="L" + HOSTILE,
        consent_text="C" + HOSTILE, share={"hashtags": ["#h" + HOSTILE], "posts": ["p" + HOSTILE]},
        letter={"salutation": "Dear" + HOSTILE, "closing": "c" + HOSTILE},
        targets=[{"name": "N" + HOSTILE, "title": "Ti" + HOSTILE, "organization": "O" + HOSTILE}],
    )
    client = app.test_client()
    signer = {"name": "Ann" + HOSTILE, "email": "ann@example.org", "show_name": "y",
              "source": "s" + HOSTILE[:40]}
    answers = [
        client.post(f"/p/{slug}/sign", data={**signer, "email": "not an address"}),
        client.post(f"/p/{slug}/sign", data={**signer, "email": "x", "embed": "1"}),
        client.post(f"/p/{slug}/sign", data=signer),
    ]
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        confirm = make_token(TEST_SECRET, Purpose.CONFIRM, signature.id, signature.token_nonce)
        cancel = make_token(TEST_SECRET, Purpose.CANCEL, signature.id, signature.token_nonce)
    answers += [client.get(f"/confirm/{confirm}"), client.post(f"/confirm/{confirm}")]
    answers += [client.get(path) for path in (
        f"/p/{slug}", f"/embed/{slug}", f"/embed/{slug}?source=x{HOSTILE}&accent={HOSTILE}",
        f"/p/{slug}/check-email", f"/embed/{slug}/check-email", f"/cancel/{cancel}",
        f"/share/mastodon?instance=social.example&text={HOSTILE}", "/no/such/page",
        "/confirm/broken",
    )]
    answers.append(client.get(f"/embed/{slug}", headers={"Referer": "https://elsewhere.example/"}))
    answers.append(client.post(f"/cancel/{cancel}"))

    assert any("Ann" in answer.get_data(as_text=True) for answer in answers), "no name shown"
    for answer in answers:
        page = answer.get_data(as_text=True)
        where = f"{answer.request.method} {answer.request.path}"
        assert answer.mimetype == "text/html", where
        assert "<script>alert" not in page and "<img src=x" not in page, where
        policy = answer.headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy and "default-src 'self'" in policy, where
        assert "base-uri 'none'" in policy, where
        # Loaded by the page itself (not links): only from this engine.
        loaded = re.findall(r'<(?:script|img|link|iframe)\b[^>]*\b(?:src|href)="([^"]+)"', page)
        foreign = [url for url in loaded if url.startswith(("http:", "https:", "//"))
                   and not url.startswith("http://localhost/")]
        assert not foreign, f"{where} loads {foreign}"


@pytest.mark.parametrize("url", [
    "http://localhost@elsewhere.example/p/free-the-poet",
    "http://elsewhere.example/p/free-the-poet?http://localhost/",
    "javascript://localhost/p/free-the-poet",
    "//elsewhere.example/p/free-the-poet",
    "http://localhost/p/free-the-poet/../../redirect",
])
def test_oembed_answers_only_for_its_own_pages(
    client: FlaskClient, petition: str, url: str
) -> None:
    assert client.get("/oembed", query_string={"url": url}).status_code == 404


def test_oembed_html_names_only_this_engine(client: FlaskClient, app: Flask) -> None:
    slug = add_petition(app, slug="quoted", title='A "quoted" <title>')
    # Whatever Host the request names, the iframe points at PUBLIC_URL.
    answer = client.get("/oembed", query_string={"url": f"http://evil.example/p/{slug}"},
                        headers={"Host": "evil.example"})
    assert answer.status_code == 200
    html = answer.json["html"]
    assert 'src="http://localhost/embed/quoted"' in html and "evil.example" not in html
    assert 'title="A &#34;quoted&#34; &lt;title&gt;"' in html


def test_a_failing_database_inside_the_widget_still_gets_the_error_page(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = make_app(tmp_path, migrated_sqlite, TESTING=False)
    slug = add_petition(app)
    with app.app_context():
        db.session.execute(text("DROP TABLE petitions"))
        db.session.commit()
    framed = {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "same-origin"}
    for answer in (
        app.test_client().get(f"/embed/{slug}", headers=framed),
        app.test_client().post(f"/p/{slug}/sign", headers=framed,
                               data={"name": "Orla", "email": "o@example.org", "embed": "1"}),
    ):
        assert answer.status_code == 500
        assert "Something went wrong on our side" in answer.get_data(as_text=True)
        # The petition could not be read, so its allowed origins are unknown; the page is a
        # notice with nothing to click, so any page may frame it instead of a browser refusal.
        assert "frame-ancestors *;" in answer.headers["Content-Security-Policy"]


def test_check_email_page_names_the_mail_folder_only_in_demo_mode(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    """An instance that merely lacks MAIL_URL must not show signers a path on its server."""
    for demo, shown in ((False, False), (True, True)):
        folder_for_app = tmp_path / f"demo-{demo}"
        folder_for_app.mkdir()
        app = make_app(folder_for_app, migrated_sqlite, DEMO_MODE=demo)
        slug = add_petition(app)
        folder = str(app.config["DEV_MAIL_DIR"])
        for path in (f"/p/{slug}/check-email", f"/embed/{slug}/check-email"):
            page = app.test_client().get(path).get_data(as_text=True)
            assert (folder in page) is shown, (path, demo)


def test_names_with_line_or_paragraph_separators_are_refused(client: FlaskClient,
                                                             petition: str) -> None:
    for separator in ("\u2028", "\u2029"):
        form = {"name": f"Ann{separator}Reply-To: x", "email": "a@example.org"}
        response = client.post(f"/p/{petition}/sign", data=form)
        assert response.status_code == 422
        assert "invisible control characters" in response.get_data(as_text=True)


def test_signing_log_line_does_not_say_whether_the_address_had_signed(
    client: FlaskClient, petition: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="petitionkit")
    for _ in range(2):
        client.post(f"/p/{petition}/sign", data={"name": "Ann", "email": "ann@example.org"})
    lines = [r.getMessage() for r in caplog.records if r.name == "petitionkit.signatures"]
    assert len(lines) == 2 and lines[0] == lines[1]
