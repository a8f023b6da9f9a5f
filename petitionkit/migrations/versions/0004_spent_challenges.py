"""spent_challenges: proof-of-work solutions already accepted, until they expire

Revision ID: 0004_challenges
Revises: 0003_listed
Create Date: 2026-12-04 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004_challenges'
down_revision = '0003_listed'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'spent_challenges',
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('nonce'),
    )


def downgrade():
    op.drop_table('spent_challenges')
