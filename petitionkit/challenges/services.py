"""The proof-of-work check before signing, free of HTTP: issuing, verifying and spending
challenges, and deciding when a petition asks for one.

The protocol is ALTCHA's (PoW v2, through the ``altcha`` library) with plain SHA-256 and a
counter chosen by the engine: a challenge carries the first half of
SHA-256(salt + nonce + counter) for a counter drawn below ``CHALLENGE_MAX_ITERATIONS``, so a
browser needs at most that many hashes (half on average) and the engine one to check the answer.
Each challenge names its petition and its expiry, and is signed with a key of its own derived
from ``SECRET_KEY``; a solution is accepted once, its nonce recorded until the challenge expires.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cache
from typing import Any

from altcha import Challenge, Payload, create_challenge, verify_solution
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from petitionkit.challenges.models import SpentChallenge
from petitionkit.config import ConfigurationError
from petitionkit.petitions.models import utcnow
from petitionkit.registry import Slot
from petitionkit.signatures.models import PENDING, Signature

MODES = ("off", "always", "auto")
# Iterated SHA-256 with one iteration: what WebCrypto's digest() computes in one call.
ALGORITHM = "SHA-256"
COST = 1
# The engine's own payloads are about 700 characters; anything far longer is not one of them.
MAX_PAYLOAD_LENGTH = 2048
# How often one process sweeps expired solutions out of ``spent_challenges``, in seconds.
PURGE_INTERVAL = 60.0


@dataclass(frozen=True)
class ChallengePolicy:
    """The operator's settings for the check; built once per app."""

    mode: str
    key: bytes
    max_iterations: int
    max_age: int
    auto_threshold: int
    auto_window: int
    auto_cache_seconds: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any], key: bytes) -> ChallengePolicy:
        mode = str(config["CHALLENGE_MODE"])
        if mode not in MODES:
            raise ConfigurationError(
                f"CHALLENGE_MODE must be one of {', '.join(MODES)}, not {mode!r}"
            )
        policy = cls(
            mode=mode,
            key=key,
            max_iterations=int(config["CHALLENGE_MAX_ITERATIONS"]),
            max_age=int(config["CHALLENGE_MAX_AGE"]),
            auto_threshold=int(config["CHALLENGE_AUTO_THRESHOLD"]),
            auto_window=int(config["CHALLENGE_AUTO_WINDOW"]),
            auto_cache_seconds=float(config["CHALLENGE_AUTO_CACHE_SECONDS"]),
        )
        for name, value in (("CHALLENGE_MAX_ITERATIONS", policy.max_iterations),
                            ("CHALLENGE_MAX_AGE", policy.max_age),
                            ("CHALLENGE_AUTO_THRESHOLD", policy.auto_threshold),
                            ("CHALLENGE_AUTO_WINDOW", policy.auto_window)):
            if value < 1:
                raise ConfigurationError(f"{name} must be at least 1, not {value}")
        if policy.max_iterations > 2**32:
            raise ConfigurationError("CHALLENGE_MAX_ITERATIONS must be at most 2**32")
        return policy


def issue(policy: ChallengePolicy, slug: str, now: datetime | None = None) -> Challenge:
    """A fresh challenge for the petition ``slug``, valid for ``policy.max_age`` seconds."""
    now = now or utcnow()
    return create_challenge(
        ALGORITHM,
        COST,
        counter=secrets.randbelow(policy.max_iterations),
        expires_at=int(now.timestamp()) + policy.max_age,
        data={"petition": slug},
        hmac_secret=policy.key,
    )


class Problem(Enum):
    """Why a post's solution is refused."""

    MISSING = "missing"
    EXPIRED = "expired"
    # Unreadable, tampered with, unsolved, another petition's, or already spent.
    INVALID = "invalid"


@dataclass(frozen=True)
class Ticket:
    """A verified solution, not spent yet."""

    nonce: str
    expires_at: datetime


