"""A click or a form changes only the app's own message about the record it is about, found in
the database, and answers where the database says: a forged channel, ts or thread (in the
container, the message or a form's private_metadata) makes the app overwrite or answer into
nothing of anyone else's.

Every place the code updates or deletes a message is listed here, with the test that forges its
target; a new place fails ``test_every_message_update_or_delete_is_known_and_forged`` until it is
listed with its own test.
"""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot import delivery
from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import CalendarId, MeetingId, PlanId, TrainingId
from bot.jobs import run_due
from bot.runtime import Runtime
from storage.db import Database
from storage.models import (
    Issue,
    OccurrenceStatus,
    OutboxMessage,
    OutboxStatus,
    PlanEntry,
    PlanOccurrence,
)
from tests.conftest import KEY_USERS, OTHER_TEAM, PM, PROJECT_CHANNEL, TEAM
from tests.flows import add_key_user, create_project, say_yes, texts

ROOT = Path(__file__).resolve().parent.parent
MARIA, ANNA, BEN = KEY_USERS[:3]
ATTACKER_TEXT = "Overwritten by the attacker"


def issue_card(slack: SlackDriver, title: str = "Invoice posting fails") -> dict[str, Any]:
    """A key-user issue's card in the project channel: the message a forger aims at."""
    slack.slash_command(PM, "/issue", "new", channel_id=PROJECT_CHANNEL)
    slack.submit_view(PM, {"title": title, "reporter_id": BEN})
    [card] = [m for m in slack.emulator.messages(PROJECT_CHANNEL) if title in texts([m])]
    return card


def untouched(emulator: SlackEmulator, message: dict[str, Any]) -> bool:
    """The message reads as before and the app never asked Slack to change it."""
    now = emulator.message(message["channel"], message["ts"])
    changed = [
        call
        for call in emulator.calls
        if call.method in ("chat.update", "chat.delete") and call.args.get("ts") == message["ts"]
    ]
    return now is not None and texts([now]) == texts([message]) and not changed


