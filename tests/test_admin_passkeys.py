"""Passkeys (WebAuthn) in the workspace, with answers made by a software authenticator
(tests/authenticator.py) and checked by the engine as it checks a browser's: enrolment, the
second step of signing in, the account page, replayed and forged answers, other origins,
removed passkeys, owners resetting a second factor and disabling accounts, and hostile input
on every passkey route."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cbor2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.test import TestResponse

from petitionkit.admin import passkeys
from petitionkit.admin.models import StaffAudit, StaffPasskey, StaffUser, WebAuthnChallenge
from petitionkit.admin.passkeys import RelyingParty
from petitionkit.extensions import db

from .admin import (
    ENROL,
    ENROL_OPTIONS,
    add_user,
    csrf_token,
    enrol_with_passkey,
    password_step,
    post_form,
    post_json,
    sign_in,
)
from .authenticator import Authenticator, b64url, unb64url
from .conftest import make_app

SIGN_IN_OPTIONS = "/admin/login/passkey/options"
SIGN_IN = "/admin/login/passkey"
ADD_OPTIONS = "/admin/account/passkeys/options"
ADD = "/admin/account/passkeys"
EXPIRED = "This passkey request has expired or was already used."
NOT_ACCEPTED = "This passkey was not accepted."


def sign_out(client: FlaskClient) -> None:
    post_form(client, "/admin/logout", {}, token_from="/admin/")
    assert client.get("/admin/").status_code == 303


def passkey_options(client: FlaskClient, email: str) -> tuple[dict[str, Any], str]:
    """The password step, then the options of the passkey step and the page's CSRF token."""
    assert password_step(client, email).location.endswith("/admin/login/second-factor")
    token = csrf_token(client, "/admin/login/second-factor")
    options = post_json(client, SIGN_IN_OPTIONS, {}, token)
    assert options.status_code == 200, options.get_data(as_text=True)
    return options.get_json(), token


def sign_in_with_passkey(client: FlaskClient, email: str,
                         authenticator: Authenticator) -> TestResponse:
    options, token = passkey_options(client, email)
    return post_json(client, SIGN_IN, {"credential": authenticator.sign(options)}, token)


def stored(app: Flask, email: str) -> list[StaffPasskey]:
    with app.app_context():
        user = db.session.scalars(select(StaffUser).where(StaffUser.email == email)).one()
        passkeys = list(user.passkeys)
        db.session.expunge_all()
        return passkeys


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(StaffAudit.action).order_by(StaffAudit.id)))


def test_the_relying_party_is_the_public_address() -> None:
    party = RelyingParty.from_public_url("https://Petitions.Example.org/", "petitionkit")
    assert (party.id, party.origin) == ("petitions.example.org", "https://petitions.example.org")
    assert RelyingParty.from_public_url("https://example.org:443", "p").origin == \
        "https://example.org"
    assert RelyingParty.from_public_url("http://localhost:5000", "p").origin == \
        "http://localhost:5000"
    with pytest.raises(ValueError):
        RelyingParty.from_public_url("localhost", "p")


def test_enrol_with_a_passkey_then_sign_in_with_password_and_passkey(
    app: Flask, client: FlaskClient
) -> None:
    authenticator = enrol_with_passkey(client, app, "ana@example.org")
    [passkey] = stored(app, "ana@example.org")
    assert passkey.name == "work laptop"
    assert passkey.credential_id == authenticator.credential_id
    assert passkey.transports == ["internal"] and passkey.last_used_at is None
    sign_out(client)

    options, token = passkey_options(client, "ana@example.org")
    assert options["rpId"] == "localhost"
    assert options["userVerification"] == "preferred"
    assert [item["id"] for item in options["allowCredentials"]] == \
        [b64url(authenticator.credential_id)]
    answer = post_json(client, SIGN_IN, {"credential": authenticator.sign(options)}, token)
    assert answer.status_code == 200 and answer.get_json() == {"redirect": "/admin/"}
    assert client.get("/admin/").status_code == 200
    [passkey] = stored(app, "ana@example.org")
    assert passkey.sign_count == 1 and passkey.last_used_at is not None
    actions = audit_actions(app)
    assert "passkey added" in actions and actions.count("signed in") == 2
    # A passkey alone is the second factor: the account has no app and no recovery codes.
    with app.app_context():
        user = db.session.scalars(select(StaffUser)).one()
        assert user.totp_secret is None and user.recovery_codes == []


