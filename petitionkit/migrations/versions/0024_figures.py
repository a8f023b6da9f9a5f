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
    # Filled from the signatures already confirmed, as `petitionkit recount` would.
    from petitionkit.signatures.figures import rebuild_statement

    op.execute(rebuild_statement(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_table('confirmed_hours')
