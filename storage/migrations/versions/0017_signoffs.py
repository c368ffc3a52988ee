"""signoffs: sign-offs of a project, their versions and the issues linked to a module's test
acceptance; an approval's answer may be given with remarks

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _string(length: int) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    with op.batch_alter_table("approvalanswer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("remarks", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    op.create_table(
        "signoffsettings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _string(32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", name="uq_signoffsettings_project"),
    )
    with op.batch_alter_table("signoffsettings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signoffsettings_team_id"), ["team_id"], unique=False)

    op.create_table(
        "signoff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _string(32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", _string(16), nullable=False),
        sa.Column("title", _string(150), nullable=False),
        sa.Column("module", _string(120), nullable=True),
        sa.Column("rule", _string(16), nullable=False),
        sa.Column("named_id", _string(32), nullable=True),
        sa.Column("signers", sa.JSON(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", _string(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", _string(32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "number", name="uq_signoff_project_number"),
    )
    with op.batch_alter_table("signoff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signoff_team_id"), ["team_id"], unique=False)
        batch_op.create_index("ix_signoff_project_status", ["project_id", "status"], unique=False)

    op.create_table(
        "signoffversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _string(32), nullable=False),
        sa.Column("signoff_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", _string(3000), nullable=True),
        sa.Column("link", _string(500), nullable=True),
        sa.Column("created_by", _string(32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["signoff_id"], ["signoff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("signoff_id", "version", name="uq_signoffversion"),
    )
    with op.batch_alter_table("signoffversion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signoffversion_team_id"), ["team_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_signoffversion_signoff_id"), ["signoff_id"], unique=False
        )

    op.create_table(
        "signoffissue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _string(32), nullable=False),
        sa.Column("signoff_id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["issue.id"]),
        sa.ForeignKeyConstraint(["signoff_id"], ["signoff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("signoff_id", "issue_id", name="uq_signoffissue"),
    )
    with op.batch_alter_table("signoffissue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signoffissue_team_id"), ["team_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_signoffissue_signoff_id"), ["signoff_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_signoffissue_issue_id"), ["issue_id"], unique=False)


def downgrade() -> None:
    op.drop_table("signoffissue")
    op.drop_table("signoffversion")
    op.drop_table("signoff")
    op.drop_table("signoffsettings")
    with op.batch_alter_table("approvalanswer", schema=None) as batch_op:
        batch_op.drop_column("remarks")
