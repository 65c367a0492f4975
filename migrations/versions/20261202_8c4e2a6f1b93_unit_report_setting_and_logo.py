"""unit_report_setting (signer, city, signing date, kata pengantar) and unit_logo

Revision ID: 8c4e2a6f1b93
Revises: 3b1f0c9a7d21
Create Date: 2026-12-02 16:21:18
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.models

revision: str = "8c4e2a6f1b93"
down_revision: str | None = "3b1f0c9a7d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unit_logo",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("uploaded_at", app.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_unit_logo_unit_id_unit")),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_unit_logo")),
    )
    op.create_table(
        "unit_report_setting",
        sa.Column("signer_title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("signer_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("signer_nip", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
        sa.Column("city", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("sign_date", sa.Date(), nullable=True),
        sa.Column("foreword", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", app.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_unit_report_setting_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_unit_report_setting")),
    )


def downgrade() -> None:
    op.drop_table("unit_report_setting")
    op.drop_table("unit_logo")
