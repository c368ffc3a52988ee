"""phase checklists: each project's checklist items per phase, its checklist counter, and
the log of phase moves with what was still open

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types  # noqa: F401

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checklistitem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("phase", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("evidence", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("marked_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("marked_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "number", name="uq_checklistitem_project_number"),
    )
    with op.batch_alter_table("checklistitem", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checklistitem_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            "ix_checklistitem_project_phase", ["project_id", "phase"], unique=False
        )
        batch_op.create_index("ix_checklistitem_status_due", ["status", "due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_checklistitem_team_id"), ["team_id"], unique=False)

    op.create_table(
        "checklistsettings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", name="uq_checklistsettings_project"),
    )
    with op.batch_alter_table("checklistsettings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checklistsettings_team_id"), ["team_id"], unique=False)

    op.create_table(
        "phasemove",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("from_phase", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("to_phase", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("blockers", sa.JSON(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("phasemove", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phasemove_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_phasemove_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("phasemove", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phasemove_team_id"))
        batch_op.drop_index(batch_op.f("ix_phasemove_project_id"))

    op.drop_table("phasemove")
    with op.batch_alter_table("checklistsettings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklistsettings_team_id"))

    op.drop_table("checklistsettings")
    with op.batch_alter_table("checklistitem", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklistitem_team_id"))
        batch_op.drop_index("ix_checklistitem_status_due")
        batch_op.drop_index("ix_checklistitem_project_phase")
        batch_op.drop_index(batch_op.f("ix_checklistitem_owner_id"))

    op.drop_table("checklistitem")
