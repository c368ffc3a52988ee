"""Change requests through the emulator: the form and its defaults, the decision makers' DMs and
answers under the rule all and any, the request's thread, what an approved change spawns (issues,
training hours, communication-plan items), implemented and verified, key users' rights, forged
ids and metadata, paged lists, the CSV and the Home tab. Every figure shown is recomputed here
from the tables."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import ApprovalId, ChangeId, IssueId
from bot.runtime import Runtime
from bot.services import commplan
from bot.services import projects as project_service
from bot.services import trainings as training_service
from handlers.home import build_home
from storage.db import Database
from storage.models import (
    Approval,
    ApprovalAnswer,
    ApprovalDecider,
    ChangeHistory,
    ChangeRequest,
    Interaction,
    Issue,
    OutboxMessage,
    PlanEntry,
    Project,
    TrainingModule,
)
from tests.conftest import KEY_USERS, OUTSIDER, PM, PM2, PROJECT_CHANNEL, TEAM
from tests.flows import add_key_user, create_project, last_response, last_response_text, texts

ANNA = KEY_USERS[0]  # key user of FI
BEN = KEY_USERS[1]  # key user of MM
SAM = KEY_USERS[2]  # sponsor
DORA = KEY_USERS[3]  # decision maker
TOM = "UTOM00001"  # a consultant in the project team
ASKED = "Your decision is asked"


@pytest.fixture
def erp(slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime) -> SlackDriver:
    """Project ERP with its channel, PMs Pia and Paul, key users Anna (FI) and Ben (MM), sponsor
    Sam, decision maker Dora, Tom in the team, and an 8-hour curriculum module "FI basics"."""
    emulator.add_user(TOM, "tom.consultant", real_name="Tom Consultant")
    create_project(slack, pm_ids=[PM, PM2])
    add_key_user(slack, ANNA, module="FI")
    add_key_user(slack, BEN, module="MM")
    add_key_user(slack, SAM, role="sponsor")
    add_key_user(slack, DORA, role="decision_maker")
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        project_service.set_team_members(ctx=ctx, project=project, user_ids=[TOM])
        training_service.save_module(
            ctx=ctx,
            project=project,
            data=training_service.ModuleInput(
                name="FI basics", planned_hours="8", formats=["lecture"]
            ),
        )
    emulator.reset_calls()
    return slack


def rows(database: Database, model: Any) -> list[Any]:
    with database.session() as session:
        return list(session.exec(select(model).order_by(model.id)).all())


def module_id(database: Database) -> int:
    [module] = rows(database, TrainingModule)
    return module.id


FULL = {
    "title": "Two approval levels for vendor invoices",
    "reason": "Audit finding 2026-14: invoices above 50k need a second approver.",
    "modules": "FI, MM",
    "processes": "Invoice verification",
    "impact_scope": "New workflow step",
    "impact_schedule": "+3 days FI build",
    "impact_cost": "4 consultant days",
    "impact_training": "30-minute demo",
    "training_hours": "4",
}


def new_change(slack: SlackDriver, user: str = PM, *, forged: bool = False, **values: Any) -> Any:
    slack.slash_command(user, "/change", "new", channel_id=PROJECT_CHANNEL)
    fields = {**FULL, **values}
    return slack.submit_view(user, fields, forged=forged)


def blocks_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    return list(message.get("blocks") or [])


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The buttons of a message by action id (a module's issue button under its common prefix)."""
    found = {}
    for block in blocks_of(message):
        elements = block.get("elements") or ([block["accessory"]] if "accessory" in block else [])
        for element in elements:
            if element.get("type") == "button":
                action = element["action_id"]
                if action.startswith(ChangeId.SPAWN_ISSUE):
                    action = ChangeId.SPAWN_ISSUE
                found.setdefault(action, element)
    return found


def issue_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e
        for b in blocks_of(message)
        for e in (b.get("elements") or [])
        if str(e.get("action_id", "")).startswith(ChangeId.SPAWN_ISSUE)
    ]


def show(slack: SlackDriver, user: str, text: str) -> dict[str, Any]:
    slack.slash_command(user, "/change", text, channel_id=PROJECT_CHANNEL)
    return last_response(slack)


def press(slack: SlackDriver, user: str, action_id: str, message: dict[str, Any]) -> Any:
    """A button of a message the app answered with in the project channel."""
    return slack.block_action(
        user, action_id, message={**message, "ts": "1.0"}, channel_id=PROJECT_CHANNEL
    )


def asked_dm(slack: SlackDriver, user: str) -> dict[str, Any]:
    return [m for m in slack.emulator.dm_messages(user) if ASKED in str(m.get("text"))][-1]


def answer(slack: SlackDriver, user: str, action: str, comment: str = "") -> Any:
    """A decider answers from their DM: the button, then the small form."""
    message = asked_dm(slack, user)
    slack.block_action(user, action, message=message, channel_id=message.get("channel"))
    return slack.submit_view(user, {"comment": comment})


def post_and_thread(slack: SlackDriver) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    [post] = [
        m
        for m in slack.emulator.messages(PROJECT_CHANNEL)
        if "Change request" in str(m.get("text")) and m.get("thread_ts") in (None, m.get("ts"))
    ]
    return post, slack.emulator.thread(PROJECT_CHANNEL, post["ts"])[1:]


