"""Phase checklists and phase moves through the emulator: the ready-made ASAP activities in both
languages, items added, edited, marked and removed through the forms and buttons, who may do
what (key users read, PMs and team edit, owners mark their own items), forged ids, paging, the
owners' due items in the communication plan's one DM, the progress on the PM's Home tab and in
the digest (recomputed here), and the move to the next phase with its confirmation and record."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import ChecklistId, PlanId
from bot.jobs import run_due
from bot.runtime import Runtime
from bot.services import digest
from bot.services import phases as service
from bot.services import projects as project_service
from bot.views.digest import digest_message
from handlers.home import build_home
from storage.db import Database
from storage.models import ChecklistItem, PhaseMove, PlanEntry, Project
from tests.conftest import KEY_USERS, OUTSIDER, PM, PM2, PROJECT_CHANNEL, TEAM
from tests.flows import (
    add_key_user,
    create_project,
    last_response,
    last_response_text,
    texts,
    told,
)

ANNA = KEY_USERS[0]  # key user of FI
BEN = KEY_USERS[1]  # key user of MM
TOM = "UTOM00001"  # a consultant in the project team
TEMPLATE_SIZE = {"preparation": 4, "blueprint": 4, "realization": 6}


@pytest.fixture
def erp(slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime) -> SlackDriver:
    """ERP (Europe/Berlin) with PMs Pia and Paul, key users Anna and Ben, Tom in the team."""
    emulator.add_user(TOM, "tom.consultant", real_name="Tom Consultant")
    create_project(slack, pm_ids=[PM, PM2])
    add_key_user(slack, ANNA, module="FI", role="key_user")
    add_key_user(slack, BEN, module="MM", role="key_user")
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        project_service.set_team_members(ctx=ctx, project=project, user_ids=[TOM])
    emulator.reset_calls()
    return slack


def items_in(database: Database) -> list[ChecklistItem]:
    with database.session() as session:
        return list(session.exec(select(ChecklistItem).order_by(ChecklistItem.number)).all())


def project_row(database: Database, code: str = "ERP") -> Project:
    with database.session() as session:
        return session.exec(select(Project).where(Project.code == code)).one()


def checklist(slack: SlackDriver, user: str, text: str = "") -> dict[str, Any]:
    slack.slash_command(user, "/project", f"checklist {text}".strip(), channel_id=PROJECT_CHANNEL)
    return last_response(slack)


def buttons(message: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    return [
        element
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("action_id") == action_id
    ]


def click(slack: SlackDriver, user: str, element: dict[str, Any], message: dict[str, Any]) -> Any:
    return slack.block_action(
        user,
        element["action_id"],
        element.get("value"),
        message={**message, "ts": "1.0"},
        channel_id=PROJECT_CHANNEL,
    )


def load_template(slack: SlackDriver, user: str = PM) -> dict[str, Any]:
    shown = checklist(slack, user)
    [use] = buttons(shown, ChecklistId.TEMPLATE)
    click(slack, user, use, shown)
    return last_response(slack)


def add_item(slack: SlackDriver, user: str, phase: str = "", **values: Any) -> Any:
    shown = checklist(slack, user, phase)
    [add] = buttons(shown, ChecklistId.ADD)
    click(slack, user, add, shown)
    return slack.submit_view(user, {"text": "Sign the data migration plan", **values})


def expected_progress(database: Database, project: Project, today: date) -> tuple[int, ...]:
    """The current phase's figures, counted here from the rows: (total, done, overdue)."""
    rows = [
        i for i in items_in(database) if i.project_id == project.id and i.phase == project.phase
    ]
    counted = [i for i in rows if i.status != "not_applicable"]
    done = [i for i in rows if i.status == "done"]
    overdue = [i for i in rows if i.status == "open" and i.due_on and i.due_on < today]
    return len(counted), len(done), len(overdue)


