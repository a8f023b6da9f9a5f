"""The plugin's own table: each story as it arrived, sealed to the stories' key pair.

Nothing here is readable without the stories' private key: the text, the optional fields and
the contact are one sealed box; the row says only which petition and when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from petitionkit.extensions import UTCDateTime, db
from petitionkit.petitions.models import utcnow


class StoryReceived(db.Model):  # type: ignore[name-defined]
    __tablename__ = "stories_received"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    petition_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("petitions.id", ondelete="CASCADE"), index=True
    )
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
