"""Passkeys in the workspace: the account page of every signed-in user (add, see, remove
passkeys), a passkey as the second step of signing in, and a passkey at the first sign-in.

Each ceremony is two JSON posts made by ``static/passkeys.js``: ``…/options`` hands out the
options for ``navigator.credentials.create()`` or ``.get()``, and the post without it hands
back what the authenticator answered. Both carry the CSRF token in ``X-CSRFToken`` and come
from our own origin (``refuse_forged_posts``); the services are in passkeys.py.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, redirect, render_template, request, session
from flask import url_for as flask_url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.exceptions import (
    BadRequest,
    NotFound,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)

from petitionkit.admin import audit, passkeys
from petitionkit.admin.accounts import TOTP_ISSUER
from petitionkit.admin.models import StaffUser
from petitionkit.admin.passkeys import PasskeyError, RelyingParty
from petitionkit.admin.roles import require_role
from petitionkit.admin.views import _pending_next, _pending_user, _sign_in, bp
from petitionkit.extensions import db
from petitionkit.signatures.limits import check_client_limit

# A registration answer with "none" attestation is well under 2 KiB; a packed one with its
# certificate chain a few KiB. Anything far larger is not an authenticator's answer.
PASSKEY_BODY_MAX = 16 * 1024
# Where the challenge waits in the browser's session between the two posts.
_CHALLENGE_KEY = "passkey_challenge"


def _relying_party() -> RelyingParty:
    return RelyingParty.from_public_url(str(current_app.config["PUBLIC_URL"]), TOTP_ISSUER)


def _limit(scope: str) -> None:
    check_client_limit(str(current_app.config["RATELIMIT_ADMIN_LOGIN"]), scope)


def _json_body() -> dict[str, Any]:
    """The posted JSON object, refused with a message when it is not one or is too large."""
    if (request.content_length or 0) > PASSKEY_BODY_MAX:
        raise RequestEntityTooLarge()
    if not request.is_json:
        raise UnsupportedMediaType(gettext("Passkeys are sent as JSON (application/json)."))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(gettext("The browser's answer could not be read. Please try again."))
    return body


def _me() -> StaffUser:
    user: StaffUser = current_user._get_current_object()
    return user


def _name(body: dict[str, Any]) -> str:
    """The new passkey's name, checked before the authenticator is asked for anything."""
    name = body.get("name")
    return passkeys.check_name(name if isinstance(name, str) else "")


def _options(options_json: str, purpose: str, challenge: bytes, name: str = "") -> Response:
    session[_CHALLENGE_KEY] = {"purpose": purpose, "challenge": challenge, "name": name}
    return Response(options_json, mimetype="application/json")


def _challenge(purpose: str) -> tuple[bytes | None, str]:
    """The challenge handed out for ``purpose`` and the name given with it, taken out of the
    session (each is used once)."""
    kept = session.pop(_CHALLENGE_KEY, None)
    if not isinstance(kept, dict) or kept.get("purpose") != purpose:
        return None, ""
    challenge, name = kept.get("challenge"), kept.get("name")
    return (challenge if isinstance(challenge, bytes) else None,
            name if isinstance(name, str) else "")


def _refused(message: str, status: int) -> tuple[Response, int]:
    return jsonify(error=message), status


def _expired_sign_in() -> tuple[Response, int]:
    response = jsonify(error=gettext("Your sign-in has expired. Please start again."),
                       redirect=flask_url_for("admin.login"))
    return response, 401


# The account page ---------------------------------------------------------------------------

def _account_page(status: int = 200, error: str | None = None) -> Any:
    user = _me()
    return render_template("admin/account.html", user=user, passkeys=user.passkeys,
                           error=error), status


@bp.route("/account", methods=["GET"])
@require_role("viewer")
def account() -> Any:
    return _account_page()


