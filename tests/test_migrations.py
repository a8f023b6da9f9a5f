"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect

from petitionkit.extensions import db

from .conftest import base_config, migrate

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
