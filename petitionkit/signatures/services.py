"""Signing, confirming and cancelling: the rules, free of HTTP.

Every path answers the caller the same way whether or not the address had signed before; the
difference only shows in which e-mail (if any) goes to that address.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, Protocol, cast

from sqlalchemy import Integer, bindparam, case, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Engine, Result
from sqlalchemy.orm import Session

from petitionkit.encryption import Sealer
from petitionkit.outbox.models import PENDING as OUTBOX_PENDING
from petitionkit.outbox.models import OutboxJob
from petitionkit.outbox.services import enqueue_now, new_message_id
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.registry import Slot
from petitionkit.signatures.figures import count_hour
from petitionkit.signatures.models import (
    CANCELLED,
    CONFIRMED,
    ORGANIZATION,
    PENDING,
    PERSON,
    SIGNER_KINDS,
    PersonalData,
    Signature,
)
from petitionkit.signatures.normalize import (
    NormalizationRules,
    blind_index,
    domain_index,
    normalize_email,
    public_name,
)
from petitionkit.signatures.tokens import TokenClaims

CONFIRM_EMAIL = "email.confirm"
ALREADY_SIGNED_EMAIL = "email.already_signed"


@dataclass(frozen=True)
class SignatureInput:
    name: str
    email: str
    country: str | None = None
    postal_code: str | None = None
    consent_updates: bool = False
    show_name: bool = False
    locale: str = "en"
    source: str | None = None
    # The host of the page the widget was embedded in (rules.embedding_site); None for none.
    site: str | None = None
    # Values of the plugins' extra form fields (petitionkit_form_fields) not marked personal.
    extra: dict[str, Any] = field(default_factory=dict)
    # Values of those marked personal (FormField.personal), stored sealed with name and address.
    personal_extra: dict[str, Any] = field(default_factory=dict)
    # Who signs: ``PERSON`` or ``ORGANIZATION`` (see signatures.models.SIGNER_KINDS).
    kind: str = PERSON
    # An organisation's name and website (public once approved); ``name`` and ``email`` are
    # then its contact person's, sealed and never shown.
    organization: str | None = None
    organization_url: str | None = None
    # The version of the consent wording the signer was shown (privacy.consent), if any.
    consent_text_id: int | None = None


@dataclass(frozen=True)
class SigningPolicy:
    """The operator's settings that shape a signing; built once per app."""

    rules: NormalizationRules
    index_key: bytes
    max_mails_per_day: int
    message_domain: str
    # Seals the personal data to the data public key; this process needs no private key.
    sealer: Sealer


class SignOutcome(Enum):
    """For metrics and tests only: never shown to the person signing."""

    NEW = "new"
    RESENT_CONFIRMATION = "resent_confirmation"
    ALREADY_SIGNED_NOTICE = "already_signed_notice"
    MAIL_CAPPED = "mail_capped"
    SUPPRESSED = "suppressed"
    # What ``sign`` answers for either of the two above: telling them apart would take a
    # statement more, on just these paths, and so show in the response time.
    NOT_MAILED = "not_mailed"
    # The claim handed in was refused, so nothing was written.
    CLAIM_REFUSED = "claim_refused"


class Claim(Protocol):
    """Something a signing takes in its own transaction, first, or the signing does not happen
    (a proof-of-work solution being spent). Returns whether it was taken."""

    def __call__(self, connection: Connection, /) -> bool: ...


# The columns of a new signature, as the statements' parameters.
_SIGNATURE_COLUMNS = (
    "petition_id", "kind", "email_hash", "email_domain_hash", "sealed", "public_name", "country",
    "organization", "organization_url",
    "consent_updates", "consent_version", "consent_text_id", "show_name", "locale", "source",
    "site", "extra", "status", "token_nonce", "mail_suppressed", "mails_day", "mails_sent_today",
    "created_at",
)


def _allowance_left(today: Any, max_mails: Any) -> Any:
    """The condition under which a signature may be sent one more e-mail today."""
    return (
        Signature.mails_day.is_(None)
        | (Signature.mails_day != today)
        | (Signature.mails_sent_today < max_mails)
    )


def _allowance_spent(today: Any) -> dict[str, Any]:
    """The columns that spend one e-mail of the day's allowance."""
    return {
        "mails_sent_today": case(
            (Signature.mails_day == today, Signature.mails_sent_today + 1), else_=1
        ),
        "mails_day": today,
    }


