"""response_rollup.shard and response_rollup_month.shard: a key's sums over several rows, so
that concurrent submissions to one unit, day (or month) and counter do not all wait for one
row lock

Revision ID: 5d7e2c9a4b16
Revises: 6478ab39df61
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d7e2c9a4b16"
down_revision: str | None = "6478ab39df61"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = {  # each table's key without the shard
    "response_rollup": (
        "unit_id",
        "local_date",
        "service_key",
        "counter_key",
        "form_version_id",
        "channel",
        "flagged",
    ),
    "response_rollup_month": ("unit_id", "month_date", "form_version_id", "flagged"),
}


def upgrade() -> None:
    # Existing rows are shard 0; the primary key takes the shard.
    for table, keys in TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("shard", sa.SmallInteger(), nullable=False, server_default="0")
            )
            batch_op.drop_constraint(f"pk_{table}", type_="primary")
            batch_op.create_primary_key(f"pk_{table}", [*keys, "shard"])


def downgrade() -> None:
    # Each key's shards taken together into one row (shard -1 for the moment), the others
    # deleted.
    bind = op.get_bind()
    for table, keys in TABLES.items():
        names = [c["name"] for c in sa.inspect(bind).get_columns(table)]
        rest = [n for n in names if n not in (*keys, "shard")]
        rollup = sa.table(table, *(sa.column(n) for n in names))
        grouped = [rollup.c[k] for k in keys]
        # Sums, and of a month row's day bounds the shards' earliest first and latest last day.
        taken = [
            sa.func.min(rollup.c[n])
            if n == "first_date"
            else sa.func.max(rollup.c[n])
            if n == "last_date"
            else sa.func.sum(rollup.c[n])
            for n in rest
        ]
        together = sa.select(*grouped, sa.literal(-1), *taken).group_by(*grouped)
        op.execute(rollup.insert().from_select([*keys, "shard", *rest], together))
        op.execute(rollup.delete().where(rollup.c.shard != -1))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"pk_{table}", type_="primary")
            batch_op.create_primary_key(f"pk_{table}", list(keys))
            batch_op.drop_column("shard")
