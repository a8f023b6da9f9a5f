"""The workspace's first page: every petition with its counts, status and a 14-day trend."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from petitionkit.petitions.models import Petition, utcnow
from petitionkit.petitions.services import public_status
from petitionkit.plugins import calls
from petitionkit.signatures.models import CONFIRMED, Signature

TREND_DAYS = 14
SPARK_WIDTH = 112
SPARK_HEIGHT = 24


@dataclass(frozen=True)
class PetitionRow:
    slug: str
    title: str
    status: str
    confirmed: int
    offline: int
    days: tuple[date, ...]
    per_day: tuple[int, ...]
    # What plugins count per petition (stories received …), in the order of ``plugin_labels``.
    plugin_counts: tuple[int, ...] = ()

    @property
    def spark_points(self) -> str:
        """The polyline's points: one per day, scaled to the busiest day (flat at the bottom
        when nothing came)."""
        top = max(self.per_day) or 1
        step = SPARK_WIDTH / (len(self.per_day) - 1)
        return " ".join(
            f"{index * step:.1f},{SPARK_HEIGHT - 2 - (value / top) * (SPARK_HEIGHT - 4):.1f}"
            for index, value in enumerate(self.per_day)
        )


def _day_of(column: Any, dialect: str) -> Any:
    """The UTC day of a moment, as the database computes it."""
    if dialect == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite keeps moments as UTC text


def confirmed_per_day(session: Session, first_day: date,
                      now: datetime | None = None) -> dict[int, dict[date, int]]:
    """Confirmed signatures per petition and UTC day since ``first_day``, in one grouped query."""
    now = now or utcnow()
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=now.tzinfo)
    day = _day_of(Signature.confirmed_at, session.get_bind().dialect.name).label("day")
    rows = session.execute(
        select(Signature.petition_id, day, func.count(Signature.id))
        .where(Signature.status == CONFIRMED, Signature.confirmed_at >= start)
        .group_by(Signature.petition_id, day)
    )
    counts: dict[int, dict[date, int]] = defaultdict(dict)
    for petition_id, when, total in rows:
        moment = when if isinstance(when, date) else date.fromisoformat(str(when)[:10])
        counts[petition_id][moment] = int(total)
    return counts


def petition_rows(session: Session, now: datetime | None = None,
                  plugin_labels: list[str] | None = None,
                  only: set[int] | None = None) -> list[PetitionRow]:
    """Every petition, newest first, or those whose ids are in ``only``. ``plugin_labels``, when
    given, is filled with the labels of the columns plugins add (``petitionkit_workspace_counts``),
    and each row has their counts."""
    now = now or utcnow()
    today = now.date()
    days = tuple(today - timedelta(days=offset) for offset in range(TREND_DAYS - 1, -1, -1))
    counts = confirmed_per_day(session, days[0], now)
    query = select(Petition).order_by(Petition.created_at.desc(), Petition.id.desc())
    if only is not None:
        query = query.where(Petition.id.in_(only))
    petitions = list(session.scalars(query))
    columns = calls.workspace_counts(petitions) if plugin_labels is not None and petitions else {}
    if plugin_labels is not None:
        plugin_labels[:] = list(columns)
    return [
        PetitionRow(
            slug=petition.slug, title=petition.title, status=public_status(petition, now),
            confirmed=petition.signature_count, offline=petition.offline_count, days=days,
            per_day=tuple(counts.get(petition.id, {}).get(day, 0) for day in days),
            plugin_counts=tuple(int(column.get(petition.id, 0)) for column in columns.values()),
        )
        for petition in petitions
    ]
