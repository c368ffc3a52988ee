"""The Home tab is where people act: every item with its action beside it, the PM's figures
agreeing with the lists beside them (recomputed here in plain SQL), a new project's next steps
instead of rows of zeros, and the actions refusing forged values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.ids import Action, CalendarId, IssueId, PollId
from bot.runtime import Runtime
from storage.models import Invitation, Project
from tests.conftest import KEY_USERS, OUTSIDER, PM, TEAM
from tests.digest_helpers import add_event, add_issue, add_round, make_project
from tests.flows import create_project, texts

ANNA = KEY_USERS[0]
OPEN = ("new", "acknowledged", "in_progress", "reopened")


def elements(view: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    """The interactive elements of ``view`` with ``action_id`` (in actions blocks and
    accessories)."""
    found = []
    for block in view.get("blocks") or []:
        candidates = list(block.get("elements") or []) + [block.get("accessory") or {}]
        found += [e for e in candidates if e.get("action_id") == action_id]
    return found


def seed(runtime: Runtime, clock: MovableClock) -> int:
    """A project whose key users reported issues: five open (two overdue), one resolved, one
    closed; Anna has a poll to answer, a meeting to answer and a resolved issue to rate."""
    now = clock.now()
    with runtime.unit(TEAM, PM) as ctx:
        project = make_project(ctx, key_users=KEY_USERS[:3])
        for number in range(1, 6):
            add_issue(
                ctx,
                project,
                number,
                created=now - timedelta(days=10),
                reporter=KEY_USERS[number % 3],
                due=now + timedelta(days=number - 3, hours=12),  # 1 and 2 are overdue
                title=f"Open issue {number}",
            )
        add_issue(
            ctx,
            project,
            6,
            created=now - timedelta(days=5),
            reporter=ANNA,
            status="resolved",
            resolved=now - timedelta(days=1),
            title="Resolved, waiting for Anna",
        )
        add_issue(ctx, project, 7, created=now - timedelta(days=5), status="closed", title="Done")
        add_round(
            ctx,
            project,
            series="pulse",
            number=1,
            opens=now - timedelta(hours=1),
            answers={},
            invited=[ANNA],
            status="open",
            title="Monthly pulse",
        )
        add_event(
            ctx,
            project,
            kind="meeting",
            title="Working meeting",
            starts=now + timedelta(days=2),
            answers={ANNA: "pending"},
        )
        return project.id or 0


def test_the_pms_figures_agree_with_the_lists_beside_them(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    project_id = seed(runtime, clock)
    now = clock.now()
    with runtime.database.session() as session:

        def count(where: str, **params: Any) -> int:
            statuses = ", ".join(f"'{s}'" for s in OPEN)
            sql = (
                "SELECT count(*) FROM issue WHERE project_id = :p AND deleted_at IS NULL "
                f"AND status IN ({statuses}) {where}"
            )
            return int(session.execute(text(sql), {"p": project_id, **params}).scalar_one())

        open_now = count("")
        statuses = "'new', 'acknowledged', 'in_progress', 'reopened'"
        rows = session.execute(
            text(
                "SELECT number, due_at FROM issue WHERE project_id = :p AND deleted_at IS NULL "
                f"AND status IN ({statuses}) ORDER BY due_at, id"
            ),
            {"p": project_id},
        ).all()
    ordered = [number for number, _due in rows]

    def moment(value: Any) -> datetime:
        found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return found if found.tzinfo else found.replace(tzinfo=UTC)

    overdue = sum(1 for _n, due in rows if due is not None and moment(due) <= now)
    assert (open_now, overdue) == (5, 2)  # what the seed made, counted independently
    slack.open_home(PM)
    home = slack.emulator.home(PM) or {}
    said = texts([home])
    assert f"*Open issues* {open_now}" in said and f"*Overdue* {overdue}" in said
    listed = [
        block
        for block in home["blocks"]
        if (block.get("accessory") or {}).get("action_id") == IssueId.HOME_OPEN
    ]
    # The first three, soonest due first (the overdue ones lead), then how many more.
    assert [f"ERP-{n}" for n in ordered[:3]] == [
        next(w.strip("*") for w in b["text"]["text"].split() if w.strip("*").startswith("ERP-"))
        for b in listed
    ]
    assert f"…and {open_now - len(listed)} more." in said
    assert "No open issues in" not in said
    # "Open issues" lists them all, in a modal.
    slack.click(PM, IssueId.HOME_LIST, view=home)
    shown = slack.emulator.top_view(PM) or {}
    assert all(f"ERP-{n}*" in texts([shown]) for n in ordered)
    # The PM's own issues: none reported or owned by the PM, and the heading says 0.
    assert "Your issues (0)" in said


def test_a_key_user_acts_on_everything_waiting_from_home(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    seed(runtime, clock)
    slack.open_home(ANNA)
    home = slack.emulator.home(ANNA) or {}
    said = texts([home])
    assert "Polls waiting for your answer" in said and "in your DMs" not in said
    # Answer: the poll's own answer form.
    [answer] = elements(home, PollId.ANSWER)
    slack.click(ANNA, PollId.ANSWER, view=home)
    form = slack.emulator.top_view(ANNA) or {}
    assert form.get("callback_id") == PollId.ANSWER_MODAL
    slack.close_view(ANNA)
    # Her resolved issue: Rate opens the rating form.
    [rate] = elements(home, IssueId.RATE_COMMENT)
    slack.click(ANNA, IssueId.RATE_COMMENT, view=home)
    assert (slack.emulator.top_view(ANNA) or {}).get("callback_id") == IssueId.RATING_MODAL
    slack.close_view(ANNA)
    # The meeting: answered from the menu beside it, and the Home tab says so.
    [menu] = elements(home, CalendarId.HOME_RSVP)
    accept = next(o["value"] for o in menu["options"] if o["value"].startswith("accepted:"))
    slack.block_action(ANNA, CalendarId.HOME_RSVP, accept, view=home)
    with runtime.database.session() as session:
        invitation = session.exec(select(Invitation).where(Invitation.user_id == ANNA)).one()
    assert invitation.response == "accepted"
    assert "accepted" in texts([slack.emulator.home(ANNA) or {}])
    # Her card, from her project's line.
    [card] = elements(home, "keyuser_card_open")
    assert card["value"].endswith(f":{ANNA}")
    assert answer and rate


def test_a_forged_answer_from_home_changes_nothing(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    seed(runtime, clock)
    slack.open_home(ANNA)
    home = slack.emulator.home(ANNA) or {}
    [menu] = elements(home, CalendarId.HOME_RSVP)
    value = next(o["value"] for o in menu["options"] if o["value"].startswith("declined:"))
    # Someone not invited sends Anna's option; a made-up answer; an event id that is no number.
    slack.block_action(OUTSIDER, CalendarId.HOME_RSVP, value, view=home)
    made_up = [{**menu["options"][0], "value": value} for value in ("yes:1", "accepted:x")]
    forged = {**menu, "options": [*menu["options"], *made_up]}
    blocks = [
        {
            "type": "section",
            "block_id": "f",
            "text": {"type": "mrkdwn", "text": "x"},
            "accessory": forged,
        }
    ]
    slack.block_action(ANNA, CalendarId.HOME_RSVP, "yes:1", view={**home, "blocks": blocks})
    slack.block_action(ANNA, CalendarId.HOME_RSVP, "accepted:x", view={**home, "blocks": blocks})
    with runtime.database.session() as session:
        invitations = session.exec(select(Invitation)).all()
    assert [(i.user_id, i.response) for i in invitations] == [(ANNA, "pending")]


def test_a_new_project_shows_its_next_steps_until_it_has_key_users(
    slack: SlackDriver, runtime: Runtime
) -> None:
    create_project(slack)
    slack.open_home(PM)
    home = slack.emulator.home(PM) or {}
    said = texts([home])
    assert "has no key users yet. Its next steps:" in said
    assert "*Open issues* 0" not in said  # no rows of zeros
    for action in (Action.HOME_ADD_KEYUSER, PollId.HOME_NEW, "training_home_curriculum"):
        assert elements(home, action), action
    slack.click(PM, PollId.HOME_NEW, view=home)
    assert (slack.emulator.top_view(PM) or {}).get("callback_id") == PollId.NEW_MODAL
    slack.close_view(PM)
    # A forged step for someone else's project opens nothing.
    slack.click(OUTSIDER, PollId.HOME_NEW, view=home)
    assert slack.emulator.top_view(OUTSIDER) is None
    slack.click(PM, "training_home_curriculum", view=home)
    curriculum = slack.emulator.top_view(PM) or {}
    assert "no training curriculum yet" in texts([curriculum])
    slack.close_view(PM)
    # Once it has key users, its figures replace the steps.
    slack.slash_command(PM, "/keyuser", "add ERP", channel_id="CERP00001")
    slack.submit_view(PM, {"user_id": ANNA})
    slack.open_home(PM)
    said = texts([slack.emulator.home(PM) or {}])
    assert "Its next steps" not in said and "*Open issues* 0" in said
    with runtime.database.session() as session:
        assert session.exec(select(Project)).one().code == "ERP"


def test_an_owner_marks_their_checklist_items_from_home(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    from bot.ids import ChecklistId
    from bot.services import phases

    seed(runtime, clock)
    with runtime.unit(TEAM, PM) as ctx:
        project = ctx.session.exec(select(Project)).one()
        for text_ in ("Agree the schedule", "Sign the scope", "Someone else's"):
            owner = PM if text_ == "Someone else's" else ANNA
            data = phases.ItemInput(text=text_, owner_id=owner, due_on=clock.now().date())
            phases.add_item(ctx=ctx, project=project, phase=None, data=data)
    slack.open_home(ANNA)
    home = slack.emulator.home(ANNA) or {}
    said = texts([home])
    assert "Your checklist items (2)" in said
    assert "Agree the schedule" in said and "Someone else's" not in said
    marks = elements(home, ChecklistId.MARK)
    assert len(marks) == 2
    slack.click(ANNA, ChecklistId.MARK, view=home, value=marks[0]["value"])
    assert (slack.emulator.top_view(ANNA) or {}).get("callback_id") == ChecklistId.MARK_MODAL
    slack.submit_view(ANNA, {"status": "done"})
    assert "Your checklist items (1)" in texts([slack.emulator.home(ANNA) or {}])


def test_home_tools_open_nothing_for_someone_outside_the_project(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    """Every button that opens a project's tool or step from the Home tab names the project by
    id: someone outside it, sending that id, is refused and sees nothing of it."""
    from bot.ids import ChecklistId, DigestId, RiskId, TrainingId

    project_id = seed(runtime, clock)
    for action in (
        ChecklistId.HOME_OPEN,
        RiskId.HOME_LIST,
        DigestId.HOME_SETTINGS,
        TrainingId.HOME_CURRICULUM,
        PollId.HOME_NEW,
    ):
        slack.block_action(OUTSIDER, action, str(project_id), channel_id=None)
        assert slack.emulator.top_view(OUTSIDER) is None, action
    slack.block_action(OUTSIDER, IssueId.HOME_LIST, str(project_id))
    shown = texts([slack.emulator.top_view(OUTSIDER) or {}])
    assert "ERP-" not in shown  # an outsider's list holds none of the project's issues