def set_items(runtime: Runtime, **changes: dict[str, Any]) -> None:
    """Change items by number directly (``n3={"due_on": ...}``)."""
    with runtime.database.session() as session:
        for name, values in changes.items():
            row = session.exec(
                select(ChecklistItem).where(ChecklistItem.number == int(name[1:]))
            ).one()
            for key, value in values.items():
                setattr(row, key, value)
            session.add(row)
        session.commit()


# ------------------------------------------------------------------------ the ready-made list


def test_the_ready_made_list_loads_with_one_click_per_project(
    erp: SlackDriver, database: Database
) -> None:
    first = checklist(erp, PM)
    assert "This phase has no checklist yet" in texts([first])
    refreshed = load_template(erp)
    rows = items_in(database)
    per_phase = {phase: len([r for r in rows if r.phase == phase]) for phase in TEMPLATE_SIZE}
    assert per_phase == TEMPLATE_SIZE
    assert len(rows) == 4 + 4 + 6 + 5 + 3
    assert [r.number for r in rows] == list(range(1, len(rows) + 1))  # per-project numbers
    said = texts([refreshed])
    assert "Project preparation: 0 of 4 done" in said and "Hold the project kick-off" in said
    assert not buttons(refreshed, ChecklistId.TEMPLATE)  # offered only while empty
    said = texts([checklist(erp, PM, "ERP final preparation")])
    assert "Load and reconcile the opening balances" in said and "not the current phase" in said
    # A second load (an old message's button) adds nothing.
    click(erp, PM, buttons(first, ChecklistId.TEMPLATE)[0], first)
    assert "already has a checklist" in told(erp)
    assert len(items_in(database)) == len(rows)


def test_a_chinese_project_gets_the_activities_in_the_glossarys_words(
    slack: SlackDriver, database: Database
) -> None:
    create_project(slack, locale="zh-CN")
    refreshed = load_template(slack)
    said = texts([refreshed])
    assert "项目准备：已完成 0/4 项" in said and "召开项目启动会" in said
    texts_zh = [r.text for r in items_in(database)]
    assert "管理层批准业务蓝图" in texts_zh and "完成最终用户培训" in texts_zh
    slack.slash_command(PM, "/project", "help", channel_id=PROJECT_CHANNEL)
    assert "当前阶段（或指定阶段）的检查清单" in last_response_text(slack)
    assert "`/project phase [项目代码] next|阶段`" in last_response_text(slack)


# ------------------------------------------------------------------------ items and rights


def test_team_adds_and_edits_items_and_bad_input_stores_nothing(
    erp: SlackDriver, database: Database
) -> None:
    response = add_item(erp, TOM, owner_id=OUTSIDER, due_on="2026-12-10")
    assert "must be a PM, team member or key user of ERP" in response.json["errors"]["owner_id"]
    response = add_item(erp, TOM, text="  ")
    assert "text" in response.json["errors"]
    assert items_in(database) == []
    add_item(erp, TOM, owner_id=ANNA, due_on="2026-12-10")
    [item] = items_in(database)
    assert (item.number, item.phase, item.owner_id, item.due_on) == (
        1,
        "preparation",
        ANNA,
        date(2026, 12, 10),
    )
    assert "Item *#1* added" in texts(erp.emulator.dm_messages(TOM))
    add_item(erp, PM, "ERP realization", text="Authorisation concept signed")
    assert [(i.number, i.phase) for i in items_in(database)] == [
        (1, "preparation"),
        (2, "realization"),
    ]
    shown = checklist(erp, PM)
    [edit] = buttons(shown, ChecklistId.EDIT)
    click(erp, PM, edit, shown)
    erp.submit_view(
        PM, {"text": "Sign the migration plan", "owner_id": BEN, "due_on": "2026-12-12"}
    )
    item = items_in(database)[0]
    assert (item.text, item.owner_id, item.due_on) == (
        "Sign the migration plan",
        BEN,
        date(2026, 12, 12),
    )
    said = texts([checklist(erp, ANNA)])  # a key user reads the checklist
    assert (
        "Sign the migration plan" in said and f"owner <@{BEN}>" in said and "due 2026-12-12" in said
    )


