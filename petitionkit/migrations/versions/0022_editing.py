"""petitions.file_managed, front_matter: petitions edited in the workspace beside those loaded from files

Revision ID: 0022_editing
Revises: 0021_access
Create Date: 2026-12-05 02:20:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0022_editing'
down_revision = '0021_access'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('petitions') as batch:
        batch.add_column(sa.Column('file_managed', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('front_matter', sa.JSON(), nullable=True))
    # Every petition so far came from a file: it stays managed by it until released.
    op.execute(sa.text("UPDATE petitions SET file_managed = :yes").bindparams(yes=True))


def downgrade() -> None:
    with op.batch_alter_table('petitions') as batch:
        batch.drop_column('front_matter')
        batch.drop_column('file_managed')
