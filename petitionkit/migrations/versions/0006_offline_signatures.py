"""offline_entries and petitions.offline_count: signatures gathered on paper or at events

Revision ID: 0006_offline
Revises: 0005_kind
Create Date: 2026-12-03 21:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006_offline'
down_revision = '0005_kind'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('petitions') as batch_op:
        batch_op.add_column(
            sa.Column('offline_count', sa.Integer(), server_default='0', nullable=False)
        )
    op.create_table(
        'offline_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('recorded_by', sa.String(length=100), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('offline_entries') as batch_op:
        batch_op.create_index(
            batch_op.f('ix_offline_entries_petition_id'), ['petition_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('offline_entries') as batch_op:
        batch_op.drop_index(batch_op.f('ix_offline_entries_petition_id'))
    op.drop_table('offline_entries')
    with op.batch_alter_table('petitions') as batch_op:
        batch_op.drop_column('offline_count')
