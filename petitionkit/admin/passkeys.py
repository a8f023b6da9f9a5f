"""Passkeys (WebAuthn) as the second factor of staff accounts, with the ``webauthn`` package.

Registration and authentication are each two requests: ``begin_*`` makes the options the
browser hands to ``navigator.credentials.create()`` or ``.get()``, ``finish_*`` checks what
the authenticator answered. The challenge goes to the caller (the view keeps it in the
signed-in or signing-in session) and, hashed, into ``staff_webauthn_challenges``: finishing
deletes that row, so a challenge is answered once, in one process, before it expires, even
when an old copy of the session cookie is sent again.

The relying party is the instance's ``PUBLIC_URL``: its host is the RP ID and its origin the
only origin accepted, so a passkey made here signs in nowhere else, and a look-alike site
cannot get a signature it could use here. No HTTP here; the views hand in the database session.
"""

from __future__ import annotations

import binascii
import hashlib
import ipaddress
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from petitionkit.admin import audit
from petitionkit.admin.models import (
    CREDENTIAL_ID_MAX,
    PASSKEY_NAME_MAX,
    StaffPasskey,
    StaffSession,
    StaffUser,
    WebAuthnChallenge,
)
from petitionkit.petitions.models import utcnow

# How long the browser has to answer a challenge; the browser's own timeout is the same.
CHALLENGE_SECONDS = 300
REGISTER = "register"
AUTHENTICATE = "authenticate"
# An account keeps at most this many passkeys (a few devices and a spare security key).
PASSKEYS_PER_USER_MAX = 20
# What the parser may raise on input that is not a credential at all, besides the library's own
# errors: bad base64url, CBOR of the wrong shape, missing keys, a string where bytes belong.
_MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, IndexError, AttributeError,
              binascii.Error, OverflowError)


class PasskeyError(ValueError):
    """A passkey request that cannot be carried out; the message says why, for the person."""


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: the RP ID (a host name) and the one origin accepted."""

    id: str
    origin: str
    name: str

    @classmethod
    def from_public_url(cls, public_url: str, name: str) -> RelyingParty:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"PUBLIC_URL {public_url!r} has no host a passkey can be bound to")
        host = parts.hostname.lower()
        default_port = 443 if parts.scheme == "https" else 80
        port = "" if parts.port in (None, default_port) else f":{parts.port}"
        shown_host = f"[{host}]" if ":" in host else host
        return cls(id=host, origin=f"{parts.scheme}://{shown_host}{port}", name=name)

    @property
    def usable(self) -> bool:
        """False when the RP ID is an IP address: WebAuthn binds a passkey to a domain name, and
        browsers refuse one for an address such as 127.0.0.1 (``localhost`` is a name)."""
        try:
            ipaddress.ip_address(self.id)
        except ValueError:
            return True
        return False


def usable_at(public_url: str) -> bool:
    """Whether passkeys can work at ``public_url``: it has a host, and the host is a name."""
    try:
        return RelyingParty.from_public_url(public_url, "").usable
    except ValueError:
        return False


def _challenge_hash(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def _record_challenge(session: Session, user: StaffUser, purpose: str, challenge: bytes) -> None:
    now = utcnow()
    session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at < now))
    session.add(WebAuthnChallenge(challenge_hash=_challenge_hash(challenge), user_id=user.id,
                                  purpose=purpose,
                                  expires_at=now + timedelta(seconds=CHALLENGE_SECONDS)))
    session.commit()


def _spend_challenge(session: Session, user: StaffUser, purpose: str,
                     challenge: bytes | None) -> bytes:
    """Delete the challenge's row; only the request that deleted it goes on."""
    expired = PasskeyError(gettext(
        "This passkey request has expired or was already used. Please try again."
    ))
    if challenge is None:
        raise expired
    result = session.execute(delete(WebAuthnChallenge).where(
        WebAuthnChallenge.challenge_hash == _challenge_hash(challenge),
        WebAuthnChallenge.user_id == user.id,
        WebAuthnChallenge.purpose == purpose,
        WebAuthnChallenge.expires_at >= utcnow(),
    ))
    session.commit()
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        raise expired
    return challenge


def _transports(names: list[str]) -> list[AuthenticatorTransport]:
    known = {transport.value for transport in AuthenticatorTransport}
    return [AuthenticatorTransport(name) for name in names if name in known]


def _descriptors(user: StaffUser) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=passkey.credential_id,
                                          transports=_transports(passkey.transports or []))
            for passkey in user.passkeys]


def check_name(name: str) -> str:
    """A passkey's name as kept: trimmed, 1 to PASSKEY_NAME_MAX characters, no control
    characters (it is shown in lists and the audit log)."""
    name = " ".join(name.split())
    if not name:
        raise PasskeyError(gettext("Give the passkey a name, such as “work laptop”."))
    if len(name) > PASSKEY_NAME_MAX:
        raise PasskeyError(gettext("The name must be at most %(count)d characters long.",
                                   count=PASSKEY_NAME_MAX))
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn") for char in name):
        raise PasskeyError(gettext("The name may hold only letters, digits, spaces and "
                                   "punctuation."))
    return name


