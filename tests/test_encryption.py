"""Personal data sealed to a public key: key files, split processes, migration of earlier rows,
rotation, and the outside check that no byte of the database holds a name or an address."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import insert, select

from petitionkit import create_app, testing
from petitionkit.config import ConfigurationError
from petitionkit.encryption import (
    DATA_SEALER,
    KeyUnavailable,
    Sealer,
    generate_key_pair,
    read_private_key,
    read_public_key,
)
from petitionkit.extensions import db
from petitionkit.outbox.models import DONE, PENDING, SEALED_PAYLOAD_KEY, OutboxJob
from petitionkit.outbox.worker import PrivateKeyMissing, start_inprocess_loop
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import PersonalData, Signature
from petitionkit.signatures.services import SignatureInput, sign

from .conftest import TEST_SECRET, add_petition, base_config, make_app, migrate
from .smtp import RecordingSMTPServer, link_from

NAME = "Ayşe Quillfeather"
EMAIL = "ayse.quillfeather@example.org"
POSTAL_CODE = "QX7 9ZZ"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest) -> Flask:
    app: Flask = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    return app


def web_and_worker(tmp_path: Path, migrated_sqlite: Path, **overrides: object
                   ) -> tuple[Flask, Flask]:
    """Two processes on one database: the web one holds only the public key."""
    web = make_app(tmp_path, migrated_sqlite, DATA_PRIVATE_KEY_FILE=None, **overrides)
    worker = create_app(base_config(tmp_path / "instance", **overrides))
    return web, worker


@pytest.fixture(params=["sqlite", "postgresql"])
def split_processes(request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path
                    ) -> Iterator[tuple[Flask, Flask]]:
    """``web_and_worker`` on SQLite, or on a PostgreSQL database of the test's own."""
    database = ({} if request.param == "sqlite"
                else {"DATABASE_URL": request.getfixturevalue("postgres_url")})
    web, worker = web_and_worker(tmp_path, migrated_sqlite, **database)
    if database:
        migrate(web)
    yield web, worker
    for application in (web, worker):
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


# Key files


def test_generated_keys_are_one_line_of_base64_and_the_private_one_is_private(
    tmp_path: Path
) -> None:
    public, private = generate_key_pair(tmp_path / "keys")
    assert (public.name, private.name) == ("data.pub", "data.key")
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    for path in (public, private):
        lines = path.read_text().splitlines()
        assert len(lines) == 1 and len(lines[0]) == 44
    assert read_private_key(private).public_key == read_public_key(public)
    with pytest.raises(KeyUnavailable, match="exists already"):
        generate_key_pair(tmp_path / "keys")
    stories = generate_key_pair(tmp_path / "keys", "stories")
    assert [path.name for path in stories] == ["stories.pub", "stories.key"]


@pytest.mark.parametrize(("content", "problem"), [
    (b"not base64 at all!\n", "not one line of base64"),
    (b"QUJD\n", "32 bytes expected, 3 found"),
    (b"\xff\xfe\x00\n", "cannot read"),
    (b"A" * 1_000_000, "32 bytes expected"),
])
def test_a_damaged_key_file_is_refused_with_a_message(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "data.pub"
    path.write_bytes(content)
    with pytest.raises(KeyUnavailable, match=problem):
        read_public_key(path)


def test_keys_generate_command(tmp_path: Path, app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "generate", "--dir", str(tmp_path / "k")])
    assert result.exit_code == 0, result.output
    assert "DATA_PRIVATE_KEY_FILE" in result.output
    assert (tmp_path / "k" / "data.key").exists()
    again = runner.invoke(args=["keys", "generate", "--dir", str(tmp_path / "k")])
    assert again.exit_code == 1 and "exists already" in again.output
    stories = runner.invoke(args=["keys", "generate", "--stories", "--dir", str(tmp_path / "k")])
    assert stories.exit_code == 0 and (tmp_path / "k" / "stories.pub").exists()


def test_a_private_key_of_another_pair_is_refused(tmp_path: Path) -> None:
    public, _ = generate_key_pair(tmp_path / "one")
    _, other_private = generate_key_pair(tmp_path / "two")
    sealer = Sealer(public_key_file=public, private_key_file=other_private)
    with pytest.raises(KeyUnavailable, match="does not belong"):
        sealer.open(sealer.seal(b"x"))


