"""What supporters report having done (``report_actions:`` of a petition file)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from petitionkit.extensions import UTCDateTime, db
from petitionkit.petitions.models import utcnow


class ActionReport(db.Model):  # type: ignore[name-defined]
    """One reported action: a signer's, through their own link (``signature_id`` set, at most
    once per signer and action), or an anonymous one (``signature_id`` NULL), counted apart."""

    __tablename__ = "action_reports"
    __table_args__ = (
        # NULLs are distinct in a unique constraint (SQLite and PostgreSQL alike), so anonymous
        # reports are not held to it; a signer's are. It also serves the count per action.
        UniqueConstraint("petition_id", "action", "signature_id",
                         name="uq_action_reports_petition_action_signature"),
        Index("ix_action_reports_signature", "signature_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(40))
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), nullable=True
    )
    # A word from the action's ``outcomes`` ("reached", "voicemail" …), when it declares some.
    outcome: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
