"""plugin form fields on signatures; index for streaming exports

Revision ID: 0002_plugins
Revises: 0001
Create Date: 2026-11-22 03:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002_plugins'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extra', sa.JSON(), nullable=False, server_default='{}'))
        # Exports page through confirmed signatures by (confirmed_at, id) in constant memory.
        batch_op.create_index(
            'ix_signatures_petition_status_confirmed',
            ['petition_id', 'status', 'confirmed_at', 'id'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index('ix_signatures_petition_status_confirmed')
        batch_op.drop_column('extra')
