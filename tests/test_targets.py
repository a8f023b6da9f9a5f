"""Targets: routing, throttled batches, the letter by e-mail (test and live) and the report."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from petitionkit import create_app
from petitionkit.extensions import db
from petitionkit.outbox.models import PENDING, OutboxJob
from petitionkit.petitions.models import utcnow
from petitionkit.signatures import services
from petitionkit.signatures.models import Signature
from petitionkit.targets import Target
from petitionkit.targets.delivery import DELIVER_JOB, ROUTE_JOB
from petitionkit.testing import run_jobs, sign_and_confirm

from .conftest import add_petition, base_config, make_app
from .smtp import RecordingSMTPServer

MINISTER = {
    "name": "Vera Placeholder", "title": "Minister", "organization": "Ministry of Examples",
    "email": "minister@example.gov", "salutation": "Your Excellency", "languages": ["fr", "en"],
}


def letter_petition(app: Flask, **letter: Any) -> str:
    return add_petition(app, slug="letter", title="Release the poet", body="Release him now.",
                        targets=[MINISTER], letter={"organizer_email": "organizer@example.org",
                                                    **letter})


def mail_app(tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer) -> Flask:
    return make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url)


def deliveries(smtp_server: RecordingSMTPServer) -> list[Any]:
    return [m for m in smtp_server.messages if "new signature" in str(m["Subject"])]


def test_target_from_the_petition_file() -> None:
    target = Target.from_mapping(MINISTER)
    assert target.display_name() == "Minister Vera Placeholder"
    assert target.languages == ("fr", "en")
    assert target.key == Target.from_mapping(dict(MINISTER)).key, "the key is stable"
    with pytest.raises(ValueError, match="unknown target fields: fax"):
        Target.from_mapping({"name": "X", "fax": "1"})
    with pytest.raises(ValueError, match="needs a name"):
        Target.from_mapping({"email": "x@example.org"})


def test_test_mode_sends_the_letter_to_the_organizer(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = mail_app(tmp_path, migrated_sqlite, smtp_server)
    slug = letter_petition(app, delivery="test")
    sign_and_confirm(app, slug, "Named One", "one@example.org", show_name=True, country="FR",
                     postal_code="75001")
    sign_and_confirm(app, slug, "Hidden Two", "two@example.org")
    run_jobs(app)
    [message] = deliveries(smtp_server)
    assert message["To"] == "Organizer <organizer@example.org>"
    assert str(message["Date"]).endswith(" +0000"), "a letter is dated, in UTC"
    subject = str(message["Subject"]).strip()
    assert subject.startswith("[TEST for Minister Vera Placeholder] Release the poet")
    body = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert "would go to Minister Vera Placeholder <minister@example.gov>" in body
    assert "Your Excellency,\n\nRelease him now." in body
    assert "- Named One (France, 75001)" in body
    assert "Hidden Two" not in body and "two@example.org" not in body
    assert "And 1 person who asked not to be named." in body


def test_live_mode_goes_to_the_target_and_withdrawn_signers_are_left_out(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = mail_app(tmp_path, migrated_sqlite, smtp_server)
    slug = letter_petition(app, delivery="live")
    kept = sign_and_confirm(app, slug, "Kept Signer", "kept@example.org", show_name=True)
    gone = sign_and_confirm(app, slug, "Gone Signer", "gone@example.org", show_name=True)
    with app.app_context():
        assert kept != gone
        nonce = db.session.get(Signature, gone).token_nonce
        services.cancel(db.session(), gone, nonce)
    run_jobs(app)
    [message] = deliveries(smtp_server)
    assert message["To"] == "Minister Vera Placeholder <minister@example.gov>"
    body = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert "- Kept Signer" in body and "Gone Signer" not in body


def test_batches_per_target_are_throttled_and_spread_out(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = mail_app(tmp_path, migrated_sqlite, smtp_server)
    slug = letter_petition(app, delivery="live", max_per_hour=2)
    sign_and_confirm(app, slug, "First", "1@example.org", show_name=True)
    run_jobs(app)
    assert len(deliveries(smtp_server)) == 1
    for number in range(2, 6):
        sign_and_confirm(app, slug, f"Signer {number}", f"{number}@example.org", show_name=True)
    run_jobs(app)
    assert len(deliveries(smtp_server)) == 1, "the next batch waits for its slot"
    with app.app_context():
        [waiting] = db.session.scalars(
            select(OutboxJob).where(OutboxJob.kind == DELIVER_JOB, OutboxJob.status == PENDING)
        ).all()
        available = waiting.available_at.replace(tzinfo=utcnow().tzinfo)
        assert available - utcnow() > timedelta(minutes=29)
        assert len(waiting.payload["signature_ids"]) == 4, "one letter for the whole slot"


def test_no_routing_when_delivery_is_off(app: Flask) -> None:
    slug = letter_petition(app)
    sign_and_confirm(app, slug, "Signer", "s@example.org")
    with app.app_context():
        assert db.session.scalar(select(OutboxJob).where(OutboxJob.kind == ROUTE_JOB)) is None


def test_signers_may_edit_the_letter_where_the_petition_allows(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = mail_app(tmp_path, migrated_sqlite, smtp_server)
    slug = letter_petition(app, delivery="test", editable=True)
    client = app.test_client()
    assert 'name="letter_text"' in client.get(f"/p/{slug}").text
    response = client.post(f"/api/v1/petitions/{slug}/signatures", json={
        "name": "Own Words", "email": "own@example.org", "show_name": True,
        "letter_text": "I knew him as a teacher.\nPlease let him go home.",
    })
    assert response.status_code == 202
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        services.confirm(db.session(), signature.id, signature.token_nonce,
                         listener=app.extensions["petitionkit.lifecycle"])
    run_jobs(app)
    [message] = deliveries(smtp_server)
    body = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert "- Own Words\n    I knew him as a teacher.\n    Please let him go home." in body
    quiet = client.post(f"/api/v1/petitions/{slug}/signatures", json={
        "name": "Quiet Writer", "email": "quiet@example.org", "letter_text": "From a neighbour."})
    assert quiet.status_code == 202
    with app.app_context():
        signature = next(signature for signature in db.session.scalars(select(Signature))
                         if signature.name == "Quiet Writer")
        services.confirm(db.session(), signature.id, signature.token_nonce,
                         listener=app.extensions["petitionkit.lifecycle"])
    run_jobs(app)  # routed into the next slot, a few minutes later
    with app.app_context():
        db.session.execute(
            OutboxJob.__table__.update().where(OutboxJob.kind == DELIVER_JOB)
            .values(available_at=utcnow())
        )
        db.session.commit()
    run_jobs(app)
    assert len(deliveries(smtp_server)) == 2
    second = deliveries(smtp_server)[-1].get_body(preferencelist=("plain",)).get_content()
    second = second.replace("\r\n", "\n")
    assert "- A signer who asked not to be named:\n    From a neighbour." in second
    assert "Quiet Writer" not in second
    too_long = client.post(f"/api/v1/petitions/{slug}/signatures", json={
        "name": "Long", "email": "long@example.org", "letter_text": "x" * 3001})
    assert too_long.status_code == 422
    assert too_long.json["errors"] == {"letter_text": ["Please shorten this to 3000 characters."]}


def test_handover_report_as_csv_and_printable_html(
    app: Flask, tmp_path: Path
) -> None:
    slug = letter_petition(app)
    sign_and_confirm(app, slug, "=Named Signer", "n@example.org", show_name=True, country="KE")
    sign_and_confirm(app, slug, "Unnamed Signer", "u@example.org")
    result = app.test_cli_runner().invoke(
        args=["deliver", slug, "--report", "--output-dir", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2 signature(s); wrote ")
    rows = list(csv.reader((tmp_path / "out" / f"{slug}-handover.csv").read_text().splitlines()))
    assert rows[0] == ["petition", "Release the poet"]
    assert rows[1:4] == [["total signatures", "2"], ["signed online", "2"],
                         ["gathered offline", "0"]]
    assert rows[6:] == [["name", "locality"], ["'=Named Signer", "Kenya"]]
    html = (tmp_path / "out" / f"{slug}-handover.html").read_text()
    assert "2 people signed this petition (as of " in html
    assert "<td><bdi>=Named Signer</bdi></td><td>Kenya</td>" in html
    assert "Unnamed Signer" not in html and "n@example.org" not in html
    assert "Minister Vera Placeholder, Ministry of Examples" in html
    assert "@media print" in html
    status = app.test_cli_runner().invoke(args=["deliver", slug]).output
    assert status == "delivery: off\nbatches: 0 waiting, 0 delivered, 0 failed " \
                     "(see `petitionkit outbox dead`)\n"


def test_handover_report_without_the_private_key_stops_before_writing(
    app: Flask, tmp_path: Path
) -> None:
    slug = letter_petition(app)
    sign_and_confirm(app, slug, "Named Signer", "n@example.org", show_name=True)
    # The same database, as a web host sees it: the public key only.
    web = create_app(base_config(Path(app.instance_path), DATA_PRIVATE_KEY_FILE=None))
    output = tmp_path / "out"
    result = web.test_cli_runner().invoke(
        args=["deliver", slug, "--report", "--output-dir", str(output)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.startswith("Error: the hand-over report lists signers' names and so "
                                    "needs the private key")
    assert "DATA_PRIVATE_KEY_FILE" in result.output and "Traceback" not in result.output
    assert not output.exists(), "no file, not even an empty folder, is left behind"


def test_concurrent_routing_on_postgresql_sends_one_letter_per_slot(pg_app: Flask) -> None:
    import threading

    from petitionkit.petitions.models import Petition
    from petitionkit.targets.delivery import add_to_batch

    slug = letter_petition(pg_app, delivery="live", max_per_hour=1)
    signature_ids = [sign_and_confirm(pg_app, slug, f"S{number}", f"s{number}@example.org")
                     for number in range(12)]
    with pg_app.app_context():
        # The route jobs that confirmation enqueued are replaced by direct concurrent calls.
        db.session.execute(OutboxJob.__table__.delete().where(OutboxJob.kind == ROUTE_JOB))
        db.session.commit()
    target = Target.from_mapping(MINISTER)
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def route(share: list[int]) -> None:
        try:
            with pg_app.app_context():
                petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
                start.wait()
                for signature_id in share:
                    add_to_batch(db.session(), petition, target, signature_id, pg_app)
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=route, args=(signature_ids[i::6],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with pg_app.app_context():
        batches = db.session.scalars(select(OutboxJob).where(OutboxJob.kind == DELIVER_JOB)).all()
        keys = [batch.idempotency_key for batch in batches]
        assert len(batches) == 1, f"one slot, one letter; got {keys}"
        assert sorted(batches[0].payload["signature_ids"]) == sorted(signature_ids)


def test_targets_without_an_address_are_left_to_the_report_and_off_stops_letters(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from petitionkit.petitions.loader import upsert_petition

    app = mail_app(tmp_path, migrated_sqlite, smtp_server)
    slug = add_petition(app, slug="by-hand", letter={"delivery": "live"},
                        targets=[{"name": "Office Without E-mail"}])
    sign_and_confirm(app, slug, "Signer", "s@example.org")
    with caplog.at_level(logging.INFO, logger="petitionkit.targets"):
        run_jobs(app)
    assert "channel=none" in caplog.text
    assert deliveries(smtp_server) == []

    letter = letter_petition(app, delivery="live", max_per_hour=1)
    sign_and_confirm(app, letter, "First", "1@example.org")
    run_jobs(app)
    sign_and_confirm(app, letter, "Second", "2@example.org")
    run_jobs(app)  # routed into the next hour's batch
    with app.app_context():
        upsert_petition(db.session(), {"slug": letter, "letter": {"delivery": "off"}})
        db.session.execute(
            OutboxJob.__table__.update().where(OutboxJob.kind == DELIVER_JOB)
            .values(available_at=utcnow())
        )
        db.session.commit()
    run_jobs(app)
    assert len(deliveries(smtp_server)) == 1, "the batch after switching off is not sent"


def test_the_petition_file_configures_delivery_and_salutations_keep_their_punctuation(
    tmp_path: Path,
) -> None:
    from petitionkit.petitions.loader import PetitionFileError, parse_petition_file
    from petitionkit.petitions.models import Petition
    from petitionkit.targets.letter import render_letter

    path = tmp_path / "letter-to-the-bureau.md"
    path.write_text(
        "---\ntitle: 致局长的信\nkind: letter\ngoal_ladder: auto\n"
        "letter:\n  closing: 此致敬礼\n  delivery: test\n  organizer_email: organizer@example.org\n"
        "  max_per_hour: 4\n  editable: true\n"
        "targets:\n  - name: 示例局长\n    salutation: 尊敬的局长：\n"
        "    address: |\n      示例路 1 号\n---\n请释放他。\n",
        encoding="utf-8",
    )
    values = parse_petition_file(path)
    assert values["goal_settings"] == {"ladder": "auto"}
    assert values["letter"] == {"closing": "此致敬礼", "delivery": "test",
                                "organizer_email": "organizer@example.org", "max_per_hour": 4,
                                "editable": True}
    petition = Petition(**values)
    target = Target.from_mapping(values["targets"][0])
    assert target.address.strip() == "示例路 1 号"
    letter = render_letter(petition, target, [])
    assert letter.startswith("尊敬的局长：\n\n请释放他。\n\n此致敬礼\n")
    assert render_letter(petition, Target(name="Ada Example"), []).startswith("Dear Ada Example,")
    path.write_text("---\ntitle: T\nletter:\n  delivery: test\n---\nBody\n", encoding="utf-8")
    with pytest.raises(PetitionFileError, match="organizer_email"):
        parse_petition_file(path)
    path.write_text("---\ntitle: T\nletter:\n  delivery: always\n---\nBody\n", encoding="utf-8")
    with pytest.raises(PetitionFileError, match="letter.delivery must be one of off, test, live"):
        parse_petition_file(path)


def test_the_letter_field_follows_the_same_text_rules_as_the_core_fields(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    """A plugin's field refuses what the name field refuses, except the line breaks and tabs a
    text area is for; a browser sends its line breaks as CR LF."""
    app = make_app(tmp_path, migrated_sqlite)
    slug = letter_petition(app, delivery="test", editable=True)
    client = app.test_client()
    for sneaky in ("Ends here\u2028Reply-To: x", "A\u2029B", "Unreadable \ufffd bytes",
                   "Bell \x07", "Private \ue000 use"):
        response = client.post(f"/api/v1/petitions/{slug}/signatures", json={
            "name": "Own Words", "email": "own@example.org", "letter_text": sneaky})
        assert response.status_code == 422, sneaky
        assert list(response.json["errors"]) == ["letter_text"]
    page = client.post(f"/p/{slug}/sign", data={
        "name": "Own Words", "email": "own@example.org",
        "letter_text": "First line.\r\n\r\n\tSecond line."})
    assert page.status_code == 303