def forged_at(message: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """``message`` (for its buttons) as a forger sends it: ts and channel of ``target``."""
    return {**message, "ts": target["ts"], "channel": target["channel"]}


def with_metadata(view: dict[str, Any], **changes: Any) -> dict[str, Any]:
    metadata = {**json.loads(view.get("private_metadata") or "{}"), **changes}
    return {**view, "private_metadata": json.dumps(metadata)}


# ------------------------------------------------------------ the communication plan's due DM


@pytest.fixture
def plan_due(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: MovableClock
) -> dict[str, Any]:
    """ERP's ready-made plan fallen due: the PM's due DM, an issue card in the project channel
    and a DM of the app to a key user (Ben, the issue's reporter)."""
    create_project(slack)
    add_key_user(slack, MARIA, role="decision_maker", influence="high", interest="high")
    add_key_user(slack, ANNA, role="business_representative")
    add_key_user(slack, BEN, role="key_user")
    card = issue_card(slack)
    slack.slash_command(PM, "/project", "plan ERP", channel_id=PROJECT_CHANNEL)
    slack.click(PM, PlanId.USE_TEMPLATE, view=emulator.top_view(PM))
    emulator.close_view(PM)
    with runtime.database.session() as session:
        first_due = min(e.next_due_at for e in session.exec(select(PlanEntry)).all())
    clock.set(first_due + timedelta(minutes=2))
    run_due(runtime)
    [due] = [m for m in emulator.dm_messages(PM) if "Due from the communication plan" in texts([m])]
    [bens] = emulator.dm_messages(BEN)[-1:]
    return {"due": due, "card": card, "bens": bens}


def occurrence_of(database: Database, kind: str) -> PlanOccurrence:
    with database.session() as session:
        return session.exec(
            select(PlanOccurrence)
            .join(PlanEntry, PlanEntry.id == PlanOccurrence.entry_id)  # type: ignore[arg-type]
            .where(PlanEntry.kind == kind)
        ).one()


def test_a_forged_done_form_cannot_have_the_app_overwrite_an_issue_card(
    slack: SlackDriver, emulator: SlackEmulator, database: Database, plan_due: dict[str, Any]
) -> None:
    due, card = plan_due["due"], plan_due["card"]
    workshop = occurrence_of(database, "workshop")
    slack.click(PM, PlanId.DUE_DONE, message=due, value=str(workshop.id))
    form = with_metadata(emulator.top_view(PM) or {}, channel=card["channel"], ts=card["ts"])
    slack.submit_view(PM, {"note": ATTACKER_TEXT}, view=form)
    assert untouched(emulator, card)
    assert untouched(emulator, due)
    # Done is stored, and the owner is told in a new DM of their own.
    assert occurrence_of(database, "workshop").status == OccurrenceStatus.DONE
    told = texts(emulator.dm_messages(PM)[-1:])
    assert "Done: Workshop" in told and ATTACKER_TEXT in told
    assert emulator.violations == []


def test_a_forged_snooze_click_cannot_have_the_app_overwrite_another_persons_dm(
    slack: SlackDriver, emulator: SlackEmulator, database: Database, plan_due: dict[str, Any]
) -> None:
    due, bens = plan_due["due"], plan_due["bens"]
    workshop = occurrence_of(database, "workshop")
    slack.block_action(
        PM, PlanId.DUE_MORE, f"{PlanId.DUE_SNOOZE}|{workshop.id}", message=forged_at(due, bens)
    )
    assert untouched(emulator, bens)
    assert occurrence_of(database, "workshop").status == OccurrenceStatus.SNOOZED
    assert "Snoozed: Workshop" in texts(emulator.dm_messages(PM)[-1:])
    # From the due DM itself, the DM shows it.
    working = occurrence_of(database, "working_meeting")
    slack.block_action(PM, PlanId.DUE_MORE, f"{PlanId.DUE_SNOOZE}|{working.id}", message=due)
    assert "Snoozed: Working meeting" in texts([emulator.message(due["channel"], due["ts"]) or {}])
    assert emulator.violations == []


def test_a_forged_report_form_cannot_have_the_app_overwrite_an_issue_card(
    slack: SlackDriver, emulator: SlackEmulator, database: Database, plan_due: dict[str, Any]
) -> None:
    due, card = plan_due["due"], plan_due["card"]
    with database.session() as session:
        report = session.exec(
            select(PlanOccurrence)
            .join(PlanEntry, PlanEntry.id == PlanOccurrence.entry_id)  # type: ignore[arg-type]
            .where(PlanEntry.audience_value == "decision_maker")
        ).first()
    assert report is not None
    slack.click(PM, PlanId.DUE_DRAFT, message=due, value=str(report.id))
    form = with_metadata(emulator.top_view(PM) or {}, channel=card["channel"], ts=card["ts"])
    slack.submit_view(PM, {"report": ATTACKER_TEXT}, view=form)
    assert untouched(emulator, card)
    assert ATTACKER_TEXT in texts(emulator.dm_messages(MARIA))  # the report itself went out
    assert "Report sent" in texts(emulator.dm_messages(PM)[-1:])
    assert emulator.violations == []


def test_a_forged_meeting_form_source_cannot_have_the_app_overwrite_another_persons_dm(
    slack: SlackDriver,
    emulator: SlackEmulator,
    database: Database,
    clock: MovableClock,
    plan_due: dict[str, Any],
) -> None:
    due, bens = plan_due["due"], plan_due["bens"]
    working = occurrence_of(database, "working_meeting")
    slack.block_action(PM, PlanId.DUE_MORE, f"{PlanId.DUE_SCHEDULE}|{working.id}", message=due)
    form = emulator.top_view(PM) or {}
    source = {"channel": bens["channel"], "ts": bens["ts"], "ids": [working.id]}
    starts = int((clock.now() + timedelta(days=2)).timestamp())
    slack.submit_view(
        PM, {"title": ATTACKER_TEXT, "starts_at": starts}, view=with_metadata(form, source=source)
    )
    assert untouched(emulator, bens)
    assert occurrence_of(database, "working_meeting").outcome == "meeting"
    assert "Meeting scheduled: Working meeting" in texts(emulator.dm_messages(PM)[-1:])
    assert emulator.violations == []


# --------------------------------------------------------------- a meeting's action item


def test_a_forged_action_item_click_cannot_have_the_app_overwrite_an_issue_card(
    slack: SlackDriver,
    emulator: SlackEmulator,
    database: Database,
    runtime: Runtime,
    clock: MovableClock,
) -> None:
    from tests.test_flows_meetings import MONDAY_0900, latest_with, plan_series

    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    create_project(slack)
    add_key_user(slack, ANNA, role="business_representative")
    add_key_user(slack, BEN, role="key_user")
    card = issue_card(slack)
    plan_series(slack, people=[], repeat="none", count="1", options=[])
    clock.set(MONDAY_0900 + timedelta(hours=2))
    run_due(runtime)
    prompt = latest_with(emulator.dm_messages(PM), MeetingId.OUTCOME)
    slack.click(PM, MeetingId.OUTCOME, message=prompt)
    slack.submit_view(
        PM,
        {
            "attended": [ANNA],
            "minutes": ATTACKER_TEXT,
            "action_1_text": "Map release codes",
            "action_1_owner": PM,
        },
    )
    summary = latest_with(emulator.dm_messages(PM), MeetingId.ACTION_TO_ISSUE)
    slack.click(PM, MeetingId.ACTION_TO_ISSUE, message=forged_at(summary, card))
    assert untouched(emulator, card)
    with database.session() as session:
        titles = [i.title for i in session.exec(select(Issue)).all()]
    assert "Map release codes" in titles  # the issue is made all the same
    # The summary with the issue's reference is shown to the organizer alone.
    assert "ERP-2" in texts(emulator.responses[-1:])
    assert emulator.responses[-1].get("response_type") == "ephemeral"
    assert emulator.violations == []


# ----------------------------------------------------------------------------- a quiz


def test_a_forged_quiz_form_cannot_have_the_app_post_the_score_into_another_thread(
    slack: SlackDriver, emulator: SlackEmulator, database: Database, clock: MovableClock
) -> None:
    from tests.test_flows_trainings import (
        epoch,
        module_id,
        project_with_curriculum,
        training,
    )

    project_with_curriculum(slack)
    overview = str(module_id(database, "System overview"))
    training(slack, "question")
    slack.submit_view(
        PM, {"module": overview, "kind": "single", "text": "What is F4?", "options": "*Help\nSave"}
    )
    card = issue_card(slack)
    training(slack, "quiz")
    deadline = clock.now() + timedelta(days=3)
    slack.submit_view(PM, {"module": overview, "deadline": epoch(deadline)})
    invite = next(
        m for m in emulator.dm_messages(ANNA) if TrainingId.TAKE_QUIZ in str(m.get("blocks"))
    )
    slack.click(ANNA, TrainingId.TAKE_QUIZ, message=invite)
    view = emulator.top_view(ANNA) or {}
    [question] = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    forged = with_metadata(view, c=card["channel"], t=card["ts"])
    slack.submit_view(ANNA, {question: "1"}, view=forged)
    posted = [c.args for c in emulator.calls_to("chat.postMessage")]
    assert not [args for args in posted if args.get("thread_ts") == card["ts"]]
    assert emulator.thread(PROJECT_CHANNEL, card["ts"])[1:] == []
    scored = texts(emulator.thread(invite["channel"], invite["ts"]))
    assert "Your score on System overview: 0%" in scored and "right answer: Help" in scored
    assert emulator.violations == []


# ------------------------------------------------ issues, polls and the calendar core


def test_a_forged_issue_button_changes_only_its_own_issues_card(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    create_project(slack)
    add_key_user(slack, BEN, role="key_user")
    mine, theirs = issue_card(slack, "Invoice posting fails"), issue_card(slack, "Payroll run")
    slack.click(PM, "issue_do_ack", message=forged_at(mine, theirs))
    assert untouched(emulator, theirs)
    assert texts([emulator.message(mine["channel"], mine["ts"]) or {}]) != texts([mine])
    assert emulator.violations == []


def test_a_forged_poll_answer_and_closing_the_poll_change_only_the_invitations(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime
) -> None:
    from tests.polls_helpers import create_poll, poll_dm, project_with_key_users, rate_action

    project_with_key_users(slack)
    card = issue_card(slack)
    create_poll(slack)
    attacker = KEY_USERS[0]
    invitation = poll_dm(slack, attacker)
    slack.block_action(attacker, rate_action(invitation, 4), message=forged_at(invitation, card))
    slack.slash_command(PM, "/poll", "close 1", channel_id=PROJECT_CHANNEL)
    say_yes(slack, PM)
    runtime.sender().deliver_due()
    assert untouched(emulator, card)
    updated = {(c.args.get("channel"), c.args.get("ts")) for c in emulator.calls_to("chat.update")}
    invitations = {
        (poll_dm(slack, user)["channel"], poll_dm(slack, user)["ts"]) for user in KEY_USERS
    }
    assert updated and updated <= invitations
    assert "closed" in texts([poll_dm(slack, KEY_USERS[1])]).lower()
    assert emulator.violations == []


@pytest.fixture
def training_session(slack: SlackDriver, database: Database) -> dict[str, Any]:
    """A session of capacity 2 for Anna, Ben and Carl, who all accepted (Carl waits), and an
    issue card in the project channel."""
    from tests.test_flows_trainings import invitation_dm, project_with_curriculum, schedule

    project_with_curriculum(slack)
    card = issue_card(slack)
    schedule(slack, database)
    carl = KEY_USERS[2]
    for user_id in (ANNA, BEN, carl):
        message = invitation_dm(slack.emulator, user_id, "System overview")
        slack.click(user_id, f"{CalendarId.RSVP_PREFIX}accepted", message=message)
    return {"card": card, "carl": carl, "invitation": invitation_dm}


def test_a_forged_decline_changes_only_the_invitations_of_the_session(
    slack: SlackDriver, emulator: SlackEmulator, training_session: dict[str, Any]
) -> None:
    card, carl, invitation_dm = (training_session[k] for k in ("card", "carl", "invitation"))
    annas = invitation_dm(emulator, ANNA, "System overview")
    slack.click(ANNA, f"{CalendarId.RSVP_PREFIX}declined", message=forged_at(annas, card))
    assert untouched(emulator, card)
    # Carl moves up from the waitlist: his own invitation says so, as the outbox recorded it.
    assert "You accepted" in texts([invitation_dm(emulator, carl, "System overview")])
    assert "You declined" in texts([invitation_dm(emulator, ANNA, "System overview")])
    assert emulator.violations == []


def test_a_forged_check_in_click_cannot_have_the_app_overwrite_an_issue_card(
    slack: SlackDriver,
    emulator: SlackEmulator,
    clock: MovableClock,
    training_session: dict[str, Any],
) -> None:
    from tests.test_flows_trainings import SESSION_START

    card, invitation_dm = training_session["card"], training_session["invitation"]
    clock.set(SESSION_START + timedelta(minutes=5))
    annas = invitation_dm(emulator, ANNA, "System overview")
    slack.click(ANNA, CalendarId.CHECK_IN, message=forged_at(annas, card))
    assert untouched(emulator, card)
    assert texts([invitation_dm(emulator, ANNA, "System overview")]) != texts([annas])
    assert emulator.violations == []


# ------------------------------------------------------------- a decision maker's DM


def test_a_forged_decision_changes_only_the_deciders_own_asking_dm(
    slack: SlackDriver, emulator: SlackEmulator, database: Database
) -> None:
    from bot.ids import ApprovalId
    from storage.models import ApprovalAnswer

    create_project(slack)
    add_key_user(slack, MARIA, role="decision_maker")
    add_key_user(slack, ANNA, role="sponsor")
    add_key_user(slack, BEN, role="key_user")
    card = issue_card(slack)
    slack.slash_command(PM, "/change", "new", channel_id=PROJECT_CHANNEL)
    slack.submit_view(PM, {"title": "Second approver", "reason": "Audit"})

    def asked(user: str) -> dict[str, Any]:
        return [m for m in emulator.dm_messages(user) if "decision is asked" in texts([m])][-1]

    marias, annas = asked(MARIA), asked(ANNA)
    # Maria's Approve sent as if from the issue card, then from Anna's DM; the form forged too.
    for target in (card, annas):
        slack.block_action(
            MARIA, ApprovalId.QUESTION, message=forged_at(marias, target), channel_id=None
        )
        form = with_metadata(
            emulator.top_view(MARIA) or {}, channel=target["channel"], ts=target["ts"]
        )
        slack.submit_view(MARIA, {"comment": ATTACKER_TEXT}, view=form)
    slack.block_action(MARIA, ApprovalId.APPROVE, message=forged_at(marias, card), channel_id=None)
    slack.submit_view(MARIA, {"comment": "ok"})
    assert untouched(emulator, card)
    assert untouched(emulator, annas)
    with database.session() as session:
        given = [a.answer for a in session.exec(select(ApprovalAnswer)).all()]
    assert given == ["question", "question", "approve"]
    # Only Maria's own DM, where the outbox sent it, says what she answered.
    now = texts([emulator.message(marias["channel"], marias["ts"]) or {}])
    assert "You approved on" in now and "You asked on" in now
    updated = {(c.args.get("channel"), c.args.get("ts")) for c in emulator.calls_to("chat.update")}
    assert updated == {(marias["channel"], marias["ts"])}
    assert emulator.violations == []


# ------------------------------------------------------------------- the outbox's record


def test_a_sent_message_is_found_only_for_its_team_recipient_key_and_ts(
    database: Database, clock: MovableClock
) -> None:
    def sent(key: str, to: str, ts: str, team: str = TEAM, subject: str = "plan:owner:UA") -> None:
        with database.session() as session:
            session.add(
                OutboxMessage(
                    team_id=team,
                    key=key,
                    method="chat.postMessage",
                    payload={"channel": to, "text": key},
                    status=OutboxStatus.SENT,
                    created_at=clock.now(),
                    next_attempt_at=clock.now(),
                    expires_at=clock.now(),
                    channel=f"D{to}",
                    ts=ts,
                    subject=subject,
                )
            )
            session.commit()

    sent("invite:UA", "UA", "1.1")
    sent("plan:due:UA:one", "UA", "2.1")
    sent("plan:due:UA:two", "UA", "2.2")
    sent("plan:due:UB:one", "UB", "3.1", subject="plan:owner:UB")
    sent("plan:due:UA:other", "UA", "4.1", team=OTHER_TEAM)
    with database.session() as session:

        def find(to: str, key: str, ts: str | None = None) -> str | None:
            found = delivery.sent_message(
                session, team_id=TEAM, to=to, key=key, subject="plan:owner:UA", ts=ts
            )
            return found and found.ts

        assert find("UA", "invite:UA") == "1.1"
        assert find("UB", "invite:UA") is None  # not the app's DM to this person
        assert find("UA", "plan:due:UA:", "2.2") == "2.2"
        assert find("UA", "plan:due:UA:") is None  # which of several: the request must say
        assert find("UA", "plan:due:UA:", "1.1") is None  # the app's DM, but not a due one
        assert find("UA", "plan:due:UA:", "3.1") is None  # another person's due DM
        assert find("UA", "plan:due:UA:", "4.1") is None  # another workspace's


# ------------------------------------------------------------ every update and delete, known

# Where the code updates or deletes a message (``path::function``), and the tests that forge the
# target of each. The sites whose target comes from an outbox row of a job are forged through the
# request that causes the job's message.
CHANGE_SITES = {
    "handlers/common.py::update_sent": (
        "test_a_forged_done_form_cannot_have_the_app_overwrite_an_issue_card",
    ),
    "handlers/commplan.py::refresh_due_message": (
        "test_a_forged_done_form_cannot_have_the_app_overwrite_an_issue_card",
        "test_a_forged_snooze_click_cannot_have_the_app_overwrite_another_persons_dm",
        "test_a_forged_report_form_cannot_have_the_app_overwrite_an_issue_card",
        "test_a_forged_meeting_form_source_cannot_have_the_app_overwrite_another_persons_dm",
    ),
    "handlers/meetings.py::turn_action_into_issue": (
        "test_a_forged_action_item_click_cannot_have_the_app_overwrite_an_issue_card",
    ),
    "handlers/calendar.py::answer_in_place": (  # RSVP and check-in
        "test_a_forged_decline_changes_only_the_invitations_of_the_session",
        "test_a_forged_check_in_click_cannot_have_the_app_overwrite_an_issue_card",
    ),
    "handlers/polls.py::_update_invitation": (
        "test_a_forged_poll_answer_and_closing_the_poll_change_only_the_invitations",
    ),
    "bot/calendar/service.py::_refresh_invitation": (
        "test_a_forged_decline_changes_only_the_invitations_of_the_session",
    ),
    "bot/services/poll_closing.py::close_poll": (
        "test_a_forged_poll_answer_and_closing_the_poll_change_only_the_invitations",
    ),
    "bot/services/approvals.py::retell_asks": (
        "test_a_forged_decision_changes_only_the_deciders_own_asking_dm",
    ),
    "bot/jobs/issues.py::announce_change": (
        "test_a_forged_issue_button_changes_only_its_own_issues_card",
    ),
}
CHANGE_CALLS = {"chat_update", "chat_delete", "update_sent"}
CHANGE_METHODS = {"chat.update", "chat.delete", "chat_update", "chat_delete"}


class ChangeSites(ast.NodeVisitor):
    """Calls that update or delete a message: the Web API methods, through the client or as an
    outbox row's method, and ``update_sent``; named by their innermost function."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.functions: list[str] = []
        self.found: set[str] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
        named = any(isinstance(a, ast.Constant) and a.value in CHANGE_METHODS for a in arguments)
        if name in CHANGE_CALLS or named:
            self.found.add(f"{self.path}::{self.functions[-1] if self.functions else '<module>'}")
        self.generic_visit(node)


def change_sites() -> set[str]:
    found: set[str] = set()
    for top in ("bot", "handlers"):
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith("bot/emulator/"):
                continue
            sites = ChangeSites(relative)
            sites.visit(ast.parse(path.read_text(encoding="utf-8")))
            found |= sites.found
    return found


def test_every_message_update_or_delete_is_known_and_forged() -> None:
    assert change_sites() == set(CHANGE_SITES), (
        "a message is updated or deleted somewhere new: take its channel and ts from the "
        "database (delivery.sent_message, handlers.common.update_sent) and list it here with a "
        "test that forges its target"
    )
    here = globals()
    for site, tests in CHANGE_SITES.items():
        assert tests and all(callable(here.get(name)) for name in tests), site
