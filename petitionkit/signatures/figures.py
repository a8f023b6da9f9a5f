"""Figures of a petition for the workspace: signatures confirmed per hour and per day, where
they came from (the widget's data-source, the site it was embedded in), the confirmation rate.
Read from ``confirmed_hours``, an aggregate kept in the transaction that confirms or withdraws a
signature, so a chart of a petition with a million signatures reads a few thousand rows
(benchmarks/figures.py measures it)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Insert, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from petitionkit.petitions.models import Petition, utcnow
from petitionkit.signatures.models import (
    CANCELLED,
    CONFIRMED,
    PENDING,
    ConfirmedHour,
    Signature,
)

HOURS_SHOWN = 72
SOURCES_SHOWN = 10
SOURCE_MAX = 100
SITES_SHOWN = 10


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def count_hour(session: Session, petition_id: int, moment: datetime, source: str | None,
               site: str | None, delta: int) -> None:
    """Add ``delta`` to the hour of ``moment`` from ``source`` and ``site``, in the caller's
    transaction (one UPSERT)."""
    dialect = session.get_bind().dialect.name
    values = {"petition_id": petition_id, "hour": hour_of(moment),
              "source": (source or "")[:SOURCE_MAX], "site": site or "", "count": delta}
    table = ConfirmedHour.__table__
    statement: Any = (postgresql.insert(table) if dialect == "postgresql"
                      else sqlite.insert(table)).values(values)
    session.execute(statement.on_conflict_do_update(
        index_elements=["petition_id", "hour", "source", "site"],
        set_={"count": table.c.count + statement.excluded.count},
    ))


def _hour_expression(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", Signature.confirmed_at))
    # SQLite keeps UTC moments as text in SQLAlchemy's own format; the hour keeps that format.
    return func.strftime("%Y-%m-%d %H:00:00.000000", Signature.confirmed_at)


def rebuild_statement(dialect: str) -> Insert:
    """INSERT … SELECT of every petition's hours from its confirmed signatures."""
    hour = _hour_expression(dialect)
    source = func.coalesce(func.substr(Signature.source, 1, SOURCE_MAX), "")
    site = func.coalesce(Signature.site, "")
    hour_value = (func.timezone("UTC", hour) if dialect == "postgresql" else hour)
    return insert(ConfirmedHour.__table__).from_select(
        ["petition_id", "hour", "source", "site", "count"],
        select(Signature.petition_id, hour_value, source, site, func.count(Signature.id))
        .where(Signature.status == CONFIRMED, Signature.confirmed_at.is_not(None))
        .group_by(Signature.petition_id, hour, source, site),
    )


def rebuild(session: Session) -> None:
    """Rebuild the aggregate from the signatures (`petitionkit recount`); the caller commits."""
    session.execute(delete(ConfirmedHour))
    session.execute(rebuild_statement(session.get_bind().dialect.name))


@dataclass(frozen=True)
class Bar:
    label: str
    when: datetime | date
    value: int


@dataclass(frozen=True)
class Figures:
    hours: list[Bar]
    days: list[Bar]
    sources: list[tuple[str, int]]
    # By embedding site (its host; "" for the petition's own page and sites not named).
    sites: list[tuple[str, int]]
    confirmed: int
    pending: int
    withdrawn: int

    @property
    def started(self) -> int:
        return self.confirmed + self.pending + self.withdrawn

    @property
    def confirmation_rate(self) -> float | None:
        return self.confirmed / self.started if self.started else None


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _largest(counts: dict[str, int], shown: int) -> list[tuple[str, int]]:
    """The ``shown`` largest counts, largest first, ties by name."""
    return sorted(((name, count) for name, count in counts.items() if count > 0),
                  key=lambda item: (-item[1], item[0]))[:shown]


def figures(session: Session, petition: Petition, now: datetime | None = None) -> Figures:
    now = now or utcnow()
    rows = session.execute(
        select(ConfirmedHour.hour, ConfirmedHour.source, ConfirmedHour.site, ConfirmedHour.count)
        .where(ConfirmedHour.petition_id == petition.id, ConfirmedHour.count != 0)
    ).all()
    per_hour: dict[datetime, int] = defaultdict(int)
    per_source: dict[str, int] = defaultdict(int)
    per_site: dict[str, int] = defaultdict(int)
    for hour, source, site, count in rows:
        per_hour[hour_of(_as_datetime(hour).replace(tzinfo=now.tzinfo))] += count
        per_source[source] += count
        per_site[site] += count
    last = hour_of(now)
    hours = [last - timedelta(hours=offset) for offset in range(HOURS_SHOWN - 1, -1, -1)]
    per_day: dict[date, int] = defaultdict(int)
    for hour, count in per_hour.items():
        per_day[hour.date()] += count
    first_day = min([*per_day, petition.created_at.date(), now.date()])
    days = [first_day + timedelta(days=offset)
            for offset in range((now.date() - first_day).days + 1)]
    # Confirmed signatures are counted by the aggregate; only the others are counted here, over
    # the (petition, status) index: a GROUP BY over every status would read a million entries
    # of a petition with a million signatures.
    statuses = dict(session.execute(
        select(Signature.status, func.count(Signature.id))
        .where(Signature.petition_id == petition.id,
               Signature.status.in_((PENDING, CANCELLED)))
        .group_by(Signature.status)
    ).all())
    return Figures(
        hours=[Bar(f"{hour:%H}", hour, per_hour.get(hour, 0)) for hour in hours],
        days=[Bar(f"{day:%m-%d}", day, per_day.get(day, 0)) for day in days],
        sources=_largest(per_source, SOURCES_SHOWN),
        sites=_largest(per_site, SITES_SHOWN),
        confirmed=sum(per_hour.values()), pending=int(statuses.get(PENDING, 0)),
        withdrawn=int(statuses.get(CANCELLED, 0)),
    )


def milestones(petition: Petition) -> list[tuple[int, bool]]:
    """Each step of the goal ladder (or the single goal) and whether the count reached it."""
    ladder = list((petition.goal_settings or {}).get("ladder") or [])
    if not ladder and petition.goal:
        ladder = [petition.goal]
    total = petition.goal_count
    return [(step, total >= step) for step in ladder]


def naive_per_hour(session: Session, petition: Petition) -> list[tuple[Any, int]]:
    """The same per-hour numbers straight from the signatures: what the aggregate spares a
    chart (the benchmark's baseline)."""
    hour = _hour_expression(session.get_bind().dialect.name)
    return [(when, int(count)) for when, count in session.execute(
        select(hour, func.count(Signature.id))
        .where(Signature.petition_id == petition.id, Signature.status == CONFIRMED)
        .group_by(hour)
    )]
