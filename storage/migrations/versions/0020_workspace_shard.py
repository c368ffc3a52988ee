"""workspace shard: each workspace's stable hash (CRC-32 of its team id), by which sharded
schedulers split the workspaces between them

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

import zlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shard_hash", sa.Integer(), nullable=False, server_default="0")
        )
    connection = op.get_bind()
    workspace = sa.table("workspace", sa.column("team_id", sa.String), sa.column("shard_hash"))
    teams = connection.execute(sa.select(workspace.c.team_id)).scalars().all()
    if teams:
        # The same hash as bot.shards.shard_hash (kept here as it was when this revision was made).
        connection.execute(
            workspace.update()
            .where(workspace.c.team_id == sa.bindparam("team"))
            .values(shard_hash=sa.bindparam("hashed")),
            [
                {"team": team, "hashed": zlib.crc32(team.encode("utf-8")) & 0x7FFFFFFF}
                for team in teams
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("shard_hash")
