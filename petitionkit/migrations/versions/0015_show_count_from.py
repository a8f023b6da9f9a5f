"""petitions.show_count_from: the count the public count stays hidden below

Revision ID: 0015_show_count
Revises: 0008_sealed
Create Date: 2026-12-04 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0015_show_count'
down_revision = '0008_sealed'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('petitions') as batch_op:
        batch_op.add_column(sa.Column('show_count_from', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('petitions') as batch_op:
        batch_op.drop_column('show_count_from')
