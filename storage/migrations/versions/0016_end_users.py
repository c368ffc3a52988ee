"""end users: the people key users train, by module and department, and the attendance of
those without Slack at training sessions

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types  # noqa: F401

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enduser",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("key_user_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("removed_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["key_user_id"], ["keyuser.id"]),
        sa.ForeignKeyConstraint(["module_id"], ["trainingmodule.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "number", name="uq_enduser_project_number"),
    )
    op.create_index("ix_enduser_team_id", "enduser", ["team_id"], unique=False)
    op.create_index(
        "ix_enduser_project_module", "enduser", ["project_id", "module_id", "department"]
    )
    op.create_index("ix_enduser_keyuser", "enduser", ["key_user_id"])
    op.create_table(
        "enduserattendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("end_user_id", sa.Integer(), nullable=False),
        sa.Column("attendance", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("attendance_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.ForeignKeyConstraint(["end_user_id"], ["enduser.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["calendarevent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "end_user_id", name="uq_enduserattendance_event"),
    )
    op.create_index("ix_enduserattendance_team_id", "enduserattendance", ["team_id"], unique=False)
    op.create_index("ix_enduserattendance_enduser", "enduserattendance", ["end_user_id"])


def downgrade() -> None:
    op.drop_index("ix_enduserattendance_enduser", table_name="enduserattendance")
    op.drop_index("ix_enduserattendance_team_id", table_name="enduserattendance")
    op.drop_table("enduserattendance")
    op.drop_index("ix_enduser_keyuser", table_name="enduser")
    op.drop_index("ix_enduser_project_module", table_name="enduser")
    op.drop_index("ix_enduser_team_id", table_name="enduser")
    op.drop_table("enduser")
