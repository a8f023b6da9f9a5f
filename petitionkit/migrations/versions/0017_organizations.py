"""Organisations as signers: who may sign a petition, and organisations' approval

petitions.signers (people, organizations or both) and petitions.organization_count (approved
organisations); signatures.organization, organization_url (published once approved) and
approved_at.

Revision ID: 0017_orgs
Revises: 0016_erasure
Create Date: 2026-12-04 17:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0017_orgs'
down_revision = '0016_erasure'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('petitions') as batch_op:
        batch_op.add_column(sa.Column('signers', sa.JSON(), server_default=sa.text("'[\"people\"]'"),
                                      nullable=False))
        batch_op.add_column(
            sa.Column('organization_count', sa.Integer(), server_default='0', nullable=False)
        )
    with op.batch_alter_table('signatures') as batch_op:
        batch_op.add_column(sa.Column('organization', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('organization_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            'ix_signatures_petition_kind_approved',
            ['petition_id', 'kind', 'status', 'approved_at', 'id'], unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('signatures') as batch_op:
        batch_op.drop_index('ix_signatures_petition_kind_approved')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('organization_url')
        batch_op.drop_column('organization')
    with op.batch_alter_table('petitions') as batch_op:
        batch_op.drop_column('organization_count')
        batch_op.drop_column('signers')
