"""response_rollup_month: the rollup sums per unit and local month, filled from the per-day rows

Revision ID: 6478ab39df61
Revises: 3b1f0c9a7d21
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6478ab39df61"
down_revision: str | None = "3b1f0c9a7d21"
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
    if op.get_bind().dialect.name == "postgresql":
        month = "CAST(date_trunc('month', local_date) AS DATE)"
    else:
        month = "date(local_date, 'start of month')"
    sums = ", ".join(f"sum({c})" for c in COUNTS)
    op.execute(
        f"INSERT INTO response_rollup_month (unit_id, month_date, form_version_id, flagged, "
        f"first_date, last_date, {', '.join(COUNTS)}) "
        f"SELECT unit_id, {month}, form_version_id, flagged, min(local_date), max(local_date), "
        f"{sums} FROM response_rollup GROUP BY unit_id, {month}, form_version_id, flagged"
    )


def downgrade() -> None:
    op.drop_table("response_rollup_month")
