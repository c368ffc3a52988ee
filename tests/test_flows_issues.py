"""Key users' issues through the emulator: logging three ways, the lifecycle from buttons and
commands, rating, lists, export and the Home tab."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import IssueId
from bot.jobs import notifications as notification_jobs
from bot.runtime import Runtime
from bot.services import projects as project_service
from storage.db import Database
from storage.models import Interaction, Issue, IssueHistory, OutboxMessage
from tests.conftest import KEY_USERS, OUTSIDER, PM, PROJECT_CHANNEL, TEAM
from tests.flows import add_key_user, create_project, last_response, last_response_text, texts

ANNA = KEY_USERS[0]
BEN = KEY_USERS[1]
TOM = "UTOM00001"  # a consultant in the project team


@pytest.fixture
def erp(slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime) -> SlackDriver:
    """Project ERP with its channel, two key users (Anna, Ben) and Tom in the project team."""
    emulator.add_user(TOM, "tom.consultant", real_name="Tom Consultant")
    create_project(slack)
    add_key_user(slack, ANNA, module="FI")
    add_key_user(slack, BEN, module="MM")
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        project_service.set_team_members(ctx=ctx, project=project, user_ids=[TOM])
    emulator.reset_calls()
    return slack


def issues_in(database: Database) -> list[Issue]:
    with database.session() as session:
        return list(session.exec(select(Issue).order_by(Issue.id)).all())


def history_of(database: Database, issue_id: int) -> list[str]:
    with database.session() as session:
        rows = session.exec(
            select(IssueHistory).where(IssueHistory.issue_id == issue_id).order_by(IssueHistory.id)
        ).all()
        return [row.action for row in rows]


def log_issue(slack: SlackDriver, user: str = ANNA, **values: Any) -> Any:
    slack.slash_command(user, "/issue", "new", channel_id=PROJECT_CHANNEL)
    fields = {"title": "Invoice posting fails", "description": "F-43 gives error FI 123"}
    fields.update(values)
    return slack.submit_view(user, fields)


def issue_message(emulator: SlackEmulator, issue: Issue) -> dict[str, Any]:
    message = emulator.message(PROJECT_CHANNEL, issue.message_ts or "")
    assert message is not None, "the issue has no message in the project channel"
    return message


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        element["text"]["text"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("type") == "button"
    ]


def current(database: Database, issue_id: int) -> Issue:
    with database.session() as session:
        issue = session.get(Issue, issue_id)
        assert issue is not None
        return issue


# ------------------------------------------------------------------------------ logging


def test_log_issue_with_the_command(erp: SlackDriver, database: Database) -> None:
    emulator = erp.emulator
    erp.slash_command(ANNA, "/issue", "new", channel_id=PROJECT_CHANNEL)
    view = emulator.top_view(ANNA)
    block_ids = {b.get("block_id") for b in view["blocks"]}
    assert {
        "title",
        "description",
        "kind",
        "module",
        "priority",
        "owner_id",
        "due_date",
    } <= block_ids
    assert "project" not in block_ids  # the channel's project
    assert "reporter_id" not in block_ids  # a key user logs for themselves
    erp.submit_view(ANNA, {"title": "Invoice posting fails", "priority": "P2", "module": "FI"})

    [issue] = issues_in(database)
    assert (issue.number, issue.reporter_id, issue.priority, issue.status) == (1, ANNA, "P2", "new")
    # P2: first response within 8 hours, resolved within 3 days (end of the local day).
    assert issue.first_response_due_at.isoformat() == "2026-12-01T16:00:00+00:00"
    assert issue.due_date.isoformat() == "2026-12-04"
    assert issue.due_at.isoformat() == "2026-12-04T23:00:00+00:00"  # midnight in Berlin
    card = texts([issue_message(emulator, issue)])
    assert "ERP-1 · Invoice posting fails" in card
    assert "Acknowledge" in buttons(issue_message(emulator, issue))
    assert "Reopen" not in buttons(issue_message(emulator, issue))
    confirmation = texts(emulator.dm_messages(ANNA))
    assert "Your issue *ERP-1* is logged in <#CERP00001>: Invoice posting fails\n" in confirmation
    assert "Open the issue" in confirmation  # links to the issue's message
    assert emulator.violations == []


def test_short_ids_count_per_project(erp: SlackDriver, database: Database) -> None:
    log_issue(erp)
    log_issue(erp, BEN, title="Second")
    create_project(erp, code="CRM", name="CRM", channel_id="C0GENERAL")
    erp.slash_command(PM, "/issue", "new CRM", channel_id="C0GENERAL")
    erp.submit_view(PM, {"title": "CRM issue"})
    numbers = [(i.project_id, i.number) for i in issues_in(database)]
    assert numbers == [(1, 1), (1, 2), (2, 1)]


def test_log_from_a_message_keeps_its_link(erp: SlackDriver, database: Database) -> None:
    emulator = erp.emulator
    original = emulator.add_message(
        PROJECT_CHANNEL, ANNA, "MIGO goods receipt blocks with M7 021\nsince this morning"
    )
    erp.message_shortcut(ANNA, IssueId.LOG_FROM_MESSAGE, original, PROJECT_CHANNEL)
    view = emulator.top_view(ANNA)
    title = next(b for b in view["blocks"] if b.get("block_id") == "title")
    assert title["element"]["initial_value"] == "MIGO goods receipt blocks with M7 021"
    description = next(b for b in view["blocks"] if b.get("block_id") == "description")
    assert "since this morning" in description["element"]["initial_value"]
    erp.submit_view(ANNA, {})
    [issue] = issues_in(database)
    assert issue.source_permalink and original["ts"].replace(".", "") in issue.source_permalink
    assert "original message" in texts([issue_message(emulator, issue)])


def test_log_from_the_home_tab(erp: SlackDriver, database: Database) -> None:
    erp.open_home(ANNA)
    home = erp.emulator.home(ANNA)
    erp.click(ANNA, IssueId.HOME_LOG, view=home)
    erp.submit_view(ANNA, {"title": "Need a new report"})
    [issue] = issues_in(database)
    assert issue.title == "Need a new report"
    assert "Need a new report" in texts([erp.emulator.home(ANNA)])


def test_pm_logs_on_behalf_of_a_key_user(erp: SlackDriver, database: Database) -> None:
    erp.slash_command(PM, "/issue", "new", channel_id=PROJECT_CHANNEL)
    assert "reporter_id" in {b.get("block_id") for b in erp.emulator.top_view(PM)["blocks"]}
    response = erp.submit_view(PM, {"title": "Phoned in", "reporter_id": OUTSIDER})
    assert "key user or a team member of ERP" in response.json["errors"]["reporter_id"]
    erp.submit_view(PM, {"title": "Phoned in", "reporter_id": BEN})
    [issue] = issues_in(database)
    assert (issue.reporter_id, issue.created_by) == (BEN, PM)
    assert "Your issue *ERP-1*" in texts(erp.emulator.dm_messages(BEN))


def test_bad_input_gets_inline_errors_and_stores_nothing(
    erp: SlackDriver, database: Database
) -> None:
    response = log_issue(erp, title="   ", due_date="2026-11-20")
    assert set(response.json["errors"]) == {"title", "due_date"}
    assert "cannot be in the past" in response.json["errors"]["due_date"]
    assert issues_in(database) == []


def test_outsiders_cannot_log(erp: SlackDriver, database: Database) -> None:
    erp.slash_command(OUTSIDER, "/issue", "new ERP")
    assert "Only the key users, team members and managers of ERP" in last_response_text(erp)
    assert erp.emulator.top_view(OUTSIDER) is None


def test_a_resubmitted_modal_logs_one_issue(erp: SlackDriver, database: Database) -> None:
    before = len(erp.emulator.messages(PROJECT_CHANNEL))
    erp.slash_command(ANNA, "/issue", "new", channel_id=PROJECT_CHANNEL)
    view = erp.emulator.top_view(ANNA)
    erp.submit_view(ANNA, {"title": "Once"}, view=view)
    erp.submit_view(ANNA, {"title": "Once"}, view=view)  # Slack retried / double submit
    assert len(issues_in(database)) == 1
    assert len(erp.emulator.messages(PROJECT_CHANNEL)) == before + 1


# ---------------------------------------------------------------------------- lifecycle


def test_lifecycle_through_the_buttons(
    erp: SlackDriver, database: Database, runtime: Runtime
) -> None:
    emulator = erp.emulator
    log_issue(erp)
    [issue] = issues_in(database)
    erp.click(TOM, "issue_do_ack", message=issue_message(emulator, issue))
    issue = current(database, issue.id)
    assert issue.status == "acknowledged" and issue.first_response_at is not None
    card = issue_message(emulator, issue)
    assert "Acknowledge" not in buttons(card) and "Start work" in buttons(card)
    assert card.get("edited")  # updated in place
    thread = emulator.thread(PROJECT_CHANNEL, issue.message_ts)
    assert "acknowledged *ERP-1*" in texts(thread[1:])
    # The reporter hears of the change with the next round of notices (one DM per round).
    assert "acknowledged *ERP-1*" not in texts(emulator.dm_messages(ANNA))
    notification_jobs.send_grouped(runtime)
    runtime.sender().deliver_due()
    assert "acknowledged *ERP-1*" in texts(emulator.dm_messages(ANNA))

    erp.click(TOM, "issue_do_assign", message=card)
    erp.submit_view(TOM, {"owner_id": TOM})
    erp.click(TOM, "issue_do_update", message=issue_message(emulator, issue))
    erp.submit_view(TOM, {"text": "Looking at the posting keys"})
    assert current(database, issue.id).status == "in_progress"
    erp.click(TOM, "issue_do_resolve", message=issue_message(emulator, issue))
    response = erp.submit_view(TOM, {"resolution": "   "})
    assert "resolution" in response.json["errors"]
    erp.submit_view(TOM, {"resolution": "Posting key 40 was missing in OB41"})
    issue = current(database, issue.id)
    assert (issue.status, issue.resolution) == ("resolved", "Posting key 40 was missing in OB41")
    assert history_of(database, issue.id) == [
        "created",
        "ack",
        "assign",
        "update",
        "resolve",
    ]
    assert "Reopen" in buttons(issue_message(emulator, issue))
    assert emulator.violations == []


def test_double_click_makes_one_history_entry(erp: SlackDriver, database: Database) -> None:
    log_issue(erp)
    [issue] = issues_in(database)
    card = issue_message(erp.emulator, issue)
    erp.click(PM, "issue_do_ack", message=card)
    erp.click(PM, "issue_do_ack", message=card)  # the same, stale message clicked again
    assert history_of(database, issue.id) == ["created", "ack"]
    assert len(erp.emulator.thread(PROJECT_CHANNEL, issue.message_ts)) == 2


def test_commands_move_the_issue_and_refuse_forbidden_moves(
    erp: SlackDriver, database: Database
) -> None:
    log_issue(erp)
    erp.slash_command(ANNA, "/issue", "ERP-1 resolve it works now")
    assert "Only the project managers and the owner resolve ERP-1" in last_response_text(erp)
    erp.slash_command(PM, "/issue", "ERP-1 reopen")
    assert "ERP-1 is _New_: “Reopen” is not possible now" in last_response_text(erp)
    erp.slash_command(PM, "/issue", f"ERP-1 assign <@{TOM}|tom>")
    assert f"<@{PM}> assigned *ERP-1* to <@{TOM}>. Status: _New_." in last_response_text(erp)
    erp.slash_command(PM, "/issue", "ERP-1 priority P1")
    erp.slash_command(PM, "/issue", "ERP-1 due 2026-12-24")
    erp.slash_command(PM, "/issue", "ERP-1 due 2020-01-01")
    assert "cannot be in the past" in last_response_text(erp)
    erp.slash_command(TOM, "/issue", "ERP-1 close")
    assert "Closing ERP-1 is for its project managers" in last_response_text(erp)
    erp.slash_command(ANNA, "/issue", "ERP-1 update Still blocked for month-end")
    erp.slash_command(TOM, "/issue", "ERP-1 resolve Fixed the tolerance group")
    erp.slash_command(ANNA, "/issue", "ERP-1 reopen")
    erp.slash_command(PM, "/issue", "ERP-1 close")
    erp.slash_command(OUTSIDER, "/issue", "ERP-1 ack")
    assert "no issue ERP-1 that you can see" in last_response_text(erp)
    [issue] = issues_in(database)
    assert (issue.owner_id, issue.priority, issue.due_date.isoformat()) == (TOM, "P1", "2026-12-24")
    assert issue.first_response_at is not None  # the owner resolved; Anna's update did not count
    assert history_of(database, issue.id) == [
        "created",
        "assign",
        "priority",
        "due",
        "update",
        "resolve",
        "reopen",
        "close",
    ]
    assert erp.emulator.violations == []


def test_reporter_update_does_not_stop_the_first_response_clock(
    erp: SlackDriver, database: Database
) -> None:
    log_issue(erp)
    erp.slash_command(ANNA, "/issue", "ERP-1 update more detail")
    assert current(database, 1).first_response_at is None
    erp.slash_command(TOM, "/issue", "ERP-1 update on it")
    assert current(database, 1).first_response_at is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Usage of `/issue`"),
        ("help", "Usage of `/issue`"),
        ("frobnicate", "Usage of `/issue`"),
        ("ERP-1 fly", "`fly` is not something an issue can do"),
        ("ERP-9 ack", "There is no issue ERP-9 that you can see."),
    ],
)
def test_help_and_usage(erp: SlackDriver, text: str, expected: str) -> None:
    erp.slash_command(PM, "/issue", text)
    assert expected in last_response_text(erp)


# ------------------------------------------------------------------------------- rating


def resolve_first(erp: SlackDriver, database: Database) -> Issue:
    log_issue(erp)
    erp.slash_command(PM, "/issue", f"ERP-1 assign <@{TOM}|tom>")
    erp.slash_command(TOM, "/issue", "ERP-1 resolve Tolerance group fixed")
    return issues_in(database)[0]


def test_reporter_rates_the_resolution(erp: SlackDriver, database: Database) -> None:
    issue = resolve_first(erp, database)
    ask = erp.emulator.dm_messages(ANNA)[-1]
    assert "How well was it solved?" in texts([ask])
    erp.click(ANNA, f"{IssueId.RATE}_4", message=ask)
    erp.click(ANNA, f"{IssueId.RATE}_4", message=ask)  # double click
    issue = current(database, issue.id)
    assert issue.rating == 4
    assert history_of(database, issue.id).count("rated") == 1
    assert "you rated *ERP-1* 4/5" in texts(erp.emulator.responses[-1:])
    with database.session() as session:
        touch = session.exec(select(Interaction).where(Interaction.kind == "issue.rated")).one()
        assert touch.touchpoint and touch.detail["rating"] == 4
    erp.click(ANNA, IssueId.RATE_COMMENT, message=ask)
    erp.submit_view(ANNA, {"rating": "5", "comment": "Quick and clear"})
    issue = current(database, issue.id)
    assert (issue.rating, issue.rating_comment) == (5, "Quick and clear")


def test_reporter_reopens_from_the_rating_message(erp: SlackDriver, database: Database) -> None:
    issue = resolve_first(erp, database)
    ask = erp.emulator.dm_messages(ANNA)[-1]
    erp.click(ANNA, IssueId.RATE_REOPEN, message=ask)
    assert current(database, issue.id).status == "reopened"


def test_only_the_reporter_rates(erp: SlackDriver, database: Database) -> None:
    issue = resolve_first(erp, database)
    ask = erp.emulator.dm_messages(ANNA)[-1]
    erp.click(BEN, f"{IssueId.RATE}_1", message=ask, value=f"{issue.id}:1")
    assert current(database, issue.id).rating is None


# ------------------------------------------------------------------- lists, export, Home


def test_list_filters(erp: SlackDriver, database: Database) -> None:
    log_issue(erp, title="FI thing", module="FI")
    log_issue(erp, BEN, title="MM thing", module="MM")
    erp.slash_command(PM, "/issue", f"ERP-2 assign <@{TOM}|tom>")
    erp.slash_command(PM, "/issue", "list")
    assert "Open issues: 2" in last_response_text(erp)
    erp.slash_command(PM, "/issue", "list module:fi")
    answer = texts(erp.emulator.responses[-1:])
    assert "FI thing" in answer and "MM thing" not in answer
    erp.slash_command(TOM, "/issue", "list mine")
    answer = texts(erp.emulator.responses[-1:])
    assert "MM thing" in answer and "FI thing" not in answer
    erp.slash_command(ANNA, "/issue", "list all")  # a key user sees only their own
    answer = texts(erp.emulator.responses[-1:])
    assert "FI thing" in answer and "MM thing" not in answer
    erp.slash_command(PM, "/issue", "list overdue project:ERP")
    assert "Overdue issues: 0" in last_response_text(erp)
    erp.slash_command(PM, "/issue", "list sideways")
    assert "`sideways` is not a list filter" in last_response_text(erp)


def test_long_lists_are_paged(erp: SlackDriver, database: Database) -> None:
    for number in range(17):
        log_issue(erp, BEN, title=f"Issue number {number}")
    erp.slash_command(PM, "/issue", "list")
    first = last_response(erp)
    assert "Page 1 of 2" in texts([first])
    erp.block_action(
        PM, f"{IssueId.LIST_PAGE}_next", message={**first, "ts": "1.0"}, channel_id=PROJECT_CHANNEL
    )
    assert "Page 2 of 2" in texts(erp.emulator.responses[-1:])


def test_export_escapes_formulas(erp: SlackDriver, database: Database) -> None:
    log_issue(erp, title='=HYPERLINK("http://evil")', description="+1 and -1")
    erp.slash_command(ANNA, "/issue", "export ERP")
    assert "Only the managers and team of ERP" in last_response_text(erp)
    erp.slash_command(PM, "/issue", "export ERP")
    [shared] = erp.emulator.files
    assert shared["filename"].startswith("ERP-issues-")
    rows = list(csv.DictReader(io.StringIO(shared["content"].decode())))
    assert rows[0]["id"] == "ERP-1"
    assert rows[0]["title"].startswith("'=") and rows[0]["description"].startswith("'+")


def test_home_shows_counts_and_acts(erp: SlackDriver, database: Database) -> None:
    log_issue(erp)
    erp.open_home(PM)
    home = texts([erp.emulator.home(PM)])
    assert "*Open issues* 1" in home and "*Overdue* 0" in home
    erp.open_home(ANNA)
    home_view = erp.emulator.home(ANNA)
    assert "Invoice posting fails" in texts([home_view])
    erp.open_home(TOM)
    # Tom is in the team but neither reporter nor owner: the issue is not on his Home yet.
    assert "Invoice posting fails" not in texts([erp.emulator.home(TOM)])
    erp.slash_command(PM, "/issue", f"ERP-1 assign <@{TOM}|tom>")
    erp.open_home(TOM)
    erp.click(TOM, IssueId.HOME_OPEN, view=erp.emulator.home(TOM), value="1")
    detail = erp.emulator.top_view(TOM)
    erp.click(TOM, "issue_do_ack", view=detail)
    assert current(database, 1).status == "acknowledged"
    assert erp.emulator.violations == []


def test_outbox_keys_are_unique_per_change(erp: SlackDriver, database: Database) -> None:
    log_issue(erp)
    erp.slash_command(PM, "/issue", "ERP-1 ack")
    with database.session() as session:
        keys = [row.key for row in session.exec(select(OutboxMessage)).all()]
    assert "issue:1:message" in keys and "issue:1:created:dm" in keys
    assert any(key.endswith(":thread") for key in keys)
    assert len(keys) == len(set(keys))


def test_pms_set_service_levels_per_project(erp: SlackDriver, database: Database) -> None:
    erp.slash_command(ANNA, "/issue", "sla ERP", channel_id=PROJECT_CHANNEL)
    assert "for its project managers and team" in last_response_text(erp)  # a key user: no
    erp.slash_command(TOM, "/issue", "sla ERP", channel_id=PROJECT_CHANNEL)
    shown = last_response_text(erp)
    assert "Service levels of ERP" in shown
    assert "P1 · critical: first response within 2 h, resolved within 1 day" in shown
    erp.slash_command(ANNA, "/issue", "sla ERP P3=4h/5d")
    assert "Only the project managers of ERP" in last_response_text(erp)
    erp.slash_command(PM, "/issue", "sla ERP P3=4h/5d autoclose=3")
    assert "P3 · normal: first response within 4 h, resolved within 5 days" in (
        last_response_text(erp)
    )
    erp.slash_command(PM, "/issue", "sla ERP P3=soon")
    assert "`P3=soon` is not a service level" in last_response_text(erp)
    log_issue(erp)
    [issue] = issues_in(database)
    assert issue.due_date.isoformat() == "2026-12-06"
    assert issue.first_response_due_at.isoformat() == "2026-12-01T12:00:00+00:00"


def test_without_a_project_channel_the_issue_lives_in_the_reporters_dm(
    erp: SlackDriver, database: Database
) -> None:
    create_project(erp, code="HR", name="HR rollout", channel_id=None)
    add_key_user(erp, ANNA, code="HR")
    erp.slash_command(ANNA, "/issue", "new HR", channel_id="C0GENERAL")
    erp.submit_view(ANNA, {"title": "Payroll preview empty"})
    erp.slash_command(PM, "/issue", "HR-1 ack")
    issue = [i for i in issues_in(database) if i.title == "Payroll preview empty"][0]
    assert issue.channel_id == erp.emulator.dm_channel_id(ANNA)
    thread = erp.emulator.thread(ANNA, issue.message_ts or "")
    assert "acknowledged *HR-1*" in texts(thread[1:])
    told = [m for m in erp.emulator.dm_messages(ANNA) if "acknowledged *HR-1*" in texts([m])]
    assert len(told) == 1  # the reply in the thread, no second DM
