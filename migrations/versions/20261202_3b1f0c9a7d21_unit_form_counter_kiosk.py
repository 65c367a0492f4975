"""unit.form_code (a unit's own questionnaire) and counter.kiosk (a staff-set kiosk tablet)

Revision ID: 3b1f0c9a7d21
Revises: 2da2973ae64f
Create Date: 2026-12-02 13:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "3b1f0c9a7d21"
down_revision: str | None = "2da2973ae64f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("form_code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True)
        )
    with op.batch_alter_table("counter", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kiosk", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("counter", schema=None) as batch_op:
        batch_op.drop_column("kiosk")
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_column("form_code")
