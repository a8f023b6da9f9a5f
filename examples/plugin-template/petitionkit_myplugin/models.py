"""The plugin's own table: which signatures it has told the other system about.

A plugin declares its tables on petitionkit's ``db.Model``, names them after itself, and ships
the Alembic revisions that create them (``migrations/``, returned by ``petitionkit_migrations``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from petitionkit.extensions import UTCDateTime, db
from petitionkit.petitions.models import utcnow


class Sent(db.Model):  # type: ignore[name-defined]
    __tablename__ = "myplugin_sent"

    signature_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("signatures.id", ondelete="CASCADE"), primary_key=True
    )
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
