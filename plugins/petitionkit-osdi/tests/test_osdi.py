"""petitionkit-osdi against a recording OSDI endpoint on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from petitionkit_osdi import split_name
from sqlalchemy import select

from petitionkit.extensions import db
from petitionkit.outbox.models import OutboxJob
from petitionkit.testing import (
    RecordingHTTPServer,
    add_petition,
    make_test_app,
    recording_http_server,
    run_jobs,
    sign_and_confirm,
    withdraw,
)

TOKEN = "osdi-test-token"


def osdi_app(tmp_path: Path, server: RecordingHTTPServer, **settings: Any) -> Any:
    endpoint = server.url + "/petitions/7/signatures"
    config = {"token": TOKEN, "petitions": {"test-petition": endpoint},
              "tags": ["petitionkit", "poet"], **settings}
    return make_test_app(tmp_path, PLUGINS={"petitionkit-osdi": config})


def test_records_each_consenting_signature(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = osdi_app(tmp_path, server)
        slug = add_petition(app)
        signature_id = sign_and_confirm(app, slug, "Ada Lovelace Example", "ada@example.org",
                                        country="FR", postal_code="75001", source="newsletter",
                                        consent_updates=True)
        sign_and_confirm(app, slug, "No Consent", "nc@example.org")
        run_jobs(app)
    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/petitions/7/signatures")
    assert request.headers["OSDI-API-Token"] == TOKEN
    body = request.json()
    assert body["identifiers"] == [f"petitionkit:{slug}-{signature_id}"]
    assert body["person"] == {
        "given_name": "Ada Lovelace", "family_name": "Example",
        "email_addresses": [{"address": "ada@example.org", "primary": True,
                             "status": "subscribed"}],
        "postal_addresses": [{"postal_code": "75001", "country": "FR"}],
        "custom_fields": {"full_name": "Ada Lovelace Example"},
    }
    assert body["origin_system"] == "petitionkit"
    assert body["referrer_data"] == {"source": "newsletter"}
    assert body["add_tags"] == ["petitionkit", "poet"]
    assert body["action_date"].endswith("+00:00")


def test_without_consent_when_the_operator_allows_it_but_not_subscribed(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = osdi_app(tmp_path, server, consent_required=False)
        slug = add_petition(app)
        sign_and_confirm(app, slug, "Mononym", "m@example.org")
        run_jobs(app)
    [request] = server.requests
    person = request.json()["person"]
    assert person["email_addresses"] == [{"address": "m@example.org", "primary": True}]
    assert person["given_name"] == "Mononym"
    assert "family_name" not in person, "an empty family name would erase the CRM's"


def test_5xx_is_retried_and_4xx_is_not(tmp_path: Path) -> None:
    with recording_http_server([(502, {}), (200, {}), (400, {"error": "bad"})]) as server:
        app = osdi_app(tmp_path, server)
        slug = add_petition(app)
        sign_and_confirm(app, slug, "First", "1@example.org", consent_updates=True)
        run_jobs(app)
        run_jobs(app)
        sign_and_confirm(app, slug, "Second", "2@example.org", consent_updates=True)
        run_jobs(app)
        run_jobs(app)
    assert len(server.requests) == 3
    with app.app_context():
        states = db.session.execute(
            select(OutboxJob.status, OutboxJob.last_error)
            .where(OutboxJob.kind == "plugins.signature_confirmed",
                   OutboxJob.idempotency_key.like("%:petitionkit-osdi"))
            .order_by(OutboxJob.id)
        ).all()
    assert [(status, error) for status, error in states] == [
        ("done", None), ("dead", "OsdiRefused 400"),
    ]


def test_petitions_without_an_endpoint_are_not_pushed(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = osdi_app(tmp_path, server)
        add_petition(app, slug="elsewhere")
        sign_and_confirm(app, "elsewhere", "A", "a@example.org", consent_updates=True)
        run_jobs(app)
    assert server.requests == []


def test_osdi_export_format(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = osdi_app(tmp_path, server)
    slug = add_petition(app)
    sign_and_confirm(app, slug, "Ada Example", "ada@example.org", consent_updates=True)
    output = tmp_path / "osdi.jsonl"
    result = app.test_cli_runner().invoke(
        args=["export", slug, "--format", "osdi", "--output", str(output)])
    assert result.exit_code == 0, result.output
    [line] = [json.loads(text) for text in output.read_text().splitlines()]
    assert line["person"]["email_addresses"] == [
        {"address": "ada@example.org", "primary": True, "status": "subscribed"}
    ]
    assert line["identifiers"] == [f"petitionkit:{slug}-1"]


def test_osdi_export_leaves_out_who_did_not_consent_or_withdrew(tmp_path: Path) -> None:
    """The bulk file is what the push would have sent: the same consent rule, and with --all
    no pending or withdrawn signature becomes an action in the CRM."""
    from petitionkit.signatures import services
    from petitionkit.signatures.models import Signature

    with recording_http_server() as server:
        app = osdi_app(tmp_path, server)
    slug = add_petition(app)
    sign_and_confirm(app, slug, "Ada Example", "ada@example.org", consent_updates=True)
    sign_and_confirm(app, slug, "Quiet Example", "quiet@example.org")
    withdrawn = sign_and_confirm(app, slug, "Not Me", "notme@example.org", consent_updates=True)
    pending = app.test_client().post(f"/api/v1/petitions/{slug}/signatures", json={
        "name": "Pending Example", "email": "pending@example.org", "consent_updates": True,
    })
    assert pending.status_code == 202
    with app.app_context():
        signature = db.session.get(Signature, withdrawn)
        assert signature is not None
        assert services.cancel(db.session, withdrawn, signature.token_nonce) is (
            services.CancelOutcome.CANCELLED
        )
    reports = {}
    for extra in ([], ["--all"]):
        output = tmp_path / "osdi.jsonl"
        result = app.test_cli_runner().invoke(
            args=["export", slug, "--format", "osdi", "--output", str(output), *extra])
        assert result.exit_code == 0, result.output
        addresses = [json.loads(text)["person"]["email_addresses"][0]["address"]
                     for text in output.read_text().splitlines()]
        assert addresses == ["ada@example.org"], extra
        [reports[len(extra)]] = [line for line in result.output.splitlines()
                                 if line.startswith("exported")]
    assert reports == {
        0: "exported 1 signature(s) as osdi; "
           "1 skipped because the signer did not consent to be contacted",
        1: "exported 1 signature(s) as osdi; "
           "2 skipped because the signature is not confirmed (pending or withdrawn); "
           "1 skipped because the signer did not consent to be contacted",
    }, "the figures are those of the file, with what was left out and why"


def test_osdi_export_without_consent_rule_still_only_confirmed(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = osdi_app(tmp_path, server, consent_required=False)
    slug = add_petition(app)
    sign_and_confirm(app, slug, "Quiet Example", "quiet@example.org")
    assert app.test_client().post(f"/api/v1/petitions/{slug}/signatures", json={
        "name": "Pending Example", "email": "pending@example.org",
    }).status_code == 202
    output = tmp_path / "osdi.jsonl"
    result = app.test_cli_runner().invoke(
        args=["export", slug, "--format", "osdi", "--all", "--output", str(output)])
    assert result.exit_code == 0, result.output
    [line] = [json.loads(text) for text in output.read_text().splitlines()]
    assert line["person"]["email_addresses"] == [{"address": "quiet@example.org", "primary": True}]


def test_split_name() -> None:
    assert split_name("  Ada   Example ") == ("Ada", "Example")
    assert split_name("Mononym") == ("Mononym", "")


def test_a_withdrawal_unsubscribes_through_the_person_signup_helper(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = osdi_app(tmp_path, server, people_url=server.url + "/people")
        slug = add_petition(app)
        gone = sign_and_confirm(app, slug, "Gone Signer", "gone@example.org",
                                consent_updates=True)
        quiet = sign_and_confirm(app, slug, "Quiet", "quiet@example.org")
        run_jobs(app)
        pushed = len(server.requests)
        withdraw(app, gone, "signer")
        withdraw(app, quiet, "operator")  # never pushed: nothing to take back
        run_jobs(app)
    [request] = server.requests[pushed:]
    assert (request.method, request.path) == ("POST", "/people")
    assert request.headers["OSDI-API-Token"] == TOKEN
    assert request.json() == {
        "person": {"email_addresses": [{"address": "gone@example.org",
                                        "status": "unsubscribed"}]},
        "origin_system": "petitionkit",
    }


def test_a_withdrawal_without_people_url_is_dead_at_once_and_replayable(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = osdi_app(tmp_path, server)
        slug = add_petition(app)
        gone = sign_and_confirm(app, slug, "Gone Signer", "gone@example.org",
                                consent_updates=True)
        run_jobs(app)
        withdraw(app, gone, "signer")
        run_jobs(app)
        dead = app.test_cli_runner().invoke(args=["outbox", "dead"]).output
    [line] = [line for line in dead.splitlines() if "plugins.signature_withdrawn" in line]
    assert line.endswith("\tWithdrawalsNotConfigured")


def test_records_an_organisation_once_approved_with_its_contact_person(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = osdi_app(tmp_path, server)
        slug = add_petition(app, signers=["organizations"])
        signature_id = sign_and_confirm(
            app, slug, "Mira Contact", "mira@example.org", kind="organization",
            organization="Harbour Legal Aid", organization_url="https://legal.example/",
            consent_updates=True)
        run_jobs(app)
        assert server.requests == [], "an organisation is recorded only once approved"
        result = app.test_cli_runner().invoke(args=["signers", "approve", slug,
                                                    str(signature_id)])
        assert result.exit_code == 0, result.output
        run_jobs(app)
    [request] = server.requests
    person = request.json()["person"]
    assert person["employer"] == "Harbour Legal Aid"
    assert person["custom_fields"] == {"full_name": "Mira Contact",
                                       "organization": "Harbour Legal Aid",
                                       "organization_url": "https://legal.example/"}
    assert person["email_addresses"][0]["address"] == "mira@example.org"


def test_osdi_export_leaves_out_an_organisation_until_it_is_approved(tmp_path: Path) -> None:
    """The file holds whom the push would send: an organisation only once approved."""
    with recording_http_server() as server:
        app = osdi_app(tmp_path, server)
    slug = add_petition(app, signers=["people", "organizations"])
    sign_and_confirm(app, slug, "Ada Example", "ada@example.org", consent_updates=True)
    unchecked = sign_and_confirm(app, slug, "Uma Contact", "uma@example.org",
                                 kind="organization", organization="Unchecked Union",
                                 consent_updates=True)

    def exported() -> tuple[list[str], str]:
        output = tmp_path / "osdi.jsonl"
        result = app.test_cli_runner().invoke(
            args=["export", slug, "--format", "osdi", "--output", str(output)])
        assert result.exit_code == 0, result.output
        [report] = [line for line in result.output.splitlines() if line.startswith("exported")]
        return [json.loads(text)["person"]["email_addresses"][0]["address"]
                for text in output.read_text().splitlines()], report

    addresses, report = exported()
    assert addresses == ["ada@example.org"]
    assert report == ("exported 1 signature(s) as osdi; "
                      "1 skipped because the organisation is not approved yet")
    approved = app.test_cli_runner().invoke(args=["signers", "approve", slug, str(unchecked)])
    assert approved.exit_code == 0, approved.output
    addresses, report = exported()
    assert addresses == ["ada@example.org", "uma@example.org"]
    assert report == "exported 2 signature(s) as osdi"
