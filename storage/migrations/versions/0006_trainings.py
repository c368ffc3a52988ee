"""trainings: curriculum modules, quiz banks, rounds and attempts, practical assessments, sessions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types  # noqa: F401

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trainingmodule",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("planned_hours", sa.Float(), nullable=False),
        sa.Column("formats", sa.JSON(), nullable=False),
        sa.Column("audience_roles", sa.JSON(), nullable=False),
        sa.Column("has_practical", sa.Boolean(), nullable=False),
        sa.Column("pass_mark", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "name", name="uq_training_module_name"),
    )
    with op.batch_alter_table("trainingmodule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trainingmodule_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_trainingmodule_team_id"), ["team_id"], unique=False)

    op.create_table(
        "practicalassessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("key_user_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("pass_mark", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("assessed_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("assessed_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_user_id"],
            ["keyuser.id"],
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["trainingmodule.id"],
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("module_id", "key_user_id", "period", name="uq_practical_period"),
    )
    with op.batch_alter_table("practicalassessment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_practicalassessment_module_id"), ["module_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_practicalassessment_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_practicalassessment_team_id"), ["team_id"], unique=False
        )

    op.create_table(
        "quizquestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("correct", sa.JSON(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["trainingmodule.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quizquestion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quizquestion_module_id"), ["module_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quizquestion_team_id"), ["team_id"], unique=False)

    op.create_table(
        "quizround",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("question_ids", sa.JSON(), nullable=False),
        sa.Column("pass_mark", sa.Integer(), nullable=False),
        sa.Column("opens_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("remind_hours", sa.Integer(), nullable=True),
        sa.Column("reminded_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("repeat_weekly", sa.Boolean(), nullable=False),
        sa.Column("next_round_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["trainingmodule.id"],
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quizround", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quizround_module_id"), ["module_id"], unique=False)
        batch_op.create_index("ix_quizround_open_deadline", ["closed_at", "deadline"], unique=False)
        batch_op.create_index(batch_op.f("ix_quizround_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quizround_team_id"), ["team_id"], unique=False)

    op.create_table(
        "trainingsession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("trainer_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("audience_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("audience_values", sa.JSON(), nullable=False),
        sa.Column("feedback_poll_id", sa.Integer(), nullable=True),
        sa.Column("feedback_sent_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["calendarevent.id"],
        ),
        sa.ForeignKeyConstraint(
            ["feedback_poll_id"],
            ["poll.id"],
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["trainingmodule.id"],
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", name="uq_trainingsession_event"),
    )
    with op.batch_alter_table("trainingsession", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trainingsession_module_id"), ["module_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_trainingsession_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_trainingsession_team_id"), ["team_id"], unique=False)

    op.create_table(
        "quizattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key_user_id", sa.Integer(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("missed", sa.JSON(), nullable=False),
        sa.Column("submitted_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["key_user_id"],
            ["keyuser.id"],
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["trainingmodule.id"],
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["quizround.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "user_id", name="uq_quiz_attempt"),
    )
    with op.batch_alter_table("quizattempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quizattempt_module_keyuser", ["module_id", "key_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_quizattempt_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quizattempt_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quizattempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quizattempt_team_id"))
        batch_op.drop_index(batch_op.f("ix_quizattempt_round_id"))
        batch_op.drop_index("ix_quizattempt_module_keyuser")

    op.drop_table("quizattempt")
    with op.batch_alter_table("trainingsession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trainingsession_team_id"))
        batch_op.drop_index(batch_op.f("ix_trainingsession_project_id"))
        batch_op.drop_index(batch_op.f("ix_trainingsession_module_id"))

    op.drop_table("trainingsession")
    with op.batch_alter_table("quizround", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quizround_team_id"))
        batch_op.drop_index(batch_op.f("ix_quizround_project_id"))
        batch_op.drop_index("ix_quizround_open_deadline")
        batch_op.drop_index(batch_op.f("ix_quizround_module_id"))

    op.drop_table("quizround")
    with op.batch_alter_table("quizquestion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quizquestion_team_id"))
        batch_op.drop_index(batch_op.f("ix_quizquestion_module_id"))

    op.drop_table("quizquestion")
    with op.batch_alter_table("practicalassessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practicalassessment_team_id"))
        batch_op.drop_index(batch_op.f("ix_practicalassessment_project_id"))
        batch_op.drop_index(batch_op.f("ix_practicalassessment_module_id"))

    op.drop_table("practicalassessment")
    with op.batch_alter_table("trainingmodule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trainingmodule_team_id"))
        batch_op.drop_index(batch_op.f("ix_trainingmodule_project_id"))

    op.drop_table("trainingmodule")
