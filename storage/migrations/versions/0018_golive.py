"""golive: each project's go-live gate thresholds, and the gate kept with each version of a
go-live sign-off

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "golivesettings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("key_user_go", sa.Integer(), nullable=False),
        sa.Column("key_user_at_risk", sa.Integer(), nullable=False),
        sa.Column("end_user_go", sa.Integer(), nullable=False),
        sa.Column("end_user_at_risk", sa.Integer(), nullable=False),
        sa.Column("p2_margin", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", name="uq_golivesettings_project"),
    )
    with op.batch_alter_table("golivesettings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_golivesettings_team_id"), ["team_id"], unique=False)
    with op.batch_alter_table("signoffversion", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gate", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signoffversion", schema=None) as batch_op:
        batch_op.drop_column("gate")
    with op.batch_alter_table("golivesettings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_golivesettings_team_id"))
    op.drop_table("golivesettings")
