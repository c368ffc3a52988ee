"""Steps of poll flow tests: a project with six key users, a poll created through the modals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.ids import PollId
from storage.db import Database
from storage.models import Poll
from tests.conftest import KEY_USERS, PM, PROJECT_CHANNEL
from tests.flows import add_key_user, create_project

# (role, influence, interest) of KEY_USERS[0..5]
KEY_USER_PROFILES = [
    ("sponsor", "high", "high"),
    ("decision_maker", "high", "medium"),
    ("key_user", "medium", "high"),
    ("key_user", "low", "high"),
    ("system_administrator", "medium", "low"),
    ("business_representative", "low", "low"),
]
RATING, NPS, SINGLE, MULTIPLE, TEXT = "rating", "nps", "single", "multiple", "text"


def project_with_key_users(slack: SlackDriver) -> None:
    create_project(slack)
    for user_id, (role, influence, interest) in zip(KEY_USERS, KEY_USER_PROFILES, strict=True):
        add_key_user(slack, user_id, role=role, influence=influence, interest=interest)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def create_poll(
    slack: SlackDriver,
    *,
    questions: list[dict[str, Any]] | None = None,
    by: str = PM,
    channel: str = PROJECT_CHANNEL,
    **settings: Any,
) -> Any:
    """`/poll new` in the project's ``channel``, step 1 with ``settings``, then one submission per
    question; the last creates."""
    slack.slash_command(by, "/poll", "new", channel_id=channel)
    values = {"title": "Monthly pulse", **settings}
    response = slack.submit_view(by, values)
    if (response.json or {}).get("response_action") == "errors":
        return response
    questions = questions if questions is not None else [{"question_kind": RATING}]
    if not questions:
        return slack.submit_view(by, {"then": "create"})
    for index, question in enumerate(questions):
        last = index == len(questions) - 1
        values = {"question_text": f"Question {index + 1}", **question}
        values["then"] = "create" if last else "add"
        response = slack.submit_view(by, values)
        if (response.json or {}).get("response_action") == "errors":
            return response
    return response


def polls_in(database: Database) -> list[Poll]:
    with database.session() as session:
        return list(session.exec(select(Poll).order_by(Poll.id)).all())  # type: ignore[arg-type]


def poll_dm(slack: SlackDriver, user_id: str) -> dict[str, Any]:
    """The poll invitation in the person's DM (the latest message holding a poll button)."""
    for message in reversed(slack.emulator.dm_messages(user_id)):
        if message.get("thread_ts") not in (None, message["ts"]):
            continue
        text = str(message.get("blocks"))
        answered = "Answered, thank you" in text
        if PollId.ANSWER in text or PollId.EDIT in text or answered or "closed" in text.lower():
            return message
    raise AssertionError(f"no poll DM for {user_id}")


def rate_action(message: dict[str, Any], value: int, question_index: int = 0) -> str:
    ids = [
        element["action_id"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("action_id", "").startswith(PollId.RATE_PREFIX)
    ]
    questions = list(dict.fromkeys(action.split(":")[1] for action in ids))
    return f"{PollId.RATE_PREFIX}{questions[question_index]}:{value}"


def project_with_many_key_users(runtime: Any, emulator: Any, count: int) -> list[str]:
    """A project whose PM is ``PM`` and ``count`` key users known to the emulator (fast: through
    the services, not the modals). Returns the key users' ids."""
    from bot.services import keyusers as keyuser_service
    from bot.services import projects as project_service
    from tests.conftest import TEAM

    user_ids = [f"UFAN{index:05d}" for index in range(count)]
    for user_id in user_ids:
        emulator.add_user(user_id, user_id.lower(), real_name=f"Fan {user_id}")
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.create_project(
            ctx=ctx,
            data=project_service.ProjectInput(
                name="Fan-out", code="FAN", channel_id=PROJECT_CHANNEL, pm_ids=[PM]
            ),
        )
        for user_id in user_ids:
            keyuser_service.add_key_user(
                ctx=ctx,
                project=project,
                data=keyuser_service.KeyUserInput(user_id=user_id, display_name=user_id),
            )
    return user_ids


def open_poll_for_everyone(runtime: Any, title: str = "Pulse") -> tuple[int, list[str]]:
    """A named one-question poll opened now for every key user: (poll id, outbox keys)."""
    from bot.services import polls as poll_service
    from bot.services import projects as project_service
    from bot.views.polls import MESSAGES
    from tests.conftest import TEAM

    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "FAN")
        poll, keys = poll_service.create_poll(
            ctx=ctx,
            project=project,
            data=poll_service.PollInput(
                title=title, questions=[poll_service.QuestionInput(RATING, "How is it going?")]
            ),
            messages=MESSAGES,
        )
        return poll.id or 0, keys
