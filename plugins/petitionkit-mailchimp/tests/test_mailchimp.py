"""petitionkit-mailchimp against a recording Mailchimp-shaped server on loopback."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from petitionkit_mailchimp import api_base, mailchimp_language, merge_fields

from petitionkit.plugins import PluginConfigError
from petitionkit.testing import (
    RecordingHTTPServer,
    add_petition,
    make_test_app,
    recording_http_server,
    run_jobs,
    sign_and_confirm,
    withdraw,
)

API_KEY = "0123456789abcdef-us21"


def mailchimp_app(tmp_path: Path, server: RecordingHTTPServer, **settings: Any) -> Any:
    config = {"api_key": API_KEY, "list_id": "list42", "api_url": server.url, **settings}
    return make_test_app(tmp_path, PLUGINS={"petitionkit-mailchimp": config})


def test_upserts_only_signers_who_agreed(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = mailchimp_app(tmp_path, server, merge_fields={
            "FNAME": "given_name", "LNAME": "family_name", "COUNTRY": "country"})
        slug = add_petition(app)
        sign_and_confirm(app, slug, "Ada Example", "Ada.Example@Example.org", country="FR",
                         consent_updates=True, locale="fr")
        sign_and_confirm(app, slug, "No Updates", "quiet@example.org")
        run_jobs(app)
    [request] = server.requests
    member = hashlib.md5(b"ada.example@example.org").hexdigest()  # noqa: S324
    assert (request.method, request.path) == ("PUT", f"/3.0/lists/list42/members/{member}")
    _user, key = base64.b64decode(request.headers["Authorization"].split()[1]).decode().split(":")
    assert key == API_KEY
    assert request.json() == {
        "email_address": "Ada.Example@Example.org",
        "status_if_new": "pending",
        "merge_fields": {"FNAME": "Ada", "LNAME": "Example", "COUNTRY": "FR"},
        "language": "fr",
    }
    assert "status" not in request.json(), "an existing member's choice is never overwritten"


def test_retries_when_busy_but_not_when_refused(tmp_path: Path) -> None:
    script: list[tuple[Any, Any]] = [(429, {}), (200, {}), (400, {"title": "Invalid Resource"})]
    with recording_http_server(script) as server:
        app = mailchimp_app(tmp_path, server, status_if_new="subscribed")
        slug = add_petition(app)
        sign_and_confirm(app, slug, "One", "1@example.org", consent_updates=True)
        run_jobs(app)
        run_jobs(app)
        sign_and_confirm(app, slug, "Two", "2@example.org", consent_updates=True)
        run_jobs(app)
        run_jobs(app)
        dead = app.test_cli_runner().invoke(args=["outbox", "dead"]).output
    assert len(server.requests) == 3
    assert server.requests[0].json()["status_if_new"] == "subscribed"
    [dead_job] = [line for line in dead.splitlines() if "plugins.signature_confirmed" in line]
    assert dead_job.endswith("\tMailchimpRefused 400")


def test_only_the_listed_petitions(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = mailchimp_app(tmp_path, server, petitions=["other"])
        slug = add_petition(app)
        sign_and_confirm(app, slug, "One", "1@example.org", consent_updates=True)
        run_jobs(app)
    assert server.requests == []


def test_api_base_from_the_key() -> None:
    assert api_base({"api_key": API_KEY}) == "https://us21.api.mailchimp.com"
    with pytest.raises(PluginConfigError, match="data-centre"):
        api_base({"api_key": "nodash"})


def test_a_withdrawn_consent_unsubscribes_unless_another_signature_holds_it(
    tmp_path: Path,
) -> None:
    with recording_http_server() as server:
        app = mailchimp_app(tmp_path, server)
        first = add_petition(app, slug="first-petition")
        second = add_petition(app, slug="second-petition")
        twice_first = sign_and_confirm(app, first, "Twice", "twice@example.org",
                                       consent_updates=True)
        twice_second = sign_and_confirm(app, second, "Twice", "twice@example.org",
                                        consent_updates=True)
        once = sign_and_confirm(app, first, "Once", "Once@Example.org", consent_updates=True)
        quiet = sign_and_confirm(app, first, "Quiet", "quiet@example.org")
        run_jobs(app)
        puts = len(server.requests)
        withdraw(app, once, "signer")
        withdraw(app, quiet, "operator")  # never on the list: nothing to take back
        withdraw(app, twice_first, "operator")  # still consenting through the second petition
        run_jobs(app)
        patches = server.requests[puts:]
        withdraw(app, twice_second, "erasure")  # now the last consent of that person is gone
        run_jobs(app)
        last = server.requests[puts + len(patches):]
    once_hash = hashlib.md5(b"once@example.org").hexdigest()  # noqa: S324
    twice_hash = hashlib.md5(b"twice@example.org").hexdigest()  # noqa: S324
    assert [(r.method, r.path, r.json()) for r in patches] == [
        ("PATCH", f"/3.0/lists/list42/members/{once_hash}", {"status": "unsubscribed"}),
    ]
    assert [(r.method, r.path, r.json()) for r in last] == [
        ("PATCH", f"/3.0/lists/list42/members/{twice_hash}", {"status": "unsubscribed"}),
    ]


def test_empty_merge_fields_are_left_out(tmp_path: Path) -> None:
    """A PUT with "" would blank an existing member's field, and an audience that requires the
    field would refuse the member."""
    with recording_http_server() as server:
        app = mailchimp_app(tmp_path, server, merge_fields={
            "FNAME": "given_name", "LNAME": "family_name", "COUNTRY": "country",
            "ZIP": "postal_code", "SOURCE": "source"})
        slug = add_petition(app)
        sign_and_confirm(app, slug, "Mononym", "mono@example.org", consent_updates=True)
        run_jobs(app)
    [request] = server.requests
    assert request.json()["merge_fields"] == {"FNAME": "Mononym"}


def test_traditional_chinese_signers_get_mailchimps_traditional_chinese(tmp_path: Path) -> None:
    with recording_http_server() as server:
        app = mailchimp_app(tmp_path, server)
        slug = add_petition(app)
        sign_and_confirm(app, slug, "Traditional", "hant@example.org", consent_updates=True,
                         locale="zh_Hant")
        sign_and_confirm(app, slug, "Simplified", "hans@example.org", consent_updates=True,
                         locale="zh_Hans")
        run_jobs(app)
    languages = {request.json()["email_address"]: request.json()["language"]
                 for request in server.requests}
    assert languages == {"hant@example.org": "zh_TW", "hans@example.org": "zh"}


@pytest.mark.parametrize(("locale", "language"), [
    ("zh_Hant", "zh_TW"), ("zh_TW", "zh_TW"), ("zh_HK", "zh_TW"), ("zh-Hant-HK", "zh_TW"),
    ("zh_MO", "zh_TW"), ("zh_Hans", "zh"), ("zh_CN", "zh"), ("zh", "zh"), ("zh_Hans_HK", "zh"),
    ("fr", "fr"), ("fr_CA", "fr_CA"), ("pt_BR", "pt"), ("pt_PT", "pt_PT"), ("es_ES", "es_ES"),
    ("es_MX", "es"), ("ar", "ar"), ("de_AT", "de"),
])
def test_mailchimp_language(locale: str, language: str) -> None:
    assert mailchimp_language(locale) == language


def test_a_merge_field_from_nowhere_is_a_configuration_error() -> None:
    with pytest.raises(PluginConfigError, match="COUNTY takes 'county'"):
        merge_fields({"COUNTY": "county"}, {"country": "FR"})
    assert merge_fields({"ROLE": "extra.role"}, {}) == {}
