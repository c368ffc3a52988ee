"""decisions: each project's decision log and its counter; the decisions already recorded in
meeting outcomes are copied in, so the log is complete from the start

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decisionsettings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", name="uq_decisionsettings_project"),
    )
    with op.batch_alter_table("decisionsettings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisionsettings_team_id"), ["team_id"], unique=False)

    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
        sa.Column("decided_by", sa.JSON(), nullable=False),
        sa.Column("decided_by_names", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.Column("risk_id", sa.Integer(), nullable=True),
        sa.Column("issue_id", sa.Integer(), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("recorded_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["change_id"], ["changerequest.id"]),
        sa.ForeignKeyConstraint(["issue_id"], ["issue.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["risk_id"], ["risk.id"]),
        sa.ForeignKeyConstraint(["supersedes_id"], ["decision.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "number", name="uq_decision_project_number"),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_change_id"), ["change_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_issue_id"), ["issue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_risk_id"), ["risk_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_team_id"), ["team_id"], unique=False)
        batch_op.create_index(
            "ix_decision_project_decided_on", ["project_id", "decided_on"], unique=False
        )
        batch_op.create_index(
            "ix_decision_source", ["team_id", "source", "source_id"], unique=False
        )
        batch_op.create_index("ix_decision_supersedes", ["supersedes_id"], unique=False)

    copy_meeting_decisions()


# Only the columns the data step reads and writes, typed so both stores hand back the same values.
_outcome = sa.table(
    "meetingoutcome",
    sa.column("team_id", sa.String()),
    sa.column("project_id", sa.Integer()),
    sa.column("event_id", sa.Integer()),
    sa.column("attended", sa.JSON()),
    sa.column("decisions", sa.JSON()),
    sa.column("recorded_by", sa.String()),
    sa.column("recorded_at", storage.types.UTCDateTime()),
)
_event = sa.table(
    "calendarevent",
    sa.column("id", sa.Integer()),
    sa.column("organizer_id", sa.String()),
    sa.column("starts_at", storage.types.UTCDateTime()),
)
_project = sa.table("project", sa.column("id", sa.Integer()), sa.column("timezone", sa.String()))
_decision = sa.table(
    "decision",
    sa.column("team_id", sa.String()),
    sa.column("project_id", sa.Integer()),
    sa.column("number", sa.Integer()),
    sa.column("text", sa.String()),
    sa.column("decided_by", sa.JSON()),
    sa.column("decided_on", sa.Date()),
    sa.column("source", sa.String()),
    sa.column("source_id", sa.Integer()),
    sa.column("recorded_by", sa.String()),
    sa.column("recorded_at", storage.types.UTCDateTime()),
)
_settings = sa.table(
    "decisionsettings",
    sa.column("team_id", sa.String()),
    sa.column("project_id", sa.Integer()),
    sa.column("next_number", sa.Integer()),
)


def copy_meeting_decisions() -> None:
    """Every decision of every recorded outcome becomes a log entry, as recording it now would
    make it: decided by those who attended (else the organizer), on the meeting's local date,
    numbered per project in the order of the meetings. One read, one insert per table."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            _outcome.c.team_id,
            _outcome.c.project_id,
            _outcome.c.event_id,
            _outcome.c.attended,
            _outcome.c.decisions,
            _outcome.c.recorded_by,
            _outcome.c.recorded_at,
            _event.c.organizer_id,
            _event.c.starts_at,
            _project.c.timezone,
        )
        .select_from(_outcome)
        .join(_event, _event.c.id == _outcome.c.event_id)
        .join(_project, _project.c.id == _outcome.c.project_id)
        .order_by(_outcome.c.project_id, _event.c.starts_at, _event.c.id)
    ).all()
    entries: list[dict] = []
    counters: dict[int, tuple[str, int]] = {}
    for team, project, event, attended, decisions, by, at, organizer, starts, zone in rows:
        for text in decisions or []:
            if not str(text).strip():
                continue
            number = counters.get(project, (team, 0))[1] + 1
            counters[project] = (team, number)
            entries.append(
                {
                    "team_id": team,
                    "project_id": project,
                    "number": number,
                    "text": str(text)[:3000],
                    "decided_by": sorted(attended or []) or [organizer],
                    "decided_on": starts.astimezone(ZoneInfo(zone or "UTC")).date(),
                    "source": "meeting",
                    "source_id": event,
                    "recorded_by": by,
                    "recorded_at": at,
                }
            )
    if entries:
        connection.execute(_decision.insert(), entries)
        connection.execute(
            _settings.insert(),
            [
                {"team_id": team, "project_id": project, "next_number": number + 1}
                for project, (team, number) in counters.items()
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_supersedes")
        batch_op.drop_index("ix_decision_source")
        batch_op.drop_index("ix_decision_project_decided_on")
        batch_op.drop_index(batch_op.f("ix_decision_team_id"))
        batch_op.drop_index(batch_op.f("ix_decision_risk_id"))
        batch_op.drop_index(batch_op.f("ix_decision_issue_id"))
        batch_op.drop_index(batch_op.f("ix_decision_change_id"))
    op.drop_table("decision")
    with op.batch_alter_table("decisionsettings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisionsettings_team_id"))
    op.drop_table("decisionsettings")
