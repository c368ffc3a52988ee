"""Act: final preparation and the go-live gate. The PM moves the project to final preparation,
adds MM and FI to the curriculum and registers their end users; Tom trains the key users in both,
Wei and Anna train their end users (three of Wei's miss it) and Wei logs a P2 issue in MM. The
gate shows FI go and MM at risk. Wei trains the three who missed and takes the roll by name, the
issue is resolved, Wei signs off MM's user acceptance test, the gate shows MM go, and the sponsor
signs the go-live sign-off, whose DM shows the gate as it stood.

In the demo's language (``demo.golive`` catalog), like every act.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlmodel import col, select

from bot.demo.stage import CHANNEL, CONSULTANT, PM, Stage
from bot.ids import ApprovalId, ChecklistId, IssueId, TrainingId
from storage.models import EndUser, Issue, TrainingModule, TrainingSession

ANNA, WEI, MARIA, PRIYA = "UANA0003", "UWEI0004", "UMAR0006", "UPRI0008"
MM_END_USERS, FI_END_USERS, MISSED = 10, 4, 3  # three of MM's miss the first session
HOURS = 4  # each module's planned hours, and each end-user session's length


def _buttons(message: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    found = []
    for block in message.get("blocks") or []:
        elements = list(block.get("elements") or []) + [block.get("accessory") or {}]
        found += [e for e in elements if e.get("action_id") == action_id]
    return found


def _module_id(stage: Stage, name: str) -> int:
    with stage.database.session() as session:
        module = session.exec(select(TrainingModule).where(TrainingModule.name == name)).one()
        return module.id or 0


def _latest_session(stage: Stage) -> int:
    """The number `/training list` shows for the session just planned: the project's sessions
    are numbered in the order they were made."""
    with stage.database.session() as session:
        return len(session.exec(select(TrainingSession.id)).all())


def _end_users(stage: Stage, module: str) -> list[int]:
    with stage.database.session() as session:
        return list(
            session.exec(
                select(EndUser.number)
                .join(TrainingModule, col(TrainingModule.id) == col(EndUser.module_id))
                .where(TrainingModule.name == module, col(EndUser.removed_at).is_(None))
                .order_by(col(EndUser.number))
            ).all()
        )


def _quiz_message(stage: Stage, user_id: str) -> dict[str, Any]:
    for message in reversed(stage.emulator.dm_messages(user_id)):
        if TrainingId.TAKE_QUIZ in str(message.get("blocks")):
            return message
    raise LookupError(f"no quiz for {user_id}")


def _key_user_training(stage: Stage, starts: datetime) -> None:
    """Tom trains the key users in MM (Wei and Priya, the key-user role) and FI (Anna, the
    decision maker), takes the roll and gives each module a one-question quiz that all pass:
    through the forms, shown as one step."""
    slack, t = stage.slack, stage.t
    stage.step(CONSULTANT, t("demo.golive.key_user_training"))
    trainees = {"MM": [WEI, PRIYA], "FI": [ANNA]}
    numbers = {}
    for index, (module, people) in enumerate(trainees.items()):
        begins = starts + timedelta(hours=index * (HOURS + 1))  # one after the other
        slack.slash_command(CONSULTANT, "/training", "new ERP", channel_id=CHANNEL)
        slack.submit_view(
            CONSULTANT,
            {
                "module": str(_module_id(stage, module)),
                "trainer_id": CONSULTANT,
                "starts_at": int(begins.timestamp()),
                "duration": str(HOURS),
                "capacity": "10",
                "location": t("demo.trainings.place"),
                "audience_kind": "people",
                "audience_people": people,
                "reminders": [],
            },
        )
        numbers[module] = _latest_session(stage)
    stage.clock.set(starts + timedelta(hours=2 * HOURS + 1, minutes=5))
    for module, people in trainees.items():
        slack.slash_command(
            CONSULTANT, "/training", f"attendance ERP {numbers[module]}", channel_id=CHANNEL
        )
        slack.submit_view(CONSULTANT, {f"att:{person}": "present" for person in people})
        module_id = str(_module_id(stage, module))
        slack.slash_command(CONSULTANT, "/training", "question ERP", channel_id=CHANNEL)
        slack.submit_view(
            CONSULTANT,
            {
                "module": module_id,
                "kind": "single",
                "text": t(f"demo.golive.question_{module.lower()}"),
                "options": t(f"demo.golive.options_{module.lower()}"),
            },
        )
        slack.slash_command(CONSULTANT, "/training", "quiz ERP", channel_id=CHANNEL)
        deadline = stage.instant(stage.working_day(stage.local_today(), 2), time(17, 0))
        slack.submit_view(
            CONSULTANT,
            {"module": module_id, "deadline": int(deadline.timestamp()), "remind_hours": "24"},
        )
        for person in people:
            slack.click(person, TrainingId.TAKE_QUIZ, message=_quiz_message(stage, person))
            slack.submit_view(person, {_first_input(stage, person): "0"})
    stage.skip_new_messages()


def _first_input(stage: Stage, user_id: str) -> str:
    view = stage.emulator.top_view(user_id)
    assert view is not None
    return [b["block_id"] for b in view["blocks"] if b.get("type") == "input"][0]


def _session(stage: Stage, who: str, module: str, starts: datetime) -> int:
    """``who`` plans a session for their end users of ``module`` through the form: its number."""
    stage.slack.slash_command(who, "/training", "endusers session ERP", channel_id=CHANNEL)
    stage.slack.submit_view(
        who,
        {
            "module": str(_module_id(stage, module)),
            "starts_at": int(starts.timestamp()),
            "duration": str(HOURS),
            "reminders": [],
        },
    )
    return _latest_session(stage)


def _roll_call(stage: Stage, who: str, number: int, marks: dict[int, str]) -> None:
    stage.slack.slash_command(who, "/training", f"attendance ERP {number}", channel_id=CHANNEL)
    stage.slack.submit_view(who, {f"att:#{n}": mark for n, mark in marks.items()})


def _phase(stage: Stage) -> None:
    t = stage.t
    stage.command(PM, t("demo.golive.phase"), "/project", "phase ERP final_preparation")
    asked = {**stage.emulator.responses[-1], "ts": "1.0"}
    confirm = _buttons(asked, ChecklistId.MOVE)
    if confirm:
        stage.step(PM, t("demo.golive.phase_confirm"))
        stage.slack.block_action(
            PM, ChecklistId.MOVE, confirm[0]["value"], message=asked, channel_id=CHANNEL
        )
        stage.show_new_messages()


def _register(stage: Stage) -> None:
    slack, t = stage.slack, stage.t
    stage.step(PM, t("demo.golive.modules"))
    slack.slash_command(PM, "/training", "import curriculum ERP", channel_id=CHANNEL)
    rows = f"name,planned_hours,audience_roles\nMM,{HOURS},key_user\nFI,{HOURS},decision_maker\n"
    slack.submit_view(PM, {"csv": rows})
    stage.show_new_messages()
    stage.step(PM, t("demo.golive.end_users"))
    slack.slash_command(PM, "/training", "endusers import ERP", channel_id=CHANNEL)
    stage.show_view(stage.emulator.open_views(PM)[-1])
    names = [n.strip() for n in t("demo.golive.end_user_names").replace("；", ";").split(";")]
    rows = ["name,department,module,key_user"]
    for index in range(MM_END_USERS):
        rows.append(f"{names[index]},{t('demo.data.department_procurement')},MM,{WEI}")
    for index in range(FI_END_USERS):
        name = names[MM_END_USERS + index]
        rows.append(f"{name},{t('demo.data.department_accounting')},FI,{ANNA}")
    slack.submit_view(PM, {"csv": "\n".join(rows) + "\n"})
    stage.show_new_messages()


def _first_sessions(stage: Stage, starts: datetime) -> None:
    """Wei and Anna train their end users; three of Wei's miss it (taken silently: the act shows
    the roll call of the second session)."""
    stage.clock.set(starts - timedelta(minutes=30))
    stage.step(WEI, stage.t("demo.golive.first_sessions", who=stage.name(ANNA), missed=MISSED))
    mm = _session(stage, WEI, "MM", starts)
    fi = _session(stage, ANNA, "FI", starts)
    stage.clock.set(starts + timedelta(hours=1))
    numbers = _end_users(stage, "MM")
    _roll_call(
        stage,
        WEI,
        mm,
        {n: "absent" if i >= MM_END_USERS - MISSED else "present" for i, n in enumerate(numbers)},
    )
    _roll_call(stage, ANNA, fi, dict.fromkeys(_end_users(stage, "FI"), "present"))
    stage.show_new_messages(last_answer_only=True)


def _issue(stage: Stage) -> int:
    slack, t = stage.slack, stage.t
    stage.step(WEI, t("demo.golive.issue"))
    slack.slash_command(WEI, "/issue", "new", channel_id=CHANNEL)
    slack.submit_view(
        WEI,
        {
            "title": t("demo.golive.issue_title"),
            "description": t("demo.golive.issue_description"),
            "kind": "issue",
            "module": "MM",
            "priority": "P2",
        },
    )
    stage.show_new_messages()
    with stage.database.session() as session:
        return int(session.exec(select(Issue.number).order_by(col(Issue.id).desc())).first() or 0)


def _resolve(stage: Stage, number: int, what: str, resolution: str) -> None:
    """Tom resolves issue ``number`` from its message: its menu, then the resolution."""
    with stage.database.session() as session:
        issue = session.exec(select(Issue).where(Issue.number == number)).one()
    message = stage.emulator.message(issue.channel_id or CHANNEL, issue.message_ts or "")
    assert message is not None
    stage.step(CONSULTANT, stage.t(what))
    # a button, or an option of the card's menu, as the issue's state has it
    stage.slack.click(CONSULTANT, f"{IssueId.DO_PREFIX}resolve", message=message)
    stage.slack.submit_view(CONSULTANT, {"resolution": stage.t(resolution)})
    stage.show_new_messages()


def _assign(stage: Stage, number: int) -> None:
    handle = stage.cast[CONSULTANT][0]
    stage.step(PM, stage.t("demo.golive.assign", who=stage.name(CONSULTANT)))
    stage.slack.slash_command(
        PM, "/issue", f"ERP-{number} assign <@{CONSULTANT}|{handle}>", CHANNEL
    )
    stage.show_new_messages(last_answer_only=True)


def _second_session(stage: Stage) -> None:
    slack, t = stage.slack, stage.t
    starts = stage.instant(stage.working_day(stage.local_today(), 1), time(9, 0))
    stage.step(WEI, t("demo.golive.second_session", count=MISSED))
    number = _session(stage, WEI, "MM", starts)
    stage.show_new_messages()
    stage.clock.set(starts + timedelta(minutes=30))
    stage.step(WEI, t("demo.golive.roll_call"))
    slack.slash_command(WEI, "/training", f"attendance ERP {number}", channel_id=CHANNEL)
    stage.show_view(stage.emulator.open_views(WEI)[-1])
    slack.submit_view(WEI, {f"att:#{n}": "present" for n in _end_users(stage, "MM")[-MISSED:]})
    stage.show_new_messages()


def _uats(stage: Stage) -> None:
    """The PM asks each module's key users to sign off its user acceptance test; Anna signs FI's
    at once, MM's waits for Wei."""
    slack, t = stage.slack, stage.t
    stage.step(PM, t("demo.golive.uat"))
    for module in ("FI", "MM"):
        slack.slash_command(PM, "/signoff", "new ERP", channel_id=CHANNEL)
        slack.submit_view(
            PM,
            {
                "kind": "uat",
                "title": t("demo.golive.uat_title", module=module),
                "text": t(f"demo.golive.uat_text_{module.lower()}"),
                "module": module,
                "module_key_users": ["yes"],
                "rule": "all",
            },
        )
    stage.show_new_messages()
    stage.advance(minutes=30)
    _approve(stage, ANNA, "demo.golive.uat_signs_fi", "demo.golive.uat_comment_fi")


