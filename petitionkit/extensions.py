"""Flask extensions, created here and bound to an app in ``create_app`` through ``init_app``."""

from __future__ import annotations

from flask import request
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
limiter = Limiter(key_func=client_key, default_limits=[], headers_enabled=True)


@limiter.request_filter
def _only_posts_are_limited() -> bool:
    """Every limit is declared on a POST view (signing); reads skip the limiter entirely.

    Without this the limiter resolves its limits on every request, a quarter of the time of the
    count read that viral petitions are polled with.
    """
    return request.method != "POST"
