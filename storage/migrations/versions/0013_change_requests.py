"""change requests: the shared approvals (an approval per version of a subject, its deciders and
every answer, append-only) and change requests (requests, what they spawned, their history) with
each project's change settings (numbering, approval rule)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types  # noqa: F401

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("named_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("asked_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("asked_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_kind", "subject_id", "version", name="uq_approval_subject"),
    )
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_project_id"), ["project_id"], unique=False)
        batch_op.create_index(
            "ix_approval_status_subject", ["status", "subject_kind", "subject_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_approval_team_id"), ["team_id"], unique=False)

    op.create_table(
        "changesettings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", name="uq_changesettings_project"),
    )
    with op.batch_alter_table("changesettings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_changesettings_team_id"), ["team_id"], unique=False)

    op.create_table(
        "approvalanswer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approval.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("approvalanswer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_approvalanswer_approval_id"), ["approval_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_approvalanswer_team_id"), ["team_id"], unique=False)

    op.create_table(
        "approvaldecider",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approval.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("approval_id", "user_id", name="uq_approvaldecider_person"),
    )
    with op.batch_alter_table("approvaldecider", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_approvaldecider_approval_id"), ["approval_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_approvaldecider_team_id"), ["team_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_approvaldecider_user_id"), ["user_id"], unique=False)

    op.create_table(
        "changerequest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("modules", sa.JSON(), nullable=False),
        sa.Column("processes", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("impact_scope", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("impact_schedule", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("impact_cost", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("impact_training", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("training_hours", sa.Float(), nullable=True),
        sa.Column("training_module_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("deciders", sa.JSON(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issue.id"],
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.ForeignKeyConstraint(
            ["training_module_id"],
            ["trainingmodule.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "number", name="uq_changerequest_project_number"),
    )
    with op.batch_alter_table("changerequest", schema=None) as batch_op:
        batch_op.create_index(
            "ix_changerequest_project_status", ["project_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_changerequest_requested_by"), ["requested_by"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_changerequest_team_id"), ["team_id"], unique=False)

    op.create_table(
        "changehistory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["changerequest.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("changehistory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_changehistory_change_id"), ["change_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_changehistory_team_id"), ["team_id"], unique=False)

    op.create_table(
        "changespawn",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("module", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["changerequest.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("change_id", "kind", "module", name="uq_changespawn_once"),
    )
    with op.batch_alter_table("changespawn", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_changespawn_change_id"), ["change_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_changespawn_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("changespawn", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_changespawn_team_id"))
        batch_op.drop_index(batch_op.f("ix_changespawn_change_id"))

    op.drop_table("changespawn")
    with op.batch_alter_table("changehistory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_changehistory_team_id"))
        batch_op.drop_index(batch_op.f("ix_changehistory_change_id"))

    op.drop_table("changehistory")
    with op.batch_alter_table("changerequest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_changerequest_team_id"))
        batch_op.drop_index(batch_op.f("ix_changerequest_requested_by"))
        batch_op.drop_index("ix_changerequest_project_status")

    op.drop_table("changerequest")
    with op.batch_alter_table("approvaldecider", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approvaldecider_user_id"))
        batch_op.drop_index(batch_op.f("ix_approvaldecider_team_id"))
        batch_op.drop_index(batch_op.f("ix_approvaldecider_approval_id"))

    op.drop_table("approvaldecider")
    with op.batch_alter_table("approvalanswer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approvalanswer_team_id"))
        batch_op.drop_index(batch_op.f("ix_approvalanswer_approval_id"))

    op.drop_table("approvalanswer")
    with op.batch_alter_table("changesettings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_changesettings_team_id"))

    op.drop_table("changesettings")
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_team_id"))
        batch_op.drop_index("ix_approval_status_subject")
        batch_op.drop_index(batch_op.f("ix_approval_project_id"))

    op.drop_table("approval")
