"""Passkeys in real Chromium, with its virtual authenticator (over the DevTools protocol) in
place of a fingerprint reader: a new staff member sets up a passkey at the first sign-in, signs
out, and signs in again with password and passkey. WebAuthn needs a secure context, so the
engine is known here as http://localhost:PORT (the RP ID is "localhost"). No console error
(the workspace's policy would report a blocked script or request there), and axe finds nothing
serious on the account page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..smtp import RecordingSMTPServer
from .conftest import Engine, axe_violations, screenshot, serve_engine

PASSWORD = "a long passphrase of several words"


@pytest.fixture
def localhost_engine(tmp_path: Path, migrated_sqlite: Path,
                     smtp_server: RecordingSMTPServer) -> Iterator[Engine]:
    with serve_engine(tmp_path, migrated_sqlite, smtp_server, host="localhost") as served:
        yield served


def virtual_authenticator(context: Any, page: Any) -> tuple[Any, str]:
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    added = devtools.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }})
    return devtools, added["authenticatorId"]


def password_step(page: Any, email: str) -> None:
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()


# Browsers before the JSON helpers of WebAuthn Level 3 take the script's own conversion.
WITHOUT_JSON_HELPERS = """
delete PublicKeyCredential.parseCreationOptionsFromJSON;
delete PublicKeyCredential.parseRequestOptionsFromJSON;
delete PublicKeyCredential.prototype.toJSON;
"""


@pytest.mark.parametrize("helpers", ["native", "converted by the script"])
def test_enrol_with_a_passkey_and_sign_in_with_it(localhost_engine: Engine, chromium: Any,
                                                  helpers: str) -> None:
    engine = localhost_engine
    added = engine.app.test_cli_runner().invoke(
        args=["users", "add", "ana@example.org", "--role", "editor"])
    link = re.search(r"(http://localhost:\d+/admin/setup/\S+)", added.output)
    assert link, added.output

    context = chromium.new_context()
    if helpers != "native":
        context.add_init_script(WITHOUT_JSON_HELPERS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    devtools, authenticator = virtual_authenticator(context, page)

    page.goto(link.group(1))
    assert page.evaluate("typeof PublicKeyCredential.prototype.toJSON") == (
        "function" if helpers == "native" else "undefined")
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_label("The same password again").fill(PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    page.get_by_role("link", name="Sign in").click()
    password_step(page, "ana@example.org")

    assert page.get_by_role("heading", name="Use a passkey (recommended)").is_visible()
    assert not page.get_by_text("Passkeys need JavaScript").is_visible()
    assert axe_violations(page.main_frame) == [], "enrolment with a passkey"
    # The name is asked for before the authenticator is.
    page.get_by_role("button", name="Create a passkey and sign in").click()
    assert page.get_by_text("Give the passkey a name").is_visible()
    page.get_by_label("Name of this passkey").fill("work laptop")
    page.get_by_role("button", name="Create a passkey and sign in").click()
    page.wait_for_url(f"{engine.url}/admin/")
    assert page.get_by_role("heading", name="Petitions").is_visible()
    [credential] = devtools.send("WebAuthn.getCredentials",
                                 {"authenticatorId": authenticator})["credentials"]
    assert credential["rpId"] == "localhost"

    page.get_by_role("link", name="ana@example.org").click()
    assert page.get_by_role("heading", name="Your account").is_visible()
    assert page.get_by_role("rowheader", name="work laptop").is_visible()
    assert axe_violations(page.main_frame) == [], "account page"
    if helpers == "native":
        screenshot(page, "admin-account-passkeys")

    page.get_by_role("button", name="Sign out").click()
    password_step(page, "ana@example.org")
    assert page.get_by_role("heading", name="Second step").is_visible()
    assert axe_violations(page.main_frame) == [], "second step with a passkey"
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(f"{engine.url}/admin/")
    assert page.get_by_role("heading", name="Petitions").is_visible()
    [credential] = devtools.send("WebAuthn.getCredentials",
                                 {"authenticatorId": authenticator})["credentials"]
    assert credential["signCount"] >= 1
    assert errors == []
    context.close()


def test_without_javascript_the_pages_offer_the_authenticator_app(
    localhost_engine: Engine, chromium: Any
) -> None:
    engine = localhost_engine
    engine.app.test_cli_runner().invoke(
        args=["users", "add", "bo@example.org", "--role", "viewer", "--password-stdin"],
        input=PASSWORD + "\n")
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{engine.url}/admin/login")
    password_step(page, "bo@example.org")
    assert page.get_by_text("Passkeys need JavaScript").is_visible()
    assert not page.get_by_role("button", name="Create a passkey and sign in").is_visible()
    assert page.get_by_role("button", name="Confirm and sign in").is_visible()
    context.close()
