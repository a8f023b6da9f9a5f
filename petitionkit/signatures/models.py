from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import has_app_context
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy import inspect as inspect_mapping
from sqlalchemy.orm import Mapped, mapped_column

from petitionkit.encryption import DATA_SEALER, KeyUnavailable
from petitionkit.extensions import UTCDateTime, db
from petitionkit.petitions.models import utcnow
from petitionkit.signatures.rules import SITE_MAX

# Who signs: a person, or an organisation (a joint letter's signatories).
PERSON = "person"
ORGANIZATION = "organization"
SIGNER_KINDS = (PERSON, ORGANIZATION)

# The longest organisation name and website address a signature holds.
ORGANIZATION_NAME_MAX = 200
ORGANIZATION_URL_MAX = 500

PENDING = "pending"
CONFIRMED = "confirmed"
CANCELLED = "cancelled"


class Signature(db.Model):  # type: ignore[name-defined]
    __tablename__ = "signatures"
    __table_args__ = (
        UniqueConstraint("petition_id", "email_hash", name="uq_signatures_petition_email"),
        Index("ix_signatures_petition_status_id", "petition_id", "status", "id"),
        Index("ix_signatures_petition_status_confirmed", "petition_id", "status", "confirmed_at",
              "id"),
        Index("ix_signatures_petition_kind_approved", "petition_id", "kind", "status",
              "approved_at", "id"),
        Index("ix_signatures_petition_domain", "petition_id", "email_domain_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default=PERSON, server_default=PERSON)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"))
    # Blind index: keyed hash of the normalized address, so duplicates are found without
    # comparing (or indexing) the address itself.
    email_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The same keyed hash of the address's domain ("@example.org"), so that a moderator can find
    # a wave of signatures from one domain without the addresses; NULL on older rows.
    email_domain_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    # The signer's personal data (PersonalData as JSON), sealed to the data public key: the web
    # process writes it and cannot read it back. Read through the properties below.
    # NULL on a row stored before sealing existed, until `keys encrypt-existing` seals it, and
    # for good once the signature is erased (``erased_at`` tells the two apart).
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # What the public signer list shows ("Ayşe Y."), kept only when the signer asked to be shown.
    public_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Plaintext of signatures stored before sealing existed: `petitionkit keys encrypt-existing`
    # seals it and empties these; no code path writes them.
    legacy_email: Mapped[str | None] = mapped_column("email", String(320), nullable=True)
    legacy_name: Mapped[str | None] = mapped_column("name", String(200), nullable=True)
    legacy_postal_code: Mapped[str | None] = mapped_column("postal_code", String(20),
                                                           nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    # An organisation's name and website, published once an organiser approved it: plaintext,
    # as everything public. The contact person who signed for it is sealed like any signer.
    organization: Mapped[str | None] = mapped_column(String(ORGANIZATION_NAME_MAX), nullable=True)
    organization_url: Mapped[str | None] = mapped_column(String(ORGANIZATION_URL_MAX),
                                                         nullable=True)
    consent_updates: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The consent wording this signer was shown, in their language (privacy.models.ConsentText);
    # None for signatures taken before it was recorded, or outside the form and the JSON API.
    consent_text_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent_texts.id"), nullable=True
    )
    show_name: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    source: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # The host of the page the widget was embedded in (rules.embedding_site), as the browser
    # named it: a figure the page claims, not proof. None on the petition's own page, through
    # the JSON API, and where the embedding page hides its address.
    site: Mapped[str | None] = mapped_column(String(SITE_MAX), nullable=True)
    # Values of plugin form fields (petitionkit_form_fields) not marked personal, by field name;
    # the personal ones are sealed. ``extra`` reads both.
    plain_extra: Mapped[dict[str, Any]] = mapped_column("extra", JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    # Random per signature; part of every token, so tokens die with the signature's state.
    token_nonce: Mapped[str] = mapped_column(String(32))
    mail_suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    mails_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    mails_sent_today: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the signer's personal data was erased (petitionkit.privacy): the row keeps its blind
    # index, so the address is not mailed again, and nothing that says who signed.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When an organiser approved an organisation's signature: only then is it public and counted.
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When retention removed this signer's personal data (petitionkit/privacy/retention.py):
    # ``sealed`` is then NULL for good, not a row waiting for `keys encrypt-existing`.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A moderator hid the public name (petitionkit/signatures/moderation.py): it leaves every
    # public list, and comes back from ``hidden_public_name`` if the moderator undoes it.
    name_hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hidden_public_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Why a moderator invalidated the signature (their words, never the signer's data).
    invalidation_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)

    def personal(self) -> PersonalData:
        """The sealed personal data, opened with the app's private key (read once per row).

        Raises ``KeyUnavailable`` in a process without the private key: nothing is readable
        there, by design; ``PersonalDataErased`` for an erased signature, ``PersonalDataRemoved``
        once retention removed it. Code that goes through signatures of any status checks
        ``erased_at`` and ``anonymised_at`` first (or selects rows where both are NULL).
        """
        if self.anonymised_at is not None:
            raise PersonalDataRemoved(
                f"signature {self.id}: personal data removed on "
                f"{self.anonymised_at:%Y-%m-%d} (retention)"
            )
        if self.sealed is None and self.erased_at is not None:
            raise PersonalDataErased(f"signature {self.id} was erased: it holds no personal data")
        if self.sealed is None:
            raise KeyUnavailable(
                f"signature {self.id} was stored before personal data was sealed; run "
                "`petitionkit keys encrypt-existing` (see docs/privacy.md)"
            )
        cached = self.__dict__.get("_opened")
        if cached is None or cached[0] != self.sealed:
            sealer = self.__dict__.get("_sealer") or DATA_SEALER.of()
            data = PersonalData.from_json(sealer.open_json(self.sealed))
            cached = (self.sealed, data)
            self.__dict__["_opened"] = cached
        opened: PersonalData = cached[1]
        return opened

    @property
    def name(self) -> str:
        return self.personal().name

    @property
    def email(self) -> str:
        return self.personal().email

    @property
    def postal_code(self) -> str | None:
        return self.personal().postal_code

    @property
    def extra(self) -> dict[str, Any]:
        """Every plugin field's value, personal (opened) or not."""
        return {**(self.plain_extra or {}), **self.personal().extra}


class PersonalDataRemoved(LookupError):  # noqa: N818 - says what happened, like KeyUnavailable
    """The signature's personal data was removed for good (retention): nothing to open."""


class PersonalDataErased(LookupError):  # noqa: N818 - says what happened, like KeyUnavailable
    """The signature's personal data was erased at the signer's request."""


def lent_personal_data(erased: Signature, sealed: bytes) -> Signature:
    """A read-only stand-in for an erased signature that opens ``sealed`` (the copy an erasure
    lent to a withdrawal job), for the plugins that must still learn whom to take back.

    It is a new object in no session: nothing done to it reaches the database.
    """
    columns = {attribute.key: getattr(erased, attribute.key)
               for attribute in inspect_mapping(Signature).column_attrs}
    stand_in = Signature(**{**columns, "sealed": sealed})
    if "_sealer" in erased.__dict__:
        stand_in.__dict__["_sealer"] = erased.__dict__["_sealer"]
    return stand_in


@event.listens_for(Signature, "load")
def _remember_sealer(signature: Signature, _context: Any) -> None:
    """The app that loaded a signature opens it, also once its context is gone."""
    if has_app_context():
        signature.__dict__["_sealer"] = DATA_SEALER.of()


@dataclass(frozen=True)
class PersonalData:
    """What a signature holds only sealed."""

    name: str
    email: str
    postal_code: str | None = None
    # Values of plugin fields marked personal (FormField.personal), by field name.
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {"n": self.name, "e": self.email}
        if self.postal_code is not None:
            value["p"] = self.postal_code
        if self.extra:
            value["x"] = self.extra
        return value

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> PersonalData:
        return cls(name=value["n"], email=value["e"], postal_code=value.get("p"),
                   extra=value.get("x") or {})


class ModerationRun(db.Model):  # type: ignore[name-defined]
    """A bulk invalidation a moderator started: what it matches, how far the worker got.

    ``criteria`` holds the domain's blind index (hex), the time window and the source, never an
    address. The worker takes the matching signatures in batches after ``last_id``, so a run
    killed half-way resumes where it stopped.
    """

    __tablename__ = "moderation_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"),
                                             index=True)
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What the moderator was shown before confirming, and what has been invalidated so far.
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(400), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ConfirmedHour(db.Model):  # type: ignore[name-defined]
    """Signatures confirmed per petition, UTC hour, source (the widget's ``data-source``; "" for
    none) and embedding site (``Signature.site``; "" for none), kept where signatures are
    confirmed and withdrawn, so that the workspace's charts read a few thousand rows instead of
    a million signatures (petitionkit/signatures/figures.py). `petitionkit recount` rebuilds
    it."""

    __tablename__ = "confirmed_hours"

    petition_id: Mapped[int] = mapped_column(
        ForeignKey("petitions.id", ondelete="CASCADE"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    source: Mapped[str] = mapped_column(String(100), primary_key=True, default="")
    site: Mapped[str] = mapped_column(String(SITE_MAX), primary_key=True, default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
