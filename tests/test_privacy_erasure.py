"""Erasure and access requests: `privacy erase`, the "delete my data" link, "it wasn't me", and
`privacy report`; on SQLite and PostgreSQL, down to the bytes of the database."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from petitionkit import create_app, testing
from petitionkit.encryption.services import unsealed_count
from petitionkit.extensions import db
from petitionkit.outbox.models import PENDING, SEALED_PAYLOAD_KEY, OutboxJob
from petitionkit.petitions.models import Petition
from petitionkit.plugins.calls import manager_of
from petitionkit.privacy.models import ConsentText
from petitionkit.signatures.models import PersonalDataErased, Signature
from petitionkit.signatures.tokens import Purpose, make_token

from .conftest import TEST_SECRET, add_petition, base_config, make_app, migrate
from .smtp import RecordingSMTPServer, link_from

NAME = "Ayşe Quillfeather"
EMAIL = "ayse.quillfeather@example.org"
POSTAL_CODE = "QX7 9ZZ"
PUBLIC_NAME = "Ayşe Q."
NEEDLES = (NAME, EMAIL, POSTAL_CODE, PUBLIC_NAME, "ayse.quillfeather", "Quillfeather")
OTHER_NAME, OTHER_EMAIL = "Bram Otterly", "bram.otterly@example.org"
OWN_SITE = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
CROSS_SITE = {"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"}

@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest) -> Flask:
    app: Flask = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    return app


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> dict[str, str]:
    """The settings of the database a test's own app uses: SQLite, or a PostgreSQL database."""
    if request.param == "sqlite":
        return {}
    return {"DATABASE_URL": request.getfixturevalue("postgres_url")}


@pytest.fixture
def app_on(database: dict[str, str], tmp_path: Path, migrated_sqlite: Path
           ) -> Iterator[Callable[..., Flask]]:
    """Makes the test's app, with settings of its own, on that database."""
    made: list[Flask] = []

    def make(**overrides: object) -> Flask:
        app = make_app(tmp_path, migrated_sqlite, **database, **overrides)
        if database:
            migrate(app)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# A CRM connector as a third party writes one: it records whom it was told to take back.
CRM_PLUGIN = """
from petitionkit import hookimpl

withdrawn = []

@hookimpl
def petitionkit_signature_withdrawn(petition, signature, reason):
    withdrawn.append((signature.id, reason, signature.email, signature.consent_updates))
"""


def _write_crm(tmp_path: Path) -> None:
    plugins = tmp_path / "instance" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "crm.py").write_text(CRM_PLUGIN, encoding="utf-8")


def _crm_calls(app: Flask) -> list[tuple[int, str, str, bool]]:
    calls: list[tuple[int, str, str, bool]] = manager_of(app).get_plugin("crm").withdrawn
    return calls


def _sign(app: Flask, slug: str, name: str, email: str) -> None:
    signed = app.test_client().post(f"/p/{slug}/sign", data={
        "name": name, "email": email, "country": "GB", "postal_code": POSTAL_CODE,
        "show_name": "y", "consent_updates": "y"}, headers=OWN_SITE)
    assert signed.status_code == 303, signed.get_data(as_text=True)


def _confirm_by_mail(app: Flask, server: RecordingSMTPServer, count: int) -> None:
    testing.run_jobs(app)
    message = server.wait_for(count)[-1]
    path = link_from(message, "http://localhost/confirm/").removeprefix("http://localhost")
    assert app.test_client().post(path, headers=OWN_SITE).status_code == 200


def _counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        counts = dict(db.session.execute(select(Petition.slug, Petition.signature_count)).all())
        db.session.remove()
    return counts