ANSWER_BUTTONS = {ApprovalId.APPROVE, ApprovalId.REJECT, ApprovalId.QUESTION}


def answer_days(database: Database, user: str) -> list[str]:
    """The project's days of a person's answers, recomputed from the table."""
    [project] = rows(database, Project)
    zone = ZoneInfo(project.timezone)
    return [
        a.at.astimezone(zone).date().isoformat()
        for a in rows(database, ApprovalAnswer)
        if a.user_id == user
    ]


def history(database: Database) -> list[str]:
    return [h.action for h in rows(database, ChangeHistory)]


# ------------------------------------------------------------------------- the full flow


def test_the_form_defaults_to_the_registers_decision_makers(
    erp: SlackDriver, database: Database
) -> None:
    erp.slash_command(PM, "/change", "new", channel_id=PROJECT_CHANNEL)
    view = erp.emulator.top_view(PM)
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    assert {
        "title",
        "reason",
        "modules",
        "processes",
        "impact_scope",
        "impact_schedule",
        "impact_cost",
        "impact_training",
        "training_module",
        "training_hours",
        "requested_by",
        "deciders",
    } <= set(by_id)
    # The register's sponsors and decision makers, recomputed from its rows.
    from storage.models import KeyUser

    expected = [
        k.user_id
        for k in rows(database, KeyUser)
        if k.role in ("sponsor", "decision_maker") and k.removed_at is None
    ]
    assert by_id["deciders"]["element"]["initial_users"] == expected == [SAM, DORA]
    assert by_id["requested_by"]["element"]["initial_user"] == PM


