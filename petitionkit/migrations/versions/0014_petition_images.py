"""petitions.image and petition_images: a petition's picture, stored once, resized

Revision ID: 0014_images
Revises: 0006_offline
Create Date: 2026-12-04 12:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0014_images'
down_revision = '0006_offline'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('petitions') as batch_op:
        batch_op.add_column(sa.Column('image', sa.JSON(), nullable=True))
    op.create_table(
        'petition_images',
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.String(length=16), nullable=False),
        sa.Column('content_type', sa.String(length=40), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('petition_id'),
    )


def downgrade() -> None:
    op.drop_table('petition_images')
    with op.batch_alter_table('petitions') as batch_op:
        batch_op.drop_column('image')
