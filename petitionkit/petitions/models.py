from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, event, false, text, true
from sqlalchemy.orm import Mapped, mapped_column

from petitionkit.extensions import UTCDateTime, db

# `archived`: the page stays online, read-only, and the petition is off every public list.
STATUSES = ("draft", "open", "closed", "archived")
# Who may sign a petition (its file's ``signers``), and what its goal may count.
PEOPLE = "people"
ORGANIZATIONS = "organizations"
# Statuses in which a petition takes no more signatures, whatever its deadline says.
ENDED_STATUSES = ("closed", "archived")


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
    # Days the signers' personal data is kept after the petition closes; None: the site's
    # PERSONAL_DATA_RETAIN_DAYS.
    retain_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # When the status last became closed or archived (a deadline passing needs no record: it is
    # ``closes_at``); None while it is open or a draft.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When retention last removed its signers' personal data (petitionkit/privacy/retention.py).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Managed by its petition file (`petitionkit petition load`): the workspace and the write API
    # refuse to change it, so that the next load does not silently undo their change.
    file_managed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The front matter as its author wrote it (dates as ISO 8601 text), so the workspace and the
    # API show and edit what was written rather than what the loader made of it.
    front_matter: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    signature_count: Mapped[int] = mapped_column(Integer, default=0)
    # Signatures gathered on paper or at events: the sum of the petition's offline entries, kept
    # beside the online count so that reading the total costs no extra query.
    offline_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Who may sign: "people", "organizations" or both (SIGNERS in petitions.loader).
    signers: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: [PEOPLE], server_default=text("'[\"people\"]'")
    )
    # Organisations an organiser approved (and still standing): what the public list shows.
    organization_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    @property
    def total_count(self) -> int:
        """Confirmed online signatures and those gathered offline: what goals count."""
        return self.signature_count + self.offline_count

    @property
    def takes_people(self) -> bool:
        return PEOPLE in (self.signers or [PEOPLE])

    @property
    def takes_organizations(self) -> bool:
        return ORGANIZATIONS in (self.signers or ())

    @property
    def goal_counts_organizations(self) -> bool:
        """Whether the file says ``goal_counts: organizations`` (a joint letter's goal)."""
        return (self.goal_settings or {}).get("counts") == ORGANIZATIONS

    @property
    def goal_count(self) -> int:
        """What the goal measures: the total, or the approved organisations."""
        return self.organization_count if self.goal_counts_organizations else self.total_count

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

    def closed_since(self, now: datetime | None = None) -> datetime | None:
        """When it stopped taking signatures: its deadline, once passed, or the moment its
        status became closed or archived, whichever came first; None while it is a draft or
        still open."""
        now = now or utcnow()
        if self.status == "draft":
            return None
        moments = [self.closes_at] if self.closes_at is not None and self.closes_at <= now else []
        if self.status in ENDED_STATUSES:
            # A row closed before closed_at was recorded: its last change is the best we know.
            moments.append(self.closed_at or self.updated_at or now)
        return min(moments) if moments else None

    def purge_due_at(self, default_days: int, now: datetime | None = None) -> datetime | None:
        """When its signers' personal data is due for removal; None while it is open."""
        closed = self.closed_since(now)
        if closed is None:
            return None
        days = self.retain_days if self.retain_days is not None else default_days
        return closed + timedelta(days=days)


@event.listens_for(Petition.status, "set")
def _remember_closing(petition: Petition, value: str, previous: Any, _initiator: Any) -> None:
    """Retention counts from the closing: note when the status ends the petition, forget it
    when the petition is opened again."""
    if value in ENDED_STATUSES:
        if previous not in ENDED_STATUSES or petition.closed_at is None:
            petition.closed_at = utcnow()
    else:
        petition.closed_at = None


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
