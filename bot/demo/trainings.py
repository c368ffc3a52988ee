"""Act: trainings. The PM starts from the standard curriculum and schedules a one-day session of 2
seats for three key users: the third waits, a decline gives her the seat. Reminders, the trainer's
roster, check-in and the trainer's roll call follow; after the session the feedback poll goes to
those who came. A quiz is scored at once, a practical assessment recorded, and the readiness
matrix and its heatmap close the act. The heatmap is saved next to the demo database.

Nothing here depends on the project's language: with ``LIAISON_LOCALE=zh-CN`` the same act plays
in Chinese.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from sqlmodel import select

from bot.demo.stage import CHANNEL, CONSULTANT, PM, Stage
from bot.ids import CalendarId, TrainingId
from bot.jobs import run_due
from storage.models import CalendarEvent, TrainingModule

ANNA, WEI, LUCAS = "UANA0003", "UWEI0004", "ULUC0005"
SESSION_STARTS = time(9, 0)  # wall-clock time in the project's timezone, as are the ones below
QUIZ_DUE = time(17, 0)


def _response(stage: Stage) -> dict[str, Any]:
    return {**stage.emulator.responses[-1], "ts": "1.0"}


def _click_in_response(stage: Stage, user_id: str, action_id: str, **kwargs: Any) -> None:
    stage.slack.block_action(
        user_id, action_id, message=_response(stage), channel_id=CHANNEL, **kwargs
    )


def _modules(stage: Stage) -> list[TrainingModule]:
    with stage.database.session() as session:
        return list(session.exec(select(TrainingModule).order_by(TrainingModule.position)).all())  # type: ignore[arg-type]


def _invitation(stage: Stage, user_id: str, event_id: int) -> dict[str, Any]:
    for message in reversed(stage.emulator.dm_messages(user_id)):
        blocks = str(message.get("blocks"))
        if CalendarId.RSVP_PREFIX in blocks and f'"e":{event_id}' in blocks.replace(" ", ""):
            return message
    raise LookupError(f"no invitation for {user_id}")


def _quiz_message(stage: Stage, user_id: str) -> dict[str, Any]:
    for message in reversed(stage.emulator.dm_messages(user_id)):
        if TrainingId.TAKE_QUIZ in str(message.get("blocks")):
            return message
    raise LookupError(f"no quiz for {user_id}")


def _take_quiz(stage: Stage, user_id: str, picks: list[Any]) -> None:
    stage.slack.click(user_id, TrainingId.TAKE_QUIZ, message=_quiz_message(stage, user_id))
    view = stage.emulator.top_view(user_id)
    assert view is not None
    inputs = [b["block_id"] for b in view["blocks"] if b.get("type") == "input"]
    stage.slack.submit_view(user_id, dict(zip(inputs, picks, strict=True)))


def play(stage: Stage) -> None:
    slack, emulator = stage.slack, stage.emulator
    t = stage.t
    stage.act(t("demo.trainings.title"))

    stage.command(
        PM,
        t("demo.trainings.curriculum", channel=t("demo.data.channel")),
        "/training",
        "curriculum",
    )
    stage.step(PM, t("demo.trainings.standard"))
    slack.click(PM, TrainingId.USE_STANDARD, view=emulator.top_view(PM))
    stage.show_new_messages()
    overview, basic = _modules(stage)[:2]

    # The session starts at 09:00 in the project's timezone on the second working day from now.
    start = stage.instant(stage.working_day(stage.local_today(), 2), SESSION_STARTS)
    stage.step(PM, t("demo.trainings.new"))
    slack.slash_command(PM, "/training", "new", channel_id=CHANNEL)
    stage.show_view(emulator.open_views(PM)[-1])
    slack.submit_view(
        PM,
        {
            "module": str(overview.id),
            "trainer_id": CONSULTANT,
            "starts_at": int(start.timestamp()),
            "duration": "8",
            "capacity": "2",
            "location": t("demo.trainings.place"),
            "audience_kind": "people",
            "audience_people": [ANNA, WEI, LUCAS],
            "reminders": ["1440", "60"],
        },
    )
    stage.show_new_messages()
    with stage.database.session() as session:
        event_id = max(session.exec(select(CalendarEvent.id)).all() or [0]) or 0

    accept, decline = f"{CalendarId.RSVP_PREFIX}accepted", f"{CalendarId.RSVP_PREFIX}declined"
    for user_id in (ANNA, WEI, LUCAS):
        stage.step(user_id, t("demo.trainings.accepts"))
        slack.click(user_id, accept, message=_invitation(stage, user_id, event_id))
        stage.show_new_messages()
    stage.step(WEI, t("demo.trainings.declines"))
    slack.click(WEI, decline, message=_invitation(stage, WEI, event_id))
    stage.show_new_messages()

    stage.clock.set(start - timedelta(hours=23, minutes=30))
    stage.step("scheduler", t("demo.trainings.day_before"))
    run_due(stage.runtime)
    stage.show_new_messages()

    stage.clock.set(start - timedelta(minutes=5))
    stage.step(ANNA, t("demo.trainings.checks_in"))
    slack.click(ANNA, CalendarId.CHECK_IN, message=_invitation(stage, ANNA, event_id))
    stage.show_new_messages()
    stage.clock.set(start + timedelta(minutes=25))
    stage.step(CONSULTANT, t("demo.trainings.roll_call"))
    slack.slash_command(CONSULTANT, "/training", "roster 1", channel_id=CHANNEL)  # first session
    stage.show_new_messages()
    _click_in_response(stage, CONSULTANT, TrainingId.ROLL_CALL)
    stage.show_view(emulator.open_views(CONSULTANT)[-1])
    slack.submit_view(CONSULTANT, {f"att:{LUCAS}": "late"})
    stage.show_new_messages()

    stage.clock.set(start + timedelta(hours=8, minutes=5))
    stage.step("scheduler", t("demo.trainings.over"))
    run_due(stage.runtime)
    stage.show_new_messages()

    stage.step(PM, t("demo.trainings.questions"))
    questions = [
        ("single", t("demo.trainings.q1"), t("demo.trainings.q1_options")),
        ("multiple", t("demo.trainings.q2"), t("demo.trainings.q2_options")),
    ]
    for index, (kind, text, options) in enumerate(questions):
        slack.slash_command(PM, "/training", "question", channel_id=CHANNEL)
        if index == 0:
            stage.show_view(emulator.open_views(PM)[-1])
        slack.submit_view(
            PM, {"module": str(overview.id), "kind": kind, "text": text, "options": options}
        )
    stage.show_new_messages()
    quiz_due = stage.working_day(stage.local_today(), 3)
    stage.step(PM, t("demo.trainings.quiz"))
    slack.slash_command(PM, "/training", "quiz", channel_id=CHANNEL)
    slack.submit_view(
        PM,
        {
            "module": str(overview.id),
            "deadline": int(stage.instant(quiz_due, QUIZ_DUE).timestamp()),
            "remind_hours": "24",
        },
    )
    stage.show_new_messages()
    stage.step(ANNA, t("demo.trainings.anna_quiz"))
    _take_quiz(stage, ANNA, ["0", ["0", "2"]])
    stage.show_new_messages()
    stage.step(LUCAS, t("demo.trainings.lucas_quiz"))
    _take_quiz(stage, LUCAS, ["0", ["0"]])
    stage.show_new_messages()

    stage.step(PM, t("demo.trainings.practical", who=stage.name(ANNA)))
    slack.slash_command(PM, "/training", "practical", channel_id=CHANNEL)
    slack.submit_view(
        PM,
        {
            "module": str(basic.id),
            "user_id": ANNA,
            "score": "80",
            "comment": t("demo.trainings.practical_comment"),
        },
    )
    stage.show_new_messages()

    stage.command(PM, t("demo.trainings.readiness"), "/training", "readiness")
    stage.command(PM, t("demo.trainings.heatmap"), "/training", "heatmap")
    stage.save_last_file(
        "-readiness.png",
        "-readiness.png",
        "demo.trainings.heatmap_saved",
        "demo.trainings.heatmap_note",
    )

    stage.home(ANNA, t("demo.trainings.home"))
