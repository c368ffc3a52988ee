"""Digest claims name the week a digest covers (the ISO week that ended before it was sent), no
longer the week it was sent in: every claim moves one week back.

Without this, the first digest after the upgrade would find the claim its predecessor left under
the same label and be skipped. Rows move oldest first, so no two of one project share a week on
the way (the unique constraint holds at every step).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def shifted(week: str, weeks: int) -> str:
    """``2026-W49`` moved by ``weeks`` ISO weeks (``2026-W48`` for -1; across years too)."""
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 1) + timedelta(weeks=weeks)
    iso_year, iso_week, _ = monday.isocalendar()
    return f"{iso_year}-W{iso_week:02d}"


def _move(weeks: int) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, week FROM digestrun")).all()
    # Backwards, the oldest first; forwards, the newest first: never onto a row not yet moved.
    for row_id, week in sorted(rows, key=lambda row: row[1], reverse=weeks > 0):
        connection.execute(
            sa.text("UPDATE digestrun SET week = :week WHERE id = :id"),
            {"week": shifted(week, weeks), "id": row_id},
        )


def upgrade() -> None:
    _move(-1)


def downgrade() -> None:
    _move(+1)