def test_the_registration_options_ask_for_what_the_workspace_needs(
    app: Flask, client: FlaskClient
) -> None:
    add_user(app, "ana@example.org", "viewer")
    password_step(client, "ana@example.org")
    token = csrf_token(client, "/admin/login/enrol")
    options = post_json(client, ENROL_OPTIONS, {"name": "phone"}, token).get_json()
    assert options["rp"] == {"id": "localhost", "name": "petitionkit"}
    assert options["user"]["name"] == "ana@example.org"
    assert options["attestation"] == "none"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert len(unb64url(options["challenge"])) >= 32
    # The user handle is random, not the address.
    assert b"ana" not in unb64url(options["user"]["id"])


def test_a_replayed_answer_is_refused_even_with_the_old_cookie(
    app: Flask, client: FlaskClient
) -> None:
    authenticator = enrol_with_passkey(client, app, "ana@example.org")
    sign_out(client)
    options, token = passkey_options(client, "ana@example.org")
    cookie = client.get_cookie("petitionkit_admin", path="/admin")
    assert cookie is not None
    credential = authenticator.sign(options)
    assert post_json(client, SIGN_IN, {"credential": credential}, token).status_code == 200

    # The same answer from a copy of the cookie as it was before the sign-in: the challenge is
    # still in that cookie, but it was spent on the server.
    thief = app.test_client()
    thief.set_cookie("petitionkit_admin", cookie.value, path="/admin")
    replay = post_json(thief, SIGN_IN, {"credential": credential}, token)
    assert replay.status_code == 401 and EXPIRED in replay.get_json()["error"]
    assert thief.get("/admin/").status_code == 303


def test_a_challenge_is_answered_once_and_not_after_it_expires(
    app: Flask, client: FlaskClient
) -> None:
    authenticator = enrol_with_passkey(client, app, "ana@example.org")
    sign_out(client)
    options, token = passkey_options(client, "ana@example.org")
    credential = authenticator.sign(options)
    with app.app_context():
        challenge = db.session.scalars(select(WebAuthnChallenge)).one()
        challenge.expires_at = challenge.expires_at.replace(year=2000)
        db.session.commit()
    late = post_json(client, SIGN_IN, {"credential": credential}, token)
    assert late.status_code == 401 and EXPIRED in late.get_json()["error"]
    again = post_json(client, SIGN_IN, {"credential": credential}, token)
    assert again.status_code == 401 and EXPIRED in again.get_json()["error"]
    assert "second factor failed" in audit_actions(app)


def test_an_answer_to_another_challenge_is_refused(app: Flask, client: FlaskClient) -> None:
    authenticator = enrol_with_passkey(client, app, "ana@example.org")
    sign_out(client)
    options, token = passkey_options(client, "ana@example.org")
    forged = authenticator.sign({**options, "challenge": b64url(b"\x01" * 64)})
    answer = post_json(client, SIGN_IN, {"credential": forged}, token)
    assert answer.status_code == 401 and NOT_ACCEPTED in answer.get_json()["error"]
    assert client.get("/admin/").status_code == 303


@pytest.mark.parametrize("origin, rp_id", [
    ("https://evil.example", "localhost"),
    ("http://localhost:8000", "localhost"),
    ("http://localhost", "evil.example"),
])
def test_an_answer_made_for_another_site_is_refused(
    app: Flask, client: FlaskClient, origin: str, rp_id: str
) -> None:
    authenticator = enrol_with_passkey(client, app, "ana@example.org")
    sign_out(client)
    options, token = passkey_options(client, "ana@example.org")
    answer = post_json(client, SIGN_IN,
                       {"credential": authenticator.sign(options, origin=origin, rp_id=rp_id)},
                       token)
    assert answer.status_code == 401 and NOT_ACCEPTED in answer.get_json()["error"]
    assert client.get("/admin/").status_code == 303