def _erase_everywhere(app: Flask, server: RecordingSMTPServer) -> None:
    """One person confirmed on one petition and pending on another, next to another signer;
    `privacy erase` takes them off both, the CRM hears whom to take back, nothing else stays."""
    first = add_petition(app, asks_country=True, asks_postal_code=True)
    second = add_petition(app, slug="second-petition", asks_country=True, asks_postal_code=True)
    _sign(app, first, NAME, EMAIL)
    _confirm_by_mail(app, server, 1)
    _sign(app, first, OTHER_NAME, OTHER_EMAIL)
    _confirm_by_mail(app, server, 2)
    testing.run_jobs(app)
    _sign(app, second, NAME, EMAIL)  # pending: its confirmation mail is still queued
    assert _counts(app) == {first: 2, second: 0}

    # The address as the person writes it in their request: case does not matter.
    result = app.test_cli_runner().invoke(
        args=["privacy", "erase", "Ayse.Quillfeather@Example.org", "--yes"])

    assert result.exit_code == 0, result.output
    assert "erased, withdrawn (was confirmed)" in result.output
    assert "erased, withdrawn (was pending)" in result.output
    assert "erased 2 signature(s) in 2 petition(s); 1 queued job(s) dropped" in result.output
    assert not any(needle in result.output for needle in (NAME, POSTAL_CODE, PUBLIC_NAME))
    assert _counts(app) == {first: 1, second: 0}
    with app.app_context():
        rows = db.session.scalars(select(Signature).order_by(Signature.id)).all()
        erased = [row for row in rows if row.erased_at is not None]
        assert len(erased) == 2 and all(
            row.status == "cancelled" and row.sealed is None and row.public_name is None
            and row.country is None and row.plain_extra == {} and row.mail_suppressed
            for row in erased)
        with pytest.raises(PersonalDataErased):
            _ = erased[0].email
        [kept] = [row for row in rows if row.erased_at is None]
        assert kept.email == OTHER_EMAIL and kept.status == "confirmed"
        jobs = db.session.scalars(select(OutboxJob).where(OutboxJob.status == PENDING)).all()
        # Only the withdrawal is left to do, and it carries the address sealed, never plain.
        assert [job.kind for job in jobs] == ["plugins.signature_withdrawn"]
        assert SEALED_PAYLOAD_KEY in jobs[0].payload
        assert not any(needle in str(jobs[0].payload) for needle in NEEDLES)
        assert unsealed_count(db.engine) == 0
        db.session.remove()

    delivered = len(server.messages)
    testing.run_jobs(app)
    assert len(server.messages) == delivered, "the pending confirmation went out after all"
    assert _crm_calls(app) == [(erased[0].id, "erasure", EMAIL, True)]
    with app.app_context():
        job = db.session.scalars(
            select(OutboxJob).where(OutboxJob.kind == "plugins.signature_withdrawn")).one()
        assert job.status == "done" and SEALED_PAYLOAD_KEY not in job.payload
        db.session.remove()

    again = app.test_cli_runner().invoke(args=["privacy", "erase", EMAIL, "--yes"])
    assert again.exit_code == 0 and "erased before" in again.output
    assert "erased 0 signature(s)" in again.output


def _found(data: bytes) -> list[str]:
    return [needle for needle in NEEDLES
            if needle.encode("utf-8") in data or needle.encode("utf-16-le") in data]


def test_erase_command_on_sqlite_leaves_no_byte_of_the_signer(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    _write_crm(tmp_path)
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url)
    database = tmp_path / "instance" / "petitionkit.db"
    wal = Path(f"{database}-wal")
    try:
        _erase_everywhere(app, smtp_server)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    data = database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert _found(data) == []
    # The check can fail: the other signer's public name is there to be found.
    assert b"Bram O." in database.read_bytes()
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(FULL)")
    assert _found(database.read_bytes()) == []


def test_erase_command_on_postgresql_leaves_no_byte_of_the_signer_in_a_dump(
    tmp_path: Path, migrated_sqlite: Path, postgres_url: str,
    smtp_server: RecordingSMTPServer, pg_dump: str
) -> None:
    _write_crm(tmp_path)
    app = make_app(tmp_path, migrated_sqlite, DATABASE_URL=postgres_url,
                   MAIL_URL=smtp_server.url)
    migrate(app)
    try:
        _erase_everywhere(app, smtp_server)
        dump = subprocess.run(
            [pg_dump, "--dbname", postgres_url.replace("postgresql+psycopg://", "postgresql://")],
            check=True, capture_output=True, timeout=60,
        ).stdout
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    assert b"COPY public.signatures" in dump and b"Bram O." in dump
    assert _found(dump) == []