# Split processes


def test_the_web_process_writes_what_it_cannot_read(
    split_processes: tuple[Flask, Flask]
) -> None:
    web, worker = split_processes
    slug = add_petition(web, asks_postal_code=True, asks_country=True)
    signed = web.test_client().post(f"/p/{slug}/sign", data={
        "name": NAME, "email": EMAIL, "country": "GB", "postal_code": POSTAL_CODE,
        "show_name": "y"})
    assert signed.status_code == 303
    with web.app_context():
        signature = db.session.scalars(select(Signature)).one()
        assert signature.public_name == "Ayşe Q."
        assert signature.legacy_name is None and signature.legacy_email is None
        with pytest.raises(KeyUnavailable, match="DATA_PRIVATE_KEY_FILE"):
            _ = signature.email
    with worker.app_context():
        signature = db.session.scalars(select(Signature)).one()
        assert (signature.name, signature.email, signature.postal_code) == (
            NAME, EMAIL, POSTAL_CODE)


def test_only_signers_who_asked_get_a_public_name(app: Flask, petition: str) -> None:
    client = app.test_client()
    client.post(f"/p/{petition}/sign", data={"name": "Hidden Person", "email": "h@example.org"})
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        assert signature.public_name is None and signature.name == "Hidden Person"


def test_personal_plugin_fields_are_sealed_and_others_are_not(app: Flask, petition: str) -> None:
    with app.app_context():
        petition_row = db.session.scalars(select(Petition)).one()
        sign(db.engine, petition_row, SignatureInput(
            name="F", email="f@example.org", extra={"newsletter": "monthly"},
            personal_extra={"letter_text": "My own words."},
        ), app.extensions["petitionkit.signing_policy"])
        signature = db.session.scalars(select(Signature)).one()
        assert signature.plain_extra == {"newsletter": "monthly"}
        assert signature.extra == {"newsletter": "monthly", "letter_text": "My own words."}
        assert b"My own words" not in signature.sealed


def test_a_worker_without_the_private_key_stops_with_a_message(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    web, _ = web_and_worker(tmp_path, migrated_sqlite)
    result = web.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 1
    assert "needs the private key" in result.output and "DATA_PRIVATE_KEY_FILE" in result.output
    with pytest.raises(PrivateKeyMissing, match="OUTBOX_INPROCESS_WORKER"):
        start_inprocess_loop(web)
    assert "petitionkit.inprocess_worker" not in web.extensions


def test_a_web_process_that_delivers_will_not_start_without_the_private_key(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    serving = {"TESTING": False, "OUTBOX_INPROCESS_WORKER": True}
    with pytest.raises(ConfigurationError) as refused:
        make_app(tmp_path, migrated_sqlite, DATA_PRIVATE_KEY_FILE=None, **serving)
    message = str(refused.value)
    assert "needs the private key" in message and "DATA_PRIVATE_KEY_FILE" in message
    assert "OUTBOX_INPROCESS_WORKER = False" in message and "petitionkit worker" in message
    with pytest.raises(ConfigurationError, match="missing.key does not exist"):
        make_app(tmp_path, migrated_sqlite, DATA_PRIVATE_KEY_FILE="missing.key", **serving)
    # Either fix starts it: the key, or delivery left to `petitionkit worker`.
    with_key = make_app(tmp_path, migrated_sqlite, **serving)
    assert "petitionkit.inprocess_worker" not in with_key.extensions, "started by a request"
    without_loop = make_app(tmp_path, migrated_sqlite, DATA_PRIVATE_KEY_FILE=None,
                            TESTING=False, OUTBOX_INPROCESS_WORKER=False)
    assert without_loop.test_client().get("/healthz").status_code == 200
    # The command line serves nothing but with `run`: `keys generate` comes before any key.
    command_line = create_app(base_config(tmp_path / "instance", DATA_PRIVATE_KEY_FILE=None,
                                          **serving), serving=False)
    generated = command_line.test_cli_runner().invoke(
        args=["keys", "generate", "--dir", str(tmp_path / "new")])
    assert generated.exit_code == 0, generated.output
    for application in (with_key, without_loop, command_line):
        with application.app_context():
            db.engine.dispose()


def test_petitionkit_run_will_not_start_without_the_private_key(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("PETITIONKIT_")}
    environment.update({"PETITIONKIT_INSTANCE_PATH": str(tmp_path / "instance"),
                        "PETITIONKIT_SECRET_KEY": TEST_SECRET})

    def petitionkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from petitionkit.cli import main; main()",
                               *args], env=environment, capture_output=True, text=True,
                              timeout=60)

    # As `make demo` starts: the key pair is made by a command before any process holds it.
    generated = petitionkit("keys", "generate")
    assert generated.returncode == 0, generated.stderr
    refused = petitionkit("run", "--port", "9")
    assert refused.returncode == 1
    assert "needs the private key" in refused.stderr
    assert "OUTBOX_INPROCESS_WORKER" in refused.stderr and "Traceback" not in refused.stderr


