"""response_rollup_quarter: the rollup sums per unit and local quarter, filled from the month
rows (a province's semester or a trend of quarters reads a third of the rows)

Revision ID: 2f9b7c41d8e3
Revises: 1218708824c4
Create Date: 2026-12-04 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2f9b7c41d8e3"
down_revision: str | None = "1218708824c4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported from app.models: a migration keeps the schema of its day.
ANSWERS = tuple(f"a{i}" for i in range(1, 15))
COUNTS = (
    "responses",
    *(f"{c}_n" for c in ANSWERS),
    *(f"{c}_sum" for c in ANSWERS),
    "complete",
    "complete_sum",
    "complete_sumsq",
)
KEYS = ("unit_id", "quarter_date", "form_version_id", "flagged")


def upgrade() -> None:
    op.create_table(
        "response_rollup_quarter",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("quarter_date", sa.Date(), nullable=False),
        sa.Column("form_version_id", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False, server_default="0"),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
        sa.ForeignKeyConstraint(
            ["form_version_id"],
            ["form_version.id"],
            name=op.f("fk_response_rollup_quarter_form_version_id_form_version"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_response_rollup_quarter_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint(*KEYS, "shard", name=op.f("pk_response_rollup_quarter")),
    )
    # The quarter rows of the month rows already stored (their shards added up, shard 0).
    month = sa.table(
        "response_rollup_month",
        *(
            sa.column(c)
            for c in ("unit_id", "month_date", "form_version_id", "flagged", "first_date")
        ),
        *(sa.column(c) for c in ("last_date", *COUNTS)),
    )
    quarter_table = sa.table(
        "response_rollup_quarter",
        *(sa.column(c) for c in (*KEYS, "first_date", "last_date", *COUNTS)),
    )
    quarter: sa.ColumnElement[object]
    if op.get_bind().dialect.name == "postgresql":
        quarter = sa.cast(sa.func.date_trunc("quarter", month.c.month_date), sa.Date)
    else:
        back = (sa.cast(sa.func.strftime("%m", month.c.month_date), sa.Integer) - 1) % 3
        quarter = sa.func.date(month.c.month_date, "-" + sa.cast(back, sa.Text) + " months")
    keys = [month.c.unit_id, quarter, month.c.form_version_id, month.c.flagged]
    quarters = sa.select(
        *keys,
        sa.func.min(month.c.first_date),
        sa.func.max(month.c.last_date),
        *(sa.func.sum(month.c[c]) for c in COUNTS),
    ).group_by(*keys)
    op.execute(
        quarter_table.insert().from_select([*KEYS, "first_date", "last_date", *COUNTS], quarters)
    )


def downgrade() -> None:
    op.drop_table("response_rollup_quarter")
