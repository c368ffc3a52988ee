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

from sqlmodel import col, select

from bot.runtime import Runtime
from bot.services import training_quizzes
from bot.services import training_sessions as session_service
from bot.views.polls import MESSAGES as POLL_MESSAGES
from bot.views.trainings import MESSAGES
from storage.models import QuizRound


def _quiz_teams(runtime: Runtime, *conditions: Any) -> list[str]:
    with runtime.database.session() as session:
        rows = session.exec(
            select(QuizRound.team_id).where(col(QuizRound.closed_at).is_(None), *conditions)
        ).all()
        return sorted(set(rows))


def remind_quizzes(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    reminded = 0
    teams = _quiz_teams(
        runtime,
        col(QuizRound.reminded_at).is_(None),
        col(QuizRound.remind_hours).is_not(None),
        QuizRound.deadline > now,
    )
    for team_id in teams:
        with runtime.unit(team_id) as ctx:
            reminded += len(training_quizzes.remind_quizzes(ctx=ctx, messages=MESSAGES))
    return {"reminders": reminded}


def close_quizzes(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    messages = 0
    for team_id in _quiz_teams(runtime, QuizRound.deadline <= now):
        with runtime.unit(team_id) as ctx:
            messages += len(training_quizzes.close_quizzes(ctx=ctx, messages=MESSAGES))
    return {"results": messages}


def repeat_quizzes(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    with runtime.database.session() as session:
        teams = session.exec(
            select(QuizRound.team_id).where(
                col(QuizRound.repeat_weekly).is_(True),
                col(QuizRound.next_round_id).is_(None),
                QuizRound.opens_at <= now - timedelta(days=7),
            )
        ).all()
    sent = 0
    for team_id in sorted(set(teams)):
        with runtime.unit(team_id) as ctx:
            sent += len(training_quizzes.repeat_quizzes(ctx=ctx, messages=MESSAGES))
    return {"invitations": sent}


def feedback_polls(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    with runtime.database.session() as session:
        teams = session_service.teams_with_ended_sessions(session, now)
    invitations = 0
    for team_id in teams:
        with runtime.unit(team_id) as ctx:
            invitations += len(
                session_service.send_feedback_polls(ctx=ctx, poll_messages=POLL_MESSAGES)
            )
    return {"feedback_invitations": invitations}


EVERY_MINUTE = timedelta(minutes=1)
