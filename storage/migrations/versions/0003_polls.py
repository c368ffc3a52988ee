"""polls: rounds, questions, participants, named responses, anonymous ballots

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25 05:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types  # noqa: F401

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "poll",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("round_number", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("intro", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("template", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("audience_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("audience_values", sa.JSON(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("recurrence", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("remind_hours", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("opens_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_round_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "series_id", "round_number", name="uq_poll_series_round"),
    )
    op.create_index(op.f("ix_poll_project_id"), "poll", ["project_id"], unique=False)
    op.create_index("ix_poll_status_opens", "poll", ["status", "opens_at"], unique=False)
    op.create_index(op.f("ix_poll_team_id"), "poll", ["team_id"], unique=False)
    op.create_table(
        "pollballot",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["poll.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_pollballot_poll_id"), "pollballot", ["poll_id"], unique=False)
    op.create_index(op.f("ix_pollballot_team_id"), "pollballot", ["team_id"], unique=False)
    op.create_table(
        "pollparticipant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key_user_id", sa.Integer(), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_user_id"],
            ["keyuser.id"],
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["poll.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("poll_id", "user_id", name="uq_poll_participant"),
    )
    op.create_index(
        op.f("ix_pollparticipant_poll_id"), "pollparticipant", ["poll_id"], unique=False
    )
    op.create_index(
        op.f("ix_pollparticipant_team_id"), "pollparticipant", ["team_id"], unique=False
    )
    op.create_table(
        "pollquestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["poll.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_pollquestion_poll_id"), "pollquestion", ["poll_id"], unique=False)
    op.create_index(op.f("ix_pollquestion_team_id"), "pollquestion", ["team_id"], unique=False)
    op.create_table(
        "pollresponse",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key_user_id", sa.Integer(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("submitted_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_user_id"],
            ["keyuser.id"],
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["poll.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("poll_id", "user_id", name="uq_poll_response"),
    )
    op.create_index(op.f("ix_pollresponse_poll_id"), "pollresponse", ["poll_id"], unique=False)
    op.create_index(op.f("ix_pollresponse_team_id"), "pollresponse", ["team_id"], unique=False)


def downgrade() -> None:
    op.drop_table("pollresponse")
    op.drop_table("pollquestion")
    op.drop_table("pollparticipant")
    op.drop_table("pollballot")
    op.drop_table("poll")
