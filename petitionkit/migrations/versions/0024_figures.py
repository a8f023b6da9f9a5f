"""confirmed_hours: signatures confirmed per petition, hour and source, for the workspace's charts

Revision ID: 0024_figures
Revises: 0023_moderation
Create Date: 2026-12-05 02:50:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0024_figures'
down_revision = '0023_moderation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'confirmed_hours',
        sa.Column('petition_id', sa.Integer(),
                  sa.ForeignKey('petitions.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('hour', sa.DateTime(timezone=True), primary_key=True),
        sa.Column('source', sa.String(100), primary_key=True),
        sa.Column('count', sa.Integer(), nullable=False),
    )
    # Filled from the signatures already confirmed, as `petitionkit recount` did then. Written
    # out here rather than taken from the engine's code, which follows later schemas (0027
    # added the embedding site).
    if op.get_bind().dialect.name == 'postgresql':
        hour = "date_trunc('hour', timezone('UTC', confirmed_at))"
        hour_value = f"timezone('UTC', {hour})"
    else:
        hour = hour_value = "strftime('%Y-%m-%d %H:00:00.000000', confirmed_at)"
    source = "coalesce(substr(source, 1, 100), '')"
    op.execute(
        "INSERT INTO confirmed_hours (petition_id, hour, source, count) "
        f"SELECT petition_id, {hour_value}, {source}, count(id) FROM signatures "
        "WHERE status = 'confirmed' AND confirmed_at IS NOT NULL "
        f"GROUP BY petition_id, {hour}, {source}"
    )


def downgrade() -> None:
    op.drop_table('confirmed_hours')