def test_key_users_read_owners_mark_and_forged_ids_change_nothing(
    erp: SlackDriver, database: Database
) -> None:
    add_item(erp, PM, owner_id=ANNA, due_on="2026-12-10")
    add_item(erp, PM, text="Agree the schedule", owner_id=BEN)
    anna_item, ben_item = items_in(database)
    # Anna sees a Mark button on her own item only, and nothing to add, edit or remove.
    shown = checklist(erp, ANNA)
    assert [b["value"] for b in buttons(shown, ChecklistId.MARK)] == [str(anna_item.id)]
    assert not buttons(shown, ChecklistId.ADD) and not buttons(shown, ChecklistId.EDIT)
    click(erp, ANNA, buttons(shown, ChecklistId.MARK)[0], shown)
    erp.submit_view(ANNA, {"status": "done", "evidence": "https://wiki.example/plan-v3"})
    anna_item = items_in(database)[0]
    assert (anna_item.status, anna_item.evidence, anna_item.marked_by) == (
        "done",
        "https://wiki.example/plan-v3",
        ANNA,
    )
    assert "Evidence: https://wiki.example/plan-v3" in texts([checklist(erp, PM)])
    # Anna forges the buttons on Ben's item, and the add and remove buttons.
    shown = erp.emulator.top_view(ANNA)  # her checklist, or nothing
    for action in (ChecklistId.MARK, ChecklistId.EDIT):
        erp.block_action(ANNA, action, str(ben_item.id), channel_id=PROJECT_CHANNEL)
        assert erp.emulator.top_view(ANNA) == shown  # no form opened
    erp.block_action(ANNA, ChecklistId.REMOVE, str(ben_item.id), channel_id=PROJECT_CHANNEL)
    assert "Only the PMs and team of ERP" in texts([last_response(erp)])
    project = project_row(database)
    erp.block_action(
        ANNA, ChecklistId.ADD, f"{project.id}|preparation|1", channel_id=PROJECT_CHANNEL
    )
    assert erp.emulator.top_view(ANNA) == shown
    erp.block_action(
        ANNA, ChecklistId.TEMPLATE, f"{project.id}|preparation|1", channel_id=PROJECT_CHANNEL
    )
    for value in ("abc", "0", "999999"):
        erp.block_action(ANNA, ChecklistId.MARK, value, channel_id=PROJECT_CHANNEL)
    # A mark form of Pia's submitted by Anna, and a form naming another item.
    while erp.emulator.top_view(ANNA) is not None:  # she closes her checklist first
        erp.close_view(ANNA)
    shown = checklist(erp, PM)
    click(erp, PM, buttons(shown, ChecklistId.MARK)[1], shown)
    view = erp.emulator.top_view(PM)
    response = erp.submit_view(ANNA, {"status": "not_applicable"}, view=view)
    assert response.json["response_action"] == "errors"
    forged = {**view, "private_metadata": '{"item_id": "x"}'}
    response = erp.submit_view(PM, {"status": "done"}, view=forged)
    assert response.json["response_action"] == "errors"
    # An outsider reads nothing, even with the ids.
    erp.slash_command(OUTSIDER, "/project", "checklist ERP")
    assert "Only the PMs, team and key users of ERP" in last_response_text(erp)
    erp.block_action(OUTSIDER, f"{ChecklistId.PAGE}_next", f"{project.id}|preparation|1")
    assert "Agree the schedule" not in told(erp)
    rows = items_in(database)
    assert [(r.status, r.text) for r in rows] == [
        ("done", "Sign the data migration plan"),
        ("open", "Agree the schedule"),
    ]
    # Ben marks his own item not applicable, then a PM reopens it; a PM removes one.
    shown = checklist(erp, BEN)
    click(erp, BEN, buttons(shown, ChecklistId.MARK)[0], shown)
    erp.submit_view(BEN, {"status": "not_applicable"})
    assert items_in(database)[1].status == "not_applicable"
    shown = checklist(erp, PM2)
    click(erp, PM2, buttons(shown, ChecklistId.MARK)[1], shown)
    erp.submit_view(PM2, {"status": "open"})
    assert items_in(database)[1].status == "open"
    click(erp, TOM, buttons(checklist(erp, TOM), ChecklistId.REMOVE)[0], checklist(erp, TOM))
    assert [r.number for r in items_in(database)] == [2]


