"""Who sees a project's training sessions, and what naming a busy trainer or organizer tells.

Each test plays the people involved through the emulator and the driver, as Slack would deliver it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import TrainingId
from bot.jobs import run_due
from bot.runtime import Runtime
from storage.db import Database
from storage.models import CalendarEvent, Project, TrainingModule
from tests.conftest import OUTSIDER, PM, PM2, PROJECT_CHANNEL
from tests.flows import add_key_user, create_project, last_response, texts
from tests.test_flows_trainings import (
    ANNA,
    BEN,
    CARL,
    SESSION_START,
    click_in_response,
    epoch,
    project_with_curriculum,
    schedule,
)

SECRET_TITLE = "Layoff planning for payroll"
OTHER_CHANNEL = "C0GENERAL"


def module_of(database: Database, code: str, name: str = "System overview") -> int:
    with database.session() as session:
        return session.exec(
            select(TrainingModule.id)
            .join(Project, Project.id == TrainingModule.project_id)  # type: ignore[arg-type]
            .where(Project.code == code, TrainingModule.name == name)
        ).one()


def event_titles(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(session.exec(select(CalendarEvent.title)).all())


def second_project_with_curriculum(slack: SlackDriver) -> None:
    """CRM, run by PM2 alone, with its own curriculum and one key user."""
    create_project(
        slack, PM2, code="CRM", name="CRM rollout", channel_id=OTHER_CHANNEL, pm_ids=[PM2]
    )
    add_key_user(slack, ANNA, by=PM2, code="CRM", role="key_user")
    slack.slash_command(PM2, "/training", "curriculum CRM", channel_id=OTHER_CHANNEL)
    click_in_response(slack, PM2, TrainingId.USE_STANDARD)


# ------------------------------------------------------------- 6. who sees the sessions


def two_sessions(slack: SlackDriver, database: Database) -> None:
    """One session for Anna, and a later one for Ben that Anna is not invited to."""
    schedule(slack, database, title="Invoices for Anna", audience_people=[ANNA])
    later = epoch(SESSION_START + timedelta(days=1))
    schedule(slack, database, title=SECRET_TITLE, audience_people=[BEN], starts_at=later)


def listing(slack: SlackDriver, user: str, span: str = "") -> str:
    slack.slash_command(user, "/training", f"list ERP {span}".strip(), channel_id=PROJECT_CHANNEL)
    return texts([last_response(slack)])


def test_someone_outside_the_project_cannot_list_its_sessions(
    slack: SlackDriver, database: Database
) -> None:
    project_with_curriculum(slack)
    two_sessions(slack, database)
    for span in ("", "week", "all"):
        text = listing(slack, OUTSIDER, span)
        assert "are for its project managers and team" in text
        assert SECRET_TITLE not in text and "Invoices for Anna" not in text


def test_a_key_user_lists_only_the_sessions_they_are_invited_to(
    slack: SlackDriver, database: Database
) -> None:
    project_with_curriculum(slack)
    two_sessions(slack, database)
    for span in ("", "all"):
        anna = listing(slack, ANNA, span)
        assert "Invoices for Anna" in anna and SECRET_TITLE not in anna
    carl = listing(slack, CARL)  # a key user invited to nothing: an empty list, not a refusal
    assert "Invoices for Anna" not in carl and SECRET_TITLE not in carl
    assert "are for its project managers" not in carl
    pm = listing(slack, PM, "all")
    assert "Invoices for Anna" in pm and SECRET_TITLE in pm


def test_the_digest_lists_the_coming_sessions_to_the_pms_but_not_in_the_project_channel(
    slack: SlackDriver,
    database: Database,
    emulator: SlackEmulator,
    runtime: Runtime,
    clock: MovableClock,
) -> None:
    project_with_curriculum(slack)
    schedule(slack, database, title=SECRET_TITLE, audience_people=[BEN])
    clock.set(SESSION_START - timedelta(days=1))  # Monday 09:00 in Berlin, the digest's time
    run_due(runtime)
    digests = [m for m in emulator.messages(PROJECT_CHANNEL) if "Weekly digest" in str(m)]
    to_pm = [m for m in emulator.dm_messages(PM) if "Weekly digest" in str(m)]
    assert len(digests) == 1 and len(to_pm) == 1
    assert SECRET_TITLE not in texts(digests)
    assert SECRET_TITLE in texts(to_pm)


# ------------------------------------------------------------------ 7. a busy trainer


def test_naming_a_busy_trainer_says_only_busy_under_the_trainer_field(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    schedule(slack, database, title=SECRET_TITLE)  # ERP's PM trains at SESSION_START
    second_project_with_curriculum(slack)
    slack.slash_command(PM2, "/training", "new CRM", channel_id=OTHER_CHANNEL)
    values: dict[str, Any] = {
        "module": str(module_of(database, "CRM")),
        "trainer_id": PM,  # PM2 names ERP's PM as the trainer, an hour into PM's session
        "starts_at": epoch(SESSION_START + timedelta(hours=1)),
        "duration": "2",
        "audience_kind": "all",
    }
    response = slack.submit_view(PM2, values)
    assert response.json is not None
    assert response.json["errors"] == {"trainer_id": "This person is busy at that time."}
    assert SECRET_TITLE not in json.dumps(response.json)
    assert SECRET_TITLE not in json.dumps(emulator.dm_messages(PM2))
    assert event_titles(database) == [SECRET_TITLE]  # nothing stored for CRM


def test_an_organizer_busy_with_a_training_is_told_under_the_time_of_the_meeting(
    slack: SlackDriver, database: Database
) -> None:
    project_with_curriculum(slack)
    schedule(slack, database, title=SECRET_TITLE)
    slack.slash_command(PM, "/meeting", "new", channel_id=PROJECT_CHANNEL)
    response = slack.submit_view(
        PM,
        {
            "title": "Steering committee",
            "kind": "working_meeting",
            "starts_at": epoch(SESSION_START + timedelta(minutes=30)),
            "duration": "60",
            "people": [ANNA],
            "repeat": "none",
        },
    )
    assert response.json is not None
    assert response.json["errors"] == {"starts_at": "This person is busy at that time."}
    assert event_titles(database) == [SECRET_TITLE]


def test_moving_a_session_onto_another_of_its_trainer_says_busy_under_the_new_time(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    schedule(slack, database, title=SECRET_TITLE)
    later = schedule(slack, database, starts_at=epoch(SESSION_START + timedelta(days=1)))
    slack.slash_command(PM, "/training", f"reschedule #{later}", channel_id=PROJECT_CHANNEL)
    form = emulator.top_view(PM)
    assert form is not None
    moved = {"starts_at": epoch(SESSION_START + timedelta(hours=1)), "duration": "2"}
    response = slack.submit_view(PM, moved, view=form)
    assert response.json == {
        "response_action": "errors",
        "errors": {"starts_at": "This person is busy at that time."},
    }
    with database.session() as session:
        event = session.get(CalendarEvent, later)
        assert event is not None and event.starts_at == SESSION_START + timedelta(days=1)