def test_full_flow_with_every_decision_maker(
    erp: SlackDriver, database: Database, runtime: Runtime
) -> None:
    emulator = erp.emulator
    new_change(erp, training_module=str(module_id(database)))
    [change] = rows(database, ChangeRequest)
    assert (change.number, change.status, change.modules) == (1, "under_review", ["FI", "MM"])
    [approval] = rows(database, Approval)
    assert (approval.rule, approval.version, approval.subject_kind) == (
        "all",
        change.version,
        "change",
    )
    assert [d.user_id for d in rows(database, ApprovalDecider)] == [SAM, DORA]
    # Each decision maker is asked by DM, with the rule; the request is posted to the channel.
    for person in (SAM, DORA):
        said = texts([asked_dm(erp, person)])
        assert "Two approval levels for vendor invoices" in said
        assert "every decision maker must approve" in said
        assert {ApprovalId.APPROVE, ApprovalId.REJECT, ApprovalId.QUESTION} <= set(
            buttons(asked_dm(erp, person))
        )
    post, thread = post_and_thread(erp)
    assert "Change request *#1* (ERP)" in texts([post]) and thread == []
    # Sam's DM as his Slack may still show it (a click sent before the update arrived).
    stale = asked_dm(erp, SAM)
    # Sam asks a question, then approves: the request still waits for Dora. His DM says what
    # he said, when (the project's day); the question keeps the buttons, the decision not.
    answer(erp, SAM, ApprovalId.QUESTION, "Which threshold for MM?")
    [asked_on] = answer_days(database, SAM)
    said = texts([asked_dm(erp, SAM)])
    assert f"You asked on {asked_on}: Which threshold for MM?" in said
    assert ANSWER_BUTTONS <= set(buttons(asked_dm(erp, SAM)))
    answer(erp, SAM, ApprovalId.APPROVE, "Fine by me")
    assert rows(database, ChangeRequest)[0].status == "under_review"
    _, approved_on = answer_days(database, SAM)
    said = texts([asked_dm(erp, SAM)])
    assert f"You approved on {approved_on}: Fine by me" in said and "are awaited" in said
    assert not ANSWER_BUTTONS & set(buttons(asked_dm(erp, SAM)))
    assert ANSWER_BUTTONS <= set(buttons(asked_dm(erp, DORA)))  # Dora's is untouched
    # A second decision is refused, in words, and the attempt recorded.
    message = stale
    erp.block_action(SAM, ApprovalId.REJECT, message=message, channel_id=message.get("channel"))
    assert "You already approved it" in texts(emulator.responses[-1:])
    assert emulator.top_view(SAM) is None
    refused = [
        i for i in rows(database, Interaction) if i.kind == "approval.second_decision_refused"
    ]
    assert [(i.actor_id, i.detail["answer"], i.detail["given"]) for i in refused] == [
        (SAM, "reject", "approve")
    ]
    _, thread = post_and_thread(erp)
    said = texts(thread)
    assert "asked: Which threshold for MM?" in said and "approved: Fine by me" in said
    # Dora approves: approved, told in the thread and to the requester and PMs by DM.
    answer(erp, DORA, ApprovalId.APPROVE)
    change = rows(database, ChangeRequest)[0]
    assert change.status == "approved"
    assert rows(database, Approval)[0].status == "approved"
    _, thread = post_and_thread(erp)
    assert "*approved*" in texts(thread[-1:]) and len(thread) == 4
    for person in (PM, PM2):
        assert "*approved*" in texts(emulator.dm_messages(person)[-2:]), person
    # Both decision makers' DMs now say it is decided, without buttons.
    for person in (SAM, DORA):
        said = texts([asked_dm(erp, person)])
        assert "Decided: *change request #1* is *approved*" in said, person
        assert not ANSWER_BUTTONS & set(buttons(asked_dm(erp, person))), person
    assert f"You approved on {answer_days(database, DORA)[0]}" in texts([asked_dm(erp, DORA)])
    # A second decision is refused and recorded; the answers stay as given.
    kept = [(a.user_id, a.answer, a.comment, a.version) for a in rows(database, ApprovalAnswer)]
    asked = approval.version  # the version that was sent for review
    assert kept == [
        (SAM, "question", "Which threshold for MM?", asked),
        (SAM, "approve", "Fine by me", asked),
        (DORA, "approve", None, asked),
    ]
    erp.block_action(SAM, ApprovalId.REJECT, message=stale, channel_id=stale.get("channel"))
    assert "no longer takes answers" in texts(emulator.responses[-1:])
    assert len(rows(database, ApprovalAnswer)) == 3

    # The card: the decision and the full history, and what the approved change may spawn.
    card = show(erp, PM, "1")
    assert card == show(erp, PM, "show 1")
    said = texts([card])
    assert "Change #1 (ERP) · Two approval levels for vendor invoices" in said
    assert f"<@{SAM}>: approved" in said and f"<@{DORA}>: approved" in said
    assert {ChangeId.IMPLEMENTED, ChangeId.SPAWN_ISSUE, ChangeId.SPAWN_TRAINING} <= set(
        buttons(card)
    )
    # An issue per module, through the issue service.
    fi = next(e for e in issue_buttons(card) if e["value"].endswith(":FI"))
    press(erp, PM, fi["action_id"], card)
    [issue] = rows(database, Issue)
    assert (issue.number, issue.module, issue.kind) == (1, "FI", "issue")
    assert issue.title.startswith("Implement change #1 in FI")
    # The old card acts on nothing; the new one has no FI button left.
    press(erp, PM, fi["action_id"], card)
    assert "has changed since this was shown" in texts(emulator.responses[-1:])
    assert len(rows(database, Issue)) == 1
    card = show(erp, PM, "1")
    values = [e["value"] for e in issue_buttons(card)]
    assert values == [f"{change.id}:{rows(database, ChangeRequest)[0].version}:MM"]
    # The training hours go to the curriculum module, once.
    before = rows(database, TrainingModule)[0].planned_hours
    press(erp, PM, ChangeId.SPAWN_TRAINING, card)
    assert rows(database, TrainingModule)[0].planned_hours == before + float(FULL["training_hours"])
    card = show(erp, PM, "1")
    assert ChangeId.SPAWN_TRAINING not in buttons(card)
    # A communication-plan item per module, for that module's key users.
    press(erp, PM, ChangeId.SPAWN_PLAN, card)
    entries = rows(database, PlanEntry)
    assert [(e.audience_kind, e.audience_value, e.owner_id) for e in entries] == [
        ("module", "FI", PM),
        ("module", "MM", PM),
    ]
    with runtime.unit(TEAM, PM) as ctx:
        audiences = commplan.recipients_by_entry(ctx, entries)
    assert [[k.user_id for k in audiences[e.id]] for e in entries] == [[ANNA], [BEN]]
    # Implemented and verified, with a command and a button; each a step in the thread.
    erp.slash_command(PM, "/change", "1 verified", channel_id=PROJECT_CHANNEL)
    assert "is not implemented yet" in last_response_text(erp)
    erp.slash_command(TOM, "/change", "1 implemented", channel_id=PROJECT_CHANNEL)
    assert "is implemented" in last_response_text(erp)
    card = show(erp, PM, "1")
    press(erp, PM, ChangeId.VERIFIED, card)
    assert rows(database, ChangeRequest)[0].status == "verified"
    assert history(database) == [
        "proposed",
        "submitted",
        "question",
        "approve",
        "approve",
        "approved",
        "spawned_issue",
        "spawned_training",
        "spawned_plan",
        "implemented",
        "verified",
    ]
    # Every step after the decision is told in the thread, once each: the issue (its code and
    # module), the training hours (module and hours), the plan item, implemented, verified.
    _, thread = post_and_thread(erp)
    told = [texts([m]) for m in thread[4:]]
    [issue] = rows(database, Issue)
    [project] = rows(database, Project)
    code = f"{project.code}-{issue.number}"
    assert len(told) == 5, told
    assert f"opened issue *{code}* for FI" in told[0]
    hours = f"{float(FULL['training_hours']):g}"
    assert f"added {hours} h to training module _FI basics_" in told[1]
    assert f"in the communication plan: _{entries[0].note}_" in told[2]
    assert "implemented, said" in told[3] and "verified by" in told[4]
    said = texts([show(erp, PM, "1")])
    assert "opened issue *ERP-1*" in said and "added 4 h to training module _FI basics_" in said


