"""Anonymous ballots in mixed boxes (no ballot per row); outbox claim tokens; the send budget
shared by every process.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

import random
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    box = op.create_table(
        "ballotbox",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.Column("ballots", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["poll_id"], ["poll.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_ballotbox_poll_id"), "ballotbox", ["poll_id"], unique=False)
    op.create_index(op.f("ix_ballotbox_team_id"), "ballotbox", ["team_id"], unique=False)
    # Existing ballots move into one open box per poll, shuffled; their edit hashes are dropped.
    connection = op.get_bind()
    old = sa.table(
        "pollballot",
        sa.column("team_id", sa.String),
        sa.column("poll_id", sa.Integer),
        sa.column("answers", sa.JSON),
    )
    by_poll: dict[tuple[str, int], list[dict]] = {}
    for team_id, poll_id, answers in connection.execute(
        sa.select(old.c.team_id, old.c.poll_id, old.c.answers)
    ):
        by_poll.setdefault((team_id, poll_id), []).append(answers)
    rows = []
    for (team_id, poll_id), ballots in by_poll.items():
        random.SystemRandom().shuffle(ballots)
        rows.append(
            {
                "id": uuid.uuid4().hex,
                "team_id": team_id,
                "poll_id": poll_id,
                "sealed": False,
                "ballots": ballots,
            }
        )
    if rows:
        op.bulk_insert(box, rows)
    op.drop_index(op.f("ix_pollballot_team_id"), table_name="pollballot")
    op.drop_index(op.f("ix_pollballot_poll_id"), table_name="pollballot")
    op.drop_table("pollballot")
    with op.batch_alter_table("outboxmessage") as batch:
        batch.add_column(
            sa.Column("claim_token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
    op.create_table(
        "ratebucket",
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("paused_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("ratebucket")
    with op.batch_alter_table("outboxmessage") as batch:
        batch.drop_column("claim_token")
    op.create_table(
        "pollballot",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["poll_id"], ["poll.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_pollballot_poll_id"), "pollballot", ["poll_id"], unique=False)
    op.create_index(op.f("ix_pollballot_team_id"), "pollballot", ["team_id"], unique=False)
    op.drop_index(op.f("ix_ballotbox_team_id"), table_name="ballotbox")
    op.drop_index(op.f("ix_ballotbox_poll_id"), table_name="ballotbox")
    op.drop_table("ballotbox")
