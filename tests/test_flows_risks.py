"""The project-risk register through the emulator: raising a risk from the command and from a
message, lists and filters, the card, assessing again, closing and reopening, the owner, actions
that become issues, export, the PMs' DM when a risk becomes high, key users' rights and forged
ids."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import RiskId
from bot.runtime import Runtime
from bot.services import projects as project_service
from storage.db import Database
from storage.models import (
    Issue,
    OutboxMessage,
    Risk,
    RiskAction,
    RiskAssessment,
    RiskHistory,
    RiskLink,
)
from tests.conftest import KEY_USERS, OUTSIDER, PM, PM2, PROJECT_CHANNEL, TEAM
from tests.flows import add_key_user, create_project, last_response, last_response_text, texts

ANNA = KEY_USERS[0]  # key user of FI
BEN = KEY_USERS[1]  # key user of MM
TOM = "UTOM00001"  # a consultant in the project team


@pytest.fixture
def erp(slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime) -> SlackDriver:
    return set_up_erp(slack, emulator, runtime)


def set_up_erp(slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime) -> SlackDriver:
    """Project ERP with its channel, PMs Pia and Paul, key users Anna (FI) and Ben (MM), and Tom
    in the project team."""
    emulator.add_user(TOM, "tom.consultant", real_name="Tom Consultant")
    create_project(slack, pm_ids=[PM, PM2])
    add_key_user(slack, ANNA, module="FI")
    add_key_user(slack, BEN, module="MM")
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        project_service.set_team_members(ctx=ctx, project=project, user_ids=[TOM])
    emulator.reset_calls()
    return slack


def risks_in(database: Database) -> list[Risk]:
    with database.session() as session:
        return list(session.exec(select(Risk).order_by(Risk.id)).all())


def rows(database: Database, model: Any) -> list[Any]:
    with database.session() as session:
        return list(session.exec(select(model).order_by(model.id)).all())


def raise_risk(slack: SlackDriver, user: str = PM, text: str = "", **values: Any) -> Any:
    slack.slash_command(user, "/risk", f"new {text}".strip(), channel_id=PROJECT_CHANNEL)
    fields = {
        "title": "Data migration of open items is late",
        "category": "data",
        "probability": "3",
        "impact": "4",
    }
    fields.update(values)
    return slack.submit_view(user, fields)


def blocks_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    return list(message.get("blocks") or [])


def button(message: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    for block in blocks_of(message):
        elements = block.get("elements") or ([block["accessory"]] if "accessory" in block else [])
        for element in elements:
            if element.get("action_id") == action_id:
                return element
    return None


def show(slack: SlackDriver, user: str, text: str) -> dict[str, Any]:
    slack.slash_command(user, "/risk", text, channel_id=PROJECT_CHANNEL)
    return last_response(slack)


def click(slack: SlackDriver, user: str, action_id: str, message: dict[str, Any]) -> Any:
    return slack.block_action(
        user, action_id, message={**message, "ts": "1.0"}, channel_id=PROJECT_CHANNEL
    )


# ------------------------------------------------------------------------------ raising


def test_a_pm_raises_a_risk_with_the_form(erp: SlackDriver, database: Database) -> None:
    emulator = erp.emulator
    erp.slash_command(PM, "/risk", "new", channel_id=PROJECT_CHANNEL)
    view = emulator.top_view(PM)
    block_ids = {b.get("block_id") for b in view["blocks"]}
    assert {
        "title",
        "description",
        "category",
        "module",
        "probability",
        "impact",
        "strategy",
        "owner_id",
        "actions",
        "review_on",
        "key_user_ids",
        "visible_in_channel",
    } <= block_ids
    assert "project" not in block_ids  # the channel's project
    erp.submit_view(
        PM,
        {
            "title": "Open items migrate late",
            "category": "data",
            "module": "FI",
            "probability": "3",
            "impact": "4",
            "strategy": "reduce",
            "owner_id": TOM,
            "actions": "Rehearse the load\n\nCleanse vendor master",
            "review_on": "2026-12-10",
            "key_user_ids": [ANNA],
        },
    )
    [risk] = risks_in(database)
    assert (risk.number, risk.level, risk.owner_id, risk.module) == (1, 12, TOM, "FI")
    assert [a.text for a in rows(database, RiskAction)] == [
        "Rehearse the load",
        "Cleanse vendor master",
    ]
    [assessment] = rows(database, RiskAssessment)
    assert (assessment.level, assessment.grade) == (3 * 4, "medium")
    said = texts(emulator.dm_messages(PM))
    assert "Risk *#1* raised in *ERP*" in said and "= 12 · :large_yellow_circle: medium" in said
    # 12 is medium: the PMs are not told.
    assert not [m for m in rows(database, OutboxMessage) if m.key.startswith("risk-high:")]


def test_numbers_count_per_project(erp: SlackDriver, database: Database) -> None:
    raise_risk(erp)
    raise_risk(erp, title="Second")
    create_project(erp, code="CRM", name="CRM", channel_id="C0GENERAL")
    erp.slash_command(PM, "/risk", "new CRM", channel_id="C0GENERAL")
    erp.submit_view(
        PM, {"title": "CRM risk", "category": "cost", "probability": "1", "impact": "1"}
    )
    assert [(r.project_id, r.number) for r in risks_in(database)] == [(1, 1), (1, 2), (2, 1)]


def test_a_high_risk_is_told_to_every_pm_once(erp: SlackDriver, database: Database) -> None:
    emulator = erp.emulator
    erp.slash_command(TOM, "/risk", "new", channel_id=PROJECT_CHANNEL)
    view = emulator.top_view(TOM)
    values = {"title": "Cut-over weekend too short", "category": "schedule"}
    values |= {"probability": "4", "impact": "5"}
    erp.submit_view(TOM, values, view=view)
    erp.submit_view(TOM, values, view=view)  # a double submit stores one risk
    assert len(risks_in(database)) == 1
    for pm in (PM, PM2):
        told = [m for m in emulator.dm_messages(pm) if "is now *high*" in str(m.get("text"))]
        assert len(told) == 1, pm
        assert "(4 × 5 = 20)" in told[0]["text"]
    assert "is now *high*" not in texts(emulator.dm_messages(TOM))


def test_a_key_user_raises_a_risk_of_their_own_module(erp: SlackDriver, database: Database) -> None:
    erp.slash_command(ANNA, "/risk", "new", channel_id=PROJECT_CHANNEL)
    block_ids = {b.get("block_id") for b in erp.emulator.top_view(ANNA)["blocks"]}
    assert "owner_id" not in block_ids and "visible_in_channel" not in block_ids
    values = {"title": "Dunning run untested", "category": "business"}
    values |= {"probability": "2", "impact": "3", "module": "MM"}
    response = erp.submit_view(ANNA, values)
    assert "own module (FI)" in response.json["errors"]["module"]
    erp.submit_view(ANNA, {**values, "module": ""})
    [risk] = risks_in(database)
    assert (risk.module, risk.owner_id, risk.created_by) == ("FI", None, ANNA)
    # Anna sees her risk, Ben does not; neither may close it.
    assert "Dunning run untested" in texts([show(erp, ANNA, "1")])
    assert "No risk 1 that you can see" in texts([show(erp, BEN, "1")])
    erp.slash_command(ANNA, "/risk", "close 1 done", channel_id=PROJECT_CHANNEL)
    assert "Only the PMs and team of ERP" in last_response_text(erp)
    assert risks_in(database)[0].status == "open"


def test_outsiders_can_neither_raise_nor_list(erp: SlackDriver, database: Database) -> None:
    erp.slash_command(OUTSIDER, "/risk", "new ERP")
    assert "Only the key users, team members and PMs of ERP" in last_response_text(erp)
    assert erp.emulator.top_view(OUTSIDER) is None
    erp.slash_command(OUTSIDER, "/risk", "list ERP")
    assert "Only the key users, team members and PMs of ERP" in last_response_text(erp)


def test_bad_input_gets_inline_errors_and_stores_nothing(
    erp: SlackDriver, database: Database
) -> None:
    response = raise_risk(erp, title="  ", review_on="2026-11-20", owner_id=OUTSIDER)
    assert set(response.json["errors"]) == {"title", "review_on", "owner_id"}
    assert risks_in(database) == []


def test_log_a_risk_from_a_message(erp: SlackDriver, database: Database) -> None:
    emulator = erp.emulator
    original = emulator.add_message(
        PROJECT_CHANNEL, BEN, "Vendor master has 4,000 duplicates\nwe will not clean them in time"
    )
    erp.message_shortcut(TOM, RiskId.LOG_FROM_MESSAGE, original, PROJECT_CHANNEL)
    view = emulator.top_view(TOM)
    title = next(b for b in view["blocks"] if b.get("block_id") == "title")
    assert title["element"]["initial_value"] == "Vendor master has 4,000 duplicates"
    erp.submit_view(TOM, {"category": "data", "probability": "2", "impact": "2"})
    [risk] = risks_in(database)
    assert risk.description and "not clean them in time" in risk.description
    assert risk.owner_id == TOM  # the team member who raised it, by default


# ------------------------------------------------------------------------ lists and card


def test_list_filters(erp: SlackDriver, database: Database) -> None:
    raise_risk(erp, title="Low one", probability="1", impact="2")
    raise_risk(erp, title="High one", probability="5", impact="3")
    raise_risk(erp, title="Tom's one", owner_id=TOM)
    erp.slash_command(PM, "/risk", "close 1 no longer relevant", channel_id=PROJECT_CHANNEL)
    said = texts([show(erp, PM, "list")])
    assert "open (2)" in said and "High one" in said and "Low one" not in said
    assert said.index("High one") < said.index("Tom's one")  # highest level first
    said = texts([show(erp, PM, "list ERP all")])
    assert "Low one" in said and "_closed_" in said
    said = texts([show(erp, PM, "list high")])
    assert "High one" in said and "Tom's one" not in said
    said = texts([show(erp, TOM, "list mine")])
    assert "Tom's one" in said and "High one" not in said


def test_long_lists_are_paged(erp: SlackDriver, database: Database, runtime: Runtime) -> None:
    from bot.services import risks as service

    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        for n in range(17):
            data = service.RiskInput(title=f"Risk {n}", category="cost", probability=1, impact=1)
            service.create_risk(ctx=ctx, project=project, data=data)
    first = show(erp, PM, "list")
    assert "Page 1 of 2" in texts([first])
    click(erp, PM, f"{RiskId.LIST_PAGE}_next", first)
    assert "Page 2 of 2" in texts([last_response(erp)])


def test_the_card_shows_history_and_acts(erp: SlackDriver, database: Database) -> None:
    emulator = erp.emulator
    raise_risk(erp, actions="Rehearse the load", owner_id=TOM)
    card = show(erp, PM, "show 1")
    assert card == show(erp, PM, "1")  # the bare number is the same
    said = texts([card])
    assert "Risk #1 (ERP) · Data migration of open items is late" in said
    assert "raised by <@UPM00001>: 3 × 4 = 12 (medium)" in said
    assert button(card, RiskId.ASSESS) and button(card, RiskId.CLOSE)
    # Re-assess from the card: a new assessment, the earlier one kept.
    click(erp, PM, RiskId.ASSESS, card)
    erp.submit_view(PM, {"probability": "4", "impact": "4", "note": "supplier late"})
    assert [a.level for a in rows(database, RiskAssessment)] == [12, 16]
    assert "is now *high*" in texts(emulator.dm_messages(PM2))
    said = texts([show(erp, PM, "1")])
    assert "assessed by <@UPM00001>: 4 × 4 = 16 (high) · supplier late" in said
    # The old card's buttons act on nothing; a form opened before a change saves nothing.
    click(erp, PM, RiskId.ASSESS, card)
    assert "has changed since this was shown" in texts(emulator.responses[-1:])
    click(erp, PM, RiskId.ASSESS, show(erp, PM, "1"))
    stale = emulator.top_view(PM)
    erp.slash_command(PM, "/risk", "assess 1", channel_id=PROJECT_CHANNEL)
    erp.submit_view(PM, {"probability": "2", "impact": "5"})
    response = erp.submit_view(PM, {"probability": "1", "impact": "1"}, view=stale)
    assert "has changed since this was shown" in str(response.json["errors"])
    assert [a.level for a in rows(database, RiskAssessment)] == [12, 16, 10]


def test_assess_with_the_command_and_the_form(erp: SlackDriver, database: Database) -> None:
    raise_risk(erp, owner_id=ANNA)
    erp.slash_command(BEN, "/risk", "assess 1", channel_id=PROJECT_CHANNEL)
    assert "No risk 1 that you can see" in last_response_text(erp)
    erp.slash_command(ANNA, "/risk", "assess ERP 1", channel_id=PROJECT_CHANNEL)  # the owner
    erp.submit_view(ANNA, {"probability": "2", "impact": "2", "review_on": "2026-12-20"})
    [risk] = risks_in(database)
    assert (risk.level, risk.review_on.isoformat() if risk.review_on else "") == (4, "2026-12-20")
    histories = [h.action for h in rows(database, RiskHistory)]
    assert histories == ["raised", "assessed"]


def test_close_and_reopen(erp: SlackDriver, database: Database) -> None:
    raise_risk(erp)
    erp.slash_command(PM, "/risk", "close 1", channel_id=PROJECT_CHANNEL)
    assert "Say why the risk is closed" in last_response_text(erp)
    assert "`/risk close [CODE] 3 [note]`" in last_response_text(erp)  # its own usage line
    erp.slash_command(
        TOM, "/risk", "close 1 mitigated by the rehearsal", channel_id=PROJECT_CHANNEL
    )
    assert "is closed" in last_response_text(erp)
    [risk] = risks_in(database)
    assert (risk.status, risk.closed_reason) == ("closed", "mitigated by the rehearsal")
    card = show(erp, PM, "1")
    assert button(card, RiskId.REOPEN) and not button(card, RiskId.ASSESS)
    click(erp, PM, RiskId.REOPEN, card)
    assert risks_in(database)[0].status == "open"
    assert button(last_response(erp), RiskId.CLOSE)  # the card, refreshed
    click(erp, PM, RiskId.CLOSE, show(erp, PM, "1"))
    erp.submit_view(PM, {"reason": "accepted by the steering committee"})
    assert risks_in(database)[0].status == "closed"
    erp.slash_command(PM, "/risk", "reopen 1", channel_id=PROJECT_CHANNEL)
    assert "is open again" in last_response_text(erp)
    actions = [h.action for h in rows(database, RiskHistory)]
    assert actions == ["raised", "closed", "reopened", "closed", "reopened"]


def test_change_the_owner(erp: SlackDriver, database: Database) -> None:
    raise_risk(erp)
    erp.slash_command(PM, "/risk", f"owner 1 <@{OUTSIDER}>", channel_id=PROJECT_CHANNEL)
    assert "must be a PM, team member or key user of ERP" in last_response_text(erp)
    erp.slash_command(PM, "/risk", f"owner 1 <@{BEN}|ben>", channel_id=PROJECT_CHANNEL)
    assert f"now owned by <@{BEN}>" in last_response_text(erp)
    assert risks_in(database)[0].owner_id == BEN
    erp.slash_command(BEN, "/risk", f"owner 1 <@{ANNA}>", channel_id=PROJECT_CHANNEL)
    assert "Only the PMs and team of ERP" in last_response_text(erp)


def test_an_action_becomes_an_issue_once(erp: SlackDriver, database: Database) -> None:
    raise_risk(erp, module="FI")
    erp.slash_command(PM, "/risk", "action 1 Second load rehearsal", channel_id=PROJECT_CHANNEL)
    assert "Action added" in last_response_text(erp)
    card = show(erp, PM, "1")
    to_issue = button(card, RiskId.ACTION_TO_ISSUE)
    assert to_issue is not None
    click(erp, PM, RiskId.ACTION_TO_ISSUE, card)
    [issue] = rows(database, Issue)
    assert (issue.title, issue.module, issue.number) == ("Second load rehearsal", "FI", 1)
    assert "risk #1" in (issue.description or "")
    assert rows(database, RiskAction)[0].issue_id == issue.id
    assert "issue *ERP-1*" in texts([last_response(erp)])
    click(erp, PM, RiskId.ACTION_TO_ISSUE, card)  # the old card again
    assert len(rows(database, Issue)) == 1
    # A key user cannot turn actions into issues, even with the id.
    erp.slash_command(PM, "/risk", "action 1 Another", channel_id=PROJECT_CHANNEL)
    action_id = str(rows(database, RiskAction)[1].id)
    erp.block_action(ANNA, RiskId.ACTION_TO_ISSUE, action_id, channel_id=PROJECT_CHANNEL)
    assert len(rows(database, Issue)) == 1


def test_export_escapes_formulas(erp: SlackDriver, database: Database) -> None:
    raise_risk(erp, title='=HYPERLINK("http://evil")', actions="+1 call")
    erp.slash_command(ANNA, "/risk", "export ERP")
    assert "Only the PMs and team of ERP" in last_response_text(erp)
    erp.slash_command(PM, "/risk", "export ERP")
    [shared] = erp.emulator.files
    assert shared["filename"].startswith("ERP-risks-")
    [row] = list(csv.DictReader(io.StringIO(shared["content"].decode())))
    assert (row["id"], row["level"], row["grade"]) == ("#1", "12", "medium")
    assert row["title"].startswith("'=") and row["actions"].startswith("'+")


# ------------------------------------------------------------------------------ forged


def test_forged_ids_change_nothing(erp: SlackDriver, database: Database) -> None:
    raise_risk(erp)
    [risk] = risks_in(database)
    # Ben (a key user with no part in the risk) forges the card's buttons.
    for action_id in (RiskId.ASSESS, RiskId.CLOSE, RiskId.ADD_ACTION):
        erp.block_action(BEN, action_id, f"{risk.id}:{risk.version}", channel_id=PROJECT_CHANNEL)
        assert erp.emulator.top_view(BEN) is None
    erp.block_action(BEN, RiskId.REOPEN, f"{risk.id}:1", channel_id=PROJECT_CHANNEL)
    erp.block_action(BEN, RiskId.OPEN, str(risk.id), channel_id=PROJECT_CHANNEL)
    assert "Data migration" not in texts(erp.emulator.dm_messages(BEN))
    for value in ("abc", "0", "999999"):
        erp.block_action(BEN, RiskId.ASSESS, value, channel_id=PROJECT_CHANNEL)
    # A form of Pia's submitted by Ben, and a form with someone else's risk id.
    click(erp, PM, RiskId.CLOSE, show(erp, PM, "1"))
    view = erp.emulator.top_view(PM)
    response = erp.submit_view(BEN, {"reason": "gone"}, view=view)
    assert response.json["response_action"] == "errors"
    forged = {**view, "private_metadata": '{"risk_id": "x"}'}
    response = erp.submit_view(PM, {"reason": "gone"}, view=forged)
    assert response.json["response_action"] == "errors"
    assert risks_in(database)[0].status == "open"
    assert [h.action for h in rows(database, RiskHistory)] == ["raised"]


def test_help_is_generated_in_both_languages(erp: SlackDriver) -> None:
    erp.slash_command(PM, "/risk", "help", channel_id=PROJECT_CHANNEL)
    said = last_response_text(erp)
    assert "`/risk owner [CODE] 3 @person` (PMs and team)" in said
    assert "`/risk new [CODE]` (PMs, team and key users)" in said
    assert "By default *low* up to 4, *medium* up to 12, *high* above" in said
    assert "`/risk settings`" in said


def test_a_risk_links_the_projects_issues(erp: SlackDriver, database: Database) -> None:
    erp.slash_command(ANNA, "/issue", "new", channel_id=PROJECT_CHANNEL)
    erp.submit_view(ANNA, {"title": "Vendor master duplicates"})
    response = raise_risk(erp, issue_refs="ERP-1, ERP-9")
    assert "ERP-9 is no issue of ERP" in response.json["errors"]["issue_refs"]
    response = raise_risk(erp, issue_refs="CRM-1")
    assert "CRM-1 is no issue of ERP" in response.json["errors"]["issue_refs"]
    assert risks_in(database) == []
    raise_risk(erp, issue_refs="ERP-1 erp-1")
    assert "*Linked issues*\nERP-1" in texts([show(erp, PM, "1")])
    assert len([link for link in rows(database, RiskLink) if link.issue_id]) == 1


def test_a_chinese_project_speaks_chinese(slack: SlackDriver, database: Database) -> None:
    create_project(slack, locale="zh-CN", pm_ids=[PM, PM2])
    slack.slash_command(PM, "/risk", "new", channel_id=PROJECT_CHANNEL)
    labels = [b["label"]["text"] for b in slack.emulator.top_view(PM)["blocks"] if "label" in b]
    assert "可能性" in labels and "应对策略" in labels
    values = {"title": "数据迁移延期", "category": "data", "probability": "5", "impact": "4"}
    slack.submit_view(PM, values)
    said = texts([show(slack, PM, "1")])
    assert "风险 #1（ERP）· 数据迁移延期" in said and "5 × 4 = 20 · :red_circle: 高" in said
    [told] = [m for m in slack.emulator.dm_messages(PM2) if "已升为高风险" in str(m.get("text"))]
    # The PM opens the risk from the DM: its card comes by DM.
    slack.block_action(PM2, RiskId.OPEN, message=told, channel_id=told.get("channel"))
    assert "数据迁移延期" in texts(slack.emulator.dm_messages(PM2)[-1:])
    slack.slash_command(PM, "/risk", "help", channel_id=PROJECT_CHANNEL)
    assert "风险值 = 可能性 × 影响" in last_response_text(slack)