@bp.route("/account/passkeys/options", methods=["POST"])
@require_role("viewer")
def account_passkey_options() -> Any:
    body = _json_body()
    _limit("admin-passkey-options")
    try:
        name = _name(body)
        options, challenge = passkeys.begin_registration(db.session(), _relying_party(), _me())
    except PasskeyError as error:
        return _refused(str(error), 422)
    return _options(options, passkeys.REGISTER, challenge, name)


@bp.route("/account/passkeys", methods=["POST"])
@require_role("viewer")
def account_add_passkey() -> Any:
    body = _json_body()
    _limit("admin-passkey-register")
    challenge, name = _challenge(passkeys.REGISTER)
    try:
        passkeys.finish_registration(db.session(), _relying_party(), _me(),
                                     body.get("credential"), name, challenge, _me().email)
    except PasskeyError as error:
        return _refused(str(error), 400)
    return jsonify(redirect=flask_url_for("admin.account")), 201


@bp.route("/account/passkeys/<int:passkey_id>/remove", methods=["POST"])
@require_role("viewer")
def account_remove_passkey(passkey_id: int) -> Any:
    try:
        passkeys.remove_passkey(
            db.session(), _me(), passkey_id, _me().email,
            bool(current_app.config["ADMIN_REQUIRE_SECOND_FACTOR"]),
        )
    except LookupError as error:
        raise NotFound() from error
    except PasskeyError as error:
        return _account_page(status=409, error=str(error))
    return redirect(flask_url_for("admin.account"), code=303)


# A passkey at the first sign-in ---------------------------------------------------------------

def _enrolling_user() -> StaffUser | None:
    user = _pending_user()
    return user if user is not None and not user.has_second_factor else None


@bp.route("/login/enrol/passkey/options", methods=["POST"])
def enrol_passkey_options() -> Any:
    body = _json_body()
    _limit("admin-passkey-options")
    user = _enrolling_user()
    if user is None:
        return _expired_sign_in()
    try:
        name = _name(body)
    except PasskeyError as error:
        return _refused(str(error), 422)
    options, challenge = passkeys.begin_registration(db.session(), _relying_party(), user)
    return _options(options, passkeys.REGISTER, challenge, name)


@bp.route("/login/enrol/passkey", methods=["POST"])
def enrol_passkey() -> Any:
    body = _json_body()
    _limit("admin-second-factor")
    user = _enrolling_user()
    if user is None:
        return _expired_sign_in()
    challenge, name = _challenge(passkeys.REGISTER)
    try:
        passkeys.finish_registration(db.session(), _relying_party(), user,
                                     body.get("credential"), name, challenge, user.email)
    except PasskeyError as error:
        return _refused(str(error), 400)
    next_page = _pending_next()
    _sign_in(user)
    return jsonify(redirect=next_page), 201


# A passkey as the second step of signing in -------------------------------------------------

def _signing_in_user() -> StaffUser | None:
    user = _pending_user()
    return user if user is not None and user.passkeys else None


@bp.route("/login/passkey/options", methods=["POST"])
def sign_in_passkey_options() -> Any:
    _json_body()
    _limit("admin-passkey-options")
    user = _signing_in_user()
    if user is None:
        return _expired_sign_in()
    options, challenge = passkeys.begin_authentication(db.session(), _relying_party(), user)
    return _options(options, passkeys.AUTHENTICATE, challenge)


@bp.route("/login/passkey", methods=["POST"])
def sign_in_passkey() -> Any:
    body = _json_body()
    _limit("admin-second-factor")
    user = _signing_in_user()
    if user is None:
        return _expired_sign_in()
    try:
        passkeys.finish_authentication(db.session(), _relying_party(), user,
                                       body.get("credential"),
                                       _challenge(passkeys.AUTHENTICATE)[0])
    except PasskeyError as error:
        audit.record(db.session(), None, "second factor failed", user.email)
        db.session.commit()
        return _refused(str(error), 401)
    next_page = _pending_next()
    _sign_in(user)
    return jsonify(redirect=next_page)
