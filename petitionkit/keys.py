"""Keys derived from the configured secrets, one per purpose."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from petitionkit.registry import Slot


@dataclass(frozen=True)
class Keys:
    secret: str
    blind_index: bytes
    client: bytes
    challenge: bytes
    # Secret-key encryption (PyNaCl SecretBox) of staff members' TOTP secrets, and the keyed
    # hash of their recovery codes. Rotating SECRET_KEY means enrolling the second factor again.
    staff_totp: bytes
    staff_recovery: bytes

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Keys:
        secret = str(config["SECRET_KEY"])
        blind = config.get("BLIND_INDEX_KEY")
        return cls(
            secret=secret,
            # Keep BLIND_INDEX_KEY stable when rotating SECRET_KEY, or duplicates stop matching.
            blind_index=(str(blind).encode() if blind else _derive(secret, "blind-index")),
            client=_derive(secret, "client-address"),
            # HMAC key of the proof-of-work challenges handed to browsers (ALTCHA).
            challenge=_derive(secret, "challenge"),
            staff_totp=_derive(secret, "staff-totp"),
            staff_recovery=_derive(secret, "staff-recovery-codes"),
        )


def _derive(secret: str, label: str) -> bytes:
    return hmac.new(secret.encode(), f"petitionkit:{label}".encode(), hashlib.sha256).digest()


# What the app holds of this module's, read with .of() (see petitionkit/registry.py).
KEYS: Slot[Keys] = Slot("petitionkit.keys", Keys)