def _signature_upsert(statement: Any) -> Any:
    """A new signature, or a repeat's claim on the day's e-mail allowance, in one statement.

    New: the row is inserted. Repeat: the existing row spends one e-mail of its daily allowance,
    unless the address asked for no more mail ("it wasn't me") or has used the allowance up; then
    nothing changes and no row comes back. Either way the row returned carries its id and status,
    and its token nonce tells which happened: only a new row has the nonce this request made.

    First signings and repeats thus cost the same statements, so the response time does not tell
    whether an address had signed. Concurrent identical submissions create exactly one row.
    """
    today = statement.excluded.mails_day
    return statement.on_conflict_do_update(
        index_elements=["petition_id", "email_hash"],
        set_=_allowance_spent(today),
        where=(
            ~Signature.mail_suppressed
            & (Signature.status != CANCELLED)
            & _allowance_left(today, bindparam("max_mails", type_=Integer()))
        ),
    ).returning(Signature.id, Signature.status, Signature.token_nonce)


@cache
def _sqlite_signing_statement() -> Any:
    """SQLite: the upsert alone; the e-mail job follows it in the same transaction."""
    # The values come with each execution: fewer bound expressions to process per signing.
    return _signature_upsert(sqlite.insert(Signature.__table__))


@cache
def _postgresql_signing_statement() -> Any:
    """PostgreSQL: the upsert and its e-mail job in one statement, one round trip.

    The upsert is a data-modifying CTE; the job is inserted from the row it returns, which is
    also what the statement answers. No row: no e-mail, and nothing queued.
    """
    jobs = OutboxJob.__table__
    signatures = Signature.__table__
    # Inside a WITH the INSERT needs its values in the statement itself.
    values = {name: bindparam(name, type_=signatures.c[name].type) for name in _SIGNATURE_COLUMNS}
    signing = _signature_upsert(postgresql.insert(signatures).values(values)).cte("signing")
    kind = case(
        (signing.c.status == CONFIRMED, literal(ALREADY_SIGNED_EMAIL, jobs.c.kind.type)),
        else_=literal(CONFIRM_EMAIL, jobs.c.kind.type),
    )
    job = insert(jobs).from_select(
        ["kind", "payload", "message_id", "status", "attempts", "available_at", "created_at"],
        select(
            kind,
            func.json_build_object("signature_id", signing.c.id),
            bindparam("message_id", type_=jobs.c.message_id.type),
            literal(OUTBOX_PENDING, jobs.c.status.type),
            literal(0, jobs.c.attempts.type),
            bindparam("job_available_at", type_=jobs.c.available_at.type),
            bindparam("job_created_at", type_=jobs.c.created_at.type),
        ).select_from(signing),
        include_defaults=False,
    ).cte("job")
    return select(signing.c.id, signing.c.status, signing.c.token_nonce).add_cte(job)


def sign(
    engine: Engine,
    petition: Petition,
    data: SignatureInput,
    policy: SigningPolicy,
    now: datetime | None = None,
    *,
    claim: Claim | None = None,
) -> SignOutcome:
    """Record a signature (pending confirmation) and queue its e-mail, in one transaction.

    The transaction is its own, on a connection of ``engine``, and uses Core statements only:
    a signing loads no object and changes none the caller holds, so the ORM session's unit of
    work and its commit bookkeeping would only add to the busiest path. A ``claim`` is taken in
    the same transaction before anything else; refused, nothing is written.
    """
    if data.kind not in SIGNER_KINDS:
        raise ValueError(f"unknown kind of signer {data.kind!r}")
    if (data.kind == ORGANIZATION) != bool(data.organization):
        raise ValueError("an organisation's signature needs its name, a person's has none")
    now = now or utcnow()
    normalized = normalize_email(data.email, policy.rules)
    email_hash = blind_index(normalized, policy.index_key)
    nonce = secrets.token_urlsafe(12)
    values = {
        "petition_id": petition.id,
        "kind": data.kind,
        "email_hash": email_hash,
        "email_domain_hash": domain_index(normalized, policy.index_key),
        "sealed": policy.sealer.seal_json(PersonalData(
            name=data.name, email=data.email.strip(), postal_code=data.postal_code,
            extra=data.personal_extra,
        ).to_json()),
        # The public signer list's form only, and only with the signer's leave.
        "public_name": (public_name(data.name) or None) if data.show_name else None,
        "country": data.country,
        "organization": data.organization,
        "organization_url": data.organization_url if data.kind == ORGANIZATION else None,
        "consent_updates": data.consent_updates,
        "consent_version": petition.consent_version if data.consent_updates else None,
        "consent_text_id": data.consent_text_id,
        "show_name": data.show_name,
        "locale": data.locale,
        "source": data.source,
        "site": data.site,
        "extra": data.extra,
        "status": PENDING,
        "token_nonce": nonce,
        "mail_suppressed": False,
        "mails_day": now.date(),
        "mails_sent_today": 1,
        "created_at": now,
        "max_mails": policy.max_mails_per_day,
    }
    with engine.begin() as connection:
        if claim is not None and not claim(connection):
            return SignOutcome.CLAIM_REFUSED
        if connection.dialect.name == "postgresql":
            row = connection.execute(_postgresql_signing_statement(), {
                **values,
                "message_id": new_message_id(policy.message_domain),
                "job_available_at": now,
                "job_created_at": now,
            }).one_or_none()
        else:
            row = connection.execute(_sqlite_signing_statement(), values).one_or_none()
            if row is not None:
                kind = ALREADY_SIGNED_EMAIL if row.status == CONFIRMED else CONFIRM_EMAIL
                enqueue_now(connection, kind, {"signature_id": row.id}, now=now,
                            message_domain=policy.message_domain)
    if row is None:
        return SignOutcome.NOT_MAILED
    if hmac.compare_digest(row.token_nonce, nonce):
        return SignOutcome.NEW
    if row.status == CONFIRMED:
        return SignOutcome.ALREADY_SIGNED_NOTICE
    return SignOutcome.RESENT_CONFIRMATION