def test_an_export_without_the_private_key_stops_before_writing(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    web, worker = web_and_worker(tmp_path, migrated_sqlite)
    slug = add_petition(web)
    testing.sign_and_confirm(worker, slug, NAME, EMAIL)
    refused = web.test_cli_runner().invoke(args=["export", slug, "--format", "csv"])
    assert refused.exit_code != 0
    assert EMAIL not in refused.output
    exported = worker.test_cli_runner().invoke(args=["export", slug, "--format", "csv"])
    assert exported.exit_code == 0 and EMAIL in exported.output


# Databases from before


def _legacy_rows(app: Flask, count: int) -> None:
    """Signatures as stored before sealing: plaintext, nothing sealed."""
    with app.app_context():
        petition_id = db.session.scalars(select(Petition.id)).one()
        db.session.execute(insert(Signature), [{
            "petition_id": petition_id, "email_hash": number.to_bytes(32, "big"),
            "legacy_email": f"old{number}@example.org", "legacy_name": f"Old Signer {number}",
            "legacy_postal_code": "10115", "status": "confirmed", "token_nonce": "n",
            "show_name": number % 2 == 0, "locale": "en", "plain_extra": {"letter_text": "mine"},
            "mail_suppressed": False, "mails_sent_today": 0,
        } for number in range(count)])
        db.session.commit()


def test_encrypt_existing_seals_earlier_rows_and_erases_their_plaintext(any_app: Flask) -> None:
    app = any_app
    add_petition(app)
    _legacy_rows(app, 7)
    with app.app_context():
        first = db.session.scalars(select(Signature).order_by(Signature.id)).first()
        assert first is not None
        with pytest.raises(KeyUnavailable, match="encrypt-existing"):
            _ = first.name
        db.session.remove()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "encrypt-existing", "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    assert "sealed 7 signature(s)" in result.output
    with app.app_context():
        rows = db.session.scalars(select(Signature).order_by(Signature.id)).all()
        assert [row.email for row in rows] == [f"old{n}@example.org" for n in range(7)]
        assert all(row.legacy_email is None and row.legacy_name is None
                   and row.legacy_postal_code is None and row.plain_extra == {} for row in rows)
        assert rows[0].extra == {"letter_text": "mine"} and rows[0].postal_code == "10115"
        assert [row.public_name for row in rows[:2]] == ["Old 0.", None]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Nor in any byte of the database and its write-ahead log, which held the rows as they
        # were before until the command emptied it.
        database = Path(app.instance_path) / "petitionkit.db"
        wal = Path(f"{database}-wal")
        stored = database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        plaintext = [text for number in range(7)
                     for text in (f"old{number}@example.org", f"Old Signer {number}")]
        assert [text for text in plaintext if text.encode() in stored] == []
        assert b"Old 0." in stored, "the check can fail: the public display form is found"
    again = runner.invoke(args=["keys", "encrypt-existing"])
    assert again.exit_code == 0 and "sealed 0 signature(s)" in again.output


def test_encrypt_existing_is_resumable(app: Flask, petition: str) -> None:
    from petitionkit.encryption.services import encrypt_existing, unsealed_count

    _legacy_rows(app, 5)
    with app.app_context():
        batches = encrypt_existing(db.engine, DATA_SEALER.of(app), batch_size=2)
        assert next(batches) == 2
        batches.close()  # interrupted after the first batch
        assert unsealed_count(db.engine) == 3
        assert sum(encrypt_existing(db.engine, DATA_SEALER.of(app), batch_size=2)) == 3
        assert unsealed_count(db.engine) == 0


def test_rotation_reseals_to_the_new_pair(tmp_path: Path, any_app: Flask) -> None:
    app = any_app
    petition = add_petition(app)
    testing.sign_and_confirm(app, petition, NAME, EMAIL)
    testing.sign_and_confirm(app, petition, "Second Signer", "second@example.org")
    new_public, new_private = generate_key_pair(tmp_path / "new")
    runner = app.test_cli_runner()
    args = ["keys", "rotate", "--new-public", str(new_public), "--new-private", str(new_private),
            "--batch-size", "1"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "2 signature(s) and 0 queued job(s) now sealed" in result.output
    rotated = create_app(base_config(
        tmp_path / "instance", DATABASE_URL=app.config["DATABASE_URL"],
        DATA_PUBLIC_KEY_FILE=str(new_public), DATA_PRIVATE_KEY_FILE=str(new_private)))
    with rotated.app_context():
        assert {row.email for row in db.session.scalars(select(Signature))} == {
            EMAIL, "second@example.org"}
        db.session.remove()
        db.engine.dispose()
    with app.app_context():
        signature = db.session.scalars(select(Signature)).first()
        assert signature is not None
        with pytest.raises(KeyUnavailable, match="another key pair"):
            _ = signature.name
        db.session.remove()
    # Run again (as after an interruption): rows already on the new pair are left as they are.
    assert runner.invoke(args=args).exit_code == 0
    bogus = tmp_path / "bogus.pub"
    bogus.write_text("nonsense\n")
    refused = runner.invoke(args=["keys", "rotate", "--new-public", str(bogus),
                                  "--new-private", str(new_private)])
    assert refused.exit_code == 1 and "does not hold a public key" in refused.output


# A plugin that takes withdrawn signers off a list: erasing one queues a job that carries a
# sealed copy of the personal data until it is done.
CRM_PLUGIN = """
from petitionkit import hookimpl

@hookimpl
def petitionkit_signature_withdrawn(petition, signature, reason):
    assert signature.email
"""


@pytest.fixture
def crm_plugin(tmp_path: Path) -> None:
    plugins = tmp_path / "instance" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "crm.py").write_text(CRM_PLUGIN, encoding="utf-8")


def test_rotation_reseals_the_copies_that_queued_jobs_carry(
    tmp_path: Path, crm_plugin: None, any_app: Flask
) -> None:
    app = any_app
    slug = add_petition(app)
    testing.sign_and_confirm(app, slug, NAME, EMAIL)
    testing.sign_and_confirm(app, slug, "Second Signer", "second@example.org")
    testing.run_jobs(app)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["privacy", "erase", EMAIL, "--yes"]).exit_code == 0
    new_public, new_private = generate_key_pair(tmp_path / "new")
    result = runner.invoke(args=["keys", "rotate", "--new-public", str(new_public),
                                 "--new-private", str(new_private)])
    assert result.exit_code == 0, result.output
    assert "1 signature(s) and 1 queued job(s) now sealed" in result.output

    new = Sealer(public_key_file=new_public, private_key_file=new_private)
    with app.app_context():
        job = db.session.scalars(select(OutboxJob).where(OutboxJob.status == PENDING)).one()
        copy = base64.b64decode(job.payload[SEALED_PAYLOAD_KEY])
        assert PersonalData.from_json(new.open_json(copy)).email == EMAIL
        with pytest.raises(KeyUnavailable, match="another key pair"):
            DATA_SEALER.of(app).open(copy)
        db.session.remove()
    # Once every process has the new pair, the withdrawal goes out and its copy goes.
    rotated = create_app(base_config(
        Path(app.instance_path), DATABASE_URL=app.config["DATABASE_URL"],
        DATA_PUBLIC_KEY_FILE=str(new_public), DATA_PRIVATE_KEY_FILE=str(new_private)))
    assert testing.run_jobs(rotated) == 1
    with rotated.app_context():
        job = db.session.get(OutboxJob, job.id)
        assert job is not None and job.status == DONE and SEALED_PAYLOAD_KEY not in job.payload
        db.session.remove()
        db.engine.dispose()


