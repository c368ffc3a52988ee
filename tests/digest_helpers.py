"""Known data for digest tests: issues, poll rounds and answers written as rows at chosen times."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from bot.services import keyusers, projects
from bot.services.context import Ctx
from bot.services.keyusers import KeyUserInput
from bot.services.projects import ProjectInput
from storage.models import (
    BallotBox,
    CalendarEvent,
    Invitation,
    Issue,
    Poll,
    PollParticipant,
    PollQuestion,
    PollResponse,
    Project,
)
from tests.conftest import KEY_USERS, PM, PROJECT_CHANNEL


def make_project(
    ctx: Ctx,
    *,
    code: str = "ERP",
    timezone: str = "Europe/Berlin",
    weekday: int = 0,
    at: str = "09:00",
    channel: str | None = PROJECT_CHANNEL,
    key_users: list[str] | None = None,
    locale: str = "en",
) -> Project:
    project = projects.create_project(
        ctx=ctx,
        data=ProjectInput(
            name="S/4HANA rollout",
            code=code,
            pm_ids=[PM],
            timezone=timezone,
            channel_id=channel,
            digest_weekday=weekday,
            digest_time=at,
            locale=locale,
        ),
    )
    for user in KEY_USERS[:4] if key_users is None else key_users:
        keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=user))
    ctx.session.flush()
    return project


def add_issue(
    ctx: Ctx,
    project: Project,
    number: int,
    *,
    created: datetime,
    reporter: str = KEY_USERS[0],
    owner: str | None = None,
    status: str = "new",
    first_response: datetime | None = None,
    first_response_due: datetime | None = None,
    resolved: datetime | None = None,
    due: datetime | None = None,
    title: str | None = None,
    priority: str = "P3",
) -> Issue:
    due = due or created + timedelta(days=3)
    issue = Issue(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        number=number,
        title=title or f"Issue {number}",
        kind="issue",
        priority=priority,
        status=status,
        reporter_id=reporter,
        owner_id=owner,
        created_by=reporter,
        due_date=due.date(),
        due_at=due,
        first_response_due_at=first_response_due or created + timedelta(hours=24),
        first_response_at=first_response,
        resolved_at=resolved,
        created_at=created,
        updated_at=created,
    )
    ctx.session.add(issue)
    ctx.session.flush()
    return issue


def add_round(
    ctx: Ctx,
    project: Project,
    *,
    series: str,
    number: int,
    opens: datetime,
    answers: dict[str, dict[str, int]],
    invited: list[str] | None = None,
    anonymous: bool = False,
    title: str = "Monthly pulse",
    status: str = "closed",
) -> Poll:
    """A closed round with a rating and an NPS question; ``answers``: user -> {"rating", "nps"}."""
    poll = Poll(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        series_id=series,
        round_number=number,
        title=title,
        anonymous=anonymous,
        recurrence="monthly",
        status=status,
        opens_at=opens,
        closes_at=opens + timedelta(days=3),
        opened_at=opens,
        closed_at=opens + timedelta(days=3),
        created_by=PM,
        created_at=opens,
    )
    ctx.session.add(poll)
    ctx.session.flush()
    rating = PollQuestion(
        team_id=ctx.team_id,
        poll_id=poll.id or 0,
        position=1,
        kind="rating",
        text="How satisfied are you?",
    )
    nps = PollQuestion(
        team_id=ctx.team_id,
        poll_id=poll.id or 0,
        position=2,
        kind="nps",
        text="Would you recommend it?",
    )
    ctx.session.add(rating)
    ctx.session.add(nps)
    ctx.session.flush()
    for user in invited if invited is not None else list(answers):
        ctx.session.add(
            PollParticipant(
                team_id=ctx.team_id, poll_id=poll.id or 0, user_id=user, answered=user in answers
            )
        )
    ballots = []
    for user, values in answers.items():
        stored: dict[str, Any] = {}
        if "rating" in values:
            stored[str(rating.id)] = values["rating"]
        if "nps" in values:
            stored[str(nps.id)] = values["nps"]
        if anonymous:
            ballots.append(stored)
        else:
            ctx.session.add(
                PollResponse(
                    team_id=ctx.team_id,
                    poll_id=poll.id or 0,
                    user_id=user,
                    answers=stored,
                    submitted_at=opens,
                    updated_at=opens,
                )
            )
    if ballots:
        ctx.session.add(
            BallotBox(
                id=uuid.uuid4().hex, team_id=ctx.team_id, poll_id=poll.id or 0, ballots=ballots
            )
        )
    ctx.session.flush()
    return poll


def add_event(
    ctx: Ctx,
    project: Project,
    *,
    kind: str,
    title: str,
    starts: datetime,
    answers: dict[str, str] | None = None,
    attendance: dict[str, str] | None = None,
) -> CalendarEvent:
    """A calendar event of the core with invitations (``answers``: user -> response)."""
    event = CalendarEvent(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        kind=kind,
        title=title,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        timezone=project.timezone,
        organizer_id=PM,
        uid=uuid.uuid4().hex,
        created_by=PM,
        created_at=starts - timedelta(days=10),
        updated_at=starts - timedelta(days=10),
    )
    ctx.session.add(event)
    ctx.session.flush()
    people = set(answers or {}) | set(attendance or {})
    for user in sorted(people):
        ctx.session.add(
            Invitation(
                team_id=ctx.team_id,
                event_id=event.id or 0,
                user_id=user,
                response=(answers or {}).get(user, "accepted"),
                invited_at=starts - timedelta(days=10),
                attendance=(attendance or {}).get(user),
            )
        )
    ctx.session.flush()
    return event