def begin_registration(session: Session, rp: RelyingParty,
                       user: StaffUser) -> tuple[str, bytes]:
    """Options for ``navigator.credentials.create()`` (JSON) and their challenge."""
    if len(user.passkeys) >= PASSKEYS_PER_USER_MAX:
        raise PasskeyError(gettext(
            "This account has %(count)d passkeys already. Remove one before adding another.",
            count=PASSKEYS_PER_USER_MAX,
        ))
    options = generate_registration_options(
        rp_id=rp.id, rp_name=rp.name, user_name=user.email,
        timeout=CHALLENGE_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(user),
    )
    _record_challenge(session, user, REGISTER, options.challenge)
    return options_to_json(options), options.challenge


def finish_registration(session: Session, rp: RelyingParty, user: StaffUser,
                        credential: Any, name: str, challenge: bytes | None,
                        actor: str) -> StaffPasskey:
    """Keep the passkey the browser made, once its answer checks out against ``challenge``."""
    expected = _spend_challenge(session, user, REGISTER, challenge)
    checked_name = check_name(name)
    if not isinstance(credential, dict):
        raise PasskeyError(gettext("The browser's answer could not be read. Please try again."))
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=expected, expected_rp_id=rp.id,
            expected_origin=rp.origin, require_user_verification=False,
        )
    except _MALFORMED as error:
        raise PasskeyError(gettext(
            "The passkey could not be checked, so it was not added. Please try again."
        )) from error
    if len(verified.credential_id) > CREDENTIAL_ID_MAX:
        raise PasskeyError(gettext(
            "The passkey could not be checked, so it was not added. Please try again."
        ))
    taken = session.scalar(select(StaffPasskey.id).where(
        StaffPasskey.credential_id == verified.credential_id))
    if taken is not None:
        raise PasskeyError(gettext("This passkey is registered already."))
    transports = credential.get("response", {}).get("transports")
    kept_transports = [transport.value for transport in _transports(
        [item for item in transports if isinstance(item, str)]
        if isinstance(transports, list) else []
    )]
    passkey = StaffPasskey(credential_id=verified.credential_id,
                           public_key=verified.credential_public_key,
                           sign_count=verified.sign_count, transports=kept_transports,
                           name=checked_name)
    user.passkeys.append(passkey)
    audit.record(session, actor, "passkey added", f"{user.email}: {checked_name}")
    try:
        session.commit()
    except IntegrityError as error:
        # The same passkey registered by a request that ran alongside this one.
        session.rollback()
        raise PasskeyError(gettext("This passkey is registered already.")) from error
    return passkey


def begin_authentication(session: Session, rp: RelyingParty,
                         user: StaffUser) -> tuple[str, bytes]:
    """Options for ``navigator.credentials.get()`` naming the account's passkeys (JSON), and
    their challenge."""
    if not user.passkeys:
        raise PasskeyError(gettext("This account has no passkey. Use a code instead."))
    options = generate_authentication_options(
        rp_id=rp.id, timeout=CHALLENGE_SECONDS * 1000, allow_credentials=_descriptors(user),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _record_challenge(session, user, AUTHENTICATE, options.challenge)
    return options_to_json(options), options.challenge


def _credential_id(credential: dict[str, Any]) -> bytes:
    raw = credential.get("rawId")
    if not isinstance(raw, str) or len(raw) > 2 * CREDENTIAL_ID_MAX:
        raise ValueError("no rawId")
    return base64url_to_bytes(raw)


def finish_authentication(session: Session, rp: RelyingParty, user: StaffUser,
                          credential: Any, challenge: bytes | None) -> StaffPasskey:
    """The account's passkey that signed ``challenge``; PasskeyError if none did."""
    expected = _spend_challenge(session, user, AUTHENTICATE, challenge)
    refused = PasskeyError(gettext("This passkey was not accepted. Try again, or use a code."))
    if not isinstance(credential, dict):
        raise refused
    try:
        credential_id = _credential_id(credential)
    except _MALFORMED as error:
        raise refused from error
    passkey = next((item for item in user.passkeys if item.credential_id == credential_id), None)
    if passkey is None:
        raise refused
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=expected, expected_rp_id=rp.id,
            expected_origin=rp.origin, credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count, require_user_verification=False,
        )
    except _MALFORMED as error:
        raise refused from error
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    session.commit()
    return passkey


def remove_passkey(session: Session, user: StaffUser, passkey_id: int, actor: str,
                   second_factor_required: bool) -> None:
    """Remove one of ``user``'s passkeys; not the last second factor while one is required."""
    passkey = next((item for item in user.passkeys if item.id == passkey_id), None)
    if passkey is None:
        raise LookupError(passkey_id)
    if second_factor_required and len(user.passkeys) == 1 and not user.has_totp:
        raise PasskeyError(gettext(
            "This is your only second factor, so it stays. Add another passkey first."
        ))
    user.passkeys.remove(passkey)
    audit.record(session, actor, "passkey removed", f"{user.email}: {passkey.name}")
    session.commit()


def reset_second_factor(session: Session, user: StaffUser, actor: str) -> None:
    """Forget every passkey, the TOTP secret and the recovery codes of ``user`` and end its
    sign-ins: the next sign-in sets up a second factor again."""
    user.passkeys.clear()
    user.totp_secret = None
    user.totp_last_step = None
    user.recovery_codes = []
    session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.user_id == user.id))
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    audit.record(session, actor, "second factor reset", user.email)
    session.commit()
