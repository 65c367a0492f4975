"""publication, followup_action, evidence_file, survey_cycle: published results frozen as
snapshots, the follow-up plan (RTL) with its evidence, and the pemda's survey cycle

Revision ID: 4d68dbe7967f
Revises: 7e3a5c1b9d42
Create Date: 2026-12-03 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.models

revision: str = "4d68dbe7967f"
down_revision: str | None = "7e3a5c1b9d42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "followup_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("elements", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("responsible", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("evidence_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", app.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", app.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_followup_action_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_action")),
    )
    with op.batch_alter_table("followup_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followup_action_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "survey_cycle",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_survey_cycle_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_survey_cycle")),
    )
    op.create_table(
        "evidence_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", app.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["followup_action.id"],
            name=op.f("fk_evidence_file_action_id_followup_action"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_evidence_file_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_file")),
    )
    with op.batch_alter_table("evidence_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_file_action_id"), ["action_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_file_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "publication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("weight", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("nik_rounded", sa.Float(), nullable=True),
        sa.Column("mutu", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("published_at", app.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("revised_at", app.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("poster_posted_at", app.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("poster_photo_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["poster_photo_id"],
            ["evidence_file.id"],
            name=op.f("fk_publication_poster_photo_id_evidence_file"),
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_publication_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication")),
        sa.UniqueConstraint("unit_id", "period", "revision", name=op.f("uq_publication_unit_id")),
    )
    with op.batch_alter_table("publication", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publication_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("publication", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publication_unit_id"))

    op.drop_table("publication")
    with op.batch_alter_table("evidence_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_file_unit_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_file_action_id"))

    op.drop_table("evidence_file")
    op.drop_table("survey_cycle")
    with op.batch_alter_table("followup_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followup_action_unit_id"))

    op.drop_table("followup_action")
