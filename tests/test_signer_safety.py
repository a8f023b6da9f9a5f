"""Signer safety across the parts: what logs, metrics and error pages may never give away."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from petitionkit.extensions import db
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
