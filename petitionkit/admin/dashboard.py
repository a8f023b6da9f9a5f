"""The workspace's first page: every petition with its counts, status and a 14-day trend."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from petitionkit.petitions.models import Petition, utcnow
from petitionkit.petitions.services import public_status
from petitionkit.plugins import calls
from petitionkit.signatures.models import ConfirmedHour

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


def confirmed_per_day(session: Session, first_day: date,
                      now: datetime | None = None) -> dict[int, dict[date, int]]:
    """Confirmed signatures per petition and UTC day since ``first_day``, from the hourly
    aggregate (petitionkit/signatures/figures.py): a few hundred rows per petition, not its
    signatures."""
    now = now or utcnow()
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=now.tzinfo)
    rows = session.execute(
        select(ConfirmedHour.petition_id, ConfirmedHour.hour, ConfirmedHour.count)
        .where(ConfirmedHour.hour >= start, ConfirmedHour.count != 0)
    )
    counts: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for petition_id, hour, total in rows:
        moment = hour if isinstance(hour, datetime) else datetime.fromisoformat(str(hour))
        counts[petition_id][moment.date()] += int(total)
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
