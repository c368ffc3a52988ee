"""Contacts are people talking to people, and a PM hears about engagement debt at most once in
any seven days: through the signed-request driver, with the scheduler's jobs run at chosen
instants."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.jobs import run_due
from bot.jobs.meetings import NUDGE_EVERY
from bot.runtime import Runtime
from bot.services import engagement
from bot.services import projects as project_service
from storage.db import Database
from storage.models import Interaction
from tests.conftest import KEY_USERS, PM, TEAM
from tests.digest_helpers import add_issue
from tests.flows import add_key_user, create_project, texts

PRIYA = KEY_USERS[0]


def home_line(slack: SlackDriver, user: str) -> str:
    slack.open_home(PM)
    [line] = [
        part
        for part in texts([slack.emulator.home(PM)]).split("\n")
        if part.startswith(f"<@{user}>") or part.startswith(f":warning: <@{user}>")
    ]
    return line


def last_contact_shown(slack: SlackDriver, user: str) -> int | None:
    """The last contact the PM's Home tab shows for ``user`` (a Slack date's timestamp)."""
    line = home_line(slack, user)
    if "none since" in line:
        return None
    found = re.search(r"<!date\^(\d+)\^", line)
    assert found, line
    return int(found[1])


def test_an_escalation_is_no_contact_but_a_pms_reply_to_the_key_users_issue_is(
    slack: SlackDriver, runtime: Runtime, clock: Any, database: Database
) -> None:
    create_project(slack)
    add_key_user(slack, PRIYA)
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        add_issue(
            ctx,
            project,
            1,
            created=clock.now(),
            reporter=PRIYA,
            owner=PM,
            first_response_due=clock.now() + timedelta(hours=4),
            due=clock.now() + timedelta(days=10),
        )
    clock.advance(timedelta(days=1))
    run_due(runtime)  # the missed first response is escalated to the PMs
    with database.session() as session:
        escalated = session.exec(
            select(Interaction).where(Interaction.kind == "issue.escalated")
        ).all()
    assert len(escalated) == 1 and escalated[0].key_user_id is not None
    assert last_contact_shown(slack, PRIYA) is None  # nobody spoke to her
    # The key user adds to her own issue: still nobody spoke to her.
    slack.slash_command(PRIYA, "/issue", "ERP-1 update Still blocked, please look")
    with database.session() as session:
        assert session.exec(
            select(Interaction).where(
                Interaction.kind == "issue.update", Interaction.actor_id == PRIYA
            )
        ).one()
    assert last_contact_shown(slack, PRIYA) is None
    clock.advance(timedelta(hours=3))
    replied_at = clock.now()
    slack.slash_command(PM, "/issue", "ERP-1 ack")
    assert last_contact_shown(slack, PRIYA) == int(replied_at.timestamp())
    # A later escalation (the resolution time passing) does not move it either.
    clock.advance(timedelta(days=10))
    run_due(runtime)
    with database.session() as session:
        kinds = session.exec(
            select(Interaction.kind).where(Interaction.kind == "issue.escalated")
        ).all()
    assert len(kinds) == 2
    assert last_contact_shown(slack, PRIYA) == int(replied_at.timestamp())


def nudges(slack: SlackDriver) -> list[dict]:
    return [m for m in slack.emulator.dm_messages(PM) if "engagement debt" in texts([m])]


def test_a_pm_is_nudged_at_most_once_in_any_seven_days_even_across_a_new_week(
    slack: SlackDriver, runtime: Runtime, clock: Any
) -> None:
    create_project(slack)
    add_key_user(slack, PRIYA, influence="high", interest="high")  # every 7 days
    friday = datetime(2027, 1, 8, 9, 0, tzinfo=UTC)  # 10:00 in Berlin, the workspace's zone
    clock.set(friday)
    run_due(runtime)
    assert len(nudges(slack)) == 1
    for later in (timedelta(days=3), timedelta(days=5), timedelta(days=6, hours=23)):
        clock.set(friday + later)  # Monday, Wednesday, Friday morning: a new ISO week
        run_due(runtime)
        assert len(nudges(slack)) == 1, later
    clock.set(friday + timedelta(days=7))
    run_due(runtime)
    assert len(nudges(slack)) == 2


def test_the_readme_says_what_these_tests_check() -> None:
    readme = " ".join((Path(__file__).parent.parent / "README.md").read_text().split())
    assert NUDGE_EVERY == timedelta(days=7)
    assert "each PM gets at most one DM in any seven days" in readme
    assert "a PM nudged on Friday is not nudged again on Monday" in readme
    assert engagement.ISSUE_REPLIES == ("issue.ack", "issue.start", "issue.update", "issue.resolve")
    assert "a PM's or team member's reply to the key user's issue (acknowledged, started," in readme
    assert "a meeting or training session the key user attended" in readme
    assert "What the bot does by itself (reminders, escalations, closing an unanswered issue)" in (
        readme
    )
