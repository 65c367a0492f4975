"""paper_upload: a sheet uploaded in the console, kept between its preview and its
confirmation (in the database, so any replica can confirm it)

Revision ID: 7e3a5c1b9d42
Revises: 1c5e7a9d3f20
Create Date: 2026-12-02 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.models

revision: str = "7e3a5c1b9d42"
down_revision: str | None = "1c5e7a9d3f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "paper_upload",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", app.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_paper_upload_service_id_service")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_paper_upload_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_user.id"], name=op.f("fk_paper_upload_user_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_upload")),
    )


def downgrade() -> None:
    op.drop_table("paper_upload")
