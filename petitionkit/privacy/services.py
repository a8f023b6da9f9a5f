"""Erasure and access requests, free of HTTP.

One function erases a signature's personal data (``erase``), for the command, the "delete my
data" link and "it wasn't me" alike. What stays of an erased signature is its blind index, so
that the address is not mailed again about that petition, its petition, status, dates and the
record of the consent it gave; nothing that says who signed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import Session

from petitionkit.encryption import Sealer
from petitionkit.outbox.services import pending_jobs_naming_signature
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.privacy import truncate_sqlite_log
from petitionkit.privacy.models import ConsentText
from petitionkit.signatures.models import Signature
from petitionkit.signatures.normalize import NormalizationRules, blind_index, normalize_email
from petitionkit.signatures.services import (
    CancelOutcome,
    WithdrawalListener,
    withdraw_uncommitted,
)


class ErasureListener(WithdrawalListener, Protocol):
    """The withdrawal's follow-up work, and what becomes of the jobs still to do about the
    erased signature (see ``plugins.events.Lifecycle.erasing``); returns how many it dropped."""

    def erasing(self, session: Session, signature_id: int, sealed: bytes | None) -> int: ...


@dataclass(frozen=True)
class Erasure:
    """What erasing one signature did."""

    signature_id: int
    petition_id: int
    # The status it had: "confirmed" (it left the count), "pending" or "cancelled".
    status_before: str
    # Whether this erasure withdrew it (it was pending or confirmed).
    withdrawn: bool
    # False when it had been erased before: nothing was changed.
    erased: bool
    jobs_dropped: int = 0


# What an erased signature holds instead of what it held.
_ERASED_VALUES: dict[str, Any] = {
    "sealed": None,
    "public_name": None,
    "hidden_public_name": None,
    "email_domain_hash": None,
    "show_name": False,
    "legacy_email": None,
    "legacy_name": None,
    "legacy_postal_code": None,
    "country": None,
    "source": None,
    # Fields a plugin did not mark personal can still say something about the person.
    "plain_extra": {},
    "mail_suppressed": True,
}


def erase(
    session: Session,
    signature: Signature,
    reason: str,
    *,
    listener: ErasureListener,
    now: datetime | None = None,
) -> Erasure:
    """Withdraw ``signature`` for ``reason`` (off the count if it was on it; the plugins that
    received it hear of it) and erase its personal data, in one transaction that this commits.

    The withdrawal jobs the plugins get carry a sealed copy of the personal data until they are
    done; every other job still to do about the signature is dropped. Erasing again changes
    nothing. Needs only the public key: nothing is opened.
    """
    now = now or utcnow()
    current = session.execute(
        select(Signature.status, Signature.erased_at, Signature.sealed)
        .where(Signature.id == signature.id)
    ).one()
    if current.erased_at is not None:
        session.rollback()
        return Erasure(signature.id, signature.petition_id, current.status, withdrawn=False,
                       erased=False)
    withdrawn = withdraw_uncommitted(session, signature, reason, now, listener=listener)
    dropped = listener.erasing(session, signature.id, current.sealed)
    erased = session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.erased_at.is_(None))
        .values(erased_at=now, **_ERASED_VALUES)
        .execution_options(synchronize_session=False)
    )
    if not cast(CursorResult[Any], erased).rowcount:
        # Another erasure of the same signature committed between our read and this write.
        session.rollback()
        return Erasure(signature.id, signature.petition_id, current.status, withdrawn=False,
                       erased=False)
    session.commit()
    # The caller's object still holds what was erased: it is read again when next used.
    session.expire(signature)
    bind = session.get_bind()
    truncate_sqlite_log(bind.engine if isinstance(bind, Connection) else bind)
    return Erasure(signature.id, signature.petition_id, current.status,
                   withdrawn=withdrawn is CancelOutcome.CANCELLED, erased=True,
                   jobs_dropped=dropped)


def signatures_of(session: Session, address: str, rules: NormalizationRules, index_key: bytes
                  ) -> list[Signature]:
    """Every signature made with ``address`` on any petition, found through the blind index
    (the address itself is stored nowhere it could be compared with)."""
    email_hash = blind_index(normalize_email(address, rules), index_key)
    return list(session.scalars(
        select(Signature).where(Signature.email_hash == email_hash).order_by(Signature.id)
    ))


def erase_address(
    session: Session,
    address: str,
    rules: NormalizationRules,
    index_key: bytes,
    *,
    listener: ErasureListener,
    reason: str,
) -> list[Erasure]:
    """Erase every signature of ``address``, each in a transaction of its own."""
    found = signatures_of(session, address, rules, index_key)
    return [erase(session, signature, reason, listener=listener) for signature in found]


@dataclass(frozen=True)
class HeldSignature:
    """What is held about one signature, opened, for an access request."""

    petition_slug: str
    petition_title: str
    signature_id: int
    kind: str
    status: str
    signed_at: datetime
    confirmed_at: datetime | None
    withdrawn_at: datetime | None
    erased_at: datetime | None
    consent_updates: bool
    consent_version: str | None
    # The consent wording the signer was shown beside the box (None: not recorded, as for
    # signatures from before wordings were, or added by a command).
    consent_text: ConsentText | None
    locale: str
    source: str | None
    country: str | None
    show_name: bool
    public_name: str | None
    name: str | None
    email: str | None
    postal_code: str | None
    plugin_fields: dict[str, Any]
    pending_jobs: list[str]


def held_about(
    session: Session,
    address: str,
    rules: NormalizationRules,
    index_key: bytes,
    sealer: Sealer,
) -> Iterator[HeldSignature]:
    """Everything held about ``address``, signature by signature, its personal data opened with
    ``sealer``'s private key (raises ``KeyUnavailable`` first when this process has none)."""
    sealer.opener()
    for signature in signatures_of(session, address, rules, index_key):
        petition = session.get(Petition, signature.petition_id)
        assert petition is not None
        erased = signature.erased_at is not None
        personal = None if erased else signature.personal()
        yield HeldSignature(
            petition_slug=petition.slug,
            petition_title=petition.title,
            signature_id=signature.id,
            kind=signature.kind,
            status=signature.status,
            signed_at=signature.created_at,
            confirmed_at=signature.confirmed_at,
            withdrawn_at=signature.cancelled_at,
            erased_at=signature.erased_at,
            consent_updates=signature.consent_updates,
            consent_version=signature.consent_version,
            consent_text=(None if signature.consent_text_id is None
                          else session.get(ConsentText, signature.consent_text_id)),
            locale=signature.locale,
            source=signature.source,
            country=signature.country,
            show_name=signature.show_name,
            public_name=signature.public_name,
            name=None if personal is None else personal.name,
            email=None if personal is None else personal.email,
            postal_code=None if personal is None else personal.postal_code,
            plugin_fields={**(signature.plain_extra or {}),
                           **({} if personal is None else personal.extra)},
            pending_jobs=[job.kind for job in pending_jobs_naming_signature(session,
                                                                            signature.id)],
        )


__all__ = ["Erasure", "ErasureListener", "HeldSignature", "erase",
           "erase_address", "held_about", "signatures_of"]
