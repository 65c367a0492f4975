"""response listing index: pages and CSV exports walk (unit_id, local_date, id)

Revision ID: 2da2973ae64f
Revises: 7cf57dd91513
Create Date: 2026-11-22 16:04:33.480672
"""

from collections.abc import Sequence

from alembic import op

revision: str = "2da2973ae64f"
down_revision: str | None = "7cf57dd91513"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index("ix_response_unit_id_local_date")
        batch_op.create_index(
            "ix_response_unit_id_local_date_id", ["unit_id", "local_date", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index("ix_response_unit_id_local_date_id")
        batch_op.create_index(
            "ix_response_unit_id_local_date", ["unit_id", "local_date"], unique=False
        )
