"""Alembic environment: the app's engine and metadata, online and offline."""

from __future__ import annotations

from alembic import context
from flask import current_app

config = context.config
database = current_app.extensions["migrate"].db
target_metadata = database.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=database.engine.url.render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with database.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite alters tables by copying them; batch mode makes later migrations portable.
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
