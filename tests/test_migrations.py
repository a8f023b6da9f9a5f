"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect, text

from petitionkit.extensions import db
from petitionkit.testing import sign_and_confirm

from .conftest import add_petition, base_config, migrate

TABLES = {"petitions", "signatures", "outbox_jobs", "spent_challenges"}


def schema_differences(app: Flask) -> list[Any]:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, db.metadata))


def table_names(app: Flask) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def test_sqlite_migrations_match_models(tmp_path: Path) -> None:
    from petitionkit import create_app

    app = create_app(base_config(tmp_path))
    migrate(app)
    assert TABLES <= table_names(app)
    assert schema_differences(app) == []


def test_postgresql_migrations_match_models(pg_app: Flask) -> None:
    assert TABLES <= table_names(pg_app)
    assert schema_differences(pg_app) == []


def test_downgrade_to_base_and_up_again(pg_app: Flask) -> None:
    with pg_app.app_context():
        flask_migrate.downgrade(revision="base")
    assert table_names(pg_app) & TABLES == set()
    migrate(pg_app)
    assert schema_differences(pg_app) == []


@pytest.mark.parametrize("database", ["app", "pg_app"])
def test_going_back_before_the_embedding_site_keeps_every_count(
    request: pytest.FixtureRequest, database: str,
) -> None:
    app: Flask = request.getfixturevalue(database)
    add_petition(app)
    for number, site in enumerate(("campaign.example", "other.example", None)):
        sign_and_confirm(app, "free-the-poet", f"S {number}", f"s{number}@example.org",
                         source="newsletter", site=site)
    with app.app_context():
        flask_migrate.downgrade(revision="0026_passkeys")
        rows = db.session.execute(text("SELECT source, count FROM confirmed_hours")).all()
        db.session.remove()
    assert [tuple(row) for row in rows] == [("newsletter", 3)]
    migrate(app)
    assert schema_differences(app) == []
    with app.app_context():
        assert db.session.execute(text("SELECT source, site, count FROM confirmed_hours")).all() \
            == [("newsletter", "", 3)]
