"""Confirmation, cancellation and report tokens: signed, purpose-salted, expiring, and single use.

Single use comes from the signature's state: a confirm token only acts on a pending signature
whose nonce it carries, and confirming or cancelling changes that state for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class Purpose(Enum):
    CONFIRM = "petitionkit.confirm-signature"
    CANCEL = "petitionkit.cancel-signature"
    ERASE = "petitionkit.erase-signature"
    # The signer's own link for reporting actions taken (reported-actions counts).
    REPORT = "petitionkit.report-action"


@dataclass(frozen=True)
class TokenClaims:
    signature_id: int
    nonce: str


class TokenInvalid(Exception):
    """Tampered, malformed or meant for another purpose."""


class TokenExpired(Exception):
    def __init__(self, claims: TokenClaims) -> None:
        super().__init__("token expired")
        self.claims = claims


def _serializer(secret_key: str, purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=purpose.value)


def make_token(secret_key: str, purpose: Purpose, signature_id: int, nonce: str) -> str:
    return str(_serializer(secret_key, purpose).dumps([signature_id, nonce]))


def read_token(secret_key: str, purpose: Purpose, token: str, max_age: int | None) -> TokenClaims:
    serializer = _serializer(secret_key, purpose)
    try:
        payload = serializer.loads(token, max_age=max_age)
    except SignatureExpired as expired:
        # The signature was valid, only old: its payload is trustworthy enough to offer a new link.
        if expired.payload is None:
            raise TokenInvalid("expired token without payload") from expired
        raise TokenExpired(_claims(serializer.load_payload(expired.payload))) from expired
    except BadSignature as bad:
        raise TokenInvalid(str(bad)) from bad
    return _claims(payload)


def _claims(payload: object) -> TokenClaims:
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not isinstance(payload[0], int)
        or not isinstance(payload[1], str)
    ):
        raise TokenInvalid("unexpected token payload")
    return TokenClaims(signature_id=payload[0], nonce=payload[1])