def _mail_new_link(
    connection: Connection,
    petition_id: int,
    email_hash: bytes,
    policy: SigningPolicy,
    now: datetime,
) -> SignOutcome:
    today = now.date()
    existing = connection.execute(
        select(Signature.id, Signature.status, Signature.mail_suppressed).where(
            Signature.petition_id == petition_id, Signature.email_hash == email_hash
        )
    ).one()
    if existing.mail_suppressed or existing.status == CANCELLED:
        return SignOutcome.SUPPRESSED
    # One atomic statement both checks and spends the daily e-mail allowance.
    allowed = connection.execute(
        update(Signature)
        .where(Signature.id == existing.id, _allowance_left(today, policy.max_mails_per_day))
        .values(_allowance_spent(today))
    )
    if not _rowcount(allowed):
        return SignOutcome.MAIL_CAPPED
    if existing.status == CONFIRMED:
        enqueue_now(connection, ALREADY_SIGNED_EMAIL, {"signature_id": existing.id}, now=now,
                    message_domain=policy.message_domain)
        return SignOutcome.ALREADY_SIGNED_NOTICE
    enqueue_now(connection, CONFIRM_EMAIL, {"signature_id": existing.id}, now=now,
                message_domain=policy.message_domain)
    return SignOutcome.RESENT_CONFIRMATION


class ConfirmOutcome(Enum):
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    PETITION_CLOSED = "petition_closed"
    WITHDRAWN = "withdrawn"
    INVALID = "invalid"


class ConfirmationListener(Protocol):
    """Enqueues the confirmation's follow-up work (plugin events) in the same transaction.

    ``counted`` says whether the signature went on the count: a person's does when confirmed,
    an organisation's only when an organiser approves it (``approve``)."""

    def confirming(
        self, session: Session, petition: Petition, signature_id: int, count: int, now: datetime,
        *, counted: bool,
    ) -> None: ...


def confirm(
    session: Session,
    signature_id: int,
    nonce: str,
    now: datetime | None = None,
    *,
    listener: ConfirmationListener | None = None,
) -> tuple[ConfirmOutcome, Signature | None]:
    """Pending → confirmed and count + 1, atomically; replays change nothing.

    The state is re-checked by the guarded UPDATE, so two presses of the button at once count
    once. A signature withdrawn through "It wasn't me" is never confirmed again. An
    organisation's signature is confirmed without counting: it counts once approved.
    """
    now = now or utcnow()
    signature = lookup_for_token(session, TokenClaims(signature_id, nonce))
    if signature is None:
        return ConfirmOutcome.INVALID, None
    if signature.status == CONFIRMED:
        return ConfirmOutcome.ALREADY_CONFIRMED, signature
    if signature.status == CANCELLED:
        return ConfirmOutcome.WITHDRAWN, signature
    petition = session.get(Petition, signature.petition_id)
    if petition is None or not petition.is_open(now):
        return ConfirmOutcome.PETITION_CLOSED, signature
    changed = _rowcount(session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.status == PENDING)
        .values(status=CONFIRMED, confirmed_at=now)
        .execution_options(synchronize_session=False)
    ))
    if not changed:
        # Another request confirmed or cancelled it between our read and our write.
        session.rollback()
        session.refresh(signature)
        if signature.status == CANCELLED:
            return ConfirmOutcome.WITHDRAWN, signature
        return ConfirmOutcome.ALREADY_CONFIRMED, signature
    counted = signature.kind == PERSON
    count = _add_to_count(session, petition.id, +1) if counted else petition.total_count
    count_hour(session, petition.id, now, signature.source, signature.site, +1)
    if listener is not None:
        listener.confirming(session, petition, signature_id, count, now, counted=counted)
    session.commit()
    return ConfirmOutcome.CONFIRMED, signature