def test_erase_command_refuses_what_is_no_address_and_asks_before_erasing(app: Flask) -> None:
    slug = add_petition(app)
    testing.sign_and_confirm(app, slug, NAME, EMAIL)
    runner = app.test_cli_runner()
    for bad in ("Ayşe Quillfeather", "@example.org", "someone@", "a b@example.org",
                "x" * 400 + "@example.org"):
        refused = runner.invoke(args=["privacy", "erase", bad, "--yes"])
        assert refused.exit_code == 2 and "is not an e-mail address" in refused.output
    declined = runner.invoke(args=["privacy", "erase", EMAIL], input="n\n")
    assert declined.exit_code == 1 and "1 signature(s) of" in declined.output
    assert f"{slug} (1)" in declined.output and NAME not in declined.output
    assert _counts(app) == {slug: 1}
    nobody = runner.invoke(args=["privacy", "erase", "nobody@example.org", "--yes"])
    assert nobody.exit_code == 0 and "no signature of nobody@example.org" in nobody.output
    accepted = runner.invoke(args=["privacy", "erase", EMAIL], input="y\n")
    assert accepted.exit_code == 0 and "erased 1 signature(s)" in accepted.output
    assert _counts(app) == {slug: 0}


# The "delete my data" link


def _mailed_links(app: Flask, server: RecordingSMTPServer, slug: str) -> dict[str, str]:
    _sign(app, slug, NAME, EMAIL)
    testing.run_jobs(app)
    [message] = server.wait_for(1)
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "/erase/" in str(html.get_content())
    return {kind: link_from(message, f"http://localhost/{kind}/").removeprefix("http://localhost")
            for kind in ("confirm", "cancel", "erase")}


def _signature(app: Flask) -> Signature:
    """The first signature, as the database has it now."""
    with app.app_context():
        signature = db.session.scalars(select(Signature).order_by(Signature.id)).first()
        assert signature is not None
        db.session.expunge(signature)
        return signature


def test_the_confirmation_mail_links_to_erasure_and_only_the_checked_post_erases(
    tmp_path: Path, smtp_server: RecordingSMTPServer, app_on: Callable[..., Flask]
) -> None:
    _write_crm(tmp_path)
    app = app_on(MAIL_URL=smtp_server.url)
    slug = add_petition(app, asks_country=True, asks_postal_code=True)
    links = _mailed_links(app, smtp_server, slug)
    client = app.test_client()
    assert client.post(links["confirm"], headers=OWN_SITE).status_code == 200
    assert _counts(app) == {slug: 1}

    for method in ("GET", "HEAD"):
        for headers in ({}, CROSS_SITE):
            assert client.open(links["erase"], method=method, headers=headers).status_code == 200
    page = client.get(links["erase"]).get_data(as_text=True)
    assert "Delete my data" in page and "no longer count" in page
    assert not any(needle in page for needle in NEEDLES)
    refused = client.post(links["erase"], headers=CROSS_SITE)
    assert refused.status_code == 403
    assert _signature(app).erased_at is None and _counts(app) == {slug: 1}

    done = client.post(links["erase"], headers=OWN_SITE)
    assert done.status_code == 200
    assert "Your data was deleted" in done.get_data(as_text=True)
    erased = _signature(app)
    assert erased.erased_at is not None and erased.status == "cancelled" and erased.sealed is None
    assert _counts(app) == {slug: 0}
    testing.run_jobs(app)
    assert _crm_calls(app) == [(erased.id, "erasure", EMAIL, True)]
    # Pressed again, or the link opened later: the same page, nothing more to do.
    assert client.post(links["erase"], headers=OWN_SITE).status_code == 200
    assert "Your data was deleted" in client.get(links["erase"]).get_data(as_text=True)
    # The other links of the mail still answer, and say nothing of the person.
    for kind in ("confirm", "cancel"):
        answer = client.get(links[kind])
        assert answer.status_code < 500
        assert not any(needle in answer.get_data(as_text=True) for needle in NEEDLES)


