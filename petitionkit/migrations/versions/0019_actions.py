"""Reported actions: petitions.report_actions, petitions.sections, the action_reports table

Revision ID: 0019_actions
Revises: 0018_retention
Create Date: 2026-12-04 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0019_actions'
down_revision = '0018_retention'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('petitions') as batch_op:
        batch_op.add_column(sa.Column('report_actions', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('sections', sa.JSON(), nullable=False,
                                      server_default='{}'))
    op.create_table(
        'action_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('signature_id', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=40), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['signature_id'], ['signatures.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('petition_id', 'action', 'signature_id',
                            name='uq_action_reports_petition_action_signature'),
    )
    op.create_index('ix_action_reports_signature', 'action_reports', ['signature_id'])


def downgrade() -> None:
    op.drop_index('ix_action_reports_signature', table_name='action_reports')
    op.drop_table('action_reports')
    with op.batch_alter_table('petitions') as batch_op:
        batch_op.drop_column('sections')
        batch_op.drop_column('report_actions')
