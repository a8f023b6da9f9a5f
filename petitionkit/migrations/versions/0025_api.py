"""api_tokens: bearer tokens of the write API

Revision ID: 0025_api
Revises: 0024_figures
Create Date: 2026-12-05 03:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0025_api'
down_revision = '0024_figures'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(100), nullable=False),
        sa.Column('role', sa.String(20), nullable=False),
        sa.Column('token_hash', sa.String(64), nullable=False, unique=True),
        sa.Column('hint', sa.String(12), nullable=False),
        sa.Column('created_by', sa.String(400), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('api_tokens')
