"""Staff accounts: adding and removing them, passwords, one-time links, the second factor.

No HTTP here: the command line and the workspace's views call the same functions, with the
database session and the keys handed in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from petitionkit.admin import audit
from petitionkit.admin.models import EMAIL_MAX, ROLES, StaffSession, StaffUser
from petitionkit.keys import Keys

# Argon2id with argon2-cffi's defaults (RFC 9106's second recommended set).
PASSWORDS = PasswordHasher()
# Compared against when no account matches, so that an unknown address costs the same time.
_UNKNOWN_ACCOUNT_HASH = PASSWORDS.hash(secrets.token_hex(16))
# Long enough for any passphrase, short enough that hashing stays cheap.
PASSWORD_MAX_LENGTH = 1024
RECOVERY_CODE_COUNT = 10
_SETUP_LINK_SALT = "petitionkit.staff-password-link"
TOTP_ISSUER = "petitionkit"


class AccountError(ValueError):
    """A request about accounts that cannot be carried out; the message says why."""


def normalize_email(email: str) -> str:
    """The address as accounts are keyed: validated, domain in lower case; the local part as
    typed but folded to lower case, since staff sign in with what they remember."""
    try:
        valid = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise AccountError(gettext("This is not an e-mail address.")) from error
    normalized = valid.normalized.lower()
    if len(normalized) > EMAIL_MAX:
        raise AccountError(gettext("This is not an e-mail address."))
    return normalized


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(gettext("The role must be one of: %(roles)s.", roles=", ".join(ROLES)))
    return role


def find_user(session: Session, email: str) -> StaffUser | None:
    try:
        address = normalize_email(email)
    except AccountError:
        return None
    user: StaffUser | None = session.scalar(select(StaffUser).where(StaffUser.email == address))
    return user


def list_users(session: Session) -> Sequence[StaffUser]:
    return session.scalars(select(StaffUser).order_by(StaffUser.email)).all()


def add_user(session: Session, email: str, role: str, actor: str) -> StaffUser:
    address = normalize_email(email)
    check_role(role)
    if session.scalar(select(StaffUser.id).where(StaffUser.email == address)) is not None:
        raise AccountError(gettext("There is already an account for this address."))
    user = StaffUser(email=address, role=role, recovery_codes=[], disabled=False)
    session.add(user)
    audit.record(session, actor, "user added", f"{address} ({role})")
    session.commit()
    return user


def remove_user(session: Session, user: StaffUser, actor: str) -> None:
    """Delete the account and every session of it; the last owner stays."""
    if user.role == "owner" and _owner_count(session) <= 1:
        raise AccountError(gettext(
            "This is the only owner. Add another owner before removing this account."
        ))
    audit.record(session, actor, "user removed", user.email)
    session.delete(user)
    session.commit()


def disable_user(session: Session, user: StaffUser, actor: str) -> None:
    """Stop the account from signing in and end its sign-ins; the last owner stays enabled."""
    if user.disabled:
        return
    if user.role == "owner" and _owner_count(session) <= 1:
        raise AccountError(gettext(
            "This is the only owner. Add another owner before disabling this account."
        ))
    user.disabled = True
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    audit.record(session, actor, "user disabled", user.email)
    session.commit()


def enable_user(session: Session, user: StaffUser, actor: str) -> None:
    """Let a disabled account sign in again (with the password and second factor it had)."""
    if not user.disabled:
        return
    user.disabled = False
    audit.record(session, actor, "user enabled", user.email)
    session.commit()


def _owner_count(session: Session) -> int:
    return int(session.scalar(
        select(func.count(StaffUser.id)).where(StaffUser.role == "owner",
                                               StaffUser.disabled.is_(False))
    ) or 0)


def check_password_rules(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise AccountError(gettext(
            "The password must be at least %(count)d characters long.", count=min_length
        ))
    if len(password) > PASSWORD_MAX_LENGTH:
        raise AccountError(gettext(
            "The password must be at most %(count)d characters long.", count=PASSWORD_MAX_LENGTH
        ))


def set_password(session: Session, user: StaffUser, password: str, min_length: int,
                 actor: str) -> None:
    check_password_rules(password, min_length)
    user.password_hash = PASSWORDS.hash(password)
    user.setup_nonce = None
    audit.record(session, actor, "password set", user.email)
    session.commit()


def verify_password(user: StaffUser | None, password: str) -> bool:
    """Whether ``password`` is ``user``'s; as slow for an unknown or unusable account."""
    if len(password) > PASSWORD_MAX_LENGTH:
        return False
    usable = user is not None and user.password_hash is not None and not user.disabled
    stored = user.password_hash if usable and user is not None else _UNKNOWN_ACCOUNT_HASH
    try:
        return bool(PASSWORDS.verify(str(stored), password)) and usable
    except (VerificationError, InvalidHashError):
        return False