def test_any_one_approval_is_enough_when_the_project_says_so(
    erp: SlackDriver, database: Database
) -> None:
    erp.slash_command(ANNA, "/change", "settings", channel_id=PROJECT_CHANNEL)
    assert "Only the project managers of ERP" in last_response_text(erp)
    erp.slash_command(PM, "/change", "settings", channel_id=PROJECT_CHANNEL)
    erp.submit_view(PM, {"rule": "any"})
    assert "Rule: one decision maker's approval is enough" in texts(
        erp.emulator.dm_messages(PM)[-1:]
    )
    new_change(erp)
    assert "one decision maker's approval is enough" in texts([asked_dm(erp, DORA)])
    post, _ = post_and_thread(erp)
    assert "one decision maker's approval is enough" in texts([post])
    message = asked_dm(erp, SAM)  # as Sam's Slack shows it before the update arrives
    answer(erp, DORA, ApprovalId.APPROVE)
    assert rows(database, ChangeRequest)[0].status == "approved"
    # Decided by Dora: Sam's DM says so, without buttons.
    assert "Decided: *change request #1* is *approved*" in texts([asked_dm(erp, SAM)])
    assert not ANSWER_BUTTONS & set(buttons(asked_dm(erp, SAM)))
    # Sam's answer comes too late: refused inline, nothing stored.
    erp.block_action(SAM, ApprovalId.APPROVE, message=message, channel_id=message.get("channel"))
    assert erp.emulator.top_view(SAM) is None
    assert [a.user_id for a in rows(database, ApprovalAnswer)] == [DORA]


def test_one_rejection_rejects_and_needs_a_reason(erp: SlackDriver, database: Database) -> None:
    new_change(erp)
    response = answer(erp, SAM, ApprovalId.REJECT, "   ")
    assert "Say why you reject it" in str(response.json["errors"])
    assert rows(database, ApprovalAnswer) == []
    erp.submit_view(SAM, {"comment": "Not before go-live"})
    change = rows(database, ChangeRequest)[0]
    assert change.status == "rejected"
    _, thread = post_and_thread(erp)
    assert "rejected: Not before go-live" in texts(thread)
    # A rejected change spawns nothing and cannot be implemented.
    erp.slash_command(PM, "/change", "1 implemented", channel_id=PROJECT_CHANNEL)
    assert "is not approved" in last_response_text(erp)
    assert not {ChangeId.SPAWN_ISSUE, ChangeId.IMPLEMENTED} & set(buttons(show(erp, PM, "1")))


def test_from_an_issue_of_kind_change_request_in_one_click(
    erp: SlackDriver, database: Database
) -> None:
    erp.slash_command(ANNA, "/issue", "new", channel_id=PROJECT_CHANNEL)
    erp.submit_view(
        ANNA, {"title": "Need a dunning level 4", "kind": "change_request", "module": "FI"}
    )
    erp.slash_command(PM, "/issue", "ERP-1", channel_id=PROJECT_CHANNEL)
    card = last_response(erp)
    assert ChangeId.FROM_ISSUE in buttons(card)
    press(erp, PM, ChangeId.FROM_ISSUE, card)
    view = erp.emulator.top_view(PM)
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    assert by_id["title"]["element"]["initial_value"] == "Need a dunning level 4"
    assert by_id["requested_by"]["element"]["initial_user"] == ANNA
    erp.submit_view(PM, {"reason": "Legal requirement"})
    [change] = rows(database, ChangeRequest)
    [issue] = rows(database, Issue)
    assert (change.issue_id, change.requested_by, change.modules) == (issue.id, ANNA, ["FI"])
    assert "From issue *ERP-1*" in texts([show(erp, PM, "1")])
    # An issue of another kind has no such button.
    erp.slash_command(ANNA, "/issue", "new", channel_id=PROJECT_CHANNEL)
    erp.submit_view(ANNA, {"title": "Printer jams"})
    erp.slash_command(PM, "/issue", "ERP-2", channel_id=PROJECT_CHANNEL)
    assert ChangeId.FROM_ISSUE not in buttons(last_response(erp))
    assert IssueId.DO_PREFIX  # the issue's own buttons stay the issue module's


# --------------------------------------------------------------------- who may do what


def test_a_key_user_proposes_for_their_own_module_and_sees_what_concerns_them(
    erp: SlackDriver, database: Database
) -> None:
    erp.slash_command(ANNA, "/change", "new", channel_id=PROJECT_CHANNEL)
    block_ids = {b.get("block_id") for b in erp.emulator.top_view(ANNA)["blocks"]}
    assert "modules" not in block_ids and "requested_by" not in block_ids
    erp.submit_view(ANNA, {"title": "Payment run twice a week", "reason": "Cash discount"})
    [change] = rows(database, ChangeRequest)
    assert (change.status, change.modules, change.requested_by) == ("proposed", ["FI"], ANNA)
    assert rows(database, Approval) == []  # nobody is asked before the team sends it
    for person in (PM, PM2):
        assert "proposed change *#1*" in texts(erp.emulator.dm_messages(person)[-1:])
    # Ben (MM) does not see it; Anna cannot move it; Sam sees it once asked.
    assert "No change request 1 that you can see" in texts([show(erp, BEN, "1")])
    erp.slash_command(ANNA, "/change", "send 1", channel_id=PROJECT_CHANNEL)
    assert "Only the PMs and team of ERP" in last_response_text(erp)
    assert "No change request 1 that you can see" in texts([show(erp, OUTSIDER, "ERP 1")])
    card = show(erp, PM, "1")
    press(erp, PM, ChangeId.SEND, card)
    assert rows(database, ChangeRequest)[0].status == "under_review"
    assert "Payment run twice a week" in texts([show(erp, SAM, "1")])
    # Ben's list holds nothing of Anna's; Anna's holds hers.
    new_change(erp, title="MM only", modules="MM")
    said = texts([show(erp, BEN, "list all")])
    assert "MM only" in said and "Payment run" not in said and "(1)" in said
    said = texts([show(erp, ANNA, "list")])
    assert "Payment run" in said and "MM only" not in said
    # Outsiders neither propose nor list.
    erp.slash_command(OUTSIDER, "/change", "new ERP")
    assert "Only the key users, team members and PMs of ERP" in last_response_text(erp)
    erp.slash_command(OUTSIDER, "/change", "list ERP")
    assert "Only the key users, team members and PMs of ERP" in last_response_text(erp)


