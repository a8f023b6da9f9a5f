"""The petitionkit command: recount repairs a corrupted count and says what it fixed; a fresh
instance is set up with nothing but the documented commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select, update

from petitionkit.extensions import db
from petitionkit.outbox.models import OutboxJob
from petitionkit.petitions.models import Petition
from petitionkit.signatures import services
from petitionkit.signatures.models import Signature
from petitionkit.signatures.services import SignatureInput
from petitionkit.testing import sign_and_confirm

from .conftest import TEST_SECRET, add_petition, make_app

EXAMPLES = Path(__file__).parent.parent / "examples" / "petitions"


def confirmed_signatures(app: Flask, slug: str, count: int) -> None:
    """Sign and confirm through the services, as the views do."""
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        assert petition is not None
        policy = app.extensions["petitionkit.signing_policy"]
        for number in range(count):
            signer = SignatureInput(name=f"Signer {number}", email=f"signer{number}@example.org")
            services.sign(db.engine, petition, signer, policy)
        from petitionkit.signatures.models import Signature

        for signature in db.session.scalars(select(Signature)).all():
            outcome, _ = services.confirm(db.session(), signature.id, signature.token_nonce)
            assert outcome is services.ConfirmOutcome.CONFIRMED


def count_of(app: Flask, slug: str) -> int:
    with app.app_context():
        count = db.session.scalar(select(Petition.signature_count).where(Petition.slug == slug))
        assert count is not None
        return count


def corrupt(app: Flask, slug: str, count: int) -> None:
    with app.app_context():
        db.session.execute(
            update(Petition).where(Petition.slug == slug).values(signature_count=count)
        )
        db.session.commit()


def test_recount_finds_and_repairs_a_wrong_count(app: Flask, runner: FlaskCliRunner) -> None:
    add_petition(app, slug="harbour-school")
    add_petition(app, slug="quiet-one")
    confirmed_signatures(app, "harbour-school", 3)
    assert count_of(app, "harbour-school") == 3
    assert runner.invoke(args=["recount"]).output == "all counts are correct\n"

    corrupt(app, "harbour-school", 250)
    corrupt(app, "quiet-one", -2)
    dry = runner.invoke(args=["recount", "--dry-run"])
    assert dry.exit_code == 0
    assert dry.output == (
        "harbour-school: count was 250, should be 3\n"
        "quiet-one: count was -2, should be 0\n"
        "2 count(s) wrong; run without --dry-run to repair\n"
    )
    assert count_of(app, "harbour-school") == 250, "a dry run repairs nothing"

    repaired = runner.invoke(args=["recount"])
    assert repaired.exit_code == 0
    assert repaired.output.endswith("repaired 2 count(s)\n")
    assert count_of(app, "harbour-school") == 3
    assert count_of(app, "quiet-one") == 0
    assert runner.invoke(args=["recount"]).output == "all counts are correct\n"


def test_recount_on_postgresql(pg_app: Flask) -> None:
    add_petition(pg_app, slug="harbour-school")
    confirmed_signatures(pg_app, "harbour-school", 2)
    corrupt(pg_app, "harbour-school", 0)
    result = pg_app.test_cli_runner().invoke(args=["recount"])
    assert "harbour-school: count was 0, should be 2" in result.output
    assert count_of(pg_app, "harbour-school") == 2


def run_cli(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("PETITIONKIT_")}
    environment.update(PETITIONKIT_INSTANCE_PATH=str(instance), PETITIONKIT_SECRET_KEY=TEST_SECRET)
    return subprocess.run(
        [sys.executable, "-c", "from petitionkit.cli import main; main()", *args],
        env=environment, cwd=instance, capture_output=True, text=True, timeout=120,
    )


def test_fresh_instance_from_the_command_line(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    upgraded = run_cli(instance, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert (instance / "petitionkit.db").exists()

    files = sorted(str(path) for path in EXAMPLES.glob("*.md"))
    loaded = run_cli(instance, "petition", "load", *files)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.count("created ") == len(files)

    listed = run_cli(instance, "petition", "list")
    assert listed.returncode == 0
    assert "bring-daniel-home\topen\t0\tBring Daniel Oduya home" in listed.stdout.splitlines()


def test_commands_on_an_unmigrated_database_say_what_to_do(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = make_app(tmp_path, migrated_sqlite, DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    runner = app.test_cli_runner()
    for args in (["petition", "list"], ["recount"],
                 ["petition", "load", str(next(EXAMPLES.glob("*.md")))]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, args
        assert "run `petitionkit db upgrade` first" in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    with app.app_context():
        db.engine.dispose()


def test_signers_invalidate_withdraws_and_tells_the_plugins(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    plugins = tmp_path / "instance" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "crm.py").write_text(
        "from petitionkit import hookimpl\n\n"
        "@hookimpl\n"
        "def petitionkit_signature_withdrawn(petition, signature, reason):\n"
        "    pass\n"
    )
    app = make_app(tmp_path, migrated_sqlite)
    slug = add_petition(app)
    other = add_petition(app, slug="another-petition")
    first = sign_and_confirm(app, slug, "First Signer", "first@example.org")
    second = sign_and_confirm(app, slug, "Second Signer", "second@example.org")
    elsewhere = sign_and_confirm(app, other, "Elsewhere", "elsewhere@example.org")
    runner = app.test_cli_runner()

    result = runner.invoke(args=["signers", "invalidate", slug, str(first), str(elsewhere)])

    assert result.exit_code == 0, result.output
    assert f"{first}\twithdrawn" in result.output
    assert f"{elsewhere}\tnot a signature of {slug}" in result.output
    assert f"1 signature(s) withdrawn from {slug}" in result.output
    with app.app_context():
        counts = dict(db.session.execute(select(Petition.slug, Petition.signature_count)).all())
        statuses = dict(db.session.execute(select(Signature.id, Signature.status)).all())
        jobs = db.session.execute(select(OutboxJob.kind, OutboxJob.payload)
                                  .where(OutboxJob.kind == "plugins.signature_withdrawn")).all()
    assert counts == {slug: 1, other: 1}
    assert statuses == {first: "cancelled", second: "confirmed", elsewhere: "confirmed"}
    assert jobs == [("plugins.signature_withdrawn",
                     {"signature_id": first, "plugin": "crm", "reason": "operator"})]
    again = runner.invoke(args=["signers", "invalidate", slug, str(first)])
    assert f"{first}\talready withdrawn" in again.output
    missing = runner.invoke(args=["signers", "invalidate", "no-such-petition", "1"])
    assert missing.exit_code == 1 and "there is no petition 'no-such-petition'" in missing.output
