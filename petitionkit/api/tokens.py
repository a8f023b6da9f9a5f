"""API tokens: created by owners, shown once, stored as a SHA-256 hash, scoped by role,
revocable. A token is 32 random bytes, so a plain hash is enough: nothing can be guessed from
it, and checking one costs a single indexed lookup."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from petitionkit.admin import audit
from petitionkit.admin.models import ROLES
from petitionkit.extensions import UTCDateTime, db
from petitionkit.petitions.models import utcnow

PREFIX = "pk_"
NAME_MAX = 100


class ApiToken(db.Model):  # type: ignore[name-defined]
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, so that an owner can tell tokens apart without the secret.
    hint: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


class TokenError(ValueError):
    """A token request that cannot be carried out; the message says why."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: str, actor: str) -> tuple[ApiToken, str]:
    """A new token and its secret, which is shown once and never stored."""
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX:
        raise TokenError(gettext("Name the token (at most %(num)d characters): what uses it?",
                                 num=NAME_MAX))
    if role not in ROLES:
        raise TokenError(gettext("The role must be one of: %(roles)s.", roles=", ".join(ROLES)))
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, role=role, token_hash=_hash(secret), hint=secret[:10],
                     created_by=actor)
    session.add(token)
    session.flush()
    audit.record(session, actor, "token created", f"{token.id} {name} ({role})")
    session.commit()
    return token, secret


def list_tokens(session: Session) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


def revoke(session: Session, token_id: int, actor: str) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise TokenError(gettext("There is no token %(num)d.", num=token_id))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor, "token revoked", f"{token.id} {token.name}")
        session.commit()
    return token


def token_for(session: Session, secret: str) -> ApiToken | None:
    """The live token whose secret this is; its last use is noted (at most once a minute)."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(secret),
                                                  ApiToken.revoked_at.is_(None)))
    if token is not None:
        now = utcnow()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            session.execute(update(ApiToken).where(ApiToken.id == token.id)
                            .values(last_used_at=now))
            session.commit()
    return token
