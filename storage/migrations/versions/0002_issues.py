"""key users' issues and requests: issues, their history, per-project issue settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 05:09:51.458396
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types  # noqa: F401

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("module", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reporter_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("due_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "first_response_due_at", storage.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("first_response_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=True),
        sa.Column("resolved_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("source_permalink", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("rated_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "number", name="uq_issue_project_number"),
    )
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issue_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_issue_project_status", ["project_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_issue_reporter_id"), ["reporter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_issue_team_id"), ["team_id"], unique=False)

    op.create_table(
        "issuesettings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.Column("first_response_hours", sa.JSON(), nullable=False),
        sa.Column("resolution_days", sa.JSON(), nullable=False),
        sa.Column("auto_close_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", name="uq_issuesettings_project"),
    )
    with op.batch_alter_table("issuesettings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issuesettings_team_id"), ["team_id"], unique=False)

    op.create_table(
        "issuehistory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("from_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("to_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issue.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("issuehistory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issuehistory_issue_id"), ["issue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_issuehistory_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("issuehistory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issuehistory_team_id"))
        batch_op.drop_index(batch_op.f("ix_issuehistory_issue_id"))
    op.drop_table("issuehistory")
    with op.batch_alter_table("issuesettings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issuesettings_team_id"))
    op.drop_table("issuesettings")
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issue_team_id"))
        batch_op.drop_index(batch_op.f("ix_issue_reporter_id"))
        batch_op.drop_index("ix_issue_project_status")
        batch_op.drop_index(batch_op.f("ix_issue_owner_id"))
    op.drop_table("issue")