def test_bad_input_gets_inline_errors_and_stores_nothing(
    erp: SlackDriver, database: Database
) -> None:
    response = new_change(  # -2 hours gets past no number input: a hand-made request
        erp,
        title=" ",
        training_hours="-2",
        deciders=[OUTSIDER],
        requested_by=OUTSIDER,
        forged=True,
    )
    assert set(response.json["errors"]) == {"title", "training_hours", "deciders", "requested_by"}
    assert rows(database, ChangeRequest) == [] and rows(database, OutboxMessage) == []
    erp.slash_command(ANNA, "/change", "new", channel_id=PROJECT_CHANNEL)
    response = erp.submit_view(ANNA, {"title": "x", "reason": "y", "deciders": [OUTSIDER]})
    assert "Choose people of ERP" in response.json["errors"]["deciders"]


def test_forged_ids_and_metadata_change_nothing(erp: SlackDriver, database: Database) -> None:
    new_change(erp)
    [approval] = rows(database, Approval)
    [change] = rows(database, ChangeRequest)
    # Ben, not asked, forges the decision buttons and the reminder's Open.
    for action in (ApprovalId.APPROVE, ApprovalId.REJECT, ApprovalId.QUESTION, ApprovalId.OPEN):
        for value in (str(approval.id), "abc", "0", "999999"):
            erp.block_action(BEN, action, value, channel_id=PROJECT_CHANNEL)
            assert erp.emulator.top_view(BEN) is None
    assert ASKED not in texts(erp.emulator.dm_messages(BEN))
    # Sam's answer form submitted by Ben; a form with a forged approval, answer or version.
    message = asked_dm(erp, SAM)
    erp.block_action(SAM, ApprovalId.APPROVE, message=message, channel_id=message.get("channel"))
    view = erp.emulator.top_view(SAM)
    assert erp.submit_view(BEN, {}, view=view).json["response_action"] == "errors"
    for metadata in (
        {"approval_id": "x", "answer": "approve", "version": 1},
        {"approval_id": approval.id, "answer": "veto", "version": approval.version},
        {"approval_id": approval.id, "answer": "approve", "version": approval.version + 5},
    ):
        forged = {**view, "private_metadata": json.dumps(metadata)}
        assert erp.submit_view(SAM, {}, view=forged).json["response_action"] == "errors"
    assert rows(database, ApprovalAnswer) == []
    # Anna (a key user) forges the card's buttons; nothing moves, nothing is spawned.
    value = f"{change.id}:{change.version}"
    for action in (
        ChangeId.SEND,
        ChangeId.IMPLEMENTED,
        ChangeId.SPAWN_TRAINING,
        ChangeId.SPAWN_PLAN,
    ):
        erp.block_action(ANNA, action, value, channel_id=PROJECT_CHANNEL)
    erp.block_action(ANNA, f"{ChangeId.SPAWN_ISSUE}_0", value + ":FI", channel_id=PROJECT_CHANNEL)
    erp.block_action(OUTSIDER, ChangeId.OPEN, str(change.id), channel_id=PROJECT_CHANNEL)
    assert rows(database, Issue) == [] and rows(database, PlanEntry) == []
    assert history(database) == ["proposed", "submitted"]
    assert "Two approval levels" not in texts(erp.emulator.dm_messages(OUTSIDER))
    # The PM's settings form submitted by a key user.
    erp.slash_command(PM, "/change", "settings", channel_id=PROJECT_CHANNEL)
    settings_view = erp.emulator.top_view(PM)
    response = erp.submit_view(ANNA, {"rule": "any"}, view=settings_view)
    assert response.json["response_action"] == "errors"


# ------------------------------------------------------------------ lists, CSV and Home


def test_long_lists_are_paged(erp: SlackDriver, database: Database, runtime: Runtime) -> None:
    from bot.services import changes as service

    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        for n in range(17):
            data = service.ChangeInput(title=f"Change {n}", reason="r", deciders=[SAM])
            service.create_change(ctx=ctx, project=project, data=data)
    first = show(erp, PM, "list")
    open_count = len([c for c in rows(database, ChangeRequest) if c.status == "proposed"])
    assert f"open ({open_count})" in texts([first]) and "Page 1 of 2" in texts([first])
    assert texts([first]).index("Change 16") < texts([first]).index("Change 2")  # newest first
    press(erp, PM, f"{ChangeId.LIST_PAGE}_next", first)
    assert "Page 2 of 2" in texts([last_response(erp)])


