"""staff_user, staff_session and audit_log: the console's accounts (a role over a subtree),
their server-side sessions, and the record of who changed what

Revision ID: 1c5e7a9d3f20
Revises: 5d7e2c9a4b16
Create Date: 2026-12-02 20:00:48.016196
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.models

revision: str = "1c5e7a9d3f20"
down_revision: str | None = "5d7e2c9a4b16"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sessions_valid_from", app.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_staff_user_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_user_email")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", app.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_audit_log_unit_id_unit")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_user.id"], name=op.f("fk_audit_log_user_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "staff_session",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", app.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_user.id"], name=op.f("fk_staff_session_user_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_staff_session")),
    )
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_session_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_session_user_id"))

    op.drop_table("staff_session")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_unit_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
    op.drop_table("staff_user")