def test_a_passkey_made_on_another_site_is_not_added(app: Flask, client: FlaskClient) -> None:
    add_user(app, "ana@example.org", "viewer")
    password_step(client, "ana@example.org")
    token = csrf_token(client, "/admin/login/enrol")
    options = post_json(client, ENROL_OPTIONS, {"name": "phone"}, token).get_json()
    credential = Authenticator().register(options, origin="https://evil.example")
    answer = post_json(client, ENROL, {"credential": credential}, token)
    assert answer.status_code == 400
    assert "could not be checked" in answer.get_json()["error"]
    assert stored(app, "ana@example.org") == []


def test_another_accounts_passkey_does_not_sign_in(app: Flask, client: FlaskClient) -> None:
    enrol_with_passkey(client, app, "ana@example.org")
    sign_out(client)
    other_client = app.test_client()
    bo = enrol_with_passkey(other_client, app, "bo@example.org")
    options, token = passkey_options(client, "ana@example.org")
    answer = post_json(client, SIGN_IN, {"credential": bo.sign(options)}, token)
    assert answer.status_code == 401


def test_add_and_remove_passkeys_on_the_account_page(app: Flask, client: FlaskClient) -> None:
    first = enrol_with_passkey(client, app, "ana@example.org")
    page = client.get("/admin/account")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "work laptop" in text and "No authenticator app is set up" in text
    assert "passkeys.js" in text

    token = csrf_token(client, "/admin/account")
    options = post_json(client, ADD_OPTIONS, {"name": "  blue   key "}, token).get_json()
    assert [item["id"] for item in options["excludeCredentials"]] == \
        [b64url(first.credential_id)]
    second = Authenticator()
    added = post_json(client, ADD, {"credential": second.register(options)}, token)
    assert added.status_code == 201 and added.get_json() == {"redirect": "/admin/account"}
    names = [passkey.name for passkey in stored(app, "ana@example.org")]
    assert names == ["work laptop", "blue key"]

    # The same authenticator twice is refused.
    options = post_json(client, ADD_OPTIONS, {"name": "again"}, token).get_json()
    twice = post_json(client, ADD, {"credential": second.register(options)}, token)
    assert twice.status_code == 400 and "registered already" in twice.get_json()["error"]

    first_id = stored(app, "ana@example.org")[0].id
    removed = post_form(client, f"/admin/account/passkeys/{first_id}/remove", {},
                        token_from="/admin/account")
    assert removed.status_code == 303
    assert [p.name for p in stored(app, "ana@example.org")] == ["blue key"]
    assert "passkey removed" in audit_actions(app)

    # The last second factor stays while one is required.
    last_id = stored(app, "ana@example.org")[0].id
    refused = post_form(client, f"/admin/account/passkeys/{last_id}/remove", {},
                        token_from="/admin/account")
    assert refused.status_code == 409
    assert "only second factor" in refused.get_data(as_text=True)
    # Another account's passkey, or none, is not found.
    missing = post_form(client, "/admin/account/passkeys/99999/remove", {},
                        token_from="/admin/account")
    assert missing.status_code == 404

    sign_out(client)
    assert sign_in_with_passkey(client, "ana@example.org", first).status_code == 401
    assert sign_in_with_passkey(app.test_client(), "ana@example.org", second).status_code == 200


def test_a_totp_user_adds_a_passkey_and_is_offered_both(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "ana@example.org", "viewer", app)
    assert "An authenticator app is set up" in client.get("/admin/account").get_data(as_text=True)
    token = csrf_token(client, "/admin/account")
    options = post_json(client, ADD_OPTIONS, {"name": "phone"}, token).get_json()
    authenticator = Authenticator()
    assert post_json(client, ADD, {"credential": authenticator.register(options)},
                     token).status_code == 201
    sign_out(client)
    password_step(client, "ana@example.org")
    page = client.get("/admin/login/second-factor").get_data(as_text=True)
    assert "Sign in with a passkey" in page and "Or enter a code" in page
    assert 'name="code"' in page
    # Passkey-only accounts are not shown a code field they have no use for.
    other = app.test_client()
    enrol_with_passkey(other, app, "bo@example.org")
    sign_out(other)
    password_step(other, "bo@example.org")
    page = other.get("/admin/login/second-factor").get_data(as_text=True)
    assert "Sign in with a passkey" in page and 'name="code"' not in page
    assert "use an authenticator app" not in page and "ask an owner" in page


