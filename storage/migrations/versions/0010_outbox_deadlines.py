"""Outbox deadlines: every row carries the moment it stops being worth sending (``expires_at``)
and what it is (``kind``, its key up to the first colon), for operators.

Rows queued before this revision get a week from when they were queued.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KIND = {
    "postgresql": "UPDATE outboxmessage SET kind = substr(split_part(key, ':', 1), 1, 40)",
    "sqlite": "UPDATE outboxmessage SET kind = substr(key, 1, min(instr(key || ':', ':') - 1, 40))",
}
BACKFILL = {
    "postgresql": "UPDATE outboxmessage SET expires_at = created_at + interval '7 days'",
    # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" text: the same form, so that times compare right.
    "sqlite": "UPDATE outboxmessage SET expires_at = "
    "strftime('%Y-%m-%d %H:%M:%S', created_at, '+7 days') || substr(created_at, 20)",
}


def upgrade() -> None:
    with op.batch_alter_table("outboxmessage") as batch:
        batch.add_column(
            sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "kind",
                sqlmodel.sql.sqltypes.AutoString(length=40),
                nullable=False,
                server_default="",
            )
        )
    dialect = op.get_bind().dialect.name
    op.execute(BACKFILL[dialect])
    op.execute(KIND[dialect])
    with op.batch_alter_table("outboxmessage") as batch:
        batch.alter_column(
            "expires_at", existing_type=storage.types.UTCDateTime(timezone=True), nullable=False
        )
        batch.alter_column(
            "kind", existing_type=sqlmodel.sql.sqltypes.AutoString(length=40), server_default=None
        )


def downgrade() -> None:
    with op.batch_alter_table("outboxmessage") as batch:
        batch.drop_column("kind")
        batch.drop_column("expires_at")