# The outside check


# The signer's letter in their own words: as personal as their name.
LETTER_MARKER = "Marigoldwhistle"
LETTER_TEXT = f"I taught beside him for years. {LETTER_MARKER} asks you to let him go home."
NEEDLES = (NAME, EMAIL, POSTAL_CODE, "ayse.quillfeather", "Quillfeather", LETTER_MARKER)


def _sign_confirm_deliver(web: Flask, worker: Flask, server: RecordingSMTPServer) -> None:
    """Sign a letter petition with a letter of one's own on the web process's page, confirm
    by the mailed link, and let the worker send the letter (to the organiser: delivery test)."""
    slug = add_petition(web, asks_country=True, asks_postal_code=True, targets=[{
        "name": "Vera Placeholder", "title": "Minister", "email": "minister@example.gov"}],
        letter={"organizer_email": "organizer@example.org", "delivery": "test",
                "editable": True})
    client = web.test_client()
    assert 'name="letter_text"' in client.get(f"/p/{slug}").text
    signed = client.post(f"/p/{slug}/sign", data={
        "name": NAME, "email": EMAIL, "country": "GB", "postal_code": POSTAL_CODE,
        "show_name": "y", "letter_text": LETTER_TEXT})
    assert signed.status_code == 303
    assert testing.run_jobs(worker) >= 1
    [message] = server.wait_for(1)
    assert message["To"] == f"{NAME} <{EMAIL}>"
    confirm_path = link_from(message, "http://localhost/confirm/").removeprefix(
        "http://localhost")
    assert client.post(confirm_path).status_code == 200
    testing.run_jobs(worker)
    [_, letter] = server.wait_for(2)
    assert letter["To"] == "Organizer <organizer@example.org>"
    assert LETTER_MARKER in letter.get_body(preferencelist=("plain",)).get_content()
    with web.app_context():
        signature = db.session.scalars(select(Signature)).one()
        assert "letter_text" not in signature.plain_extra
        assert LETTER_MARKER not in str(signature.plain_extra)
        db.session.remove()
    with worker.app_context():
        signature = db.session.scalars(select(Signature)).one()
        assert signature.extra["letter_text"] == LETTER_TEXT
        assert signature.status == "confirmed" and signature.email == EMAIL
        jobs = db.session.scalars(select(OutboxJob)).all()
        assert jobs and all(job.status == DONE for job in jobs)
        for job in jobs:
            assert not any(needle in str(job.payload) for needle in NEEDLES)
        db.session.remove()


