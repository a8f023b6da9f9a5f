"""Every moment column reads back timezone-aware in UTC, on both databases; a naive value is
refused instead of being stored as a guess."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from petitionkit.extensions import UTCDateTime, db
from petitionkit.outbox.models import OutboxJob
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import Signature

from .conftest import add_petition


def moment_columns() -> list[str]:
    return [f"{table.name}.{column.name}" for table in db.metadata.sorted_tables
            for column in table.columns if isinstance(column.type, UTCDateTime)]


def test_every_moment_column_is_utc() -> None:
    moments = moment_columns()
    assert {"petitions.closes_at", "signatures.confirmed_at", "outbox_jobs.available_at"} <= set(
        moments)
    naive_kind = [f"{table.name}.{column.name}" for table in db.metadata.sorted_tables
                  for column in table.columns
                  if column.type.python_type is datetime
                  and not isinstance(column.type, UTCDateTime)]
    assert naive_kind == [], "a moment column without the UTC type"


def round_trip(app: Flask) -> None:
    paris = timezone(timedelta(hours=2))
    slug = add_petition(app, closes_at=datetime(2027, 6, 1, 14, 0, tzinfo=paris))
    with app.app_context():
        db.session.expire_all()
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        assert petition.closes_at == datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
        assert petition.closes_at.utcoffset() == timedelta(0)
        assert petition.created_at.tzinfo is not None
        # Aggregates of a moment column are moments too.
        assert db.session.scalar(select(OutboxJob.available_at).limit(1)) is None
        petition.closes_at = datetime(2027, 6, 1, 14, 0)  # noqa: DTZ001 - the point of the test
        with pytest.raises(StatementError, match="cannot be stored"):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(Signature.confirmed_at).limit(1)) is None


def test_moments_round_trip_in_utc_on_sqlite(app: Flask) -> None:
    round_trip(app)


def test_moments_round_trip_in_utc_on_postgresql(pg_app: Flask) -> None:
    round_trip(pg_app)