class ApproveOutcome(Enum):
    APPROVED = "approved"
    ALREADY_APPROVED = "already_approved"
    # Not an organisation's confirmed signature: pending, withdrawn, or a person's.
    NOT_APPROVABLE = "not_approvable"


class ApprovalListener(Protocol):
    """Enqueues an approval's follow-up work (plugin events, goals) in the same transaction."""

    def approving(
        self, session: Session, petition: Petition, signature_id: int, count: int,
        organizations: int, now: datetime,
    ) -> None: ...


def approve(
    session: Session,
    signature: Signature,
    now: datetime | None = None,
    *,
    listener: ApprovalListener | None = None,
) -> ApproveOutcome:
    """An organiser vouches for an organisation's confirmed signature: from now on it is public
    and on the count (and on the organisations' count). Replays change nothing."""
    now = now or utcnow()
    changed = _rowcount(session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.kind == ORGANIZATION,
               Signature.status == CONFIRMED, Signature.approved_at.is_(None))
        .values(approved_at=now)
        .execution_options(synchronize_session=False)
    ))
    if not changed:
        session.rollback()
        session.refresh(signature)
        if signature.approved_at is not None and signature.status == CONFIRMED:
            return ApproveOutcome.ALREADY_APPROVED
        return ApproveOutcome.NOT_APPROVABLE
    count, organizations = _add_to_counts(session, signature.petition_id, +1, +1)
    petition = session.get(Petition, signature.petition_id)
    assert petition is not None
    if listener is not None:
        listener.approving(session, petition, signature.id, count, organizations, now)
    session.commit()
    return ApproveOutcome.APPROVED


class CancelOutcome(Enum):
    CANCELLED = "cancelled"
    ALREADY_CANCELLED = "already_cancelled"
    INVALID = "invalid"


# Why a signature was withdrawn, as ``petitionkit_signature_withdrawn`` hears it.
WITHDRAWN_BY_SIGNER = "signer"  # "It wasn't me", from the e-mail or the mail program
WITHDRAWN_BY_OPERATOR = "operator"  # an organiser invalidated it
WITHDRAWN_BY_ERASURE = "erasure"  # the signer's personal data was erased
WITHDRAWAL_REASONS = (WITHDRAWN_BY_SIGNER, WITHDRAWN_BY_OPERATOR, WITHDRAWN_BY_ERASURE)


class WithdrawalListener(Protocol):
    """Enqueues a withdrawal's follow-up work (plugin events) in the same transaction."""

    def withdrawing(
        self, session: Session, petition_id: int, signature_id: int, reason: str
    ) -> None: ...


def cancel(
    session: Session,
    signature_id: int,
    nonce: str,
    now: datetime | None = None,
    *,
    listener: WithdrawalListener | None = None,
) -> CancelOutcome:
    """"It wasn't me": withdraw the signature, take it off the count if it was on it, and stop
    all further mail to that address for this petition (a repeat signing stays silent)."""
    signature = lookup_for_token(session, TokenClaims(signature_id, nonce))
    if signature is None:
        return CancelOutcome.INVALID
    return withdraw(session, signature, WITHDRAWN_BY_SIGNER, now, listener=listener)


def withdraw(
    session: Session,
    signature: Signature,
    reason: str,
    now: datetime | None = None,
    *,
    listener: WithdrawalListener | None = None,
) -> CancelOutcome:
    """Withdraw ``signature`` for ``reason``: off the count if it was on it, no more mail to
    that address about this petition, and, when it had been confirmed (and so may have reached
    plugins), the listener's follow-up work in the same transaction."""
    outcome = withdraw_uncommitted(session, signature, reason, now, listener=listener)
    if outcome is CancelOutcome.CANCELLED:
        session.commit()
    else:
        session.rollback()
    return outcome