def test_the_enrolment_page_offers_a_passkey_first(app: Flask, client: FlaskClient) -> None:
    add_user(app, "ana@example.org", "viewer")
    password_step(client, "ana@example.org")
    page = client.get("/admin/login/enrol").get_data(as_text=True)
    assert page.index("Use a passkey (recommended)") < page.index("Or use an authenticator app")
    assert "Passkeys need JavaScript" in page
    assert 'data-options="/admin/login/enrol/passkey/options"' in page


def test_an_owner_resets_a_second_factor(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "owner@example.org", "owner", app)
    staff = app.test_client()
    enrol_with_passkey(staff, app, "ana@example.org")
    with app.app_context():
        user_id = db.session.scalars(
            select(StaffUser.id).where(StaffUser.email == "ana@example.org")).one()
    page = client.get("/admin/users").get_data(as_text=True)
    assert "1 passkey" in page and "Reset second factor" in page
    reset = post_form(client, f"/admin/users/{user_id}/reset-second-factor", {},
                      token_from="/admin/users")
    assert reset.status_code == 303
    assert stored(app, "ana@example.org") == []
    # The sign-in ended, and the next one sets up a second factor again.
    assert staff.get("/admin/").status_code == 303
    assert password_step(staff, "ana@example.org").location.endswith("/admin/login/enrol")
    assert "second factor reset" in audit_actions(app)


def test_reset_second_factor_from_the_command_line(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "ana@example.org", "editor", app)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["users", "list"])
    assert "\ttotp\t" in listed.output
    result = runner.invoke(args=["users", "reset-second-factor", "ANA@example.org"])
    assert result.exit_code == 0, result.output
    assert "ana@example.org sets up a second factor at the next sign-in" in result.output
    assert client.get("/admin/").status_code == 303
    with app.app_context():
        user = db.session.scalars(select(StaffUser)).one()
        assert user.totp_secret is None and user.recovery_codes == [] and not user.passkeys
        actor = db.session.scalars(select(StaffAudit.actor).where(
            StaffAudit.action == "second factor reset")).one()
        assert actor is not None and actor.startswith("command line (")
    missing = runner.invoke(args=["users", "reset-second-factor", "nobody@example.org"])
    assert missing.exit_code != 0 and "there is no account" in missing.output


def test_users_list_names_the_passkeys(app: Flask, client: FlaskClient) -> None:
    enrol_with_passkey(client, app, "ana@example.org")
    listed = app.test_cli_runner().invoke(args=["users", "list"])
    assert "ana@example.org\teditor\tactive\tpasskey\t" in listed.output


def test_disable_and_enable_from_the_command_line(app: Flask, client: FlaskClient) -> None:
    authenticator = enrol_with_passkey(client, app, "ana@example.org")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "disable", "ana@example.org"])
    assert result.exit_code == 0 and "disabled ana@example.org" in result.output
    assert client.get("/admin/").status_code == 303
    assert password_step(client, "ana@example.org").status_code == 401
    result = runner.invoke(args=["users", "enable", "ana@example.org"])
    assert result.exit_code == 0 and "enabled ana@example.org" in result.output
    assert sign_in_with_passkey(client, "ana@example.org", authenticator).status_code == 200
    actions = audit_actions(app)
    assert "user disabled" in actions and "user enabled" in actions


def test_a_disabled_account_cannot_finish_a_sign_in_it_started(
    app: Flask, client: FlaskClient
) -> None:
    authenticator = enrol_with_passkey(client, app, "ana@example.org")
    sign_out(client)
    options, token = passkey_options(client, "ana@example.org")
    app.test_cli_runner().invoke(args=["users", "disable", "ana@example.org"])
    answer = post_json(client, SIGN_IN, {"credential": authenticator.sign(options)}, token)
    assert answer.status_code == 401 and answer.get_json()["redirect"] == "/admin/login"
    assert client.get("/admin/").status_code == 303


