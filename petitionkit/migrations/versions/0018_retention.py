"""Retention and consent records: petitions.retain_days, closed_at and purged_at;
signatures.anonymised_at and consent_text_id; the consent_texts table

Petitions already closed or archived get their last change as the moment they closed: the
best that is known of it, and what their retention counts from.

Revision ID: 0018_retention
Revises: 0017_orgs
Create Date: 2026-12-04 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0018_retention'
down_revision = '0017_orgs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'consent_texts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('text_hash', sa.String(length=64), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('locale', sa.String(length=16), nullable=False),
        sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('text_hash'),
    )
    with op.batch_alter_table('petitions') as batch_op:
        batch_op.add_column(sa.Column('retain_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE petitions SET closed_at = updated_at WHERE status IN ('closed', 'archived')"
    )
    with op.batch_alter_table('signatures') as batch_op:
        batch_op.add_column(
            sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('consent_text_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_signatures_consent_text_id', 'consent_texts', ['consent_text_id'], ['id']
        )


def downgrade() -> None:
    # Anonymised rows hold nothing to restore; going back would make them look like rows
    # waiting for `keys encrypt-existing`. Refuse rather than mislead.
    bind = op.get_bind()
    anonymised = bind.execute(sa.text(
        "SELECT count(*) FROM signatures WHERE anonymised_at IS NOT NULL"
    )).scalar_one()
    if anonymised:
        raise RuntimeError(
            f"{anonymised} signature(s) had their personal data removed; a downgrade would "
            "mistake them for signatures stored before sealing"
        )
    with op.batch_alter_table('signatures') as batch_op:
        batch_op.drop_constraint('fk_signatures_consent_text_id', type_='foreignkey')
        batch_op.drop_column('consent_text_id')
        batch_op.drop_column('anonymised_at')
    with op.batch_alter_table('petitions') as batch_op:
        batch_op.drop_column('purged_at')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('retain_days')
    op.drop_table('consent_texts')