def test_export_counts_the_decisions(erp: SlackDriver, database: Database) -> None:
    new_change(erp, title='=HYPERLINK("http://evil")')
    answer(erp, SAM, ApprovalId.APPROVE)
    answer(erp, DORA, ApprovalId.QUESTION, "When?")
    erp.slash_command(ANNA, "/change", "export ERP")
    assert "Only the PMs and team of ERP" in last_response_text(erp)
    erp.slash_command(PM, "/change", "export ERP")
    [shared] = erp.emulator.files
    assert shared["filename"].startswith("ERP-changes-")
    [row] = list(csv.DictReader(io.StringIO(shared["content"].decode())))
    answers = rows(database, ApprovalAnswer)
    approvals_given = len([a for a in answers if a.answer == "approve"])
    rejections = len([a for a in answers if a.answer == "reject"])
    assert (row["approvals"], row["rejections"]) == (str(approvals_given), str(rejections))
    assert (row["id"], row["status"], row["rule"], row["training_hours"]) == (
        "#1",
        "under_review",
        "all",
        "4",
    )
    assert row["title"].startswith("'=") and row["deciders"] == f"{SAM} {DORA}"


def test_home_lists_what_waits_for_whom(
    erp: SlackDriver, database: Database, runtime: Runtime
) -> None:
    new_change(erp)
    new_change(erp, title="Second change", deciders=[DORA])
    answer(erp, SAM, ApprovalId.APPROVE)
    # Recomputed: for each request under review, the deciders without a decision.
    decided = {
        (a.approval_id, a.user_id)
        for a in rows(database, ApprovalAnswer)
        if a.answer in ("approve", "reject")
    }
    waiting = [
        (d.approval_id, d.user_id)
        for d in rows(database, ApprovalDecider)
        if (d.approval_id, d.user_id) not in decided
    ]
    assert [person for _, person in waiting] == [DORA, DORA]
    pm_home = texts([build_home(runtime, TEAM, PM)])
    assert "Change requests waiting" in pm_home
    assert pm_home.count(f"waits for <@{DORA}>") == 2 and f"waits for <@{SAM}>" not in pm_home
    dora_home = texts([build_home(runtime, TEAM, DORA)])
    assert dora_home.count("waits for *your* decision") == 2
    sam_home = texts([build_home(runtime, TEAM, SAM)])
    assert "Change requests waiting" not in sam_home
    # A key user's proposal waits for the team: on the PMs' Home, not on the key user's.
    erp.slash_command(ANNA, "/change", "new", channel_id=PROJECT_CHANNEL)
    erp.submit_view(ANNA, {"title": "Payment run twice a week", "reason": "Cash discount"})
    pm_home = texts([build_home(runtime, TEAM, PM2)])
    assert f"proposed by <@{ANNA}>, waits to be sent for review" in pm_home
    assert pm_home.count(f"waits for <@{DORA}>") == 2
    assert "waits to be sent" not in texts([build_home(runtime, TEAM, ANNA)])
    assert "Change requests waiting" not in texts([build_home(runtime, TEAM, OUTSIDER)])


def test_help_is_generated(erp: SlackDriver) -> None:
    erp.slash_command(PM, "/change", "help", channel_id=PROJECT_CHANNEL)
    said = last_response_text(erp)
    assert "`/change new [CODE]` (PMs, team and key users)" in said
    assert "`/change settings [CODE]` (PMs)" in said
    assert "`/change export [CODE]` (PMs and team)" in said


def test_a_chinese_project_speaks_chinese(slack: SlackDriver, database: Database) -> None:
    create_project(slack, locale="zh-CN", pm_ids=[PM, PM2])
    add_key_user(slack, SAM, role="sponsor")
    slack.slash_command(PM, "/change", "new", channel_id=PROJECT_CHANNEL)
    labels = [b["label"]["text"] for b in slack.emulator.top_view(PM)["blocks"] if "label" in b]
    assert "决策者" in labels and "对进度的影响" in labels
    slack.submit_view(PM, {"title": "增加审批层级", "reason": "审计要求"})
    assert "请您对变更请求 #1（ERP）作出决定" in texts([asked_dm_zh(slack, SAM)])
    said = texts([show(slack, PM, "1")])
    assert "变更 #1（ERP）· 增加审批层级" in said and "审批中" in said
    message = asked_dm_zh(slack, SAM)
    slack.block_action(SAM, ApprovalId.APPROVE, message=message, channel_id=message["channel"])
    slack.submit_view(SAM, {"comment": "同意"})
    [day] = answer_days(database, SAM)
    said = texts([asked_dm_zh(slack, SAM)])
    assert f"您已于 {day} 批准：同意" in said and "变更请求 #1 已有决定，结果为 *已批准*" in said


def asked_dm_zh(slack: SlackDriver, user: str) -> dict[str, Any]:
    return [m for m in slack.emulator.dm_messages(user) if "作出决定" in str(m.get("text"))][-1]