def test_an_owner_disables_and_enables_in_the_browser(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "owner@example.org", "owner", app)
    staff = app.test_client()
    sign_in(staff, "ana@example.org", "viewer", app)
    with app.app_context():
        ids = {email: user_id for email, user_id
               in db.session.execute(select(StaffUser.email, StaffUser.id))}
    assert post_form(client, f"/admin/users/{ids['ana@example.org']}/disable", {},
                     token_from="/admin/users").status_code == 303
    assert staff.get("/admin/").status_code == 303
    page = client.get("/admin/users").get_data(as_text=True)
    assert "disabled" in page and "Enable" in page
    assert post_form(client, f"/admin/users/{ids['ana@example.org']}/enable", {},
                     token_from="/admin/users").status_code == 303
    with app.app_context():
        assert db.session.scalars(select(StaffUser.disabled).where(
            StaffUser.email == "ana@example.org")).one() is False
    # The only owner cannot disable itself (nobody could manage users any more).
    refused = post_form(client, f"/admin/users/{ids['owner@example.org']}/disable", {},
                        token_from="/admin/users")
    assert refused.status_code == 409 and "only owner" in refused.get_data(as_text=True)
    cli = app.test_cli_runner().invoke(args=["users", "disable", "owner@example.org"])
    assert cli.exit_code != 0 and "only owner" in cli.output


def test_owner_actions_need_the_owner_role(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "ana@example.org", "editor", app)
    for action in ("reset-second-factor", "disable", "enable"):
        answer = post_form(client, f"/admin/users/1/{action}", {}, token_from="/admin/")
        assert answer.status_code == 403, action


@pytest.mark.parametrize("name, message", [
    ("", "Give the passkey a name"),
    ("   ", "Give the passkey a name"),
    ("x" * 101, "at most 100 characters"),
    ("laptop\u0000", "only letters"),
    ("laptop\u202e", "only letters"),
    (["a list"], "Give the passkey a name"),
])
def test_a_passkey_name_is_checked_before_the_authenticator_is_asked(
    app: Flask, client: FlaskClient, name: Any, message: str
) -> None:
    add_user(app, "ana@example.org", "viewer")
    password_step(client, "ana@example.org")
    token = csrf_token(client, "/admin/login/enrol")
    answer = post_json(client, ENROL_OPTIONS, {"name": name}, token)
    assert answer.status_code == 422 and message in answer.get_json()["error"]


def test_the_passkey_routes_refuse_what_is_not_a_passkey_request(
    app: Flask, client: FlaskClient
) -> None:
    enrol_with_passkey(client, app, "ana@example.org")
    token = csrf_token(client, "/admin/account")
    for path in (ADD_OPTIONS, ADD):
        assert client.get(path).status_code == 405
        no_token = client.post(path, json={}, headers={"Accept": "application/json"})
        assert no_token.status_code == 400 and "expired" in no_token.get_json()["error"]
        form = client.post(path, data={"name": "x"}, headers={"X-CSRFToken": token})
        assert form.status_code == 415
        broken = client.post(path, data="{not json", content_type="application/json",
                             headers={"X-CSRFToken": token, "Accept": "application/json"})
        assert broken.status_code == 400 and "could not be read" in broken.get_json()["error"]
        listed = post_json(client, path, ["a", "list"], token)
        assert listed.status_code == 400
        for size in (20_000, 70_000):
            huge = post_json(client, path, {"name": "x", "credential": "A" * size}, token)
            assert huge.status_code == 413 and huge.get_json()["error"]
        forged_site = client.post(path, json={}, headers={
            "X-CSRFToken": token, "Origin": "https://evil.example",
            "Sec-Fetch-Site": "cross-site"})
        assert forged_site.status_code == 403
    # Answering with no challenge handed out.
    alone = post_json(client, ADD, {"credential": Authenticator().register(
        {"challenge": b64url(b"x" * 32), "rp": {"id": "localhost"}})}, token)
    assert alone.status_code == 400 and EXPIRED in alone.get_json()["error"]


def test_the_sign_in_routes_need_the_password_step_first(app: Flask, client: FlaskClient) -> None:
    token = csrf_token(client, "/admin/login")
    for path in (SIGN_IN_OPTIONS, SIGN_IN, ENROL_OPTIONS, ENROL):
        answer = post_json(client, path, {"name": "x", "credential": {}}, token)
        assert answer.status_code == 401, path
        assert answer.get_json()["redirect"] == "/admin/login"
    # An account that has a second factor cannot enrol another one at the first sign-in.
    enrol_with_passkey(client, app, "ana@example.org")
    sign_out(client)
    password_step(client, "ana@example.org")
    token = csrf_token(client, "/admin/login/second-factor")
    assert post_json(client, ENROL_OPTIONS, {"name": "x"}, token).status_code == 401