def withdraw_uncommitted(
    session: Session,
    signature: Signature,
    reason: str,
    now: datetime | None = None,
    *,
    listener: WithdrawalListener | None = None,
) -> CancelOutcome:
    """``withdraw`` inside the caller's transaction, for a caller that changes more in it (an
    erasure); the caller commits."""
    if reason not in WITHDRAWAL_REASONS:
        raise ValueError(f"unknown withdrawal reason {reason!r}")
    now = now or utcnow()
    for previous in (CONFIRMED, PENDING):
        # Whether it was approved is read by the same statement, so an approval at the same
        # moment is either undone here or never happens.
        withdrawn = session.execute(
            update(Signature)
            .where(Signature.id == signature.id, Signature.status == previous)
            .values(status=CANCELLED, cancelled_at=now, mail_suppressed=True)
            .returning(Signature.kind, Signature.approved_at, Signature.confirmed_at,
                       Signature.source, Signature.site)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if withdrawn is not None:
            if previous == CONFIRMED:
                if withdrawn.confirmed_at is not None:
                    count_hour(session, signature.petition_id, withdrawn.confirmed_at,
                               withdrawn.source, withdrawn.site, -1)
                if withdrawn.kind == PERSON:
                    _add_to_count(session, signature.petition_id, -1)
                elif withdrawn.approved_at is not None:
                    _add_to_counts(session, signature.petition_id, -1, -1)
                if listener is not None:
                    listener.withdrawing(session, signature.petition_id, signature.id, reason)
            return CancelOutcome.CANCELLED
    return CancelOutcome.ALREADY_CANCELLED


def still_consenting(session: Session, signature: Signature) -> bool:
    """Whether the person behind ``signature`` (found by the blind index, never the address)
    agreed to updates through another signature that still stands, on any petition.

    For plugins that put consenting signers on a mailing list: when a signature is withdrawn,
    the address leaves the list only if no other signature of the same person holds it there.
    """
    other = session.scalar(
        select(Signature.id)
        .where(Signature.email_hash == signature.email_hash, Signature.id != signature.id,
               Signature.status == CONFIRMED, Signature.consent_updates.is_(True))
        .limit(1)
    )
    return other is not None


def _add_to_count(session: Session, petition_id: int, delta: int) -> int:
    """The new total (online and offline), as this transaction made it (row-locked until
    commit): what goals count."""
    return int(session.execute(
        update(Petition)
        .where(Petition.id == petition_id)
        .values(signature_count=Petition.signature_count + delta)
        .returning(Petition.signature_count + Petition.offline_count)
        .execution_options(synchronize_session=False)
    ).scalar_one())


def _add_to_counts(
    session: Session, petition_id: int, signatures: int, organizations: int
) -> tuple[int, int]:
    """Like ``_add_to_count``, for an approved organisation: the new total and the new number
    of approved organisations."""
    row = session.execute(
        update(Petition)
        .where(Petition.id == petition_id)
        .values(signature_count=Petition.signature_count + signatures,
                organization_count=Petition.organization_count + organizations)
        .returning(Petition.signature_count + Petition.offline_count,
                   Petition.organization_count)
        .execution_options(synchronize_session=False)
    ).one()
    return int(row[0]), int(row[1])


def _rowcount(result: Result[Any]) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def lookup_for_token(session: Session, claims: TokenClaims) -> Signature | None:
    signature = session.get(Signature, claims.signature_id)
    if signature is None or not hmac.compare_digest(signature.token_nonce, claims.nonce):
        return None
    return signature


def resend_confirmation(
    session: Session, claims: TokenClaims, policy: SigningPolicy, now: datetime | None = None
) -> tuple[bool, Petition | None]:
    """A fresh link for an expired one, within the same daily allowance as a repeat signing.

    Returns whether the token named a signature, and its petition.
    """
    now = now or utcnow()
    signature = lookup_for_token(session, claims)
    if signature is None:
        return False, None
    petition = session.get(Petition, signature.petition_id)
    if signature.status == PENDING and petition is not None and petition.is_open(now):
        _mail_new_link(session.connection(), signature.petition_id, signature.email_hash, policy,
                        now)
        session.commit()
    return True, petition


# What the app holds of this module's, read with .of() (see petitionkit/registry.py).
SIGNING_POLICY: Slot[SigningPolicy] = Slot("petitionkit.signing_policy", SigningPolicy)
