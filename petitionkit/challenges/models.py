from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from petitionkit.extensions import UTCDateTime, db


class SpentChallenge(db.Model):  # type: ignore[name-defined]
    """A proof-of-work solution already accepted, kept until its challenge expires so that it
    cannot be sent twice. Nothing here says who sent it."""

    __tablename__ = "spent_challenges"

    # The challenge's nonce: random per challenge, and covered by the engine's signature.
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
