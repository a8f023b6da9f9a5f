"""API tokens: created by owners, shown once, stored as a SHA-256 hash, scoped by role,
revocable, and optionally limited to named petitions as workspace accounts are. A token is 32
random bytes, so a plain hash is enough: nothing can be guessed from it, and checking one costs
a single indexed lookup."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from petitionkit.admin import audit
from petitionkit.admin.access import petitions_to_limit_to
from petitionkit.admin.accounts import AccountError
from petitionkit.admin.models import ROLES
from petitionkit.extensions import UTCDateTime, db
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.signatures.rules import text_problem

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


class ApiTokenPetition(db.Model):  # type: ignore[name-defined]
    """A petition a token is limited to. A token with no rows here reaches every petition its
    role does; with rows, only those: the others answer 404, and the list leaves them out."""

    __tablename__ = "api_token_petitions"

    token_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True)
    petition_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("petitions.id", ondelete="CASCADE"), primary_key=True, index=True)


class TokenError(ValueError):
    """A token request that cannot be carried out; the message says why."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: str, actor: str,
                 petitions: Iterable[str] = ()) -> tuple[ApiToken, str]:
    """A new token and its secret, which is shown once and never stored; limited to the
    petitions at the slugs ``petitions`` when any are given."""
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX:
        raise TokenError(gettext("Name the token (at most %(num)d characters): what uses it?",
                                 num=NAME_MAX))
    if problems := text_problem(name):
        raise TokenError(problems[0])
    if role not in ROLES:
        raise TokenError(gettext("The role must be one of: %(roles)s.", roles=", ".join(ROLES)))
    wanted = sorted(set(petitions))
    try:
        limited = petitions_to_limit_to(session, role, wanted)
    except AccountError as error:
        raise TokenError(str(error)) from error
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, role=role, token_hash=_hash(secret), hint=secret[:10],
                     created_by=actor)
    session.add(token)
    session.flush()
    session.add_all(ApiTokenPetition(token_id=token.id, petition_id=petition.id)
                    for petition in limited)
    scope = f": {', '.join(wanted)}" if wanted else ""
    audit.record(session, actor, "token created", f"{token.id} {name} ({role}){scope}")
    session.commit()
    return token, secret


def limited_to(session: Session, token: ApiToken) -> set[int] | None:
    """The ids of the petitions ``token`` is limited to, or None when it reaches every one."""
    ids = set(session.scalars(select(ApiTokenPetition.petition_id)
                              .where(ApiTokenPetition.token_id == token.id)))
    return ids or None


def slugs_of(session: Session, token: ApiToken) -> list[str]:
    """The slugs ``token`` is limited to, sorted (empty: no limit)."""
    return sorted(session.scalars(
        select(Petition.slug).join(ApiTokenPetition, ApiTokenPetition.petition_id == Petition.id)
        .where(ApiTokenPetition.token_id == token.id)))


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
