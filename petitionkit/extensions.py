"""Flask extensions, created here and bound to an app in ``create_app`` through ``init_app``."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import Babel
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter, Map

from petitionkit.security import client_key


class Base(DeclarativeBase):
    pass


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in time: written in UTC, read back timezone-aware in UTC, on every database.

    PostgreSQL keeps the zone (``timestamptz``); SQLite keeps none and hands back naive values.
    Every column of a moment uses this type, so no code has to guess a zone. A naive value is
    refused: it would be read back as UTC whatever zone it meant.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a moment without a time zone cannot be stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
# Configured from RATELIMIT_* and used through its strategy and storage by the signing views
# (signatures/limits.py); no route carries a Flask-Limiter decorator.
limiter = Limiter(key_func=client_key, default_limits=[])


@limiter.request_filter
def _checked_by_the_views() -> bool:
    """The limiter's own per-request pass has nothing to check: the signing views count their
    attempts themselves. Without this filter it would resolve (empty) limits on every request,
    a quarter of the time of the count read that viral petitions are polled with."""
    return True


def as_utc(moment: datetime) -> datetime:
    """The moment in UTC (one without an offset is taken as UTC). ValueError when moving it to
    UTC leaves the years a datetime holds (the first hours of year 1 ahead of UTC, the last of
    9999 behind it): such a time comes only from hostile or mistyped input."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as error:
        raise ValueError(f"{moment.isoformat()} is out of range in UTC") from error


# The largest row number a database here stores (SQLite's INTEGER, PostgreSQL's BIGINT): a
# longer number in a URL names no row, and handed to SQLite it would raise instead of matching
# nothing.
MAX_ROW_NUMBER = 2**63 - 1


class RowNumberConverter(IntegerConverter):
    """``<int:…>`` in every route: a whole number up to ``MAX_ROW_NUMBER``; past it, a 404."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = MAX_ROW_NUMBER, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
