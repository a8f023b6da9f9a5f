"""One signature per petition per person, and answers that never tell whether an address signed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from threading import Barrier

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from petitionkit.config import DEFAULTS
from petitionkit.extensions import db
from petitionkit.outbox.models import OutboxJob
from petitionkit.petitions.models import utcnow
from petitionkit.signatures.models import Signature
from petitionkit.signatures.normalize import NormalizationRules, blind_index, normalize_email
from petitionkit.signatures.services import ALREADY_SIGNED_EMAIL, CONFIRM_EMAIL
from petitionkit.signatures.tokens import Purpose, make_token

from .conftest import add_petition, make_app

SLUG = "free-the-poet"
RULES = NormalizationRules.from_config(DEFAULTS)


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("Odile@Example.ORG", "odile@example.org"),
        ("o.d.i.l.e+petitions@googlemail.com", "odile@gmail.com"),
        ("O.Dile@GMAIL.com", "odile@gmail.com"),
        ("odile+news@outlook.com", "odile@outlook.com"),
        ("o.dile@outlook.com", "o.dile@outlook.com"),  # Outlook keeps dots
        ("odile+tag@example.org", "odile+tag@example.org"),  # unknown providers keep +tags
        ("o.dile@example.org", "o.dile@example.org"),
        ("odile@pm.me", "odile@proton.me"),
        ("odile@example.org.", "odile@example.org"),
    ],
)
def test_normalization(typed: str, canonical: str) -> None:
    assert normalize_email(typed, RULES) == canonical


def test_normalization_rules_come_from_config() -> None:
    rules = NormalizationRules.from_config({
        **DEFAULTS,
        "EMAIL_DOTLESS_DOMAINS": ["Example.org"],
        "EMAIL_PLUS_TAG_DOMAINS": ["example.org"],
        "EMAIL_DOMAIN_ALIASES": {"example.net": "example.org"},
    })
    assert normalize_email("o.d.ile+x@example.net", rules) == "odile@example.org"
    assert normalize_email("o.d.ile+x@gmail.com", rules) == "o.d.ile+x@gmail.com"


def test_blind_index_is_keyed() -> None:
    address = "odile@example.org"
    one = blind_index(address, b"k" * 32)
    assert one == blind_index(address, b"k" * 32)
    assert one != blind_index(address, b"j" * 32)
    assert one != hashlib.sha256(address.encode()).digest()


def rows(app: Flask) -> list[Signature]:
    with app.app_context():
        found = list(db.session.scalars(select(Signature)))
        db.session.expunge_all()
        db.session.remove()
    return found


def mail_jobs(app: Flask) -> list[str]:
    with app.app_context():
        kinds = list(db.session.scalars(select(OutboxJob.kind).order_by(OutboxJob.id)))
        db.session.remove()
    return kinds


def test_variants_of_one_address_sign_once(app: Flask, petition: str) -> None:
    client = app.test_client()
    for typed in ("Odile.Farrow@gmail.com", "odilefarrow+petition@googlemail.com",
                  "ODILEFARROW@GMAIL.COM"):
        response = client.post(f"/p/{SLUG}/sign", data={"name": "Odile", "email": typed})
        assert response.status_code == 303
    [signature] = rows(app)
    assert signature.email == "Odile.Farrow@gmail.com", "mail goes where it was first typed"
    assert signature.email_hash == blind_index(
        "odilefarrow@gmail.com", app.extensions["petitionkit.keys"].blind_index
    )


def test_one_address_may_sign_different_petitions(app: Flask, petition: str) -> None:
    add_petition(app, slug="second-petition")
    client = app.test_client()
    for slug in (SLUG, "second-petition"):
        client.post(f"/p/{slug}/sign", data={"name": "Odile", "email": "odile@example.org"})
    assert len(rows(app)) == 2


def concurrent_signings(app: Flask, threads: int) -> list[TestResponse]:
    barrier = Barrier(threads)

    def submit(index: int) -> TestResponse:
        client = app.test_client()
        barrier.wait()
        return client.post(
            f"/api/v1/petitions/{SLUG}/signatures",
            json={"name": "Odile", "email": "odile@example.org"},
            environ_base={"REMOTE_ADDR": f"192.0.2.{index + 1}"},
        )

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(submit, range(threads)))


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_concurrent_identical_submissions_create_one_row(
    request: pytest.FixtureRequest, database: str
) -> None:
    app: Flask = request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    add_petition(app)
    responses = concurrent_signings(app, threads=16)
    assert [response.status_code for response in responses] == [202] * 16
    assert len({response.get_data() for response in responses}) == 1
    assert len(rows(app)) == 1
    cap = app.config["MAX_EMAILS_PER_ADDRESS_PER_DAY"]
    assert mail_jobs(app) == [CONFIRM_EMAIL] * cap


def comparable(response: TestResponse) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((key, value) for key, value in response.headers.items() if key != "Date")
    return response.status_code, headers, response.get_data()


SignFunction = Callable[[str], TestResponse]


def form_signer(app: Flask) -> SignFunction:
    client = app.test_client()

    def sign(email: str) -> TestResponse:
        return client.post(f"/p/{SLUG}/sign", data={"name": "Odile", "email": email})

    return sign


def api_signer(app: Flask) -> SignFunction:
    client = app.test_client()

    def sign(email: str) -> TestResponse:
        return client.post(f"/api/v1/petitions/{SLUG}/signatures",
                           data=json.dumps({"name": "Odile", "email": email}),
                           content_type="application/json",
                           headers={"Origin": "http://127.0.0.1:8000"})

    return sign


@pytest.mark.parametrize("make_signer", [form_signer, api_signer], ids=["form", "api"])
def test_every_case_answers_byte_for_byte_alike(
    tmp_path: Path, migrated_sqlite: Path, make_signer: Callable[[Flask], SignFunction]
) -> None:
    app = make_app(tmp_path, migrated_sqlite, MAX_EMAILS_PER_ADDRESS_PER_DAY=2)
    add_petition(app)
    sign = make_signer(app)
    secret = app.config["SECRET_KEY"]

    first = comparable(sign("pending@example.org"))
    cases = {"pending, confirmation re-sent": sign("pending@example.org")}

    sign("confirmed@example.org")
    confirmed = next(s for s in rows(app) if s.email == "confirmed@example.org")
    client = app.test_client()
    token = make_token(secret, Purpose.CONFIRM, confirmed.id, confirmed.token_nonce)
    assert client.post(f"/confirm/{token}").status_code == 200
    cases["confirmed, already-signed email"] = sign("confirmed@example.org")

    sign("cancelled@example.org")
    cancelled = next(s for s in rows(app) if s.email == "cancelled@example.org")
    token = make_token(secret, Purpose.CANCEL, cancelled.id, cancelled.token_nonce)
    assert client.post(f"/cancel/{token}").status_code == 200
    cases["cancelled, nothing sent"] = sign("cancelled@example.org")

    cases["pending, daily allowance spent"] = sign("pending@example.org")
    cases["honeypot filled"] = app.test_client().post(
        f"/p/{SLUG}/sign", data={"name": "Odile", "email": "bot@example.org", "website": "x"}
    ) if make_signer is form_signer else app.test_client().post(
        f"/api/v1/petitions/{SLUG}/signatures",
        data=json.dumps({"name": "Odile", "email": "bot@example.org", "website": "x"}),
        content_type="application/json", headers={"Origin": "http://127.0.0.1:8000"},
    )
    for case, response in cases.items():
        assert comparable(response) == first, case

    # "It wasn't me" erased the cancelled signature's personal data: it has no address to list.
    by_address = {s.email: s.id for s in rows(app) if s.erased_at is None}
    assert "bot@example.org" not in by_address
    with app.app_context():
        jobs = [(job.kind, job.payload["signature_id"])
                for job in db.session.scalars(select(OutboxJob).order_by(OutboxJob.id))]
    pending, done = (by_address[f"{name}@example.org"] for name in ("pending", "confirmed"))
    assert jobs.count((CONFIRM_EMAIL, pending)) == 2, "at most two mails a day, as configured"
    assert (ALREADY_SIGNED_EMAIL, done) in jobs
    # Its confirmation, still queued, went with the erasure; signing again queued nothing.
    assert [job for job in jobs if job[1] == cancelled.id] == []


def test_daily_allowance_starts_again_the_next_day(app: Flask, petition: str) -> None:
    client = app.test_client()
    cap = app.config["MAX_EMAILS_PER_ADDRESS_PER_DAY"]
    for _ in range(cap + 2):
        client.post(f"/p/{SLUG}/sign", data={"name": "Odile", "email": "odile@example.org"})
    assert mail_jobs(app) == [CONFIRM_EMAIL] * cap
    with app.app_context():
        yesterday = (utcnow() - timedelta(days=1)).date()
        db.session.execute(update(Signature).values(mails_day=yesterday))
        db.session.commit()
    client.post(f"/p/{SLUG}/sign", data={"name": "Odile", "email": "odile@example.org"})
    assert mail_jobs(app) == [CONFIRM_EMAIL] * (cap + 1)


def test_unique_constraint_holds_below_the_service(app: Flask, petition: str) -> None:
    from sqlalchemy.exc import IntegrityError

    app.test_client().post(f"/p/{SLUG}/sign", data={"name": "O", "email": "odile@example.org"})
    [original] = rows(app)
    with app.app_context():
        copy = Signature(petition_id=original.petition_id, email_hash=original.email_hash,
                         sealed=original.sealed, token_nonce="n")
        db.session.add(copy)
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 1


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_first_signings_and_repeats_cost_the_same_statements(
    request: pytest.FixtureRequest, database: str
) -> None:
    """What the response time could show: the statements each case runs. A first signing and a
    repeat run the same ones, so timing a signing does not tell whether the address had signed.
    """
    from sqlalchemy import event

    from petitionkit.petitions.models import Petition
    from petitionkit.signatures import services
    from petitionkit.signatures.services import SignatureInput, SignOutcome

    app: Flask = request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    add_petition(app)
    policy = app.extensions["petitionkit.signing_policy"]
    with app.app_context():
        petition = db.session.scalars(select(Petition).where(Petition.slug == SLUG)).one()
        db.session.expunge(petition)
        db.session.remove()
        statements: list[str] = []

        def record(*args: object) -> None:
            statements.append(str(args[2]).split()[0])

        def sign(email: str) -> tuple[SignOutcome, list[str]]:
            statements.clear()
            outcome = services.sign(db.engine, petition, SignatureInput("Odile", email), policy)
            return outcome, list(statements)

        def confirmed_id() -> int:
            # The last signature made: the one for confirmed@example.org.
            with db.engine.connect() as connection:
                return int(connection.scalar(select(func.max(Signature.id))) or 0)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            first = sign("odile@example.org")
            cases = [first, sign("odile@example.org")]
            for _ in range(policy.max_mails_per_day):
                cases.append(sign("odile@example.org"))
            confirmed = sign("confirmed@example.org")
            with db.engine.begin() as connection:
                connection.execute(update(Signature).where(
                    Signature.id == confirmed_id()).values(status="confirmed"))
            cases.append(sign("confirmed@example.org"))
            with db.engine.begin() as connection:
                connection.execute(update(Signature).where(
                    Signature.id == confirmed_id()
                ).values(status="cancelled", mail_suppressed=True))
            cases.append(sign("confirmed@example.org"))
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    cap = policy.max_mails_per_day
    assert [outcome for outcome, _ in cases] == [
        SignOutcome.NEW,
        *[SignOutcome.RESENT_CONFIRMATION] * (cap - 1),
        SignOutcome.NOT_MAILED, SignOutcome.NOT_MAILED,  # the day's allowance spent
        SignOutcome.ALREADY_SIGNED_NOTICE,
        SignOutcome.NOT_MAILED,  # "it wasn't me"
    ]
    assert confirmed[0] is SignOutcome.NEW
    mailed = [statements for outcome, statements in cases if outcome is not SignOutcome.NOT_MAILED]
    if database == "postgresql":
        # One statement, whatever the case: the upsert with its e-mail job.
        assert {tuple(statements) for _, statements in cases} == {("WITH",)}
    else:
        # The upsert, then the job when there is mail to send.
        assert {tuple(statements) for statements in mailed} == {("INSERT", "INSERT")}
    with app.app_context():
        kinds = list(db.session.scalars(select(OutboxJob.kind).order_by(OutboxJob.id)))
    assert kinds == [CONFIRM_EMAIL] * cap + [CONFIRM_EMAIL, ALREADY_SIGNED_EMAIL]
