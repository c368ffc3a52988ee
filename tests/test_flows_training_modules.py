"""A curriculum's modules moved and deleted through `/training curriculum` and the module form,
in English and Chinese, with Slack's confirmation before a delete and modules that carry the
record of training kept; a roll call of more people than a modal holds selects."""

from __future__ import annotations

from copy import deepcopy
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.ids import TrainingId
from bot.runtime import Runtime
from bot.services import keyusers
from bot.services import projects as project_service
from bot.services.keyusers import KeyUserInput
from storage.db import Database
from storage.models import Invitation, TrainingModule
from tests.conftest import KEY_USERS, OUTSIDER, PM, TEAM
from tests.flows import last_response, texts
from tests.test_flows_trainings import (
    SESSION_START,
    click_in_response,
    module_id,
    project_with_curriculum,
    schedule,
    training,
)


def curriculum_in(database: Database) -> list[tuple[int, str]]:
    with database.session() as session:
        modules = session.exec(
            select(TrainingModule).order_by(TrainingModule.position, TrainingModule.id)
        ).all()
        return [(m.position, m.name) for m in modules]


def open_module_form(slack: SlackDriver, database: Database, name: str, user: str = PM) -> Any:
    training(slack, "curriculum", user=user)
    click_in_response(slack, user, TrainingId.EDIT_MODULE, value=str(module_id(database, name)))
    view = slack.emulator.top_view(user)
    assert view is not None and view["callback_id"] == TrainingId.MODULE_MODAL
    return view


def test_a_pm_moves_a_module_to_the_first_place_and_the_others_make_room(
    slack: SlackDriver, database: Database
) -> None:
    project_with_curriculum(slack)
    names = [name for _p, name in curriculum_in(database)]
    assert len(names) == 4
    open_module_form(slack, database, names[2])
    slack.submit_view(PM, {"position": "1"})
    assert curriculum_in(database) == list(
        enumerate([names[2], names[0], names[1], names[3]], start=1)
    )
    training(slack, "curriculum")
    shown = texts([last_response(slack)])
    assert shown.index(names[2]) < shown.index(names[0]) < shown.index(names[1])
    # A forged place beyond the curriculum is refused in the form, nothing moves.
    forged = deepcopy(open_module_form(slack, database, names[3]))
    [select_block] = [b for b in forged["blocks"] if b.get("block_id") == "position"]
    select_block["element"]["options"].append(
        {"text": {"type": "plain_text", "text": "9"}, "value": "9"}
    )
    response = slack.submit_view(PM, {"position": "9"}, view=forged)
    assert "Give a number from 1 to 4" in response.json["errors"]["position"]
    assert [p for p, _n in curriculum_in(database)] == [1, 2, 3, 4]
    assert slack.emulator.violations == []


def test_a_pm_deletes_an_unused_module_after_confirming_and_the_rest_close_up(
    slack: SlackDriver, database: Database
) -> None:
    project_with_curriculum(slack)
    names = [name for _p, name in curriculum_in(database)]
    view = open_module_form(slack, database, names[1])
    [button] = [
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == TrainingId.DELETE_MODULE
    ]
    assert button["style"] == "danger" and "leaves the curriculum for good" in texts([button])
    slack.click(PM, TrainingId.DELETE_MODULE, view=view)
    notice = slack.emulator.top_view(PM)
    assert notice is not None and notice["callback_id"] == TrainingId.MODULE_NOTICE
    assert f"Module *{names[1]}* deleted from the curriculum of *ERP*" in texts([notice])
    assert curriculum_in(database) == list(enumerate([names[0], names[2], names[3]], start=1))
    assert slack.emulator.violations == []


def test_a_module_with_a_session_is_kept_and_the_pm_is_told_why(
    slack: SlackDriver, database: Database
) -> None:
    project_with_curriculum(slack)
    names = [name for _p, name in curriculum_in(database)]
    schedule(slack, database)  # a session of System overview
    view = open_module_form(slack, database, "System overview")
    slack.click(PM, TrainingId.DELETE_MODULE, view=view)
    notice = texts([slack.emulator.top_view(PM) or {}])
    assert "*System overview* is kept: it has 1 session, the record of training given." in notice
    assert [name for _p, name in curriculum_in(database)] == names


def test_a_key_user_cannot_delete_a_module_with_a_forged_click(
    slack: SlackDriver, database: Database
) -> None:
    project_with_curriculum(slack)
    names = [name for _p, name in curriculum_in(database)]
    target = module_id(database, names[-1])
    slack.block_action(KEY_USERS[0], TrainingId.DELETE_MODULE, value=str(target))
    assert "Only the project managers" in texts(slack.emulator.dm_messages(KEY_USERS[0]))
    slack.block_action(PM, TrainingId.DELETE_MODULE, value="999999")  # no such module
    assert [name for _p, name in curriculum_in(database)] == names


def test_a_chinese_project_deletes_and_moves_modules_in_chinese(
    slack: SlackDriver, database: Database
) -> None:
    project_with_curriculum(slack, locale="zh-CN")
    names = [name for _p, name in curriculum_in(database)]
    view = open_module_form(slack, database, names[3])
    assert "在课程中的位置" in texts([view]) and "删除模块" in texts([view])
    slack.submit_view(PM, {"position": "2"})
    assert [name for _p, name in curriculum_in(database)] == [
        names[0],
        names[3],
        names[1],
        names[2],
    ]
    view = open_module_form(slack, database, names[2])
    slack.click(PM, TrainingId.DELETE_MODULE, view=view)
    notice = texts([slack.emulator.top_view(PM) or {}])
    assert f"模块 *{names[2]}* 已从 *ERP* 的课程中删除" in notice
    assert len(curriculum_in(database)) == 3


def test_a_roll_call_of_a_hundred_and_twenty_people_picks_them_by_status(
    slack: SlackDriver, database: Database, runtime: Runtime, clock: MovableClock
) -> None:
    project_with_curriculum(slack)
    people = [f"UROLL{n:04d}" for n in range(120)]
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        for user in people:
            slack.emulator.add_user(user, user.lower())
            keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=user))
    event_id = schedule(
        slack, database, capacity="", audience_kind="people", audience_people=people
    )
    clock.set(SESSION_START + timedelta(minutes=5))
    training(slack, f"attendance {event_id}")
    view = slack.emulator.top_view(PM)
    assert view is not None and view["callback_id"] == TrainingId.ROLL_CALL_MODAL
    assert len(view["blocks"]) <= 100
    assert "120 people on the roster" in texts([view])
    # Someone under two statuses is refused on the second picker; nothing is stored.
    response = slack.submit_view(PM, {"group:present": people[:100], "group:absent": people[99:]})
    assert "two statuses" in response.json["errors"]["group:absent"]
    # The pickers offer the whole workspace: someone not on the roster is refused.
    response = slack.submit_view(PM, {"group:present": [*people[:3], OUTSIDER]})
    assert "not on the roster" in str(response.json["errors"])
    with database.session() as session:
        assert all(i.attendance is None for i in session.exec(select(Invitation)))
    slack.submit_view(
        PM, {"group:present": people[:100], "group:late": people[100:110], "group:absent": []}
    )
    with database.session() as session:
        marks = {
            i.user_id: i.attendance
            for i in session.exec(select(Invitation).where(Invitation.event_id == event_id))
        }
    assert len(marks) == 120
    assert [marks[u] for u in people[:100]] == ["present"] * 100
    assert [marks[u] for u in people[100:110]] == ["late"] * 10
    assert [marks[u] for u in people[110:]] == [None] * 10
    assert slack.emulator.violations == []
