"""notification preferences: what each person chooses to receive

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notificationpreference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reminders", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("morning_hour", sa.Integer(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("quiet_days", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "person_id", name="uq_notificationpref_person"),
    )
    with op.batch_alter_table("notificationpreference", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notificationpreference_team_id"), ["team_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notificationpreference", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notificationpreference_team_id"))
    op.drop_table("notificationpreference")