GARBAGE: list[Any] = [
    None, "a string", 12, [], {},
    {"id": 1, "rawId": 2, "type": "public-key", "response": {}},
    {"id": "AA", "rawId": "AA", "type": "public-key", "response": {}},
    {"id": "AA", "rawId": "AA", "type": "nonsense", "response": {
        "clientDataJSON": "AA", "authenticatorData": "AA", "signature": "AA"}},
    {"id": "!!", "rawId": "!!", "type": "public-key", "response": {
        "clientDataJSON": "!!", "authenticatorData": "!!", "signature": "!!"}},
    {"id": "A" * 3000, "rawId": "A" * 3000, "type": "public-key", "response": {}},
]


@pytest.mark.parametrize("credential", GARBAGE)
def test_malformed_sign_in_answers_get_a_message(
    app: Flask, client: FlaskClient, credential: Any
) -> None:
    enrol_with_passkey(client, app, "ana@example.org")
    sign_out(client)
    _, token = passkey_options(client, "ana@example.org")
    answer = post_json(client, SIGN_IN, {"credential": credential}, token)
    assert answer.status_code == 401 and NOT_ACCEPTED in answer.get_json()["error"]


def _tampered_sign_in(authenticator: Authenticator, options: dict[str, Any],
                      how: str) -> dict[str, Any]:
    credential = authenticator.sign(options)
    response = credential["response"]
    if how == "signature":
        signature = bytearray(unb64url(response["signature"]))
        signature[-1] ^= 1
        response["signature"] = b64url(bytes(signature))
    elif how == "authenticator data":
        data = bytearray(unb64url(response["authenticatorData"]))
        data[-1] ^= 1
        response["authenticatorData"] = b64url(bytes(data))
    elif how == "client data":
        client_data = json.loads(unb64url(response["clientDataJSON"]))
        response["clientDataJSON"] = b64url(json.dumps({**client_data,
                                                        "type": "webauthn.create"}).encode())
    elif how == "short authenticator data":
        response["authenticatorData"] = b64url(b"\x00" * 10)
    elif how == "not json client data":
        response["clientDataJSON"] = b64url(b"\xff\xfe not json")
    return credential


@pytest.mark.parametrize("how", ["signature", "authenticator data", "client data",
                                 "short authenticator data", "not json client data"])
def test_forged_sign_in_answers_are_refused(app: Flask, client: FlaskClient, how: str) -> None:
    authenticator = enrol_with_passkey(client, app, "ana@example.org")
    sign_out(client)
    options, token = passkey_options(client, "ana@example.org")
    forged = _tampered_sign_in(authenticator, options, how)
    answer = post_json(client, SIGN_IN, {"credential": forged}, token)
    assert answer.status_code == 401 and NOT_ACCEPTED in answer.get_json()["error"]
    assert client.get("/admin/").status_code == 303


@pytest.mark.parametrize("how", ["attestation not cbor", "attestation wrong shape",
                                 "client data", "no attested credential"])
def test_forged_registrations_are_refused(app: Flask, client: FlaskClient, how: str) -> None:
    add_user(app, "ana@example.org", "viewer")
    password_step(client, "ana@example.org")
    token = csrf_token(client, "/admin/login/enrol")
    options = post_json(client, ENROL_OPTIONS, {"name": "phone"}, token).get_json()
    credential = Authenticator().register(options)
    response = credential["response"]
    if how == "attestation not cbor":
        response["attestationObject"] = b64url(b"\xff\x00garbage")
    elif how == "attestation wrong shape":
        response["attestationObject"] = b64url(b"\x83\x01\x02\x03")  # a CBOR list
    elif how == "client data":
        client_data = json.loads(unb64url(response["clientDataJSON"]))
        response["clientDataJSON"] = b64url(json.dumps({**client_data,
                                                        "type": "webauthn.get"}).encode())
    elif how == "no attested credential":
        attestation = cbor2.loads(unb64url(response["attestationObject"]))
        attestation["authData"] = attestation["authData"][:37]
        response["attestationObject"] = b64url(cbor2.dumps(attestation))
    answer = post_json(client, ENROL, {"credential": credential}, token)
    assert answer.status_code == 400 and "could not be checked" in answer.get_json()["error"]
    assert stored(app, "ana@example.org") == []


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
CREDENTIAL_SHAPES = st.fixed_dictionaries(
    {"id": st.text(max_size=20), "rawId": st.text(max_size=20),
     "type": st.sampled_from(["public-key", "x"]),
     "response": st.dictionaries(
         st.sampled_from(["clientDataJSON", "authenticatorData", "signature",
                          "attestationObject", "transports", "userHandle"]),
         JSON_VALUES | st.binary(max_size=40).map(b64url), max_size=6)},
)