def test_every_method_on_the_erase_link_gets_a_sensible_answer(app: Flask) -> None:
    slug = add_petition(app)
    signature_id = testing.sign_and_confirm(app, slug, NAME, EMAIL)
    with app.app_context():
        nonce = db.session.get(Signature, signature_id).token_nonce  # type: ignore[union-attr]
    path = f"/erase/{make_token(TEST_SECRET, Purpose.ERASE, signature_id, nonce)}"
    client = app.test_client()
    expected = {"GET": 200, "HEAD": 200, "OPTIONS": 200, "PUT": 405, "PATCH": 405,
                "DELETE": 405, "TRACE": 405, "PROPFIND": 405}
    for method, status in expected.items():
        for headers in ({}, OWN_SITE, CROSS_SITE):
            answer = client.open(path, method=method, headers=headers, data={"x": "y"})
            assert answer.status_code == status, (method, headers, answer.status_code)
    assert client.post(path, headers=CROSS_SITE).status_code == 403
    assert client.post(path, headers=CROSS_SITE, json={"erase": True}).status_code == 403
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None and signature.erased_at is None
        assert signature.status == "confirmed"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_tampered_or_foreign_erase_token_is_refused(app: Flask, method: str) -> None:
    slug = add_petition(app)
    signature_id = testing.sign_and_confirm(app, slug, NAME, EMAIL)
    with app.app_context():
        nonce = db.session.get(Signature, signature_id).token_nonce  # type: ignore[union-attr]
    good = make_token(TEST_SECRET, Purpose.ERASE, signature_id, nonce)
    tokens = [
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        make_token(TEST_SECRET, Purpose.CANCEL, signature_id, nonce),  # another purpose
        make_token(TEST_SECRET, Purpose.CONFIRM, signature_id, nonce),
        make_token("another-secret-0123456789abcdef", Purpose.ERASE, signature_id, nonce),
        make_token(TEST_SECRET, Purpose.ERASE, signature_id, "not-its-nonce"),
        make_token(TEST_SECRET, Purpose.ERASE, signature_id + 99, nonce),
        "garbage", "x" * 5000, "%00%ff", "..%2F..%2Fetc",
    ]
    client = app.test_client()
    for token in tokens:
        answer = client.open(f"/erase/{token}", method=method, headers=OWN_SITE)
        assert 400 <= answer.status_code < 500, (token[:40], answer.status_code)
        if answer.status_code == 400:
            assert "This link does not work" in answer.get_data(as_text=True)
    assert _counts(app) == {slug: 1}


# "It wasn't me"


def test_it_wasnt_me_erases_the_personal_data_and_says_so(
    smtp_server: RecordingSMTPServer, app_on: Callable[..., Flask]
) -> None:
    app = app_on(MAIL_URL=smtp_server.url)
    slug = add_petition(app, asks_country=True, asks_postal_code=True)
    other = add_petition(app, slug="other-petition")
    links = _mailed_links(app, smtp_server, slug)
    client = app.test_client()
    assert client.get(links["cancel"]).status_code == 200
    assert _signature(app).erased_at is None
    done = client.post(links["cancel"], headers=OWN_SITE)
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert "Your signature was withdrawn" in text and "deleted the name" in text
    assert "fingerprint of the address" in text
    signature = _signature(app)
    assert signature.erased_at is not None and signature.sealed is None
    assert signature.public_name is None and signature.mail_suppressed
    assert "deleted the name" in client.get(links["cancel"]).get_data(as_text=True)

    # The address is not mailed again about this petition, and the answer does not say so.
    delivered = len(smtp_server.messages)
    again = client.post(f"/p/{slug}/sign", data={
        "name": NAME, "email": EMAIL, "country": "GB", "postal_code": POSTAL_CODE},
        headers=OWN_SITE)
    assert again.status_code == 303
    testing.run_jobs(app)
    assert len(smtp_server.messages) == delivered
    # A person whose data was erased may sign another petition.
    elsewhere = client.post(f"/p/{other}/sign", data={"name": NAME, "email": EMAIL},
                            headers=OWN_SITE)
    assert elsewhere.status_code == 303 and again.location == elsewhere.location.replace(
        other, slug)
    testing.run_jobs(app)
    assert len(smtp_server.messages) == delivered + 1
    assert smtp_server.messages[-1]["To"] == f"{NAME} <{EMAIL}>"


# What code that reads signatures does with erased ones


