"""Anonymous ballots in mixed boxes (no ballot per row); encrypted installation tokens; outbox
claim tokens and a shared send budget.

Revision ID: 0009
Revises: 0004
Create Date: 2026-11-25
"""

import random
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0004"
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


def downgrade() -> None:
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
