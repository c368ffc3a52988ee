"""The scheduled work of trainings (listed in ``bot.jobs.JOB_TABLE``): quiz reminders, closing
quiz rounds (results to whoever sent them), the next round of a weekly quiz, and the feedback
poll after each session ends.

Reminders before sessions and the trainer's roster are the calendar core's (``bot.jobs.calendar``).
State on the rows (``reminded_at``, ``closed_at``, ``feedback_sent_at``) and unique outbox keys
make a second run at the same instant do nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col

from bot.jobs.teams import per_team, teams_found, teams_where
from bot.runtime import Runtime
from bot.services import training_quizzes
from bot.services import training_sessions as session_service
from bot.views.polls import MESSAGES as POLL_MESSAGES
from bot.views.trainings import MESSAGES
from storage.models import QuizRound


def _quiz_teams(runtime: Runtime, *conditions: Any) -> list[str]:
    return teams_where(runtime, QuizRound.team_id, col(QuizRound.closed_at).is_(None), *conditions)


def remind_quizzes(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    teams = _quiz_teams(
        runtime,
        col(QuizRound.reminded_at).is_(None),
        col(QuizRound.remind_hours).is_not(None),
        QuizRound.deadline > now,
    )
    reminded = per_team(
        runtime, teams, lambda ctx: training_quizzes.remind_quizzes(ctx=ctx, messages=MESSAGES)
    )
    return {"reminders": reminded}


def close_quizzes(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    teams = _quiz_teams(runtime, QuizRound.deadline <= now)
    messages = per_team(
        runtime, teams, lambda ctx: training_quizzes.close_quizzes(ctx=ctx, messages=MESSAGES)
    )
    return {"results": messages}


def repeat_quizzes(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    teams = teams_where(
        runtime,
        QuizRound.team_id,
        col(QuizRound.repeat_weekly).is_(True),
        col(QuizRound.next_round_id).is_(None),
        QuizRound.opens_at <= now - timedelta(days=7),
    )
    sent = per_team(
        runtime, teams, lambda ctx: training_quizzes.repeat_quizzes(ctx=ctx, messages=MESSAGES)
    )
    return {"invitations": sent}


def feedback_polls(runtime: Runtime) -> dict[str, Any]:
    teams = teams_found(runtime, session_service.teams_with_ended_sessions)
    invitations = per_team(
        runtime,
        teams,
        lambda ctx: session_service.send_feedback_polls(ctx=ctx, poll_messages=POLL_MESSAGES),
    )
    return {"feedback_invitations": invitations}


EVERY_MINUTE = timedelta(minutes=1)
