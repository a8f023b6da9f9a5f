"""stories: the table of sealed stories

A branch of its own (label "petitionkit_stories"), built on the core's first revision, which
creates the petitions table it refers to.

Revision ID: stories_0001
Revises:
Create Date: 2026-12-04 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "stories_0001"
down_revision = None
branch_labels = ("petitionkit_stories",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table(
        "stories_received",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["petition_id"], ["petitions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stories_received_petition_id", "stories_received", ["petition_id"])


def downgrade() -> None:
    op.drop_index("ix_stories_received_petition_id", table_name="stories_received")
    op.drop_table("stories_received")
