"""Signatures gathered offline (on paper, at events): recorded by operators as audited entries.

An entry adds its count to the petition's ``offline_count`` in the same transaction; a negative
count corrects an earlier mistake. The offline count never goes below zero: the guarded UPDATE
refuses, so two corrections at once cannot together take away more than was recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from petitionkit.petitions.models import OFFLINE_NOTE_MAX, OfflineEntry, Petition, utcnow
from petitionkit.signatures.rules import text_problem

# The longest name an entry records as its author (the column's width).
RECORDED_BY_MAX = 100


class OfflineEntryRefused(ValueError):
    """Why an entry was not recorded, worded for the operator."""


class OfflineListener(Protocol):
    """The follow-up work of an entry (goals, plugins), in the recording transaction."""

    def offline_recording(
        self, session: Session, petition: Petition, entry: OfflineEntry, total: int
    ) -> None: ...

    def offline_recorded(self, petition: Petition) -> None: ...


def entry_problems(count: int, note: str, recorded_by: str) -> list[str]:
    """What is wrong with an entry before it reaches the database, or an empty list."""
    problems: list[str] = []
    if count == 0:
        problems.append("the count must not be 0")
    if len(note) > OFFLINE_NOTE_MAX:
        problems.append(f"the note is longer than {OFFLINE_NOTE_MAX} characters")
    if text_problem(note):
        problems.append("the note contains control characters or line breaks")
    if not recorded_by.strip():
        problems.append("the name of who records it is empty")
    elif len(recorded_by) > RECORDED_BY_MAX:
        problems.append(f"the name of who records it is longer than {RECORDED_BY_MAX} characters")
    elif text_problem(recorded_by):
        problems.append("the name of who records it contains control characters")
    return problems


def record_offline(
    session: Session,
    petition: Petition,
    count: int,
    note: str,
    recorded_by: str,
    now: datetime | None = None,
    *,
    listener: OfflineListener | None = None,
) -> OfflineEntry:
    """Record ``count`` signatures gathered offline (negative to correct), and commit.

    Raises ``OfflineEntryRefused`` when the entry is malformed or would take the petition's
    offline count below zero; nothing is written then.
    """
    problems = entry_problems(count, note, recorded_by)
    if problems:
        raise OfflineEntryRefused("; ".join(problems))
    now = now or utcnow()
    # Row-locked until commit, like a confirmation's: confirmations and other entries wait, so
    # none is lost and each sees the total it made.
    row = session.execute(
        update(Petition)
        .where(Petition.id == petition.id, Petition.offline_count + count >= 0)
        .values(offline_count=Petition.offline_count + count)
        .returning(Petition.offline_count, Petition.signature_count)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        session.rollback()
        session.refresh(petition)
        raise OfflineEntryRefused(
            f"{petition.slug} has {petition.offline_count} offline signature(s); "
            f"a correction of {count} would take it below 0"
        )
    offline, online = int(row[0]), int(row[1])
    entry = OfflineEntry(petition_id=petition.id, count=count, note=note,
                         recorded_by=recorded_by, recorded_at=now)
    session.add(entry)
    session.flush()
    if listener is not None:
        listener.offline_recording(session, petition, entry, online + offline)
    session.commit()
    session.refresh(petition)
    if listener is not None:
        listener.offline_recorded(petition)
    return entry


def offline_entries(session: Session, petition: Petition) -> list[OfflineEntry]:
    """The petition's entries, oldest first."""
    return list(session.scalars(
        select(OfflineEntry)
        .where(OfflineEntry.petition_id == petition.id)
        .order_by(OfflineEntry.recorded_at, OfflineEntry.id)
    ))
