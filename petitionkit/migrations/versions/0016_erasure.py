"""signatures.erased_at: the moment a signature's personal data was erased

An erased signature keeps only its blind index (so its address is not mailed again), its
petition, status and dates; ``sealed`` is then empty for good, which ``erased_at`` tells apart
from a row stored before sealing existed.

Revision ID: 0016_erasure
Revises: 0015_show_count
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0016_erasure'
down_revision = '0015_show_count'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('signatures') as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Without the marker an erased row would pass for one awaiting `keys encrypt-existing`:
    # refuse rather than let that command seal an empty record.
    bind = op.get_bind()
    erased = bind.execute(sa.text(
        "SELECT count(*) FROM signatures WHERE erased_at IS NOT NULL"
    )).scalar_one()
    if erased:
        raise RuntimeError(
            f"{erased} signature(s) were erased; a downgrade would mistake them for rows "
            "stored before sealing"
        )
    with op.batch_alter_table('signatures') as batch_op:
        batch_op.drop_column('erased_at')
