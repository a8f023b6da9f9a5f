"""myplugin: the table of signatures already sent

A branch of its own (label "petitionkit_myplugin"), built on the core's first revision, which
creates the signatures table it refers to.

Revision ID: myplugin_0001
Revises:
Create Date: 2026-12-03 20:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "myplugin_0001"
down_revision = None
branch_labels = ("petitionkit_myplugin",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table(
        "myplugin_sent",
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["signature_id"], ["signatures.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("signature_id"),
    )


def downgrade() -> None:
    op.drop_table("myplugin_sent")