def test_generated_answers_never_break_the_engine(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = make_app(tmp_path, migrated_sqlite, RATELIMIT_ADMIN_LOGIN="10000/minute")
    client = app.test_client()
    enrol_with_passkey(client, app, "ana@example.org")
    token = csrf_token(client, "/admin/account")

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(credential=JSON_VALUES | CREDENTIAL_SHAPES, register=st.booleans())
    def answer(credential: Any, register: bool) -> None:
        options = post_json(client, ADD_OPTIONS, {"name": "fuzz"}, token)
        assert options.status_code == 200
        reply = post_json(client, ADD, {"credential": credential}, token)
        assert reply.status_code == 400, reply.get_data(as_text=True)
        assert reply.get_json()["error"]

    answer()


def test_the_passkey_step_is_rate_limited(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = make_app(tmp_path, migrated_sqlite, RATELIMIT_ADMIN_LOGIN="4/minute")
    client = app.test_client()
    add_user(app, "ana@example.org", "viewer")
    password_step(client, "ana@example.org")
    token = csrf_token(client, "/admin/login/enrol")
    statuses = [post_json(client, ENROL, {"credential": {}}, token).status_code
                for _ in range(5)]
    assert statuses[:3] == [400, 400, 400] and statuses[-1] == 429
    options = [post_json(client, ENROL_OPTIONS, {"name": "x"}, token).status_code
               for _ in range(5)]
    assert options[-1] == 429


@pytest.mark.parametrize("public_url, usable", [
    ("http://localhost:5000", True),
    ("https://petitions.example.org", True),
    ("http://127.0.0.1:5000", False),
    ("https://192.0.2.10", False),
    ("http://[::1]:5000", False),
    ("localhost", False),  # no host at all
])
def test_passkeys_need_a_domain_name(public_url: str, usable: bool) -> None:
    assert passkeys.usable_at(public_url) is usable


def test_at_an_ip_address_the_passkey_forms_give_way_to_an_explanation(
    app: Flask, client: FlaskClient,
) -> None:
    enrol_with_passkey(client, app, "ana@example.org", role="viewer")
    app.config["PUBLIC_URL"] = "http://127.0.0.1:5000"
    explanation = "Passkeys cannot work at this workspace's address"
    account = client.get("/admin/account").get_data(as_text=True)
    assert explanation in account
    assert "data-passkey=" not in account and "Passkeys need JavaScript" not in account
    assert "work laptop" in account  # the passkeys made elsewhere are still listed

    sign_out(client)
    assert password_step(client, "ana@example.org").location.endswith(
        "/admin/login/second-factor")
    second_step = client.get("/admin/login/second-factor").get_data(as_text=True)
    assert explanation in second_step and 'data-passkey="authenticate"' not in second_step

    add_user(app, "ben@example.org", "viewer")
    fresh = app.test_client()
    password_step(fresh, "ben@example.org")
    enrolment = fresh.get("/admin/login/enrol").get_data(as_text=True)
    assert explanation in enrolment and 'data-passkey="register"' not in enrolment
    assert 'class="secret"' in enrolment  # the authenticator app is still offered

    app.config["PUBLIC_URL"] = "http://localhost:5000"
    enrolment = fresh.get("/admin/login/enrol").get_data(as_text=True)
    assert explanation not in enrolment and 'data-passkey="register"' in enrolment