def _found(data: bytes) -> list[str]:
    return [needle for needle in NEEDLES
            if needle.encode("utf-8") in data or needle.encode("utf-16-le") in data]


def test_no_byte_of_the_sqlite_files_holds_a_name_or_address(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    web, worker = web_and_worker(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url)
    _sign_confirm_deliver(web, worker, smtp_server)
    database = tmp_path / "instance" / "petitionkit.db"
    wal = Path(f"{database}-wal")
    assert wal.exists() and wal.stat().st_size > 0, "the writes should be in the WAL"
    assert _found(database.read_bytes() + wal.read_bytes()) == []
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(FULL)")
    assert _found(database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")) == []
    # The check itself can fail: the display form is stored, and found.
    assert b"Ay\xc5\x9fe Q." in database.read_bytes()


def test_no_byte_of_a_postgresql_dump_holds_a_name_or_address(
    tmp_path: Path, migrated_sqlite: Path, postgres_url: str,
    smtp_server: RecordingSMTPServer, pg_dump: str
) -> None:
    web = make_app(tmp_path, migrated_sqlite, DATABASE_URL=postgres_url,
                   MAIL_URL=smtp_server.url, DATA_PRIVATE_KEY_FILE=None)
    migrate(web)
    worker = create_app(base_config(tmp_path / "instance", DATABASE_URL=postgres_url,
                                    MAIL_URL=smtp_server.url))
    try:
        _sign_confirm_deliver(web, worker, smtp_server)
        dump = subprocess.run(
            [pg_dump, "--dbname", postgres_url.replace("postgresql+psycopg://", "postgresql://")],
            check=True, capture_output=True, timeout=60,
        ).stdout
    finally:
        for application in (web, worker):
            with application.app_context():
                db.session.remove()
                db.engine.dispose()
    assert b"COPY public.signatures" in dump and "Ayşe Q.".encode() in dump
    assert _found(dump) == []
