"""api_token_petitions: API tokens limited to named petitions

Revision ID: 0028_token_petitions
Revises: 0027_embedding_site
Create Date: 2026-12-05 12:30:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0028_token_petitions'
down_revision = '0027_embedding_site'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_token_petitions',
        sa.Column('token_id', sa.Integer(),
                  sa.ForeignKey('api_tokens.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('petition_id', sa.Integer(),
                  sa.ForeignKey('petitions.id', ondelete='CASCADE'), primary_key=True),
    )
    op.create_index('ix_api_token_petitions_petition_id', 'api_token_petitions',
                    ['petition_id'])


def downgrade() -> None:
    op.drop_index('ix_api_token_petitions_petition_id', table_name='api_token_petitions')
    op.drop_table('api_token_petitions')
