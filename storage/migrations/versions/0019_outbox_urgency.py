"""Outbox urgency: urgent rows (answers to a click, reminders of what starts soon, escalations)
are sent before normal ones, and normal before bulk fan-outs; an index serves the claim.

Rows queued before this revision are normal.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outboxmessage") as batch:
        batch.add_column(sa.Column("urgency", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("outboxmessage") as batch:
        batch.alter_column("urgency", existing_type=sa.Integer(), server_default=None)
        batch.create_index(
            "ix_outbox_claim", ["status", "urgency", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outboxmessage") as batch:
        batch.drop_index("ix_outbox_claim")
        batch.drop_column("urgency")