def test_without_a_project_channel_every_step_goes_by_dm(
    slack: SlackDriver, database: Database, runtime: Runtime
) -> None:
    from bot.services.keyusers import KeyUserInput, add_key_user
    from tests.digest_helpers import make_project

    with runtime.unit(TEAM, PM) as ctx:
        project = make_project(ctx, channel=None, key_users=[])
        add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=SAM, role="sponsor"))
    slack.slash_command(PM, "/change", "new ERP")
    slack.submit_view(PM, {"title": "No channel change", "reason": "Because"})
    said = texts(slack.emulator.dm_messages(PM))
    assert "sent for review by" in said and "now _under review_" in said
    answer(slack, SAM, ApprovalId.APPROVE, "Go")
    said = texts(slack.emulator.dm_messages(PM)[-2:])
    assert f"<@{SAM}> approved: Go" in said and "*approved*" in said
    assert rows(database, ChangeRequest)[0].status == "approved"
    # What follows the decision, by DM too: the issue by its code, then implemented.
    slack.slash_command(PM, "/change", "ERP 1")
    card = last_response(slack)
    [button] = issue_buttons(card)
    before = len(slack.emulator.dm_messages(PM))
    slack.block_action(PM, button["action_id"], message={**card, "ts": "1.0"}, channel_id="DPM")
    [issue] = rows(database, Issue)
    told = [m for m in slack.emulator.dm_messages(PM)[before:] if "opened issue" in texts([m])]
    assert len(told) == 1 and f"opened issue *ERP-{issue.number}*" in texts(told)
    slack.block_action(PM, button["action_id"], message={**card, "ts": "1.0"}, channel_id="DPM")
    assert len(rows(database, Issue)) == 1  # a double click makes and tells nothing more
    assert len([m for m in slack.emulator.dm_messages(PM) if "opened issue" in texts([m])]) == 1
    slack.slash_command(PM, "/change", "ERP 1 implemented")
    assert "implemented, said" in texts(slack.emulator.dm_messages(PM)[-1:])


def test_a_decision_from_a_form_opened_before_the_first_is_refused_and_logged(
    erp: SlackDriver, database: Database
) -> None:
    new_change(erp)
    message = asked_dm(erp, SAM)
    erp.block_action(SAM, ApprovalId.REJECT, message=message, channel_id=message.get("channel"))
    earlier_form = erp.emulator.top_view(SAM)
    erp.emulator.close_view(SAM)
    erp.block_action(SAM, ApprovalId.APPROVE, message=message, channel_id=message.get("channel"))
    erp.submit_view(SAM, {"comment": "Fine"})
    response = erp.submit_view(SAM, {"comment": "On second thought, no"}, view=earlier_form)
    assert response.json["response_action"] == "errors"
    assert "You already approved it" in str(response.json["errors"])
    assert [(a.user_id, a.answer) for a in rows(database, ApprovalAnswer)] == [(SAM, "approve")]
    refused = [
        (i.actor_id, i.detail["answer"], i.detail["given"])
        for i in rows(database, Interaction)
        if i.kind == "approval.second_decision_refused"
    ]
    assert refused == [(SAM, "reject", "approve")]
    assert rows(database, ChangeRequest)[0].status == "under_review"
    assert "rejected" not in history(database)


# ------------------------------------------------------------------------ a new version