def test_long_checklists_are_paged(erp: SlackDriver, runtime: Runtime) -> None:
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        for n in range(23):
            service.add_item(
                ctx=ctx, project=project, phase=None, data=service.ItemInput(text=f"Item {n}")
            )
    first = checklist(erp, PM)
    assert "Page 1 of 3" in texts([first]) and len(first["blocks"]) <= 50
    [after] = buttons(first, f"{ChecklistId.PAGE}_next")
    click(erp, PM, after, first)
    second = last_response(erp)
    assert "Page 2 of 3" in texts([second]) and "Item 10" in texts([second])
    assert "Item 9\n" not in texts([second])


# ------------------------------------------------------------------------ the owners' DM


def test_owners_get_due_and_overdue_items_in_the_plans_one_dm_once_a_day(
    erp: SlackDriver, runtime: Runtime, database: Database, clock: MovableClock
) -> None:
    emulator = erp.emulator
    load_template(erp)
    zone = ZoneInfo("Europe/Berlin")
    # A plan entry of Pia's falls due at the same run: one DM lists both.
    erp.slash_command(PM, "/project", "plan ERP", channel_id=PROJECT_CHANNEL)
    erp.click(PM, PlanId.USE_TEMPLATE, view=emulator.top_view(PM))
    with database.session() as session:
        first_due = min(e.next_due_at for e in session.exec(select(PlanEntry)).all())
    clock.set(max(first_due, clock.now()) + timedelta(minutes=2))
    today = clock.now().astimezone(zone).date()
    assert clock.now().astimezone(zone).hour >= 9
    set_items(
        runtime,
        n1={"owner_id": PM, "due_on": today - timedelta(days=3)},
        n2={"owner_id": PM, "due_on": today},
        n3={"owner_id": PM, "due_on": today + timedelta(days=1)},
        n4={"owner_id": ANNA, "due_on": today - timedelta(days=1), "status": "done"},
        n5={"owner_id": PM, "due_on": today - timedelta(days=1)},  # blueprint: any phase
    )
    before = len(emulator.dm_messages(PM))
    run_due(runtime)
    run_due(runtime)  # a rerun sends nothing more
    dms = [m for m in emulator.dm_messages(PM)[before:] if "Weekly digest" not in str(m["text"])]
    assert len(dms) == 1
    said = texts(dms)
    assert "of the communication plan" in said
    assert "Phase checklist:* 3 items of yours are due" in said
    assert "*#1* (ERP · Project preparation) Set up the project organisation" in said
    assert f"due {(today - timedelta(days=3)).isoformat()} · *overdue*" in said
    assert f"due {today.isoformat()}\n" in said or f"due {today.isoformat()}" in said
    assert "*#5* (ERP · Business blueprint)" in said and "*#3*" not in said
    assert not [m for m in emulator.dm_messages(ANNA) if "Phase checklist" in texts([m])]
    # Acting on a plan item redraws the DM: its checklist lines stay.
    dm = dms[0]
    snooze = buttons(dm, PlanId.DUE_MORE)[0]["options"][0]["value"]  # the item's menu: Snooze
    assert snooze.startswith(f"{PlanId.DUE_SNOOZE}|")
    erp.block_action(PM, PlanId.DUE_MORE, snooze, message=dm, channel_id=dm["channel"])
    redrawn = [m for m in emulator.dm_messages(PM) if m.get("ts") == dm.get("ts")]
    assert "Snoozed" in texts(redrawn) or "snoozed" in texts(redrawn)
    assert "Phase checklist:* 3 items of yours are due" in texts(redrawn)
    # An item falling due later the same day waits: no second DM for it alone.
    set_items(runtime, n3={"due_on": today})
    clock.advance(timedelta(hours=2))
    later = len(emulator.dm_messages(PM))
    run_due(runtime)
    assert not [m for m in emulator.dm_messages(PM)[later:] if "Phase checklist" in texts([m])]
    # The next day, the items still open come again (one DM), #3 with them.
    clock.advance(timedelta(days=1))
    later = len(emulator.dm_messages(PM))
    run_due(runtime)
    again = [m for m in emulator.dm_messages(PM)[later:] if "Phase checklist" in texts([m])]
    assert len(again) == 1 and "*#3*" in texts(again) and "4 items of yours" in texts(again)
    run_due(runtime)
    assert (
        len([m for m in emulator.dm_messages(PM)[later:] if "Phase checklist" in texts([m])]) == 1
    )


