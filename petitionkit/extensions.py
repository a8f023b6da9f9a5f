"""Flask extensions, created here and bound to an app in ``create_app`` through ``init_app``."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from petitionkit.security import client_key


class Base(DeclarativeBase):
    pass


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
