"""Moderation: the domain's blind index, hidden public names, invalidation reasons, bulk runs

Revision ID: 0023_moderation
Revises: 0022_editing
Create Date: 2026-12-05 02:40:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0023_moderation'
down_revision = '0022_editing'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('signatures') as batch:
        batch.add_column(sa.Column('email_domain_hash', sa.LargeBinary(32), nullable=True))
        batch.add_column(sa.Column('name_hidden_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('hidden_public_name', sa.String(200), nullable=True))
        batch.add_column(sa.Column('invalidation_reason', sa.String(200), nullable=True))
    op.create_index('ix_signatures_petition_domain', 'signatures',
                    ['petition_id', 'email_domain_hash'])
    op.create_table(
        'moderation_runs',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('petition_id', sa.Integer(),
                  sa.ForeignKey('petitions.id', ondelete='CASCADE'), nullable=False),
        sa.Column('criteria', sa.JSON(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('last_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(200), nullable=False),
        sa.Column('actor', sa.String(400), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_moderation_runs_petition_id', 'moderation_runs', ['petition_id'])


def downgrade() -> None:
    op.drop_index('ix_moderation_runs_petition_id', table_name='moderation_runs')
    op.drop_table('moderation_runs')
    op.drop_index('ix_signatures_petition_domain', table_name='signatures')
    with op.batch_alter_table('signatures') as batch:
        batch.drop_column('invalidation_reason')
        batch.drop_column('hidden_public_name')
        batch.drop_column('name_hidden_at')
        batch.drop_column('email_domain_hash')
