from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from petitionkit.extensions import UTCDateTime, db
from petitionkit.petitions.models import utcnow


class ConsentText(db.Model):  # type: ignore[name-defined]
    """One wording of the consent question, exactly as a signer was shown it; stored once.

    Its ``id`` is the version that signatures (``consent_text_id``) and exports carry, numbered
    in the order the wordings were first shown. ``text_hash`` (SHA-256 of the language tag, a
    NUL and the text) makes the same wording in the same language one row, however many
    processes meet it at once.
    """

    __tablename__ = "consent_texts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text)
    # The language the signer was shown it in.
    locale: Mapped[str] = mapped_column(String(16))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
