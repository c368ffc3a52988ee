"""risks: the project-risk register (risks, their assessments, actions, links and history) and
each project's risk settings (numbering, grade thresholds, categories)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types  # noqa: F401

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("module", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("strategy", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("closed_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("closed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("visible_in_channel", sa.Boolean(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "number", name="uq_risk_project_number"),
    )
    with op.batch_alter_table("risk", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_created_by"), ["created_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            "ix_risk_project_status_level", ["project_id", "status", "level"], unique=False
        )
        batch_op.create_index("ix_risk_status_review", ["status", "review_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_team_id"), ["team_id"], unique=False)

    op.create_table(
        "risksettings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.Column("low_max", sa.Integer(), nullable=False),
        sa.Column("medium_max", sa.Integer(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", name="uq_risksettings_project"),
    )
    with op.batch_alter_table("risksettings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risksettings_team_id"), ["team_id"], unique=False)

    op.create_table(
        "riskaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("risk_id", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issue.id"],
        ),
        sa.ForeignKeyConstraint(
            ["risk_id"],
            ["risk.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("riskaction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_riskaction_risk_id"), ["risk_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_riskaction_team_id"), ["team_id"], unique=False)

    op.create_table(
        "riskassessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("risk_id", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("grade", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["risk_id"],
            ["risk.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("riskassessment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_riskassessment_risk_id"), ["risk_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_riskassessment_team_id"), ["team_id"], unique=False)

    op.create_table(
        "riskhistory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("risk_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["risk_id"],
            ["risk.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("riskhistory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_riskhistory_risk_id"), ["risk_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_riskhistory_team_id"), ["team_id"], unique=False)

    op.create_table(
        "risklink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("risk_id", sa.Integer(), nullable=False),
        sa.Column("key_user_id", sa.Integer(), nullable=True),
        sa.Column("issue_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issue.id"],
        ),
        sa.ForeignKeyConstraint(
            ["key_user_id"],
            ["keyuser.id"],
        ),
        sa.ForeignKeyConstraint(
            ["risk_id"],
            ["risk.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("risk_id", "key_user_id", "issue_id", name="uq_risklink_target"),
    )
    with op.batch_alter_table("risklink", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risklink_issue_id"), ["issue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_risklink_key_user_id"), ["key_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_risklink_risk_id"), ["risk_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_risklink_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risklink", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risklink_team_id"))
        batch_op.drop_index(batch_op.f("ix_risklink_risk_id"))
        batch_op.drop_index(batch_op.f("ix_risklink_key_user_id"))
        batch_op.drop_index(batch_op.f("ix_risklink_issue_id"))

    op.drop_table("risklink")
    with op.batch_alter_table("riskhistory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_riskhistory_team_id"))
        batch_op.drop_index(batch_op.f("ix_riskhistory_risk_id"))

    op.drop_table("riskhistory")
    with op.batch_alter_table("riskassessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_riskassessment_team_id"))
        batch_op.drop_index(batch_op.f("ix_riskassessment_risk_id"))

    op.drop_table("riskassessment")
    with op.batch_alter_table("riskaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_riskaction_team_id"))
        batch_op.drop_index(batch_op.f("ix_riskaction_risk_id"))

    op.drop_table("riskaction")
    with op.batch_alter_table("risksettings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risksettings_team_id"))

    op.drop_table("risksettings")
    with op.batch_alter_table("risk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_team_id"))
        batch_op.drop_index("ix_risk_status_review")
        batch_op.drop_index("ix_risk_project_status_level")
        batch_op.drop_index(batch_op.f("ix_risk_owner_id"))
        batch_op.drop_index(batch_op.f("ix_risk_created_by"))

    op.drop_table("risk")
