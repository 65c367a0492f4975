"""response_rollup_month: the rollup sums per unit and local month, filled from the per-day rows

Revision ID: 6478ab39df61
Revises: bb28743ca1a1
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6478ab39df61"
down_revision: str | None = "bb28743ca1a1"
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


def upgrade() -> None:
    op.create_table(
        "response_rollup_month",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("month_date", sa.Date(), nullable=False),
        sa.Column("form_version_id", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
        sa.ForeignKeyConstraint(
            ["form_version_id"],
            ["form_version.id"],
            name=op.f("fk_response_rollup_month_form_version_id_form_version"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_response_rollup_month_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint(
            "unit_id",
            "month_date",
            "form_version_id",
            "flagged",
            name=op.f("pk_response_rollup_month"),
        ),
    )
    # The month rows of the per-day rows already stored (the per-day rows are exact).
    day = sa.table(
        "response_rollup",
        *(sa.column(c) for c in ("unit_id", "local_date", "form_version_id", "flagged", *COUNTS)),
    )
    month_table = sa.table(
        "response_rollup_month",
        *(
            sa.column(c)
            for c in (
                "unit_id",
                "month_date",
                "form_version_id",
                "flagged",
                "first_date",
                "last_date",
                *COUNTS,
            )
        ),
    )
    month: sa.ColumnElement[object]
    if op.get_bind().dialect.name == "postgresql":
        month = sa.cast(sa.func.date_trunc("month", day.c.local_date), sa.Date)
    else:
        month = sa.func.date(day.c.local_date, "start of month")
    keys = [day.c.unit_id, month, day.c.form_version_id, day.c.flagged]
    months = sa.select(
        *keys,
        sa.func.min(day.c.local_date),
        sa.func.max(day.c.local_date),
        *(sa.func.sum(day.c[c]) for c in COUNTS),
    ).group_by(*keys)
    op.execute(month_table.insert().from_select(list(month_table.c.keys()), months))


def downgrade() -> None:
    op.drop_table("response_rollup_month")
