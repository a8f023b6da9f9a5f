"""staff_petition_access: workspace accounts limited to named petitions

Revision ID: 0021_access
Revises: 0020_admin
Create Date: 2026-12-05 02:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0021_access'
down_revision = '0020_admin'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_petition_access',
        sa.Column('user_id', sa.Integer(),
                  sa.ForeignKey('staff_users.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('petition_id', sa.Integer(),
                  sa.ForeignKey('petitions.id', ondelete='CASCADE'), primary_key=True),
    )
    op.create_index('ix_staff_petition_access_petition_id', 'staff_petition_access',
                    ['petition_id'])


def downgrade() -> None:
    op.drop_index('ix_staff_petition_access_petition_id', table_name='staff_petition_access')
    op.drop_table('staff_petition_access')
