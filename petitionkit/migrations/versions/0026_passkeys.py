"""staff_passkeys and staff_webauthn_challenges: passkeys (WebAuthn) in the workspace

Revision ID: 0026_passkeys
Revises: 0025_api
Create Date: 2026-12-05 08:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0026_passkeys'
down_revision = '0025_api'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_passkeys',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_id', sa.Integer(),
                  sa.ForeignKey('staff_users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('credential_id', sa.LargeBinary(), nullable=False, unique=True),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('sign_count', sa.Integer(), nullable=False),
        sa.Column('transports', sa.JSON(), nullable=False),
        sa.Column('name', sa.String(100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_staff_passkeys_user_id', 'staff_passkeys', ['user_id'])
    op.create_table(
        'staff_webauthn_challenges',
        sa.Column('challenge_hash', sa.String(64), primary_key=True),
        sa.Column('user_id', sa.Integer(),
                  sa.ForeignKey('staff_users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('purpose', sa.String(20), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_staff_webauthn_challenges_user_id', 'staff_webauthn_challenges',
                    ['user_id'])
    op.create_index('ix_staff_webauthn_challenges_expires_at', 'staff_webauthn_challenges',
                    ['expires_at'])


def downgrade() -> None:
    op.drop_index('ix_staff_webauthn_challenges_expires_at',
                  table_name='staff_webauthn_challenges')
    op.drop_index('ix_staff_webauthn_challenges_user_id', table_name='staff_webauthn_challenges')
    op.drop_table('staff_webauthn_challenges')
    op.drop_index('ix_staff_passkeys_user_id', table_name='staff_passkeys')
    op.drop_table('staff_passkeys')
