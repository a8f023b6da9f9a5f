"""Signer safety across the parts: what logs, metrics and error pages may never give away."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text

from petitionkit.extensions import db
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