def _approve(stage: Stage, who: str, what: str, comment: str) -> None:
    """``who`` approves, with a comment, the latest request in their DMs."""
    emulator = stage.emulator
    stage.step(who, stage.t(what))
    asked = [m for m in emulator.dm_messages(who) if _buttons(m, ApprovalId.APPROVE)][-1]
    stage.slack.click(who, ApprovalId.APPROVE, message=asked)
    stage.slack.submit_view(who, {"comment": stage.t(comment)})
    stage.show_new_messages()


def _go_live(stage: Stage) -> None:
    slack, t = stage.slack, stage.t
    stage.step(PM, t("demo.golive.go_live", who=stage.name(MARIA)))
    slack.slash_command(PM, "/signoff", "new ERP", channel_id=CHANNEL)
    slack.submit_view(
        PM,
        {
            "kind": "go_live",
            "title": t("demo.golive.go_live_title"),
            "text": t("demo.golive.go_live_text"),
            "people": [MARIA],
            "rule": "all",
        },
    )
    stage.show_new_messages()
    stage.advance(hours=2)
    _approve(stage, MARIA, "demo.golive.sponsor_signs", "demo.golive.sponsor_comment")


def play(stage: Stage) -> None:
    t = stage.t
    stage.next_working_morning()
    today = stage.local_today()
    stage.clock.set(stage.instant(today, time(8, 30)))
    stage.act(t("demo.golive.title"))
    stage.show_new_messages()
    _resolve(stage, 2, "demo.golive.earlier_request", "demo.golive.earlier_resolution")
    _phase(stage)
    _register(stage)
    _key_user_training(stage, stage.instant(today, time(9, 0)))
    tomorrow = stage.working_day(today, 1)
    _first_sessions(stage, stage.instant(tomorrow, time(9, 0)))
    stage.clock.set(stage.instant(tomorrow, time(14, 0)))
    number = _issue(stage)
    stage.advance(minutes=30)
    _uats(stage)
    stage.command(PM, t("demo.golive.gate_before"), "/project", "golive ERP")
    _second_session(stage)
    _assign(stage, number)
    stage.advance(hours=3)
    _resolve(stage, number, "demo.golive.resolve", "demo.golive.resolution")
    stage.advance(minutes=30)
    _approve(stage, WEI, "demo.golive.uat_signs", "demo.golive.uat_comment")
    stage.command(PM, t("demo.golive.gate_after"), "/project", "golive ERP")
    _go_live(stage)