# ------------------------------------------------------------------------ progress figures


def test_the_pms_home_and_the_digest_show_the_current_phases_progress(
    erp: SlackDriver, runtime: Runtime, database: Database, clock: MovableClock
) -> None:
    load_template(erp)
    with runtime.unit(TEAM, PM) as ctx:
        project_service.set_phase(
            ctx=ctx, project=project_service.get_project(ctx, "ERP"), phase="realization"
        )
    today = clock.now().astimezone(ZoneInfo("Europe/Berlin")).date()
    # Realization holds #9–#14: two done, one not applicable, two overdue, one due today.
    set_items(
        runtime,
        n9={"status": "done"},
        n10={"status": "done", "due_on": today - timedelta(days=5)},
        n11={"status": "not_applicable", "due_on": today - timedelta(days=5)},
        n12={"due_on": today - timedelta(days=2)},
        n13={"due_on": today - timedelta(days=1)},
        n14={"due_on": today},
    )
    project = project_row(database)
    total, done, overdue = expected_progress(database, project, today)
    assert (total, done, overdue) == (5, 2, 2)
    figure = f"Realization: {done} of {total} done, {overdue} overdue (1 not applicable)"
    home = build_home(runtime, TEAM, PM)
    assert figure in texts([home]) and "Phase checklists" in texts([home])
    assert "Phase checklists" not in texts([build_home(runtime, TEAM, ANNA)])  # PMs only
    with runtime.unit(TEAM, PM) as ctx:
        built = digest.build_digest(ctx, project_service.get_project(ctx, "ERP"), now=clock.now())
        assert built.sections["checklist"] == service.Progress(
            "realization", total, done, overdue, 1
        )
        assert figure in texts([digest_message(built)])
    # The overdue count follows the project's local day: at 23:30 UTC Berlin is already
    # a day on, and the item due "today" there becomes overdue.
    clock.set(clock.now().replace(hour=23, minute=30))
    local_today = clock.now().astimezone(ZoneInfo("Europe/Berlin")).date()
    assert local_today == today + timedelta(days=1)
    total, done, overdue = expected_progress(database, project, local_today)
    assert overdue == 3
    assert f"{done} of {total} done, {overdue} overdue" in texts([build_home(runtime, TEAM, PM)])


# ------------------------------------------------------------------------ phase moves


