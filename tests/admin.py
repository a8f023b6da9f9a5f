"""Helpers for the workspace's tests: accounts made through the real command, sign-in through
the real pages, codes from pyotp as an authenticator app would show them, and passkeys from
the software authenticator in authenticator.py."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from petitionkit.admin.accounts import open_totp_secret
from petitionkit.admin.models import StaffUser
from petitionkit.extensions import db
from petitionkit.keys import KEYS

from .authenticator import Authenticator

PASSWORD = "correct horse battery staple"
ENROL_OPTIONS = "/admin/login/enrol/passkey/options"
ENROL = "/admin/login/enrol/passkey"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_SECRET = re.compile(r'<code class="secret">([A-Z2-7]{16,})</code>')
_RECOVERY = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")


def add_user(app: Flask, email: str, role: str, password: str = PASSWORD) -> None:
    result = app.test_cli_runner().invoke(
        args=["users", "add", email, "--role", role, "--password-stdin"], input=password + "\n"
    )
    assert result.exit_code == 0, result.output


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    found = _CSRF.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def post_form(client: FlaskClient, path: str, data: dict[str, str],
              token_from: str | None = None) -> TestResponse:
    token = csrf_token(client, token_from or path)
    return client.post(path, data={**data, "csrf_token": token})


def password_step(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    return post_form(client, "/admin/login", {"email": email, "password": password})


@dataclass
class Enrolled:
    secret: str
    recovery_codes: list[str]
    # The time step of the last code handed out: the workspace accepts each step once, and one
    # step ahead for clocks that run fast, so a second sign-in within 30 seconds uses that one.
    last_step: int = 0

    def code(self) -> str:
        totp = pyotp.TOTP(self.secret)
        step = max(totp.timecode(datetime.now(UTC)), self.last_step + 1)
        self.last_step = step
        return totp.generate_otp(step)


def enrol(client: FlaskClient, email: str, password: str = PASSWORD) -> Enrolled:
    """First sign-in: password, then set up TOTP with the secret the page shows."""
    answer = password_step(client, email, password)
    assert answer.status_code == 303 and answer.location.endswith("/admin/login/enrol")
    page = client.get("/admin/login/enrol").get_data(as_text=True)
    secret_match = _SECRET.search(page)
    assert secret_match, page
    secret = secret_match.group(1)
    enrolled = Enrolled(secret=secret, recovery_codes=[])
    done = post_form(client, "/admin/login/enrol", {"code": enrolled.code()})
    assert done.status_code == 200, done.get_data(as_text=True)
    codes = _RECOVERY.findall(done.get_data(as_text=True))
    assert len(codes) == 10
    enrolled.recovery_codes = codes
    return enrolled


def sign_in(client: FlaskClient, email: str, role: str, app: Flask) -> Enrolled:
    """A signed-in client of a new account with ``role``."""
    add_user(app, email, role)
    enrolled = enrol(client, email)
    assert client.get("/admin/").status_code == 200
    return enrolled


def stored_secret(app: Flask, email: str) -> str:
    with app.app_context():
        user = db.session.query(StaffUser).filter_by(email=email).one()
        assert user.totp_secret is not None
        return open_totp_secret(KEYS.of(), user.totp_secret)


def post_json(client: FlaskClient, path: str, body: Any, token: str) -> TestResponse:
    return client.post(path, data=json.dumps(body), content_type="application/json",
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def enrol_with_passkey(client: FlaskClient, app: Flask, email: str, role: str = "editor",
                       name: str = "work laptop") -> Authenticator:
    """A new account's first sign-in: password, then a passkey instead of an app."""
    add_user(app, email, role)
    assert password_step(client, email).location.endswith("/admin/login/enrol")
    token = csrf_token(client, "/admin/login/enrol")
    options = post_json(client, ENROL_OPTIONS, {"name": name}, token)
    assert options.status_code == 200, options.get_data(as_text=True)
    authenticator = Authenticator()
    done = post_json(client, ENROL, {"credential": authenticator.register(options.get_json())},
                     token)
    assert done.status_code == 201, done.get_data(as_text=True)
    assert done.get_json() == {"redirect": "/admin/"}
    assert client.get("/admin/").status_code == 200
    return authenticator
