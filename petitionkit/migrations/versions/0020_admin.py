"""staff_users, staff_sessions and staff_audit: the organisers' workspace

Revision ID: 0020_admin
Revises: 0019_actions
Create Date: 2026-12-04 18:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0020_admin'
down_revision = '0019_actions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_users',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('email', sa.String(320), nullable=False, unique=True),
        sa.Column('role', sa.String(20), nullable=False),
        sa.Column('password_hash', sa.String(200), nullable=True),
        sa.Column('setup_nonce', sa.String(32), nullable=True),
        sa.Column('totp_secret', sa.LargeBinary(), nullable=True),
        sa.Column('totp_last_step', sa.Integer(), nullable=True),
        sa.Column('recovery_codes', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('disabled', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        'staff_sessions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('token_hash', sa.String(64), nullable=False, unique=True),
        sa.Column('user_id', sa.Integer(),
                  sa.ForeignKey('staff_users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_staff_sessions_user_id', 'staff_sessions', ['user_id'])
    op.create_table(
        'staff_audit',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(360), nullable=True),
        sa.Column('action', sa.String(40), nullable=False),
        sa.Column('target', sa.String(400), nullable=False),
    )
    op.create_index('ix_staff_audit_created', 'staff_audit', ['created_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_staff_audit_created', table_name='staff_audit')
    op.drop_table('staff_audit')
    op.drop_index('ix_staff_sessions_user_id', table_name='staff_sessions')
    op.drop_table('staff_sessions')
    op.drop_table('staff_users')
