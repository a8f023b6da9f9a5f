from __future__ import annotations

from datetime import date, datetime
from typing import Any

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
)
from sqlalchemy.orm import Mapped, mapped_column

from petitionkit.extensions import UTCDateTime, db
from petitionkit.petitions.models import utcnow

# Who signs: a person, or an organisation (a joint letter's signatories).
PERSON = "person"
ORGANIZATION = "organization"
SIGNER_KINDS = (PERSON, ORGANIZATION)

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
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default=PERSON, server_default=PERSON)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"))
    # Blind index: keyed hash of the normalized address, so duplicates are found without
    # comparing (or indexing) the address itself.
    email_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    postal_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    consent_updates: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    show_name: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    source: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Values of plugin form fields (petitionkit_form_fields), by field name.
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    # Random per signature; part of every token, so tokens die with the signature's state.
    token_nonce: Mapped[str] = mapped_column(String(32))
    mail_suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    mails_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    mails_sent_today: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
