"""petitions.listed: whether the front page lists a petition

Revision ID: 0003_listed
Revises: 0002_plugins
Create Date: 2026-12-01 23:55:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003_listed'
down_revision = '0002_plugins'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('listed', sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade():
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.drop_column('listed')