# One-time links that set a password ---------------------------------------------------------

def _link_serializer(keys: Keys) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(keys.secret, salt=_SETUP_LINK_SALT)


def issue_setup_token(session: Session, keys: Keys, user: StaffUser) -> str:
    """A signed token for the one-time link; issuing one kills any earlier one."""
    user.setup_nonce = secrets.token_hex(16)
    session.commit()
    return str(_link_serializer(keys).dumps([user.id, user.setup_nonce]))


def setup_link(public_url: str, token: str) -> str:
    """The one-time link at the instance's public address (``GET /admin/setup/TOKEN``)."""
    return f"{public_url.rstrip('/')}/admin/setup/{token}"


def user_of_setup_token(session: Session, keys: Keys, token: str, max_age: int) -> StaffUser:
    """The account a valid, unused, unexpired token is for; AccountError otherwise."""
    unusable = AccountError(gettext(
        "This link has expired or was already used. Ask an owner of the workspace for a new one."
    ))
    try:
        payload = _link_serializer(keys).loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature) as error:
        raise unusable from error
    if (not isinstance(payload, list) or len(payload) != 2 or not isinstance(payload[0], int)
            or not isinstance(payload[1], str)):
        raise unusable
    user = session.get(StaffUser, payload[0])
    if (user is None or user.setup_nonce is None or user.disabled
            or not hmac.compare_digest(user.setup_nonce, payload[1])):
        raise unusable
    return user


# The second factor --------------------------------------------------------------------------

def new_totp_secret() -> str:
    return pyotp.random_base32()


def seal_totp_secret(keys: Keys, secret: str) -> bytes:
    return bytes(SecretBox(keys.staff_totp).encrypt(secret.encode()))


def open_totp_secret(keys: Keys, sealed: bytes) -> str:
    try:
        return SecretBox(keys.staff_totp).decrypt(sealed).decode()
    except CryptoError as error:
        raise AccountError(gettext(
            "The second factor of this account cannot be read any more (the instance's secret "
            "key changed). Ask an owner to remove and add the account again."
        )) from error


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def _accepted_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side for clock drift), if
    it is right and newer than the last accepted one."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(datetime.now(UTC))
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if last_step is not None and step <= last_step:
                return None
            return step
    return None


def check_totp(session: Session, keys: Keys, user: StaffUser, code: str) -> bool:
    """Whether ``code`` is the account's current TOTP code; an accepted code is spent."""
    if user.totp_secret is None:
        return False
    step = _accepted_step(open_totp_secret(keys, user.totp_secret), code, user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    session.commit()
    return True


def check_enrolment_code(secret: str, code: str) -> int | None:
    """The time step of a right code for a secret being enrolled, or None."""
    return _accepted_step(secret, code, None)


def enrol_totp(session: Session, keys: Keys, user: StaffUser, secret: str, step: int,
               actor: str) -> list[str]:
    """Keep ``secret`` as the account's second factor (after a right code) and return fresh
    recovery codes, shown once; only their keyed hashes are kept."""
    user.totp_secret = seal_totp_secret(keys, secret)
    user.totp_last_step = step
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    user.recovery_codes = [_recovery_hash(keys, code) for code in codes]
    audit.record(session, actor, "second factor enrolled", user.email)
    session.commit()
    return codes


def _new_recovery_code() -> str:
    # 50 bits in ten characters of an alphabet without look-alikes, shown as two groups.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    text = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{text[:5]}-{text[5:]}"


def _recovery_hash(keys: Keys, code: str) -> str:
    canonical = "".join(code.lower().split()).replace("-", "")
    return hmac.new(keys.staff_recovery, canonical.encode(), hashlib.sha256).hexdigest()


def use_recovery_code(session: Session, keys: Keys, user: StaffUser, code: str) -> bool:
    """Whether ``code`` is one of the account's unused recovery codes; it is used up if so."""
    if not code or len(code) > 64:
        return False
    digest = _recovery_hash(keys, code)
    remaining = list(user.recovery_codes or [])
    for stored in remaining:
        if hmac.compare_digest(stored, digest):
            remaining.remove(stored)
            user.recovery_codes = remaining
            audit.record(session, user.email, "recovery code used",
                         f"{user.email} ({len(remaining)} left)")
            session.commit()
            return True
    return False


def looks_like_recovery_code(code: str) -> bool:
    return "-" in code or len("".join(code.split())) == 10

