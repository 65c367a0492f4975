"""response body hash: a replayed idempotency key must carry the same body

Revision ID: 7cf57dd91513
Revises: ed19ccfa34a1
Create Date: 2026-11-22 15:46:23.180128
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "7cf57dd91513"
down_revision: str | None = "ed19ccfa34a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("body_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_column("body_hash")
