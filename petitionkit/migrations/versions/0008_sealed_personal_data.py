"""signatures.sealed and signatures.public_name: personal data sealed to a public key

The plaintext columns (email, name, postal_code) become nullable and stay empty for new
signatures; `petitionkit keys encrypt-existing` seals the rows stored before and empties them.

Revision ID: 0008_sealed
Revises: 0014_images
Create Date: 2026-12-04 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008_sealed'
down_revision = '0014_images'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('signatures') as batch_op:
        batch_op.add_column(sa.Column('sealed', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('public_name', sa.String(length=200), nullable=True))
        batch_op.alter_column('email', existing_type=sa.String(length=320), nullable=True)
        batch_op.alter_column('name', existing_type=sa.String(length=200), nullable=True)


def downgrade() -> None:
    # Sealed rows cannot go back to plaintext without the private key: refuse rather than
    # lose them.
    bind = op.get_bind()
    sealed = bind.execute(sa.text(
        "SELECT count(*) FROM signatures WHERE sealed IS NOT NULL"
    )).scalar_one()
    if sealed:
        raise RuntimeError(
            f"{sealed} signature(s) hold only sealed personal data; a downgrade would lose them"
        )
    with op.batch_alter_table('signatures') as batch_op:
        batch_op.alter_column('name', existing_type=sa.String(length=200), nullable=False)
        batch_op.alter_column('email', existing_type=sa.String(length=320), nullable=False)
        batch_op.drop_column('public_name')
        batch_op.drop_column('sealed')
