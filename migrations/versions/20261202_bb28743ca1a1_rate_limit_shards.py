"""rate_limit.shard (a bucket's hourly count over several rows) and an index on window_start

Revision ID: bb28743ca1a1
Revises: 8c4e2a6f1b93
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "bb28743ca1a1"
down_revision: str | None = "8c4e2a6f1b93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rate_limit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shard", sa.SmallInteger(), nullable=False, server_default="0")
        )
        batch_op.drop_constraint("pk_rate_limit", type_="primary")
        batch_op.create_primary_key("pk_rate_limit", ["bucket", "window_start", "shard"])
        batch_op.create_index("ix_rate_limit_window_start", ["window_start"], unique=False)


def downgrade() -> None:
    # The counts are an hour's and worth little; one row per window stays (shard 0's).
    op.execute("DELETE FROM rate_limit WHERE shard <> 0")
    with op.batch_alter_table("rate_limit", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_limit_window_start")
        batch_op.drop_constraint("pk_rate_limit", type_="primary")
        batch_op.create_primary_key("pk_rate_limit", ["bucket", "window_start"])
        batch_op.drop_column("shard")
