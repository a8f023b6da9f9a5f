"""signatures.kind: a person, or an organisation signing a joint letter

Revision ID: 0005_kind
Revises: 0004_challenges
Create Date: 2026-12-03 20:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0005_kind'
down_revision = '0004_challenges'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('signatures') as batch_op:
        batch_op.add_column(
            sa.Column('kind', sa.String(length=20), server_default='person', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('signatures') as batch_op:
        batch_op.drop_column('kind')