def test_exports_and_the_hand_over_report_leave_erased_signatures_out(
    tmp_path: Path, app: Flask
) -> None:
    slug = add_petition(app, asks_country=True)
    testing.sign_and_confirm(app, slug, NAME, EMAIL, show_name=True)
    testing.sign_and_confirm(app, slug, OTHER_NAME, OTHER_EMAIL, show_name=True)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["privacy", "erase", EMAIL, "--yes"]).exit_code == 0
    for args in (["export", slug, "--format", "csv"], ["export", slug, "--format", "csv", "--all"],
                 ["export", slug, "--format", "jsonl", "--all"]):
        exported = runner.invoke(args=args)
        assert exported.exit_code == 0, exported.output
        assert OTHER_EMAIL in exported.output and "Quillfeather" not in exported.output
    report = runner.invoke(args=["deliver", slug, "--report", "--output-dir", str(tmp_path)])
    assert report.exit_code == 0, report.output
    handover = (tmp_path / f"{slug}-handover.csv").read_text(encoding="utf-8")
    assert "Bram Otterly" in handover and "Quillfeather" not in handover
    encrypted = runner.invoke(args=["keys", "encrypt-existing"])
    assert encrypted.exit_code == 0 and "sealed 0 signature(s)" in encrypted.output


# Access requests


def test_privacy_report_prints_what_is_held_with_the_private_key(any_app: Flask) -> None:
    app = any_app
    slug = add_petition(app, asks_country=True, asks_postal_code=True)
    other = add_petition(app, slug="other-petition", consent_version="2026-10",
                         consent_text="Send me news of the poet's case,\n  now and then.")
    testing.sign_and_confirm(app, slug, NAME, EMAIL, country="GB", postal_code=POSTAL_CODE,
                             consent_updates=True, show_name=True, source="newsletter",
                             extra={"newsletter": "monthly"})
    # On the page, whose form records the consent wording it showed.
    signed = app.test_client().post(f"/p/{other}/sign", headers=OWN_SITE, data={
        "name": NAME, "email": EMAIL, "consent_updates": "y"})
    assert signed.status_code == 303
    testing.sign_and_confirm(app, slug, OTHER_NAME, OTHER_EMAIL)
    with app.app_context():
        wording = db.session.scalars(select(ConsentText)).one()
        db.session.remove()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["privacy", "report", EMAIL.upper()])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith(f"2 signature(s) of {EMAIL.upper()}")
    assert f"petition: {slug} (Free the poet)" in out and f"petition: {other} " in out
    for line in ("status: confirmed", f"name: {NAME}", f"email: {EMAIL}",
                 f"postal code: {POSTAL_CODE}", "country: GB", "language: en",
                 "source: newsletter", "updates agreed: yes",
                 f"shown publicly: yes, as {PUBLIC_NAME}",
                 "plugin fields: newsletter=monthly", "queued jobs: email.confirm",
                 "consent text shown: not recorded", "consent version: 2026-10",
                 f"consent text shown: version {wording.id} (en): Send me news of the poet's "
                 "case, now and then."):
        assert f"  {line}\n" in out, line
    assert OTHER_NAME not in out and OTHER_EMAIL not in out

    assert runner.invoke(args=["privacy", "erase", EMAIL, "--yes"]).exit_code == 0
    after = runner.invoke(args=["privacy", "report", EMAIL]).output
    assert "status: cancelled" in after and "erased: " in after
    assert "the blind index of the address only" in after and NAME not in after
    nobody = runner.invoke(args=["privacy", "report", "nobody@example.org"])
    assert nobody.exit_code == 0 and "nothing is held about nobody@example.org" in nobody.output


def test_privacy_report_without_the_private_key_stops_with_a_message(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    web = make_app(tmp_path, migrated_sqlite, DATA_PRIVATE_KEY_FILE=None)
    worker = create_app(base_config(tmp_path / "instance"))
    slug = add_petition(web)
    testing.sign_and_confirm(worker, slug, NAME, EMAIL)
    refused = web.test_cli_runner().invoke(args=["privacy", "report", EMAIL])
    assert refused.exit_code == 1
    assert "DATA_PRIVATE_KEY_FILE" in refused.output and NAME not in refused.output
    # Erasure needs no private key: a web host's operator can answer that request.
    erased = web.test_cli_runner().invoke(args=["privacy", "erase", EMAIL, "--yes"])
    assert erased.exit_code == 0 and "erased 1 signature(s)" in erased.output
