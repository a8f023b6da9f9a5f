from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from petitionkit.extensions import UTCDateTime, db

# `archived`: the page stays online, read-only, and the petition is off every public list.
STATUSES = ("draft", "open", "closed", "archived")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Petition(db.Model):  # type: ignore[name-defined]
    __tablename__ = "petitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="petition")
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    status_line: Mapped[str | None] = mapped_column(String(200), nullable=True)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    goal: Mapped[int | None] = mapped_column(Integer, nullable=True)
    goal_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    share: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Whether the front page (GET /) lists it while it is open; its own pages work either way.
    listed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    asks_country: Mapped[bool] = mapped_column(Boolean, default=False)
    asks_postal_code: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_text: Mapped[str] = mapped_column(Text, default="")
    consent_version: Mapped[str] = mapped_column(String(40), default="1")
    rate_limit: Mapped[str | None] = mapped_column(String(100), nullable=True)
    letter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What signers can report having done: [{key, label: {lang: text}, outcomes: [word…]}].
    report_actions: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    # Sections of the petition file that plugins read (petitionkit_petition_sections), by key.
    sections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # The picture: alt text, width, height and version (its bytes: petitions.images).
    image: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The public count (pages, widget, read API) stays hidden until the total reaches this.
    show_count_from: Mapped[int | None] = mapped_column(Integer, nullable=True)
    signature_count: Mapped[int] = mapped_column(Integer, default=0)
    # Signatures gathered on paper or at events: the sum of the petition's offline entries, kept
    # beside the online count so that reading the total costs no extra query.
    offline_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    @property
    def total_count(self) -> int:
        """Confirmed online signatures and those gathered offline: what goals count."""
        return self.signature_count + self.offline_count

    @property
    def count_hidden(self) -> bool:
        """Whether the public is not shown the count yet (``show_count_from`` not reached).

        Operators, the CLI and the hand-over report read the counts themselves, never this."""
        return self.show_count_from is not None and self.total_count < self.show_count_from

    def is_open(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        if self.status != "open":
            return False
        if self.opens_at is not None and now < self.opens_at:
            return False
        if self.closes_at is not None and now >= self.closes_at:
            return False
        return True


# The longest note an offline entry may carry.
OFFLINE_NOTE_MAX = 500


class OfflineEntry(db.Model):  # type: ignore[name-defined]
    """An operator's record of signatures gathered offline (paper, events), or a correction of
    an earlier one (a negative count). Entries are never edited: a mistake is corrected by
    another entry, so the petition's offline count is always the sum of what is here."""

    __tablename__ = "offline_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    petition_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("petitions.id", ondelete="CASCADE"), index=True
    )
    count: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
