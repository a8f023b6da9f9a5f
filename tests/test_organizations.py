"""Organisations as signers (joint letters): signing through a contact person, approval before
anything is public, the public list in the page, the widget and the read API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from petitionkit.extensions import db
from petitionkit.petitions.loader import PetitionFileError, parse_petition
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import CANCELLED, CONFIRMED, ORGANIZATION, Signature
from petitionkit.testing import recording_http_server, run_jobs, sign_and_confirm

from .conftest import add_petition, make_app
from .smtp import RecordingSMTPServer

JOINT = "joint-letter"
BOTH = "open-letter"
PEOPLE = "people-only"
ORIGIN = {"Origin": "http://localhost"}


@pytest.fixture
def org_app(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Flask]:
    app = make_app(tmp_path, migrated_sqlite, COUNT_CACHE_SECONDS=0)
    add_petition(app, slug=JOINT, signers=["organizations"], goal=10,
                 goal_settings={"counts": "organizations"}, allowed_origins=["http://localhost"])
    add_petition(app, slug=BOTH, signers=["people", "organizations"])
    add_petition(app, slug=PEOPLE)
    yield app
    with app.app_context():
        db.engine.dispose()


def sign_org(app: Flask, slug: str, organization: str, email: str, **fields: Any) -> int:
    return sign_and_confirm(app, slug, "Contact Person", email, kind=ORGANIZATION,
                            organization=organization, **fields)


def cli(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def signature(app: Flask, signature_id: int) -> Signature:
    with app.app_context():
        found = db.session.get(Signature, signature_id)
        assert found is not None
        db.session.expunge(found)
        return found


def petition_row(app: Flask, slug: str) -> Petition:
    with app.app_context():
        found = db.session.scalar(select(Petition).where(Petition.slug == slug))
        assert found is not None
        db.session.expunge(found)
        return found


# Signing, through the form and the API, confirmed through real mail.

def test_an_organisation_signs_through_the_form_and_confirms_by_mail(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url)
    add_petition(app, slug=BOTH, signers=["people", "organizations"])
    client = app.test_client()
    page = client.get(f"/p/{BOTH}").get_data(as_text=True)
    assert 'name="signer" type="radio" value="organization"' in page
    assert 'id="organization_url"' in page
    response = client.post(f"/p/{BOTH}/sign", data={
        "signer": "organization", "organization": "River Keepers",
        "organization_url": "https://riverkeepers.example", "country": "ke",
        "name": "Wanjiru Contact", "email": "contact@riverkeepers.example", "show_name": "y",
    })
    assert response.status_code == 303
    run_jobs(app)
    [message] = smtp_server.wait_for(1)
    assert str(message["To"]) == "Wanjiru Contact <contact@riverkeepers.example>"
    body = message.get_body(preferencelist=("plain",)).get_content()
    token = re.search(r"/confirm/([^\s]+)", body)
    assert token is not None
    assert client.post(f"/confirm/{token.group(1)}").status_code == 200
    with app.app_context():
        stored = db.session.scalars(select(Signature)).one()
        assert (stored.kind, stored.status) == (ORGANIZATION, CONFIRMED)
        assert (stored.organization, stored.organization_url, stored.country) == (
            "River Keepers", "https://riverkeepers.example", "KE")
        # The contact is sealed and never shown, whatever the post said.
        assert stored.name == "Wanjiru Contact"
        assert stored.legacy_name is None and stored.legacy_email is None
        assert stored.public_name is None and stored.show_name is False
        assert stored.approved_at is None
    # Confirmed but not approved: not on the count, not public.
    assert client.get(f"/api/v1/petitions/{BOTH}").json["count"] == 0
    assert "River Keepers" not in client.get(f"/p/{BOTH}").get_data(as_text=True)


def test_the_json_api_signs_an_organisation(org_app: Flask) -> None:
    client = org_app.test_client()
    response = client.post(f"/api/v1/petitions/{BOTH}/signatures", headers=ORIGIN, json={
        "organization": "Lake Watch", "organization_url": "http://lakewatch.example/about",
        "name": "Ana Contact", "email": "ana@lakewatch.example",
    })
    assert response.status_code == 202, response.json
    # Without an organisation the same petition takes a person.
    response = client.post(f"/api/v1/petitions/{BOTH}/signatures", headers=ORIGIN, json={
        "name": "Ana Person", "email": "ana@example.org",
    })
    assert response.status_code == 202
    with org_app.app_context():
        kinds = {s.kind: s.organization for s in db.session.scalars(select(Signature))}
    assert kinds == {"organization": "Lake Watch", "person": None}


def test_an_organisations_only_petition_needs_the_organisation(org_app: Flask) -> None:
    client = org_app.test_client()
    response = client.post(f"/api/v1/petitions/{JOINT}/signatures", headers=ORIGIN,
                           json={"name": "Ana", "email": "ana@example.org"})
    assert response.status_code == 422
    assert response.json["errors"]["organization"] == ["Please enter the organisation's name."]
    response = client.post(f"/api/v1/petitions/{JOINT}/signatures", headers=ORIGIN, json={
        "signer": "person", "organization": "X", "name": "Ana", "email": "ana@example.org"})
    assert response.status_code == 422
    assert response.json["errors"]["signer"] == ["This petition is signed by organisations only."]
    page = org_app.test_client().get(f"/p/{JOINT}").get_data(as_text=True)
    assert 'type="radio"' not in page and 'name="signer" value="organization"' in page


def test_a_people_only_petition_refuses_an_organisation_clearly(org_app: Flask) -> None:
    client = org_app.test_client()
    refusal = "This petition is signed by people only, not by organisations."
    response = client.post(f"/api/v1/petitions/{PEOPLE}/signatures", headers=ORIGIN, json={
        "organization": "Lake Watch", "name": "Ana", "email": "ana@example.org"})
    assert response.status_code == 422
    assert response.json["errors"] == {"organization": [refusal]}
    response = client.post(f"/p/{PEOPLE}/sign", data={
        "signer": "organization", "name": "Ana", "email": "ana@example.org"})
    assert response.status_code == 422
    assert refusal in response.get_data(as_text=True)
    assert 'id="organization"' not in client.get(f"/p/{PEOPLE}").get_data(as_text=True)
    with org_app.app_context():
        assert db.session.scalars(select(Signature)).all() == []


def test_a_person_on_a_form_with_both_leaves_the_organisation_fields_unread(
    org_app: Flask,
) -> None:
    # Without JavaScript both sets of fields show; the choice says which are read.
    response = org_app.test_client().post(f"/p/{BOTH}/sign", data={
        "signer": "person", "organization": "typed before choosing", "organization_url": "ftp://x",
        "name": "Ana Person", "email": "ana@example.org"})
    assert response.status_code == 303
    with org_app.app_context():
        stored = db.session.scalars(select(Signature)).one()
        assert (stored.kind, stored.organization, stored.organization_url) == (
            "person", None, None)


# Bad and hostile input.

@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"organization_url": "javascript:alert(1)"}, "organization_url",
     "Please enter the website's address starting with https:// or http://."),
    ({"organization_url": "ftp://files.example.org"}, "organization_url",
     "Please enter the website's address starting with https:// or http://."),
    ({"organization_url": "riverkeepers.example"}, "organization_url",
     "Please enter the website's address starting with https:// or http://."),
    ({"organization_url": "https://user:pw@evil.example"}, "organization_url",
     "This website address is not valid."),
    ({"organization_url": "https://"}, "organization_url", "This website address is not valid."),
    ({"organization_url": "https://a.example:99999/"}, "organization_url",
     "This website address is not valid."),
    ({"organization_url": "https://a.example/" + "x" * 500}, "organization_url",
     "A website address has at most 500 characters."),
    ({"organization": "R" * 201}, "organization",
     "Please shorten the organisation's name to 200 characters."),
    ({"organization": "Keepers \u202eecnarF"}, "organization",
     "This contains characters that change the direction of text. Please retype it."),
    ({"organization": "Keepers \u2066x\u2069"}, "organization",
     "This contains characters that change the direction of text. Please retype it."),
    ({"organization": "<script>alert(1)</script>"}, "organization",
     "Please leave out the characters < and >."),
    ({"organization": "Keepers\x00"}, "organization",
     "This contains invisible control characters. Please retype it."),
    ({"organization": "\u200b\u200b"}, "organization", "Please enter the organisation's name."),
    ({"signer": "robot"}, "signer",
     "Please choose whether you sign as a person or for an organisation."),
])
def test_bad_organisation_fields_get_a_clear_message(
    org_app: Flask, fields: dict[str, str], field: str, message: str
) -> None:
    client = org_app.test_client()
    post = {"organization": "River Keepers", "name": "Ana", "email": "ana@example.org", **fields}
    response = client.post(f"/api/v1/petitions/{BOTH}/signatures", headers=ORIGIN, json=post)
    assert response.status_code == 422
    assert response.json["errors"][field] == [message]
    # The form says the same, next to the field, and keeps what was typed (escaped).
    form = client.post(f"/p/{BOTH}/sign", data={"signer": "organization", **post})
    assert form.status_code == 422
    html = form.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">' in html
    assert "<script>alert" not in html
    with org_app.app_context():
        assert db.session.scalars(select(Signature)).all() == []


def test_organisation_fields_of_the_wrong_type_are_refused(org_app: Flask) -> None:
    response = org_app.test_client().post(
        f"/api/v1/petitions/{BOTH}/signatures", headers=ORIGIN,
        json={"organization": ["A"], "organization_url": 5, "name": "Ana",
              "email": "ana@example.org"})
    assert response.status_code == 400
    assert set(response.json["errors"]) == {"organization", "organization_url"}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(organization=st.text(max_size=300), website=st.text(max_size=80))
def test_generated_organisation_input_never_fails_the_server(
    org_app: Flask, organization: str, website: str
) -> None:
    response = org_app.test_client().post(
        f"/api/v1/petitions/{JOINT}/signatures", headers=ORIGIN,
        json={"organization": organization, "organization_url": website, "name": "Ana",
              "email": "ana@example.org"})
    assert response.status_code in (202, 422), response.get_data(as_text=True)


def test_the_contact_address_deduplicates_as_for_people(org_app: Flask) -> None:
    client = org_app.test_client()
    for name in ("Lake Watch", "Lake Watch (again)"):
        response = client.post(f"/api/v1/petitions/{BOTH}/signatures", headers=ORIGIN, json={
            "organization": name, "name": "Ana", "email": "Ana@LakeWatch.example"})
        # The same answer, whether or not the address had signed.
        assert response.status_code == 202
    with org_app.app_context():
        assert len(db.session.scalars(select(Signature)).all()) == 1


# Approval: nothing public before it; listed and counted after it; a rejection withdraws.

def test_pending_organisations_are_listed_for_organisers_only(org_app: Flask) -> None:
    first = sign_org(org_app, JOINT, "River Keepers", "c1@example.org",
                     organization_url="https://rk.example", country="KE")
    output = cli(org_app, "signers", "pending", JOINT)
    [line] = [line for line in output.splitlines() if line.startswith(f"{first}\t")]
    assert line.split("\t")[:4] == [str(first), "River Keepers", "https://rk.example", "KE"]
    assert "c1@example.org" not in output and "Contact Person" not in output
    contacts = cli(org_app, "signers", "pending", JOINT, "--contacts")
    assert "Contact Person\tc1@example.org" in contacts
    client = org_app.test_client()
    assert client.get(f"/api/v1/petitions/{JOINT}/organizations").json["organizations"] == []
    assert client.get(f"/api/v1/petitions/{JOINT}").json["organizations"] == 0
    assert "River Keepers" not in client.get(f"/embed/{JOINT}").get_data(as_text=True)


def test_an_approved_organisation_is_public_in_page_widget_and_api(org_app: Flask) -> None:
    approved = sign_org(org_app, JOINT, "Keepers of the \u05e0\u05d4\u05e8", "c1@example.org",
                        organization_url="https://rk.example/?a=1&b=2", country="FR")
    sign_org(org_app, JOINT, "Not Yet Approved", "c2@example.org")
    assert "1 organisation(s) approved" in cli(org_app, "signers", "approve", JOINT,
                                                 str(approved))
    assert petition_row(org_app, JOINT).signature_count == 1
    client = org_app.test_client()
    summary = client.get(f"/api/v1/petitions/{JOINT}").json
    assert (summary["organizations"], summary["count"], summary["goal_counts"]) == (
        1, 1, "organizations")
    listed = client.get(f"/api/v1/petitions/{JOINT}/organizations").json
    assert listed["organizations"] == [{
        "name": "Keepers of the \u05e0\u05d4\u05e8", "website": "https://rk.example/?a=1&b=2",
        "country": "FR"}]
    assert (listed["count"], listed["page"], listed["next"]) == (1, 1, None)
    expected = ('<a href="https://rk.example/?a=1&amp;b=2" rel="nofollow ugc noopener" '
                'target="_blank"><bdi>Keepers of the \u05e0\u05d4\u05e8</bdi></a>')
    for url in (f"/p/{JOINT}", f"/embed/{JOINT}"):
        html = client.get(url).get_data(as_text=True)
        assert expected in html, url
        assert "Not Yet Approved" not in html and "c1@example.org" not in html
        assert "1 organisation has signed. Let&#39;s get to 10!" in html
    count = client.get(f"/embed/{JOINT}/count.json").json
    assert (count["count"], count["text"]) == (1, "1 organisation has signed. Let's get to 10!")


def test_exports_name_the_organisation_and_when_it_was_approved(org_app: Flask) -> None:
    approved = sign_org(org_app, JOINT, "Harbour Legal Aid", "legal@example.org",
                        organization_url="https://legal.example/")
    cli(org_app, "signers", "approve", JOINT, str(approved))
    output = cli(org_app, "export", JOINT, "--format", "jsonl")
    [record] = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert (record["kind"], record["organization"], record["organization_url"]) == (
        ORGANIZATION, "Harbour Legal Aid", "https://legal.example/")
    assert record["email"] == "legal@example.org"  # the contact person's, for the organisers
    assert record["approved_at"] is not None
    header = cli(org_app, "export", JOINT, "--format", "csv").splitlines()[0].split(",")
    assert header[2:5] == ["kind", "organization", "organization_url"]


def test_a_rejected_organisation_is_withdrawn_with_the_hook(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    with recording_http_server() as server:
        app = make_app(tmp_path, migrated_sqlite, COUNT_CACHE_SECONDS=0,
                       PLUGINS={"petitionkit-webhook": {"url": server.url,
                                                        "secret": "s" * 32}})
        add_petition(app, slug=JOINT, signers=["organizations"])
        impostor = sign_org(app, JOINT, "Famous Charity", "someone@example.org")
        was_approved = sign_org(app, JOINT, "Later Doubted", "doubt@example.org")
        cli(app, "signers", "approve", JOINT, str(was_approved))
        assert petition_row(app, JOINT).organization_count == 1
        output = cli(app, "signers", "reject", JOINT, str(impostor), str(was_approved))
        assert "2 organisation(s) rejected" in output
        assert signature(app, impostor).status == CANCELLED
        row = petition_row(app, JOINT)
        assert (row.signature_count, row.organization_count) == (0, 0)
        assert app.test_client().get(
            f"/api/v1/petitions/{JOINT}/organizations").json["organizations"] == []
        # Rejected is final: it cannot be approved afterwards.
        assert "not approvable" in app.test_cli_runner().invoke(
            args=["signers", "approve", JOINT, str(impostor)]).output
        run_jobs(app)
        events = [(request.json()["event"], request.json().get("reason"))
                  for request in server.requests]
    assert events.count(("signature.withdrawn", "operator")) == 2
    result = app.test_cli_runner().invoke(args=["recount", "--dry-run"])
    assert "all counts are correct" in result.output


def test_approve_and_reject_refuse_what_is_not_an_organisation(org_app: Flask) -> None:
    person = sign_and_confirm(org_app, BOTH, "Ana Person", "ana@example.org")
    for command in ("approve", "reject"):
        result = org_app.test_cli_runner().invoke(args=["signers", command, BOTH, str(person)])
        assert result.exit_code == 0
        assert "not an organisation's signature" in result.output
    assert signature(org_app, person).status == CONFIRMED
    missing = org_app.test_cli_runner().invoke(args=["signers", "pending", "no-such"])
    assert missing.exit_code != 0 and "there is no petition" in missing.output


def test_the_organisations_list_is_paginated_and_cacheable(org_app: Flask) -> None:
    ids = [sign_org(org_app, JOINT, f"Org {number:02}", f"o{number}@example.org")
           for number in range(5)]
    cli(org_app, "signers", "approve", JOINT, *map(str, ids))
    client = org_app.test_client()
    first = client.get(f"/api/v1/petitions/{JOINT}/organizations?per_page=2")
    assert [o["name"] for o in first.json["organizations"]] == ["Org 00", "Org 01"]
    assert first.json["next"] == f"/api/v1/petitions/{JOINT}/organizations?page=2&per_page=2"
    last = client.get(f"/api/v1/petitions/{JOINT}/organizations?page=3&per_page=2")
    assert [o["name"] for o in last.json["organizations"]] == ["Org 04"]
    assert last.json["next"] is None
    read = client.get(f"/api/v1/petitions/{JOINT}")
    for header in ("Cache-Control", "Access-Control-Allow-Origin", "Vary"):
        assert first.headers[header] == read.headers[header]
    again = client.get(f"/api/v1/petitions/{JOINT}/organizations?per_page=2",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    for bad in ("page=0", "page=x", "per_page=101", "page=%EF%BC%91", "per_page=-1"):
        response = client.get(f"/api/v1/petitions/{JOINT}/organizations?{bad}")
        assert response.status_code == 400, bad
        assert "must be a whole number" in response.json["error"]
    assert client.get("/api/v1/petitions/nope/organizations").status_code == 404


def test_the_handover_report_lists_approved_organisations(
    org_app: Flask, tmp_path: Path
) -> None:
    approved = sign_org(org_app, JOINT, "River Keepers", "c1@example.org",
                        organization_url="https://rk.example")
    sign_org(org_app, JOINT, "Unapproved Org", "c2@example.org")
    cli(org_app, "signers", "approve", JOINT, str(approved))
    output = cli(org_app, "deliver", JOINT, "--report", "--output-dir", str(tmp_path / "out"))
    assert output.startswith("1 signature(s)")
    report = (tmp_path / "out" / f"{JOINT}-handover.csv").read_text(encoding="utf-8")
    assert "River Keepers,https://rk.example," in report and "Unapproved" not in report
    html = (tmp_path / "out" / f"{JOINT}-handover.html").read_text(encoding="utf-8")
    assert "<td><bdi>River Keepers</bdi></td>" in html and "c1@example.org" not in html


def test_the_handover_report_of_a_joint_letter_counts_organisations_and_names_countries(
    org_app: Flask, tmp_path: Path
) -> None:
    add_petition(org_app, slug="lettre-commune", locale="fr", signers=["organizations"])
    for slug, country in ((JOINT, "KE"), ("lettre-commune", "DE")):
        approved = sign_org(org_app, slug, "River Keepers", f"{slug}@example.org",
                            country=country)
        cli(org_app, "signers", "approve", slug, str(approved))
        cli(org_app, "deliver", slug, "--report", "--output-dir", str(tmp_path / "out"))
    html = (tmp_path / "out" / f"{JOINT}-handover.html").read_text(encoding="utf-8")
    assert "<td>Kenya</td>" in html and "<td>KE</td>" not in html
    assert "1 organisation signed this letter (as of " in html
    assert "people signed" not in html and "person signed" not in html
    assert "Signers who agreed to be named" not in html, "no person signs a joint letter"
    french = (tmp_path / "out" / "lettre-commune-handover.html").read_text(encoding="utf-8")
    assert "<td>Allemagne</td>" in french, "the country in the petition's language"
    # A petition people sign too keeps its people and their names.
    sign_and_confirm(org_app, BOTH, "Ana Person", "ana@example.org", show_name=True)
    cli(org_app, "deliver", BOTH, "--report", "--output-dir", str(tmp_path / "out"))
    both = (tmp_path / "out" / f"{BOTH}-handover.html").read_text(encoding="utf-8")
    assert "1 person signed this petition" in both and "Ana Person" in both


# Petition files.

def test_petition_files_say_who_may_sign() -> None:
    def parse(**meta: Any) -> dict[str, Any]:
        return parse_petition("x.md", {"title": "T", **meta}, "")

    assert parse()["signers"] == ["people"]
    assert parse(signers=["organizations", "people"])["signers"] == ["people", "organizations"]
    values = parse(signers=["organizations"], goal_counts="organizations")
    assert values["goal_settings"] == {"counts": "organizations"}
    for meta, message in [
        ({"signers": []}, "signers must list people, organizations or both"),
        ({"signers": ["robots"]}, "signers must list people, organizations or both"),
        ({"signers": 3}, "signers must list people, organizations or both"),
        ({"goal_counts": "letters"}, "goal_counts must be one of signatures, organizations"),
        ({"goal_counts": "organizations"}, "needs organizations among the signers"),
    ]:
        with pytest.raises(PetitionFileError, match=message):
            parse(**meta)


def test_the_example_joint_letter_is_signed_by_organisations() -> None:
    examples = Path(__file__).resolve().parent.parent / "examples" / "petitions"
    joint = [path for path in examples.glob("*.md")
             if re.search(r"^kind: joint-letter$", path.read_text(encoding="utf-8"), re.M)]
    assert joint
    for path in joint:
        text = path.read_text(encoding="utf-8")
        assert re.search(r"^signers: \[organizations\]$", text, re.M), path.name


# PostgreSQL.

def test_organisations_on_postgresql(pg_app: Flask) -> None:
    add_petition(pg_app, slug=JOINT, signers=["organizations"])
    ids = [sign_org(pg_app, JOINT, f"Org {number}", f"o{number}@example.org",
                    organization_url=f"https://o{number}.example")
           for number in range(3)]
    cli(pg_app, "signers", "approve", JOINT, str(ids[0]), str(ids[2]))
    cli(pg_app, "signers", "reject", JOINT, str(ids[1]))
    pg_app.config["COUNT_CACHE_SECONDS"] = 0
    client = pg_app.test_client()
    listed = client.get(f"/api/v1/petitions/{JOINT}/organizations?per_page=1").json
    assert listed["organizations"] == [
        {"name": "Org 0", "website": "https://o0.example", "country": None}]
    assert listed["count"] == 2 and listed["next"] is not None
    assert client.get(listed["next"]).json["organizations"][0]["name"] == "Org 2"
    assert "all counts are correct" in cli(pg_app, "recount", "--dry-run")
