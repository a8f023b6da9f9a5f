"""The count is one column read in O(1); confirm and cancel change it in the same transaction as
the signature, so concurrent confirmations never lose an increment."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlalchemy import select

from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.signatures import services
from petitionkit.signatures.models import Signature
from petitionkit.signatures.services import CancelOutcome, ConfirmOutcome, SignatureInput

from .conftest import add_petition


def pending_signatures(app: Flask, slug: str, count: int) -> list[tuple[int, str]]:
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        assert petition is not None
        policy = app.extensions["petitionkit.signing_policy"]
        for number in range(count):
            services.sign(db.engine, petition,
                          SignatureInput(name=f"Signer {number}", email=f"s{number}@example.org"),
                          policy)
        return [(s.id, s.token_nonce) for s in db.session.scalars(select(Signature))]


def count_of(app: Flask, slug: str) -> int:
    with app.app_context():
        count = db.session.scalar(select(Petition.signature_count).where(Petition.slug == slug))
        assert count is not None
        return count


def test_confirm_and_cancel_move_the_count(app: Flask) -> None:
    slug = add_petition(app)
    [(first, first_nonce), (second, second_nonce)] = pending_signatures(app, slug, 2)
    with app.app_context():
        session = db.session()
        assert services.confirm(session, first, first_nonce)[0] is ConfirmOutcome.CONFIRMED
        assert count_of(app, slug) == 1
        assert services.confirm(session, first, first_nonce)[0] is ConfirmOutcome.ALREADY_CONFIRMED
        assert count_of(app, slug) == 1, "a replayed confirmation counts once"
        assert services.cancel(session, second, second_nonce) is CancelOutcome.CANCELLED
        assert count_of(app, slug) == 1, "withdrawing an unconfirmed signature changes nothing"
        assert services.cancel(session, first, first_nonce) is CancelOutcome.CANCELLED
        assert count_of(app, slug) == 0
        assert services.cancel(session, first, first_nonce) is CancelOutcome.ALREADY_CANCELLED
        assert count_of(app, slug) == 0


def test_concurrent_confirmations_on_postgresql(pg_app: Flask) -> None:
    slug = add_petition(pg_app)
    signatures = pending_signatures(pg_app, slug, 24)

    def confirm(signature: tuple[int, str]) -> ConfirmOutcome:
        with pg_app.app_context():
            return services.confirm(db.session(), *signature)[0]

    # Every signature confirmed twice at once, from eight connections.
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(confirm, signatures * 2))
    assert outcomes.count(ConfirmOutcome.CONFIRMED) == 24
    assert count_of(pg_app, slug) == 24
