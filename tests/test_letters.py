"""Letters in the signer's own words: the sample letter, one letter per signer or in batches,
letters from the signer's own mail program, and letters in the petition's language."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from petitionkit.extensions import db
from petitionkit.outbox.models import OutboxJob
from petitionkit.petitions.loader import PetitionFileError, parse_petition
from petitionkit.petitions.models import utcnow
from petitionkit.signatures import services
from petitionkit.signatures.models import ORGANIZATION, Signature
from petitionkit.targets.delivery import DELIVER_JOB, ROUTE_JOB
from petitionkit.testing import run_jobs, sign_and_confirm

from .conftest import add_petition, make_app
from .smtp import RecordingSMTPServer

SAMPLE = "I am writing about Rosa, a teacher held for a petition.\n\nPlease release her."
DIRECTOR = {"name": "Aurel Example", "title": "Director", "organization": "Example Office",
            "email": "director@example.gov", "salutation": "Dear Director"}
AMBASSADOR = {"name": "Ottilie Example", "title": "Ambassador", "email": "embassy@example.net"}
NO_ADDRESS = {"name": "Minister Without Mail", "title": "Minister"}


def letter_app(tmp_path: Path, migrated_sqlite: Path, smtp: RecordingSMTPServer) -> Flask:
    return make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp.url)


def letter_petition(app: Flask, locale: str = "en", targets: list[dict[str, Any]] | None = None,
                    **letter: Any) -> str:
    return add_petition(app, slug="letter", title="Free the teacher", body="Campaign text.",
                        locale=locale, targets=targets or [DIRECTOR],
                        letter={"delivery": "live", "editable": True, "sample": SAMPLE,
                                **letter})


def letters(smtp: RecordingSMTPServer) -> list[Any]:
    return [m for m in smtp.messages if m["To"] and "director@example.gov" in m["To"]]


def text_of(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content()).replace("\r\n", "\n")


def confirm_api_signature(app: Flask, name: str) -> None:
    with app.app_context():
        [signature] = [s for s in db.session.scalars(select(Signature)) if s.name == name]
        services.confirm(db.session(), signature.id, signature.token_nonce,
                         listener=app.extensions["petitionkit.lifecycle"])


def release_batches(app: Flask) -> None:
    with app.app_context():
        db.session.execute(OutboxJob.__table__.update().where(OutboxJob.kind == DELIVER_JOB)
                           .values(available_at=utcnow()))
        db.session.commit()
    run_jobs(app)


def test_the_letter_box_holds_the_sample_and_an_unchanged_sample_is_not_stored(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = letter_app(tmp_path, migrated_sqlite, smtp_server)
    slug = letter_petition(app)
    client = app.test_client()
    page = client.get(f"/p/{slug}").text
    box = re.search(r'<textarea id="[^"]*" name="letter_text"[^>]*>(.*?)</textarea>', page, re.S)
    assert box and html.unescape(box.group(1)) == SAMPLE
    assert client.get(f"/embed/{slug}").text.count(html.escape(SAMPLE.split("\n")[0])) == 1
    # Sent back as it was offered, with the line endings a browser uses: nothing to keep.
    kept = client.post(f"/api/v1/petitions/{slug}/signatures", json={
        "name": "Kept Sample", "email": "kept@example.org", "show_name": True,
        "letter_text": SAMPLE.replace("\n", "\r\n") + "  "})
    assert kept.status_code == 202
    edited = client.post(f"/api/v1/petitions/{slug}/signatures", json={
        "name": "Own Words", "email": "own@example.org", "show_name": True,
        "letter_text": SAMPLE + "\nShe taught my daughter to read."})
    assert edited.status_code == 202
    with app.app_context():
        stored = {s.name: s.extra for s in db.session.scalars(select(Signature))}
    assert stored["Kept Sample"].get("letter_text") is None
    assert stored["Own Words"]["letter_text"].endswith("She taught my daughter to read.")
    confirm_api_signature(app, "Kept Sample")
    confirm_api_signature(app, "Own Words")
    run_jobs(app)
    release_batches(app)
    body = "\n".join(text_of(m) for m in letters(smtp_server))
    # The sample is the letter; the signer who changed it is quoted under their name.
    assert body.startswith("Dear Director,\n\nI am writing about Rosa")
    assert "- Own Words\n" in body and "    She taught my daughter to read." in body
    assert "Campaign text." not in body


def test_one_letter_per_signer_carries_that_signers_words_and_name(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = letter_app(tmp_path, migrated_sqlite, smtp_server)
    slug = letter_petition(app, batch=False, subject="Release Rosa")
    sign_and_confirm(app, slug, "Named Writer", "named@example.org", show_name=True,
                     extra={"letter_text": "Release her, she is my colleague."})
    sign_and_confirm(app, slug, "Hidden Writer", "hidden@example.org",
                     extra={"letter_text": "Release her."})
    run_jobs(app)
    with app.app_context():
        slots = db.session.scalars(select(OutboxJob.available_at)
                                   .where(OutboxJob.kind == DELIVER_JOB)).all()
    assert len(set(slots)) == 2, "each letter has its own throttled slot"
    release_batches(app)
    sent = letters(smtp_server)
    assert len(sent) == 2, "one letter each, never one batch"
    assert {str(m["Subject"]) for m in sent} == {"Release Rosa"}
    first, second = (text_of(m) for m in sent)
    assert first.startswith("Dear Director,\n\nRelease her, she is my colleague.\n\nNamed Writer")
    assert second.startswith("Dear Director,\n\nRelease her.\n\nA signer who asked not to be named")
    assert "Hidden Writer" not in second


def test_letters_from_the_signers_own_mail_program_never_pass_through_the_engine(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = letter_app(tmp_path, migrated_sqlite, smtp_server)
    slug = letter_petition(app, via="signer", targets=[DIRECTOR, AMBASSADOR, NO_ADDRESS],
                           salutation="Your Excellency", closing="Yours respectfully,")
    client = app.test_client()
    page = client.get(f"/p/{slug}").text
    assert 'name="letter_text"' not in page, "the letter is written in the mail program"
    links = [html.unescape(h) for h in re.findall(r'href="(mailto:[^"]+)"', page)]
    assert len(links) == 2, "one link per target with an address"
    director = urlsplit(links[0])
    assert director.path == "director@example.gov"
    query = parse_qs(director.query)
    assert query["subject"] == ["Free the teacher"]
    assert query["body"] == ["Dear Director,\r\n\r\n" + SAMPLE.replace("\n", "\r\n")
                             + "\r\n\r\nYours respectfully,"]
    assert parse_qs(urlsplit(links[1]).query)["body"][0].startswith("Your Excellency,")
    assert "+" not in links[0], "spaces are %20 in a mailto: link, not +"
    embed = client.get(f"/embed/{slug}").text
    assert 'target="_blank" rel="noopener">' in embed and "mailto:director@example.gov" in embed
    sign_and_confirm(app, slug, "Signer", "signer@example.org")
    run_jobs(app)
    with app.app_context():
        assert db.session.scalar(select(OutboxJob).where(OutboxJob.kind == ROUTE_JOB)) is None
    assert letters(smtp_server) == []


def test_both_ways_offer_the_letter_box_and_the_mail_program(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = letter_app(tmp_path, migrated_sqlite, smtp_server)
    slug = letter_petition(app, via="both")
    page = app.test_client().get(f"/p/{slug}").text
    assert 'name="letter_text"' in page and "mailto:director@example.gov" in page
    sign_and_confirm(app, slug, "Signer", "signer@example.org")
    run_jobs(app)
    release_batches(app)
    assert len(letters(smtp_server)) == 1


def test_a_hostile_sample_stays_inside_the_link(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = letter_app(tmp_path, migrated_sqlite, smtp_server)
    hostile = 'Hi "><script>alert(1)</script> \u202eevil & more'
    slug = letter_petition(app, via="signer", sample=hostile, subject="a&b=c?d#e")
    page = app.test_client().get(f"/p/{slug}").text
    assert "<script>alert" not in page
    [link] = [html.unescape(h) for h in re.findall(r'href="(mailto:[^"]+)"', page)]
    query = parse_qs(urlsplit(link).query)
    assert query["subject"] == ["a&b=c?d#e"]
    assert query["body"][0].endswith(hostile)
    assert "#" not in link, "a fragment would cut the letter short"
    assert unquote(link).count("mailto:") == 1


def test_letters_go_in_the_petitions_language(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = letter_app(tmp_path, migrated_sqlite, smtp_server)
    slug = letter_petition(app, locale="fr", targets=[{**DIRECTOR, "salutation": ""}])
    sign_and_confirm(app, slug, "Signataire", "s@example.org", show_name=True, country="DE")
    run_jobs(app)
    release_batches(app)
    [message] = letters(smtp_server)
    assert message["Content-Language"] == "fr"
    body = text_of(message)
    assert "Signataire (Allemagne)" in body, "the country in the petition's language"
    assert "Signé par" in body and "Signed by" not in body
    assert not body.startswith("Dear"), "the salutation too"
    assert "nouvelle signature" in str(message["Subject"])


@pytest.mark.parametrize(("letter", "problem"), [
    ({"via": "fax"}, "letter.via must be one of engine, signer, both"),
    ({"batch": "no"}, "letter.batch must be true or false"),
    ({"sample": "x" * 3001}, "letter.sample is longer than letter.max_letter_length"),
    ({"sample": "x" * 101, "max_letter_length": 100}, "letter.sample is longer"),
    ({"subject": "s" * 201}, "letter.subject must be at most 200 characters"),
    ({"sample": ["a", "b"]}, "letter.sample must be text"),
])
def test_the_petition_file_rejects_bad_letter_settings(
    letter: dict[str, Any], problem: str
) -> None:
    with pytest.raises(PetitionFileError, match=re.escape(problem)):
        parse_petition("t.md", {"title": "T", "letter": letter}, "Body")


def test_the_sample_keeps_its_paragraphs_and_drops_the_files_line_wrapping() -> None:
    values = parse_petition("t.md", {"title": "T", "letter": {
        "sample": "First line\nwrapped here.\r\n\r\n\n  Second   paragraph\n  also wrapped.\n"}},
        "Body")
    sample = values["letter"]["sample"]
    assert sample == "First line wrapped here.\n\nSecond paragraph also wrapped."


# Joint letters: organisations are named once approved, and reach no official before.

def approve(app: Flask, slug: str, signature_id: int) -> None:
    result = app.test_cli_runner().invoke(args=["signers", "approve", slug, str(signature_id)])
    assert result.exit_code == 0, result.output


def test_a_joint_letter_names_approved_organisations_and_holds_back_the_others(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = letter_app(tmp_path, migrated_sqlite, smtp_server)
    slug = add_petition(app, slug="joint", title="Open the harbour", body="Campaign text.",
                        signers=["people", "organizations"], targets=[DIRECTOR],
                        letter={"delivery": "live", "sample": SAMPLE})
    keepers = sign_and_confirm(app, slug, "Contact Person", "contact@keepers.example",
                               kind=ORGANIZATION, organization="Harbour Keepers",
                               country="KE")
    unchecked = sign_and_confirm(app, slug, "Someone", "someone@example.org",
                                 kind=ORGANIZATION, organization="Unchecked Union")
    run_jobs(app)
    release_batches(app)
    assert letters(smtp_server) == [], "an organisation awaiting approval is not sent"
    approve(app, slug, keepers)
    sign_and_confirm(app, slug, "Named Person", "named@example.org", show_name=True)
    run_jobs(app)
    release_batches(app)
    body = "\n".join(text_of(m) for m in letters(smtp_server))
    assert "Signed by these organisations:\n- Harbour Keepers (Kenya)\n" in body
    assert "Signed by:\n- Named Person\n" in body
    assert "Contact Person" not in body, "an organisation's contact is never named"
    assert "asked not to be named" not in body
    assert "Unchecked Union" not in body
    # Even inside a batch (routed by hand, or approved and then the batch rebuilt), an
    # organisation not approved is left out of the letter.
    with app.app_context():
        petition_id = db.session.get(Signature, unchecked).petition_id
        db.session.add(OutboxJob(kind=DELIVER_JOB, idempotency_key="deliver:by-hand",
                                 payload={"petition_id": petition_id, "target": DIRECTOR,
                                          "signature_ids": [unchecked]},
                                 available_at=utcnow()))
        db.session.commit()
    sent = len(letters(smtp_server))
    run_jobs(app)
    assert len(letters(smtp_server)) == sent


def test_a_letter_of_its_own_is_signed_with_the_organisations_name(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = letter_app(tmp_path, migrated_sqlite, smtp_server)
    slug = add_petition(app, slug="joint", title="Open the harbour", body="Campaign text.",
                        locale="fr", signers=["organizations"], targets=[DIRECTOR],
                        letter={"delivery": "live", "sample": SAMPLE, "batch": False})
    keepers = sign_and_confirm(app, slug, "Contact Person", "contact@keepers.example",
                               kind=ORGANIZATION, organization="Gardiens du port",
                               country="DE")
    approve(app, slug, keepers)
    run_jobs(app)
    release_batches(app)
    [message] = letters(smtp_server)
    body = text_of(message)
    assert "\nGardiens du port (Allemagne)\n" in body
    assert "organisation" in body.rsplit("\n\n", 1)[-1], "the total counts organisations"


def test_with_delivery_off_no_letter_box_is_offered_but_the_mail_links_are(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = letter_app(tmp_path, migrated_sqlite, smtp_server)
    slug = letter_petition(app, via="both", delivery="off")
    client = app.test_client()
    page = client.get(f"/p/{slug}").text
    assert 'name="letter_text"' not in page, "words the engine would never send"
    assert "mailto:director@example.gov" in page
    signed = client.post(f"/api/v1/petitions/{slug}/signatures", json={
        "name": "Quiet", "email": "quiet@example.org", "letter_text": "Kept nowhere."})
    assert signed.status_code == 400
    assert signed.json["errors"] == {"letter_text": ["This field is not known."]}


def test_the_example_letter_is_sent_in_test_mode_to_its_organiser() -> None:
    from petitionkit.petitions.loader import parse_petition_file
    examples = Path(__file__).resolve().parent.parent / "examples" / "petitions"
    letter = parse_petition_file(examples / "letter-director-vantic.md")["letter"]
    assert (letter["via"], letter["delivery"]) == ("both", "test")
    assert letter["organizer_email"].endswith("@example.org")