def test_moving_to_the_next_phase_names_what_is_open_and_is_logged(
    erp: SlackDriver, runtime: Runtime, database: Database
) -> None:
    emulator = erp.emulator
    load_template(erp)
    set_items(runtime, n1={"status": "done"})
    erp.slash_command(PM, "/project", "phase next", channel_id=PROJECT_CHANNEL)
    asked = last_response(erp)
    said = texts([asked])
    assert (
        "3 items of *ERP* are still open:" in said and "Move to Business blueprint anyway?" in said
    )
    assert "*#2* Agree the project schedule" in said and "#1" not in said
    assert project_row(database).phase == "preparation"  # nothing moves before the confirmation
    # Key users and the team do not move phases; a forged confirmation is refused.
    erp.slash_command(TOM, "/project", "phase ERP next")
    assert "Only the project managers of ERP" in last_response_text(erp)
    [confirm] = buttons(asked, ChecklistId.MOVE)
    erp.block_action(ANNA, ChecklistId.MOVE, confirm["value"], channel_id=PROJECT_CHANNEL)
    assert project_row(database).phase == "preparation"
    click(erp, PM2, confirm, asked)
    assert "now in phase _Business blueprint_" in texts(emulator.responses[-1:])
    assert project_row(database).phase == "blueprint"
    with database.session() as session:
        [move] = session.exec(select(PhaseMove)).all()
    assert (move.from_phase, move.to_phase, move.actor_id, move.via) == (
        "preparation",
        "blueprint",
        PM2,
        "command",
    )
    assert [b["ref"] for b in move.blockers] == ["#2", "#3", "#4"]
    notice = texts(emulator.messages(PROJECT_CHANNEL))
    assert (
        f"<@{PM}>, <@{PM2}>: *ERP* moved from _Project preparation_ to _Business blueprint_"
        in notice
    )
    assert "with 3 items still open" in notice and "Hold the project kick-off" in notice
    # The old confirmation moves nothing again.
    click(erp, PM2, confirm, asked)
    assert "has changed phase since this was asked: nothing moved" in texts(emulator.responses[-1:])
    # The history shows in the checklist.
    said = texts([checklist(erp, ANNA)])
    assert "Project preparation → Business blueprint by" in said and "(3 items still open)" in said
    # With nothing open, the PM is asked the plain question.
    set_items(runtime, **{f"n{n}": {"status": "done"} for n in (5, 6, 7, 8)})
    erp.slash_command(PM, "/project", "phase ERP next")
    assert "Business blueprint is still open. Move to Realization?" in last_response_text(erp)


def test_the_edit_form_moves_through_the_same_service_and_is_logged(
    erp: SlackDriver, database: Database
) -> None:
    load_template(erp)
    erp.slash_command(PM, "/project", "edit ERP")
    erp.submit_view(PM, {"phase": "final_preparation"})
    assert project_row(database).phase == "final_preparation"
    with database.session() as session:
        [move] = session.exec(select(PhaseMove)).all()
    assert (move.from_phase, move.to_phase, move.via, len(move.blockers)) == (
        "preparation",
        "final_preparation",
        "edit",
        4,
    )
    assert "moved from _Project preparation_ to _Final preparation_" in texts(
        erp.emulator.messages(PROJECT_CHANNEL)
    )


def test_phase_words_and_unknown_projects(erp: SlackDriver) -> None:
    erp.slash_command(PM, "/project", "phase final preparation", channel_id=PROJECT_CHANNEL)
    assert "Move to Final preparation?" in last_response_text(erp)
    erp.slash_command(PM, "/project", "phase NOPE blueprint")
    assert "There is no project NOPE" in last_response_text(erp)
    erp.slash_command(PM, "/project", "phase ERP preparation")
    assert "already in that phase" in last_response_text(erp)
    said = texts([checklist(erp, PM, "go-live and support")])
    assert "ERP · Go-live and support: checklist" in said


def test_help_lines_in_both_languages(erp: SlackDriver) -> None:
    erp.slash_command(PM, "/project", "help")
    said = last_response_text(erp)
    assert "`/project checklist [CODE] [PHASE]` (PMs, team and key users)" in said
    assert "`/project phase [CODE] next|PHASE` (PMs)" in said
