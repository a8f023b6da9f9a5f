"""signatures.site and confirmed_hours.site: the site a widget was embedded in, for the figures

Revision ID: 0027_embedding_site
Revises: 0026_passkeys
Create Date: 2026-12-05 12:20:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0027_embedding_site'
down_revision = '0026_passkeys'
branch_labels = None
depends_on = None

# The aggregate's primary key, as PostgreSQL named it in 0024; SQLite's has no name.
PRIMARY_KEY = 'confirmed_hours_pkey'
KEY = ['petition_id', 'hour', 'source']


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _copy_on_sqlite(key: list[str], site: str) -> None:
    """SQLite cannot change a table's key: the aggregate is copied into a new table keyed by
    ``key``, the site taken as ``site`` (an SQL expression), and takes the old one's place."""
    op.create_table(
        'confirmed_hours_copy',
        sa.Column('petition_id', sa.Integer(),
                  sa.ForeignKey('petitions.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('hour', sa.DateTime(timezone=True), primary_key=True),
        sa.Column('source', sa.String(100), primary_key=True),
        *([sa.Column('site', sa.String(253), primary_key=True)] if 'site' in key else []),
        sa.Column('count', sa.Integer(), nullable=False),
    )
    columns = ", ".join(key)
    op.execute(f"INSERT INTO confirmed_hours_copy ({columns}, count) "
               f"SELECT petition_id, hour, source{site}, count FROM confirmed_hours")
    op.drop_table('confirmed_hours')
    op.rename_table('confirmed_hours_copy', 'confirmed_hours')


def upgrade() -> None:
    op.add_column('signatures', sa.Column('site', sa.String(253), nullable=True))
    # Every signature so far came without a site: its hours keep their counts under "".
    if _sqlite():
        _copy_on_sqlite([*KEY, 'site'], site=", ''")
        return
    op.add_column('confirmed_hours',
                  sa.Column('site', sa.String(253), nullable=False, server_default=''))
    op.alter_column('confirmed_hours', 'site', server_default=None)
    op.drop_constraint(PRIMARY_KEY, 'confirmed_hours', type_='primary')
    op.create_primary_key(PRIMARY_KEY, 'confirmed_hours', [*KEY, 'site'])


def downgrade() -> None:
    # Each hour's sites folded back into its row without one, then the column goes.
    op.execute(
        "INSERT INTO confirmed_hours (petition_id, hour, source, site, count) "
        "SELECT petition_id, hour, source, '', sum(count) FROM confirmed_hours "
        "WHERE site <> '' GROUP BY petition_id, hour, source "
        "ON CONFLICT (petition_id, hour, source, site) "
        "DO UPDATE SET count = confirmed_hours.count + excluded.count"
    )
    op.execute("DELETE FROM confirmed_hours WHERE site <> ''")
    if _sqlite():
        _copy_on_sqlite(KEY, site="")
    else:
        op.drop_constraint(PRIMARY_KEY, 'confirmed_hours', type_='primary')
        op.drop_column('confirmed_hours', 'site')
        op.create_primary_key(PRIMARY_KEY, 'confirmed_hours', KEY)
    op.drop_column('signatures', 'site')
