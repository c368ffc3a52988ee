"""digest: each project's digest target and the weekly claim

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 17:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types  # noqa: F401

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The digest reads issues by week of these times (see storage/models/digest.py).
ISSUE_TIMES = ("created", "first_response", "resolved", "due", "first_response_due")


def upgrade() -> None:
    op.create_table(
        "digestsettings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", name="uq_digestsettings_project"),
    )
    op.create_index(op.f("ix_digestsettings_team_id"), "digestsettings", ["team_id"], unique=False)
    op.create_table(
        "digestrun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("week", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("due_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("trigger", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "week", name="uq_digestrun_project_week"),
    )
    op.create_index(op.f("ix_digestrun_team_id"), "digestrun", ["team_id"], unique=False)
    for name in ISSUE_TIMES:
        op.create_index(
            f"ix_issue_project_{name}_at", "issue", ["project_id", f"{name}_at"], unique=False
        )


def downgrade() -> None:
    for name in ISSUE_TIMES:
        op.drop_index(f"ix_issue_project_{name}_at", table_name="issue")
    op.drop_index(op.f("ix_digestrun_team_id"), table_name="digestrun")
    op.drop_table("digestrun")
    op.drop_index(op.f("ix_digestsettings_team_id"), table_name="digestsettings")
    op.drop_table("digestsettings")