def verify(policy: ChallengePolicy, slug: str, payload: object) -> Ticket | Problem:
    """Check a solution as sent (``altcha``: base64 of the challenge and its solution).

    The library reads the payload and refuses whatever is malformed, expired, unsigned, signed
    with another key or wrongly solved; here it must also be this petition's.
    """
    if payload is None or payload == "":
        return Problem.MISSING
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD_LENGTH:
        return Problem.INVALID
    try:
        # Decoded once, here; the library's own reading refuses the same malformed payloads.
        decoded = Payload.from_base64(payload)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return Problem.INVALID
    result = verify_solution(decoded, policy.key)
    if result.expired:
        return Problem.EXPIRED
    if not result.verified:
        return Problem.INVALID
    # Verified, so its parameters are the engine's own.
    parameters = decoded.challenge.parameters
    if parameters.data != {"petition": slug} or not isinstance(parameters.expires_at, int):
        return Problem.INVALID
    return Ticket(parameters.nonce, datetime.fromtimestamp(parameters.expires_at, UTC))


@cache
def _spend_statement(dialect_name: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: a row back only for a nonce not spent before.
    Built once; the values come with each execution."""
    table = SpentChallenge.__table__
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (dialect.insert(table).on_conflict_do_nothing(index_elements=["nonce"])
            .returning(table.c.nonce))


class SpentChallenges:
    """Records spent solutions in the database, which every process and machine shares, and
    sweeps out those expired now and then."""

    def __init__(self) -> None:
        self._next_purge = 0.0
        self._lock = threading.Lock()

    def claim(self, ticket: Ticket, now: datetime | None = None) -> Callable[[Connection], bool]:
        """Spending ``ticket``, to be done in the signing's own transaction (so a solution is
        spent exactly when its signature is taken): True if it was not spent before."""
        moment = now or utcnow()

        def spend(connection: Connection) -> bool:
            inserted = connection.execute(
                _spend_statement(connection.dialect.name),
                {"nonce": ticket.nonce, "expires_at": ticket.expires_at},
            ).scalar_one_or_none()
            if self._purge_due():
                table = SpentChallenge.__table__
                connection.execute(delete(table).where(table.c.expires_at < moment))
            return inserted is not None

        return spend

    def _purge_due(self) -> bool:
        with self._lock:
            if time.monotonic() < self._next_purge:
                return False
            self._next_purge = time.monotonic() + PURGE_INTERVAL
            return True


def flooded(engine: Engine, petition_id: int, threshold: int, window: int,
            now: datetime | None = None) -> bool:
    """Whether the petition took ``threshold`` or more new signatures, still pending, in the
    last ``window`` seconds.

    Walks at most ``threshold`` entries of the (petition, status, id) index: the
    ``threshold``-th newest pending signature is looked up and its age compared, so the cost
    does not grow with the petition.
    """
    now = now or utcnow()
    with engine.connect() as connection:
        created = connection.execute(
            select(Signature.created_at)
            .where(Signature.petition_id == petition_id, Signature.status == PENDING)
            .order_by(Signature.id.desc())
            .limit(1)
            .offset(threshold - 1)
        ).scalar_one_or_none()
    return created is not None and created >= now - timedelta(seconds=window)


class AutoSwitch:
    """Per process: whether the automatic mode has the check on for each petition, as read
    from the database at most ``auto_cache_seconds`` ago.

    The signatures table is what every worker process shares, so they all switch on and off
    together (within that delay); a signing in between pays a dictionary lookup.
    """

    def __init__(self) -> None:
        self._states: dict[int, tuple[float, bool]] = {}

    def cached(self, petition_id: int) -> bool | None:
        """The reading still fresh for this petition, or None when it must be read again."""
        state = self._states.get(petition_id)
        if state is None or state[0] <= time.monotonic():
            return None
        return state[1]

    def read(self, engine: Engine, policy: ChallengePolicy, petition_id: int) -> bool:
        on = flooded(engine, petition_id, policy.auto_threshold, policy.auto_window)
        if policy.auto_cache_seconds > 0:
            self._states[petition_id] = (time.monotonic() + policy.auto_cache_seconds, on)
        return on


# What the app holds of this module's, read with .of() (see petitionkit/registry.py).
CHALLENGE_POLICY: Slot[ChallengePolicy] = Slot("petitionkit.challenge_policy", ChallengePolicy)
CHALLENGE_SWITCH: Slot[AutoSwitch] = Slot("petitionkit.challenge_switch", AutoSwitch)
SPENT_CHALLENGES: Slot[SpentChallenges] = Slot("petitionkit.spent_challenges", SpentChallenges)