def test_a_new_version_restarts_the_decision_and_the_trail_keeps_both(
    erp: SlackDriver, database: Database, runtime: Runtime
) -> None:
    from bot.services import approvals

    emulator = erp.emulator
    new_change(erp, training_module=str(module_id(database)))
    answer(erp, SAM, ApprovalId.APPROVE, "ok as it was")
    answer(erp, DORA, ApprovalId.QUESTION, "Which threshold?")
    old_sam, old_dora = asked_dm(erp, SAM), asked_dm(erp, DORA)
    [first] = rows(database, Approval)
    # The form opens filled in with the request as it stands.
    erp.slash_command(PM, "/change", "edit 1", channel_id=PROJECT_CHANNEL)
    view = emulator.top_view(PM)
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    assert by_id["title"]["element"]["initial_value"] == FULL["title"]
    assert by_id["modules"]["element"]["initial_value"] == FULL["modules"]
    assert by_id["training_hours"]["element"]["initial_value"] == FULL["training_hours"]
    assert by_id["deciders"]["element"]["initial_users"] == [SAM, DORA]
    # Saved unchanged: nothing to save.
    response = erp.submit_view(PM, {})
    assert "Nothing changed" in str(response.json["errors"])
    assert len(rows(database, Approval)) == 1
    erp.submit_view(PM, {"title": "Two approval levels above 100k"})
    assert "saved as a new version: its decision makers are asked again" in texts(
        emulator.dm_messages(PM)[-1:]
    )
    change = rows(database, ChangeRequest)[0]
    assert (change.title, change.status) == ("Two approval levels above 100k", "under_review")
    first, second = rows(database, Approval)
    assert (first.status, second.status) == ("superseded", "pending")
    assert second.version == change.version > first.version
    # The old DMs say a new version replaced them, without buttons; the new ones ask anew.
    for person, old in ((SAM, old_sam), (DORA, old_dora)):
        now = emulator.message(old["channel"], old["ts"]) or {}
        assert "A new version of *change request #1* replaced this one" in texts([now]), person
        assert not ANSWER_BUTTONS & set(buttons(now)), person
        new = asked_dm(erp, person)
        assert new["ts"] != old["ts"] and ANSWER_BUTTONS <= set(buttons(new)), person
        assert "Two approval levels above 100k" in texts([new])
    # The old DM still shows the version it asked about.
    assert FULL["title"] in texts([emulator.message(old_dora["channel"], old_dora["ts"]) or {}])
    # The thread tells the new version.
    _, thread = post_and_thread(erp)
    assert "made version" in texts(thread[-1:]) and "What changes" in texts(thread[-1:])
    assert "asked again" in texts(thread[-1:])
    # An answer to the old version is refused: from its button and from its form.
    erp.block_action(DORA, ApprovalId.APPROVE, message=old_dora, channel_id=old_dora["channel"])
    assert "no longer takes answers" in texts(emulator.responses[-1:])
    new_dora = asked_dm(erp, DORA)
    erp.block_action(DORA, ApprovalId.APPROVE, message=new_dora, channel_id=new_dora["channel"])
    form = emulator.top_view(DORA)
    forged = {
        **form,
        "private_metadata": json.dumps(
            {"approval_id": first.id, "answer": "approve", "version": first.version}
        ),
    }
    assert erp.submit_view(DORA, {}, view=forged).json["response_action"] == "errors"
    assert len(rows(database, ApprovalAnswer)) == 2
    # The new version decided; the trail keeps both versions' answers.
    erp.submit_view(DORA, {"comment": "Better"}, view=form)
    answer(erp, SAM, ApprovalId.APPROVE)
    assert rows(database, ChangeRequest)[0].status == "approved"
    with runtime.unit(TEAM, PM) as ctx:
        trail = approvals.history(ctx, "change", change.id or 0)
        got = [(a.version, row.user_id, row.answer, row.comment) for a, row in trail]
    assert got == [
        (first.version, SAM, "approve", "ok as it was"),
        (first.version, DORA, "question", "Which threshold?"),
        (second.version, DORA, "approve", "Better"),
        (second.version, SAM, "approve", None),
    ]
    assert [(a.approval_id, a.version) for a in rows(database, ApprovalAnswer)] == [
        (first.id, first.version),
        (first.id, first.version),
        (second.id, second.version),
        (second.id, second.version),
    ]
    said = texts([show(erp, PM, "1")])
    assert f"made version {second.version}" in said and "Which threshold?" in said
    # Decided: no more versions.
    erp.slash_command(PM, "/change", "edit 1", channel_id=PROJECT_CHANNEL)
    assert "is decided: it can no longer be edited" in last_response_text(erp)


def test_who_may_make_a_new_version(erp: SlackDriver, database: Database) -> None:
    erp.slash_command(ANNA, "/change", "new", channel_id=PROJECT_CHANNEL)
    erp.submit_view(ANNA, {"title": "Payment run twice a week", "reason": "Cash discount"})
    # Anna, its requester, edits her proposal; nobody is asked yet.
    erp.slash_command(ANNA, "/change", "edit 1", channel_id=PROJECT_CHANNEL)
    erp.submit_view(ANNA, {"reason": "Cash discount of 2%"})
    change = rows(database, ChangeRequest)[0]
    assert (change.reason, change.status) == ("Cash discount of 2%", "proposed")
    assert rows(database, Approval) == []
    assert "saved as a new version." in texts(erp.emulator.dm_messages(ANNA)[-1:])
    # Not in the channel yet: the PMs are told by DM.
    assert not [m for m in erp.emulator.messages(PROJECT_CHANNEL) if "made version" in texts([m])]
    for person in (PM, PM2):
        told = texts(erp.emulator.dm_messages(person)[-1:])
        assert f"made version {change.version} (changed: Why)" in told, person
    # Ben neither sees nor edits it; a forged form changes nothing.
    erp.slash_command(BEN, "/change", "edit 1", channel_id=PROJECT_CHANNEL)
    assert "No change request 1 that you can see" in last_response_text(erp)
    erp.slash_command(ANNA, "/change", "edit 1", channel_id=PROJECT_CHANNEL)
    view = erp.emulator.top_view(ANNA)
    assert erp.submit_view(BEN, {"title": "Ben's"}, view=view).json["response_action"] == "errors"
    for metadata in ({"change_id": 999}, {"version": change.version - 1}, {"version": None}):
        forged = {
            **view,
            "private_metadata": json.dumps({**json.loads(view["private_metadata"]), **metadata}),
        }
        response = erp.submit_view(ANNA, {"title": "Forged"}, view=forged)
        assert response.json["response_action"] == "errors", metadata
    assert rows(database, ChangeRequest)[0].title == "Payment run twice a week"
    # Once sent for review, only the PMs and team make new versions.
    erp.slash_command(PM, "/change", "send 1", channel_id=PROJECT_CHANNEL)
    erp.slash_command(ANNA, "/change", "edit 1", channel_id=PROJECT_CHANNEL)
    assert "Only the PMs and team edit change #1" in last_response_text(erp)
    erp.slash_command(TOM, "/change", "edit 1", channel_id=PROJECT_CHANNEL)
    assert erp.emulator.top_view(TOM) is not None
