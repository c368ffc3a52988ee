"""Sign-offs through the emulator: the form, the signers' DMs and answers (approve, approve with
remarks, reject with a reason) under each rule (every signer, any one, a named person), the
post's thread, the requester and PMs told, a new version restarting the sign-off (old answers
kept, an answer to an old version refused), reminders on a moved clock, a module's test
acceptance blocked by a P2 issue until resolved, forged ids and metadata, who sees what, paged
lists, the CSV trail, the Home tab and Chinese. Every figure shown is recomputed here from the
tables."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import ApprovalId, SignOffId
from bot.jobs import run_due
from bot.runtime import Runtime
from bot.services import issues as issue_service
from bot.services import projects as project_service
from bot.services import signoffs as service
from handlers.home import build_home
from storage.db import Database
from storage.models import (
    Approval,
    ApprovalAnswer,
    ApprovalDecider,
    Issue,
    KeyUser,
    OutboxMessage,
    SignOff,
    SignOffIssue,
    SignOffVersion,
)
from tests.conftest import KEY_USERS, OUTSIDER, PM, PM2, PROJECT_CHANNEL, TEAM
from tests.flows import add_key_user, create_project, last_response, last_response_text, texts

ANNA = KEY_USERS[0]  # key user of FI
BEN = KEY_USERS[1]  # key user of MM
SAM = KEY_USERS[2]  # sponsor
DORA = KEY_USERS[3]  # decision maker
ELLA = KEY_USERS[4]  # key user of FI
TOM = "UTOM00001"  # a consultant in the project team
ASKED = "Your decision is asked"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def erp(slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime) -> SlackDriver:
    """Project ERP with its channel, PMs Pia and Paul, key users Anna and Ella (FI), Ben (MM),
    sponsor Sam, decision maker Dora, and Tom in the team."""
    emulator.add_user(TOM, "tom.consultant", real_name="Tom Consultant")
    create_project(slack, pm_ids=[PM, PM2])
    add_key_user(slack, ANNA, module="FI")
    add_key_user(slack, BEN, module="MM")
    add_key_user(slack, SAM, role="sponsor")
    add_key_user(slack, DORA, role="decision_maker")
    add_key_user(slack, ELLA, module="FI")
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        project_service.set_team_members(ctx=ctx, project=project, user_ids=[TOM])
    emulator.reset_calls()
    return slack


def rows(database: Database, model: Any) -> list[Any]:
    with database.session() as session:
        return list(session.exec(select(model).order_by(model.id)).all())


BLUEPRINT = {
    "kind": "blueprint",
    "title": "FI blueprint",
    "text": "The FI blueprint as reviewed on 1 December.",
    "link": "https://docs.example.com/fi-blueprint",
    "people": [SAM, DORA],
    "rule": "all",
}


def new_signoff(slack: SlackDriver, user: str = PM, **values: Any) -> Any:
    slack.slash_command(user, "/signoff", "new", channel_id=PROJECT_CHANNEL)
    return slack.submit_view(user, {**BLUEPRINT, **values})


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for block in message.get("blocks") or []:
        elements = block.get("elements") or ([block["accessory"]] if "accessory" in block else [])
        for element in elements:
            if element.get("type") == "button":
                found.setdefault(element["action_id"], element)
    return found


def asked_dm(slack: SlackDriver, user: str) -> dict[str, Any]:
    return [m for m in slack.emulator.dm_messages(user) if ASKED in str(m.get("text"))][-1]


def press_answer(slack: SlackDriver, user: str, action: str, message: dict | None = None) -> Any:
    message = message or asked_dm(slack, user)
    return slack.block_action(user, action, message=message, channel_id=message.get("channel"))


def answer(slack: SlackDriver, user: str, action: str, comment: str = "") -> Any:
    """A signer answers from their latest asking DM: the button, then the small form."""
    press_answer(slack, user, action)
    return slack.submit_view(user, {"comment": comment})


def show(slack: SlackDriver, user: str, text: str) -> dict[str, Any]:
    slack.slash_command(user, "/signoff", text, channel_id=PROJECT_CHANNEL)
    return last_response(slack)


def post_and_thread(slack: SlackDriver, number: int = 1) -> tuple[dict, list[dict]]:
    [post] = [
        m
        for m in slack.emulator.messages(PROJECT_CHANNEL)
        if f"Sign-off *#{number}*" in str(m.get("text")) and m.get("thread_ts") in (None, m["ts"])
    ]
    return post, slack.emulator.thread(PROJECT_CHANNEL, post["ts"])[1:]


def kept(database: Database) -> list[tuple[str, str, bool, str | None, int]]:
    return [
        (a.user_id, a.answer, a.remarks, a.comment, a.version)
        for a in rows(database, ApprovalAnswer)
    ]


# ------------------------------------------------------------------------- the full flow


def test_every_signer_must_approve_with_remarks_kept(erp: SlackDriver, database: Database) -> None:
    emulator = erp.emulator
    new_signoff(erp)
    [signoff] = rows(database, SignOff)
    assert (signoff.number, signoff.kind, signoff.status, signoff.version) == (
        1,
        "blueprint",
        "open",
        1,
    )
    [approval] = rows(database, Approval)
    assert (approval.subject_kind, approval.rule, approval.version) == ("signoff", "all", 1)
    assert [d.user_id for d in rows(database, ApprovalDecider)] == [SAM, DORA]
    [version] = rows(database, SignOffVersion)
    assert (version.version, version.link) == (1, BLUEPRINT["link"])
    # Each signer's DM: what is signed, and Approve / Approve with remarks / Reject.
    for person in (SAM, DORA):
        dm = asked_dm(erp, person)
        assert "FI blueprint" in texts([dm]) and BLUEPRINT["link"] in texts([dm])
        assert set(buttons(dm)) == {
            ApprovalId.APPROVE,
            ApprovalId.APPROVE_REMARKS,
            ApprovalId.REJECT,
        }
    post, thread = post_and_thread(erp)
    assert "FI blueprint" in texts([post]) and "every signer must approve" in texts([post])
    assert thread == []
    # Approve with remarks needs the remarks: refused inline, nothing stored.
    stale = asked_dm(erp, SAM)  # the DM as Sam first saw it, buttons and all
    response = answer(erp, SAM, ApprovalId.APPROVE_REMARKS, "  ")
    assert "Write your remarks" in str(response.json["errors"])
    assert rows(database, ApprovalAnswer) == []
    erp.submit_view(SAM, {"comment": "Section 4 needs the glossary"})
    assert rows(database, SignOff)[0].status == "open"
    answer(erp, DORA, ApprovalId.APPROVE)
    assert rows(database, SignOff)[0].status == "approved"
    assert rows(database, Approval)[0].status == "approved"
    assert kept(database) == [
        (SAM, "approve", True, "Section 4 needs the glossary", 1),
        (DORA, "approve", False, None, 1),
    ]
    _, thread = post_and_thread(erp)
    said = texts(thread)
    assert len(thread) == 2
    assert "approved with remarks: Section 4 needs the glossary" in said
    assert "now *signed*" in texts(thread[-1:])
    # The requester and PMs are told of the outcome.
    for person in (PM, PM2):
        assert "now *signed*" in texts(emulator.dm_messages(person)), person
    # The view: signers, the trail in the project's time, no New version once signed.
    card = show(erp, PM, "1")
    assert card == show(erp, PM, "show 1")
    said = texts([card])
    assert "Sign-off #1 (ERP) · FI blueprint" in said and "signed" in said
    answers = rows(database, ApprovalAnswer)
    for row in answers:
        when = row.at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M")
        assert f"v1 · {when} · <@{row.user_id}>" in said
    assert f"*Trail* ({len(answers)} answers)" in said
    assert SignOffId.NEW_VERSION not in buttons(card)
    erp.slash_command(PM, "/signoff", "edit 1", channel_id=PROJECT_CHANNEL)
    assert "is signed: it cannot be changed" in last_response_text(erp)
    # A second answer (from the copy Sam still had on screen) is refused; nothing is added.
    press_answer(erp, SAM, ApprovalId.REJECT, stale)
    assert "no longer takes answers" in texts(emulator.responses[-1:])
    assert len(rows(database, ApprovalAnswer)) == 2


def test_one_rejection_needs_a_reason_and_rejects_under_every_signer(
    erp: SlackDriver, database: Database
) -> None:
    new_signoff(erp)
    response = answer(erp, SAM, ApprovalId.REJECT, "   ")
    assert "Say why you reject it" in str(response.json["errors"])
    assert rows(database, ApprovalAnswer) == []
    erp.submit_view(SAM, {"comment": "Credit management is missing"})
    assert rows(database, SignOff)[0].status == "rejected"
    _, thread = post_and_thread(erp)
    assert "rejected: Credit management is missing" in texts(thread)
    assert "now *rejected*" in texts(thread)


def test_any_one_signer_is_enough(erp: SlackDriver, database: Database) -> None:
    new_signoff(erp, rule="any")
    answer(erp, SAM, ApprovalId.REJECT, "Not yet")
    assert rows(database, SignOff)[0].status == "open"  # rejected only when every signer rejects
    answer(erp, DORA, ApprovalId.APPROVE_REMARKS, "Fine, fix the typos")
    assert rows(database, SignOff)[0].status == "approved"


def test_a_named_person_decides(erp: SlackDriver, database: Database) -> None:
    response = new_signoff(erp, rule="named", named=ANNA, people=[SAM, DORA])
    assert "must be one of the signers" in str(response.json["errors"]["named"])
    response = erp.submit_view(PM, {**BLUEPRINT, "rule": "named", "named": None})
    assert "Choose the person who signs for all" in str(response.json["errors"]["named"])
    assert rows(database, SignOff) == []
    erp.submit_view(PM, {**BLUEPRINT, "rule": "named", "named": DORA, "people": [SAM, DORA, ANNA]})
    [approval] = rows(database, Approval)
    assert (approval.rule, approval.named_id) == ("named", DORA)
    assert f"Rule: <@{DORA}> decides" in texts([asked_dm(erp, SAM)])
    assert f"<@{DORA}> signs for all" in texts([post_and_thread(erp)[0]])
    answer(erp, SAM, ApprovalId.REJECT, "I disagree")
    answer(erp, ANNA, ApprovalId.APPROVE)
    assert rows(database, SignOff)[0].status == "open"  # only Dora's answer decides
    answer(erp, DORA, ApprovalId.APPROVE)
    assert rows(database, SignOff)[0].status == "approved"
    said = texts([show(erp, PM, "1")])
    assert f"<@{SAM}>: rejected" in said and f"<@{DORA}>: approved" in said


# --------------------------------------------------------------- versions and the trail


def test_a_new_version_restarts_and_old_answers_stay(
    erp: SlackDriver, database: Database, clock: MovableClock
) -> None:
    new_signoff(erp)
    old_dm = asked_dm(erp, SAM)
    answer(erp, SAM, ApprovalId.APPROVE, "v1 is fine")
    answer(erp, DORA, ApprovalId.REJECT, "Add the dunning process")
    assert rows(database, SignOff)[0].status == "rejected"
    clock.advance(hours=2)
    card = show(erp, PM, "1")
    erp.block_action(
        PM, SignOffId.NEW_VERSION, message={**card, "ts": "1.0"}, channel_id=PROJECT_CHANNEL
    )
    view = erp.emulator.top_view(PM)
    erp.submit_view(PM, {"text": "Now with the dunning process.", "link": ""})
    signoff = rows(database, SignOff)[0]
    assert (signoff.version, signoff.status) == (2, "open")
    assert [(v.version, v.text) for v in rows(database, SignOffVersion)] == [
        (1, BLUEPRINT["text"]),
        (2, "Now with the dunning process."),
    ]
    first, second = rows(database, Approval)
    assert (first.version, first.status, second.version, second.status) == (
        1,
        "rejected",
        2,
        "pending",
    )
    # The old DM's buttons take no answer; the new one does.
    press_answer(erp, SAM, ApprovalId.APPROVE, old_dm)
    assert "no longer takes answers" in texts([last_response(erp)])
    assert "Now with the dunning process." in texts([asked_dm(erp, SAM)])
    answer(erp, SAM, ApprovalId.APPROVE)
    answer(erp, DORA, ApprovalId.APPROVE)
    assert rows(database, SignOff)[0].status == "approved"
    assert kept(database) == [
        (SAM, "approve", False, "v1 is fine", 1),
        (DORA, "reject", False, "Add the dunning process", 1),
        (SAM, "approve", False, None, 2),
        (DORA, "approve", False, None, 2),
    ]
    said = texts([show(erp, PM, "1")])
    assert "v1 ·" in said and "rejected: Add the dunning process" in said and "v2 ·" in said
    latest = rows(database, SignOffVersion)[-1]
    made = latest.created_at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M")
    assert f"Version 2 by <@{PM}>, {made}" in said
    _, thread = post_and_thread(erp)
    assert "version 2 sent to 2 signers" in texts(thread)
    # The version form of version 1, submitted again, stores nothing.
    erp.submit_view(PM, {"text": "Stale"}, view=view)
    assert len(rows(database, SignOffVersion)) == 2


def test_the_trail_cannot_be_edited() -> None:
    """Answers are added, never changed: neither service offers a way to edit or remove one."""
    from bot.services import approvals

    for module in (approvals, service):
        public = [name for name in dir(module) if not name.startswith("_")]
        assert not [n for n in public if n.startswith(("update", "delete", "remove", "set_"))]


# --------------------------------------------------------------------------- reminders


def reminders(slack: SlackDriver, user: str) -> list[dict]:
    return [m for m in slack.emulator.dm_messages(user) if " for you · " in str(m.get("text"))]


def test_signers_are_reminded_after_two_working_days_grouped_once_a_day(
    erp: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    # Tuesday 09:00 Berlin: two sign-offs asked of Sam and Dora.
    new_signoff(erp)
    new_signoff(erp, title="Go-live readiness", kind="go_live")
    run_due(runtime)
    clock.advance(days=2, minutes=-1)  # Thursday 08:59
    run_due(runtime)
    assert reminders(erp, SAM) == []
    clock.advance(minutes=1)  # Thursday 09:00: two working days
    run_due(runtime)
    [reminder] = reminders(erp, SAM)
    said = texts([reminder])
    assert "2 decisions wait for you" in said
    assert "FI blueprint" in said and "Go-live readiness" in said
    keys = sorted(r.key for r in rows(database, OutboxMessage))
    clock.advance(hours=3)
    run_due(runtime)
    assert sorted(r.key for r in rows(database, OutboxMessage)) == keys
    assert len(reminders(erp, SAM)) == 1
    # Sam signs the second; Friday's list is shorter.
    answer(erp, SAM, ApprovalId.APPROVE)
    clock.advance(hours=21)
    run_due(runtime)
    assert len(reminders(erp, SAM)) == 2
    assert "1 decision waits for you" in texts(reminders(erp, SAM)[-1:])
    assert "2 decisions wait for you" in texts(reminders(erp, DORA)[-1:])


# ------------------------------------------------------------------------ test acceptance


def log_issue(slack: SlackDriver, user: str, title: str, priority: str, module: str) -> None:
    slack.slash_command(user, "/issue", "new", channel_id=PROJECT_CHANNEL)
    slack.submit_view(user, {"title": title, "priority": priority, "module": module})


def test_a_p2_issue_blocks_the_modules_test_acceptance_until_resolved(
    erp: SlackDriver, database: Database, runtime: Runtime
) -> None:
    new_signoff(erp, kind="uat", title="FI UAT", module="FI", people=[], module_key_users=["yes"])
    [signoff] = rows(database, SignOff)
    # The module's key users, recomputed from the register.
    expected = [k.user_id for k in rows(database, KeyUser) if k.module == "FI"]
    assert signoff.signers == expected == [ANNA, ELLA]
    log_issue(erp, ANNA, "Payment run fails", "P2", "FI")
    log_issue(erp, BEN, "Typo in MM", "P1", "MM")  # another module: not linked
    log_issue(erp, ELLA, "Label misaligned", "P4", "FI")  # linked, does not block
    issues = {i.title: i for i in rows(database, Issue)}
    links = [(link.signoff_id, link.issue_id) for link in rows(database, SignOffIssue)]
    assert links == [
        (signoff.id, issues["Payment run fails"].id),
        (signoff.id, issues["Label misaligned"].id),
    ]
    blocking = [
        f"ERP-{i.number}"
        for i in rows(database, Issue)
        if (signoff.id, i.id) in links
        and i.priority in ("P1", "P2")
        and i.status not in ("resolved", "closed")
    ]
    assert blocking == ["ERP-1"]
    # The signers without a decision and the thread are told of the blocking issue, once.
    for person in (ANNA, ELLA):
        notices = [
            m
            for m in erp.emulator.dm_messages(person)
            if "cannot be approved until it is resolved" in texts([m])
        ]
        assert len(notices) == 1 and "Issue *ERP-1* (P2)" in texts(notices)
    _, thread = post_and_thread(erp)
    assert [m for m in thread if "Issue *ERP-1* (P2)" in texts([m])]
    assert not [m for m in thread if "ERP-3" in texts([m])]
    # The view and a fresh DM show what blocks it; Approve is refused in words.
    said = texts([show(erp, ANNA, "1")])
    assert "Blocked by 1 open P1/P2 issue: ERP-1" in said
    assert "ERP-1, ERP-3" in said  # the linked issues
    press_answer(erp, ANNA, ApprovalId.APPROVE)
    assert "cannot be approved while these P1/P2 issues are open: ERP-1" in texts(
        [last_response(erp)]
    )
    assert erp.emulator.top_view(ANNA) is None
    press_answer(erp, ANNA, ApprovalId.APPROVE_REMARKS)
    assert erp.emulator.top_view(ANNA) is None
    # A rejection is still possible; a form opened before the issue was logged is refused too.
    assert rows(database, ApprovalAnswer) == []
    # Resolved: the approval goes through.
    with runtime.unit(TEAM, PM) as ctx:
        issue, project = issue_service.find_issue(ctx, "ERP-1")
        issue_service.apply(ctx=ctx, issue=issue, project=project, verb="resolve", text="Fixed")
    assert "Blocked by" not in texts([show(erp, ANNA, "1")])
    answer(erp, ANNA, ApprovalId.APPROVE)
    answer(erp, ELLA, ApprovalId.APPROVE)
    assert rows(database, SignOff)[0].status == "approved"


def test_an_approval_form_opened_before_a_blocking_issue_is_refused(
    erp: SlackDriver, database: Database
) -> None:
    new_signoff(erp, kind="uat", title="FI UAT", module="FI", people=[], module_key_users=["yes"])
    press_answer(erp, ANNA, ApprovalId.APPROVE)
    view = erp.emulator.top_view(ANNA)
    log_issue(erp, BEN, "Posting blocked", "P1", "FI")
    response = erp.submit_view(ANNA, {"comment": ""}, view=view)
    assert "ERP-1" in str(response.json["errors"])
    assert rows(database, ApprovalAnswer) == []


# ------------------------------------------------------------------- who may do what


def test_who_creates_sees_and_answers(erp: SlackDriver, database: Database) -> None:
    erp.slash_command(ANNA, "/signoff", "new", channel_id=PROJECT_CHANNEL)
    assert "Only the PMs and team of ERP" in last_response_text(erp)
    new_signoff(erp, TOM, kind="uat", title="FI UAT", module="FI", people=[SAM])
    new_signoff(erp, title="MM document", kind="document", people=[DORA])
    # Anna (FI) sees the FI acceptance, not Dora's document; Ben (MM) sees neither.
    said = texts([show(erp, ANNA, "list all")])
    assert "FI UAT" in said and "MM document" not in said and "(1)" in said
    assert "No sign-off 2 that you can see" in texts([show(erp, ANNA, "2")])
    assert "(0)" in texts([show(erp, BEN, "list all")])
    assert "No sign-off 1 that you can see" in texts([show(erp, BEN, "1")])
    # Dora sees what she is asked to sign; the team sees everything.
    said = texts([show(erp, DORA, "list")])
    assert "MM document" in said and "FI UAT" not in said
    assert "(2)" in texts([show(erp, TOM, "list")])
    assert "(1)" in texts([show(erp, TOM, "list mine")])
    # Outsiders neither list nor see; only the team exports and edits.
    erp.slash_command(OUTSIDER, "/signoff", "list ERP")
    assert "Only the key users, team members and PMs of ERP" in last_response_text(erp)
    erp.slash_command(ANNA, "/signoff", "export ERP")
    assert "Only the PMs and team of ERP" in last_response_text(erp)
    erp.slash_command(DORA, "/signoff", "edit 2", channel_id=PROJECT_CHANNEL)
    assert "Only the PMs and team of ERP" in last_response_text(erp)


def test_bad_input_gets_inline_errors_and_stores_nothing(
    erp: SlackDriver, database: Database
) -> None:
    response = new_signoff(
        erp, title=" ", text="", link="ftp://x", people=[OUTSIDER], due_on="2020-01-01"
    )
    assert set(response.json["errors"]) == {"title", "link", "people", "due_on"}
    response = erp.submit_view(PM, {**BLUEPRINT, "text": "", "link": ""})
    assert set(response.json["errors"]) == {"text"}
    response = erp.submit_view(PM, {**BLUEPRINT, "kind": "uat", "module": ""})
    assert set(response.json["errors"]) == {"module"}
    response = erp.submit_view(PM, {**BLUEPRINT, "kind": "uat", "module": "SD", "people": []})
    assert "Name at least one signer" in str(response.json["errors"])
    assert rows(database, SignOff) == [] and rows(database, OutboxMessage) == []


def test_forged_ids_and_metadata_change_nothing(erp: SlackDriver, database: Database) -> None:
    new_signoff(erp)
    [approval] = rows(database, Approval)
    [signoff] = rows(database, SignOff)
    # Ben, not asked, forges the signers' buttons.
    for action in (ApprovalId.APPROVE, ApprovalId.APPROVE_REMARKS, ApprovalId.REJECT):
        for value in (str(approval.id), "abc", "0", "999999"):
            erp.block_action(BEN, action, value, channel_id=PROJECT_CHANNEL)
            assert erp.emulator.top_view(BEN) is None
    # Sam's answer form submitted by Ben; forged approval, answer or version.
    press_answer(erp, SAM, ApprovalId.APPROVE_REMARKS)
    view = erp.emulator.top_view(SAM)
    assert erp.submit_view(BEN, {"comment": "x"}, view=view).json["response_action"] == "errors"
    for metadata in (
        {"approval_id": "x", "answer": "remarks", "version": 1},
        {"approval_id": approval.id, "answer": "sign", "version": 1},
        {"approval_id": approval.id, "answer": "remarks", "version": 7},
    ):
        forged = {**view, "private_metadata": json.dumps(metadata)}
        response = erp.submit_view(SAM, {"comment": "x"}, view=forged)
        assert response.json["response_action"] == "errors"
    # Sam forges the question a change request offers, which a sign-off does not.
    forged = {
        **view,
        "private_metadata": json.dumps(
            {"approval_id": approval.id, "answer": "question", "version": 1}
        ),
    }
    assert erp.submit_view(SAM, {"comment": "?"}, view=forged).json["response_action"] == "errors"
    erp.block_action(SAM, ApprovalId.QUESTION, str(approval.id), channel_id=PROJECT_CHANNEL)
    assert erp.emulator.top_view(SAM)["private_metadata"] == view["private_metadata"]
    assert rows(database, ApprovalAnswer) == []
    # A key user forges New version and Open; an outsider the list page.
    for value in (f"{signoff.id}:{signoff.version}", "abc", f"{signoff.id}:9"):
        erp.block_action(ANNA, SignOffId.NEW_VERSION, value, channel_id=PROJECT_CHANNEL)
        assert erp.emulator.top_view(ANNA) is None
    erp.block_action(BEN, SignOffId.OPEN, str(signoff.id), channel_id=PROJECT_CHANNEL)
    assert "FI blueprint" not in texts(erp.emulator.dm_messages(BEN))
    erp.block_action(
        OUTSIDER,
        f"{SignOffId.LIST_PAGE}_next",
        f"{signoff.project_id}|all|1",
        channel_id=PROJECT_CHANNEL,
    )
    assert "FI blueprint" not in texts([last_response(erp)])
    # The PM's version form submitted by a key user, or with another sign-off's id.
    erp.slash_command(PM, "/signoff", "edit 1", channel_id=PROJECT_CHANNEL)
    version_view = erp.emulator.top_view(PM)
    assert erp.submit_view(ANNA, {"text": "x"}, view=version_view).json["response_action"] == (
        "errors"
    )
    metadata = json.loads(version_view["private_metadata"])
    for changed in ({"signoff_id": 999}, {"signoff_id": "x"}, {"version": 0}):
        forged = {**version_view, "private_metadata": json.dumps({**metadata, **changed})}
        response = erp.submit_view(PM, {"text": "x"}, view=forged)
        assert response.json["response_action"] == "errors", changed
    assert len(rows(database, SignOffVersion)) == 1 and rows(database, SignOff)[0].version == 1


# ------------------------------------------------------------------ lists, CSV and Home


def test_long_lists_are_paged(erp: SlackDriver, database: Database, runtime: Runtime) -> None:
    from bot.jobs import signoffs as notices

    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        for n in range(17):
            data = service.SignOffInput(
                kind="document", title=f"Doc {n}", text="t", people=[SAM], rule="all"
            )
            notices.create(ctx, project, data)
    first = show(erp, PM, "list")
    count = len([s for s in rows(database, SignOff) if s.status == "open"])
    assert f"open ({count})" in texts([first]) and "Page 1 of 2" in texts([first])
    assert texts([first]).index("Doc 16") < texts([first]).index("Doc 2 ")
    erp.block_action(
        PM,
        f"{SignOffId.LIST_PAGE}_next",
        message={**first, "ts": "1.0"},
        channel_id=PROJECT_CHANNEL,
    )
    said = texts([last_response(erp)])
    assert "Page 2 of 2" in said and "Doc 0" in said


def test_export_is_the_audit_trail(
    erp: SlackDriver, database: Database, clock: MovableClock
) -> None:
    new_signoff(erp, title='=HYPERLINK("http://evil")')
    answer(erp, SAM, ApprovalId.APPROVE_REMARKS, "Minor: numbering")
    clock.advance(hours=1)
    answer(erp, DORA, ApprovalId.REJECT, "Missing chapter")
    erp.slash_command(PM, "/signoff", "edit 1", channel_id=PROJECT_CHANNEL)
    erp.submit_view(PM, {"text": "With the chapter"})
    answer(erp, DORA, ApprovalId.APPROVE)
    erp.slash_command(PM, "/signoff", "export ERP")
    [shared] = erp.emulator.files
    assert shared["filename"].startswith("ERP-signoffs-")
    got = list(csv.DictReader(io.StringIO(shared["content"].decode())))
    names = {k.user_id: k.display_name or k.user_id for k in rows(database, KeyUser)}
    expected = [
        {
            "signoff": "#1",
            "version": str(a.version),
            "signer": a.user_id,
            "signer_name": names.get(a.user_id, a.user_id),
            "at": a.at.astimezone(BERLIN).isoformat(timespec="minutes"),
            "answer": "remarks" if a.remarks else a.answer,
            "comment": a.comment or "",
        }
        for a in rows(database, ApprovalAnswer)
    ]
    assert [{k: row[k] for k in expected[0]} for row in got] == expected
    assert len(got) == 3 and [row["version"] for row in got] == ["1", "1", "2"]
    assert got[0]["title"].startswith("'=")
    assert got[0]["at"].endswith("+01:00")


def test_home_lists_what_waits_for_a_signature(
    erp: SlackDriver, database: Database, runtime: Runtime
) -> None:
    new_signoff(erp)
    new_signoff(erp, title="Go-live readiness", kind="go_live", people=[DORA])
    answer(erp, SAM, ApprovalId.APPROVE)
    decided = {
        (a.approval_id, a.user_id)
        for a in rows(database, ApprovalAnswer)
        if a.answer in ("approve", "reject")
    }
    waiting = [
        d.user_id
        for d in rows(database, ApprovalDecider)
        if (d.approval_id, d.user_id) not in decided
    ]
    assert waiting == [DORA, DORA]
    dora = texts([build_home(runtime, TEAM, DORA)])
    assert "Sign-offs waiting" in dora and dora.count("waits for *your* signature") == 2
    pm = texts([build_home(runtime, TEAM, PM)])
    assert pm.count(f"waits for <@{DORA}>") == 2 and f"waits for <@{SAM}>" not in pm
    assert "Sign-offs waiting" not in texts([build_home(runtime, TEAM, SAM)])
    assert "Sign-offs waiting" not in texts([build_home(runtime, TEAM, OUTSIDER)])


def test_help_is_generated(erp: SlackDriver) -> None:
    erp.slash_command(PM, "/signoff", "help", channel_id=PROJECT_CHANNEL)
    said = last_response_text(erp)
    assert "`/signoff new [CODE]` (PMs and team)" in said
    assert "`/signoff list [CODE]" in said and "(PMs, team and key users)" in said
    assert "`/signoff export [CODE]` (PMs and team)" in said


def test_without_a_channel_every_step_goes_by_dm(
    slack: SlackDriver, database: Database, runtime: Runtime
) -> None:
    from bot.services.keyusers import KeyUserInput, add_key_user
    from tests.digest_helpers import make_project

    with runtime.unit(TEAM, PM) as ctx:
        project = make_project(ctx, channel=None, key_users=[])
        add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=SAM, role="sponsor"))
    slack.slash_command(PM, "/signoff", "new ERP")
    slack.submit_view(PM, {**BLUEPRINT, "people": [SAM]})
    assert "FI blueprint" in texts(slack.emulator.dm_messages(PM))
    answer(slack, SAM, ApprovalId.APPROVE, "Go")
    assert f"<@{SAM}> approved: Go" in texts(slack.emulator.dm_messages(PM)[-1:])
    assert rows(database, SignOff)[0].status == "approved"


def test_a_chinese_project_speaks_chinese(
    slack: SlackDriver, database: Database, clock: MovableClock
) -> None:
    create_project(slack, locale="zh-CN", pm_ids=[PM, PM2])
    add_key_user(slack, SAM, role="sponsor")
    slack.slash_command(PM, "/signoff", "new", channel_id=PROJECT_CHANNEL)
    labels = [b["label"]["text"] for b in slack.emulator.top_view(PM)["blocks"] if "label" in b]
    assert "签核对象" in labels and "签核人" in labels
    slack.submit_view(
        PM, {"kind": "go_live", "title": "上线签核", "text": "上线准备已完成。", "people": [SAM]}
    )
    dm = [m for m in slack.emulator.dm_messages(SAM) if "作出决定" in str(m.get("text"))][-1]
    assert "附意见批准" in texts([dm])
    slack.block_action(SAM, ApprovalId.APPROVE_REMARKS, message=dm, channel_id=dm.get("channel"))
    slack.submit_view(SAM, {"comment": "培训材料待更新"})
    said = texts([show(slack, PM, "1")])
    assert "签核 #1（ERP）· 上线签核" in said and "已签核" in said
    assert "附意见批准：培训材料待更新" in said
    assert clock.now() - timedelta(days=1) < rows(database, ApprovalAnswer)[0].at


def test_change_requests_offer_no_approval_with_remarks(
    erp: SlackDriver, database: Database
) -> None:
    """The mechanism's new answer is the sign-offs': a change request's DM keeps its three
    buttons, and a forged Approve with remarks on it is refused."""
    erp.slash_command(PM, "/change", "new", channel_id=PROJECT_CHANNEL)
    erp.submit_view(PM, {"title": "Dunning level 4", "reason": "Legal requirement"})
    [approval] = rows(database, Approval)
    dm = asked_dm(erp, SAM)
    assert set(buttons(dm)) == {ApprovalId.APPROVE, ApprovalId.REJECT, ApprovalId.QUESTION}
    erp.block_action(SAM, ApprovalId.APPROVE_REMARKS, str(approval.id), channel_id=dm["channel"])
    assert erp.emulator.top_view(SAM) is None
    press_answer(erp, SAM, ApprovalId.APPROVE, dm)
    view = erp.emulator.top_view(SAM)
    metadata = {"approval_id": approval.id, "answer": "remarks", "version": approval.version}
    forged = {**view, "private_metadata": json.dumps(metadata)}
    assert erp.submit_view(SAM, {"comment": "x"}, view=forged).json["response_action"] == "errors"
    assert rows(database, ApprovalAnswer) == []
    erp.submit_view(SAM, {"comment": "Fine"})
    assert [(a.answer, a.remarks) for a in rows(database, ApprovalAnswer)] == [("approve", False)]
