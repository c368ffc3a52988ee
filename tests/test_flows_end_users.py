"""End users through the emulator: PMs register them (form and CSV), a key user manages only the
end users they are responsible for, runs a session for them (those in Slack invited, the others
on the roll call by name), takes the roll, and readiness per module and department in
`/training readiness` and the PMs' digest, each figure recomputed here in plain SQL; refusals of
forged ids and of people who are neither PMs, team nor key users."""

from __future__ import annotations

import csv
import io
import json
from copy import deepcopy
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import CalendarId, TrainingId
from bot.runtime import Runtime
from bot.services import digest as digest_service
from bot.services import projects as project_service
from bot.views import digest as digest_views
from storage.db import Database
from storage.models import EndUser, EndUserAttendance, TrainingModule
from tests.conftest import KEY_USERS, OUTSIDER, PM, PROJECT_CHANNEL, TEAM
from tests.flows import last_response, texts, told
from tests.test_flows_trainings import (
    SESSION_START,
    click_in_response,
    epoch,
    invitation_dm,
    module_id,
    project_with_curriculum,
    training,
)

ANNA, BEN = KEY_USERS[0], KEY_USERS[1]
DORA = KEY_USERS[3]  # in Slack, not a key user of the project: an end user
ERIK = KEY_USERS[4]  # likewise


def end_users(database: Database) -> dict[int, EndUser]:
    with database.session() as session:
        rows = session.exec(select(EndUser).where(EndUser.removed_at == None)).all()  # noqa: E711
        return {row.number: row for row in rows}


def add(slack: SlackDriver, user: str, **values: Any) -> Any:
    training(slack, "endusers add", user=user)
    view = slack.emulator.top_view(user)
    assert view is not None and view["callback_id"] == TrainingId.END_USER_MODAL
    return slack.submit_view(user, values)


def expected_readiness(
    database: Database, key_user: str | None = None
) -> dict[tuple[str, str], tuple[int, int]]:
    """(module, department) -> (end users, ready), recomputed from the tables in plain SQL: hours
    attended (present or late) at scheduled sessions of the end user's module, through their Slack
    invitation or the roll call by name, against 80 % of the module's planned hours."""
    with database.engine.connect() as connection:
        people = connection.execute(
            text(
                "SELECT e.id, e.user_id, e.department, e.module_id, m.name, m.planned_hours, "
                "k.user_id FROM enduser e JOIN trainingmodule m ON m.id = e.module_id "
                "JOIN keyuser k ON k.id = e.key_user_id WHERE e.removed_at IS NULL"
            )
        ).all()
        by_slack = connection.execute(
            text(
                "SELECT i.user_id, s.module_id, s.hours FROM invitation i "
                "JOIN trainingsession s ON s.event_id = i.event_id "
                "JOIN calendarevent c ON c.id = s.event_id "
                "WHERE c.status = 'scheduled' AND i.attendance IN ('present', 'late')"
            )
        ).all()
        by_name = connection.execute(
            text(
                "SELECT a.end_user_id, s.module_id, s.hours FROM enduserattendance a "
                "JOIN trainingsession s ON s.event_id = a.event_id "
                "JOIN calendarevent c ON c.id = s.event_id "
                "WHERE c.status = 'scheduled' AND a.attendance IN ('present', 'late')"
            )
        ).all()
    result: dict[tuple[str, str], tuple[int, int]] = {}
    for ident, user_id, department, module, name, planned, responsible in people:
        if key_user is not None and responsible != key_user:
            continue
        hours = sum(h for u, m, h in by_slack if user_id and u == user_id and m == module)
        hours += sum(h for e, m, h in by_name if e == ident and m == module)
        total, ready = result.get((name, department), (0, 0))
        result[(name, department)] = (total + 1, ready + int(hours >= 0.8 * planned))
    return result


def line(module: str, department: str, total: int, ready: int) -> str:
    return f"{module} · {department}: {ready} of {total} ready ({round(100 * ready / total)}%)"


def test_end_users_registered_trained_by_their_key_user_and_counted_ready(
    slack: SlackDriver,
    database: Database,
    emulator: SlackEmulator,
    runtime: Runtime,
    clock: MovableClock,
) -> None:
    project_with_curriculum(slack)
    overview = str(module_id(database, "System overview"))
    # Someone who is neither PM, team nor key user opens nothing, nor does an end user in Slack.
    for person in (OUTSIDER, DORA):
        training(slack, "endusers", user=person)
        assert "Only the PMs, the team and the key users" in texts([last_response(slack)])
    slack.slash_command(DORA, "/keyuser", "list ERP", channel_id=PROJECT_CHANNEL)
    assert "is for its project managers and team" in texts([last_response(slack)])

    # The PM registers by form: a name without Slack, a Slack user, another key user's.
    response = add(slack, PM, department="Sales", module=overview, key_user=ANNA)
    assert "Give a name or pick a Slack user" in response.json["errors"]["name"]
    forged = deepcopy(emulator.top_view(PM))
    [picker] = [b for b in forged["blocks"] if b.get("block_id") == "key_user"]
    picker["element"]["options"].append(
        {"text": {"type": "plain_text", "text": "x"}, "value": OUTSIDER}
    )
    response = slack.submit_view(
        PM,
        {"name": "Li Wei", "department": "Sales", "module": overview, "key_user": OUTSIDER},
        view=forged,
    )
    assert "Pick a key user of ERP" in response.json["errors"]["key_user"]
    assert end_users(database) == {}
    slack.submit_view(
        PM, {"name": "Li Wei", "department": "Sales", "module": overview, "key_user": ANNA}
    )
    assert "End user *1* Li Wei added to *ERP*" in texts(emulator.dm_messages(PM))
    add(slack, PM, user_id=DORA, department="Sales", module=overview, key_user=ANNA)
    add(slack, PM, name="Zhang San", department="Finance", module=overview, key_user=BEN)
    shown = end_users(database)
    assert [(e.name, e.user_id) for e in shown.values()] == [
        ("Li Wei", None),
        ("key4", DORA),
        ("Zhang San", None),
    ]

    # A key user imports their own end users; a row for another key user or module is refused.
    training(slack, "endusers import", user=ANNA)
    rows = (
        "name,slack_user,department,module,key_user\n"
        "Maria,,Sales,System overview,\n"
        f",{ERIK},Logistics,Basic operation,\n"
        "Bad,,Sales,No such module,\n"
        f"Other,,Sales,System overview,{BEN}\n"
    )
    slack.submit_view(ANNA, {"csv": rows})
    report = texts(emulator.dm_messages(ANNA)[-1:])
    assert "2 added, 2 rows rejected" in report
    assert "line 4 (module)" in report and "line 5 (key_user)" in report
    mine = {n: e for n, e in end_users(database).items() if e.name != "Zhang San"}
    assert len(mine) == 5 - 1 and len(end_users(database)) == 5

    # Each sees the end users they manage; a key user never another key user's.
    training(slack, "endusers", user=ANNA)
    listed = texts([last_response(slack)])
    assert "Maria" in listed and "Li Wei" in listed and "Zhang San" not in listed
    assert "End users 1–4 of 4" in listed
    training(slack, "endusers")
    assert "End users 1–5 of 5" in texts([last_response(slack)])
    training(slack, "enduser edit 3", user=ANNA)
    assert "another key user's" in texts([last_response(slack)])
    training(slack, "enduser remove 3", user=ANNA)
    assert "another key user's" in texts([last_response(slack)])
    training(slack, "enduser edit 1", user=ANNA)
    forged = deepcopy(emulator.top_view(ANNA))
    metadata = json.loads(forged["private_metadata"])
    metadata["end_user_id"] = end_users(database)[3].id  # Zhang San's, forged
    forged["private_metadata"] = json.dumps(metadata)
    response = slack.submit_view(ANNA, {"department": "Controlling"}, view=forged)
    assert "another key user's" in str(response.json)
    assert end_users(database)[3].department == "Finance"
    training(slack, "enduser edit 3")  # the PM may
    slack.submit_view(PM, {"department": "Controlling"})
    assert end_users(database)[3].department == "Controlling"

    # CSV export: the PM all, the key user hers.
    training(slack, "endusers export")
    training(slack, "endusers export", user=ANNA)
    exported = [f for f in emulator.files if "end-users" in f["name"]]
    counts = [len(list(csv.reader(io.StringIO(f["content"].decode())))) - 1 for f in exported]
    with database.engine.connect() as connection:
        everyone, hers = connection.execute(
            text(
                "SELECT count(*), sum(CASE WHEN k.user_id = :anna THEN 1 ELSE 0 END) "
                "FROM enduser e JOIN keyuser k ON k.id = e.key_user_id WHERE e.removed_at IS NULL"
            ),
            {"anna": ANNA},
        ).one()
    assert counts == [everyone, hers] == [5, 4]

    # A session for her end users of System overview, as long as the module's planned hours.
    with database.session() as session:
        planned = session.get(TrainingModule, int(overview)).planned_hours  # type: ignore[union-attr]
        admin = session.exec(
            select(TrainingModule.id).where(TrainingModule.name == "Administration")
        ).one()
    training(slack, "endusers session", user=ANNA)
    view = emulator.top_view(ANNA)
    assert view is not None and view["callback_id"] == TrainingId.END_USER_SESSION_MODAL
    forged = deepcopy(view)
    [modules] = [b for b in forged["blocks"] if b.get("block_id") == "module"]
    offered = {o["value"] for o in modules["element"]["options"]}
    assert str(admin) not in offered and overview in offered
    modules["element"]["options"].append(
        {"text": {"type": "plain_text", "text": "x"}, "value": str(admin)}
    )
    values = {"starts_at": epoch(SESSION_START), "duration": f"{planned:g}", "reminders": []}
    response = slack.submit_view(ANNA, {**values, "module": str(admin)}, view=forged)
    assert "You have no end users in Administration" in str(response.json)
    slack.submit_view(ANNA, {**values, "module": overview})
    assert "is scheduled" in texts(emulator.dm_messages(ANNA))
    invitation = invitation_dm(emulator, DORA, "System overview")
    with database.session() as session:
        on_roster = session.exec(select(EndUserAttendance)).all()
    assert sorted(a.end_user_id for a in on_roster) == sorted(
        e.id for e in end_users(database).values() if e.name in ("Li Wei", "Maria")
    )

    # The roll call: Dora checks in, Anna marks Li Wei by name; Maria did not come.
    clock.set(SESSION_START + timedelta(minutes=5))
    slack.click(DORA, CalendarId.CHECK_IN, message=invitation)
    training(slack, "list", user=ANNA)
    training(slack, "attendance 1", user=ANNA)
    view = emulator.top_view(ANNA)
    assert view is not None and view["callback_id"] == TrainingId.ROLL_CALL_MODAL
    assert "Li Wei (end user 1, not in Slack)" in texts([view])
    numbers = {e.name: e.number for e in end_users(database).values()}
    forged = deepcopy(view)
    [one] = [b for b in forged["blocks"] if b.get("block_id") == "att:#1"]
    extra = deepcopy(one)
    extra["block_id"] = "att:#3"  # Zhang San is not on this roster
    forged["blocks"].append(extra)
    response = slack.submit_view(ANNA, {"att:#3": "present"}, view=forged)
    assert "not on the roster" in str(response.json)
    slack.submit_view(ANNA, {"att:#1": "present", f"att:#{numbers['Maria']}": "absent"}, view=view)
    with database.session() as session:
        marks = {a.end_user_id: a.attendance for a in session.exec(select(EndUserAttendance))}
    assert sorted(marks.values()) == ["absent", "present"]
    training(slack, "roster 1", user=ANNA)
    roster = texts([last_response(slack)])
    assert "Li Wei (end user 1): Present" in roster and "Maria (end user" in roster
    training(slack, "list", user=ANNA)  # the sessions she gives are hers to see
    assert "System overview" in texts([last_response(slack)])

    # Readiness per module and department, recomputed from the tables.
    expected = expected_readiness(database)
    assert expected[("System overview", "Sales")] == (3, 2)  # Li Wei, Dora ready; Maria not
    training(slack, "readiness")
    shown = texts([last_response(slack)])
    assert "Key users" in shown and "End users of ERP" in shown
    for (module, department), (total, ready) in expected.items():
        assert line(module, department, total, ready) in shown
    total = sum(t for t, _r in expected.values())
    ready = sum(r for _t, r in expected.values())
    assert f"{ready} of {total} end users ready in all" in shown
    training(slack, "readiness", user=ANNA)
    shown = texts([last_response(slack)])
    assert "Key users" not in shown and "Finance" not in shown and "Controlling" not in shown
    for (module, department), (total, ready) in expected_readiness(database, ANNA).items():
        assert line(module, department, total, ready) in shown

    # The PMs' digest carries it; the channel's copy does not.
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        digest = digest_service.build_digest(ctx, project, now=clock.now())
        for_pms = texts([digest_views.digest_message(digest)])
        in_channel = texts(
            [digest_views.digest_message(digest_service.for_channel(ctx, digest), in_channel=True)]
        )
    assert "End-user readiness" in for_pms
    all_total = sum(t for t, _r in expected.values())
    all_ready = sum(r for _t, r in expected.values())
    assert f"{all_ready} of {all_total} end users ready" in for_pms
    for (module, department), (count, good) in expected.items():
        assert (
            f"{module} · {department}: *{round(100 * good / count)}%* ready ({good} of {count})"
            in for_pms
        )
    assert "End-user readiness" not in in_channel

    # Removing: a key user her own; the list and readiness follow.
    training(slack, f"enduser remove {numbers['Maria']}", user=ANNA)
    assert "removed from *ERP*" in texts([last_response(slack)])
    assert ("System overview", "Sales") in expected_readiness(database)
    assert expected_readiness(database)[("System overview", "Sales")] == (2, 2)

    # A PM's session for the module's end users takes every key user's.
    training(slack, "endusers session")
    later = epoch(SESSION_START + timedelta(days=1))
    slack.submit_view(PM, {**values, "module": overview, "starts_at": later})
    with database.session() as session:
        latest = max(a.event_id for a in session.exec(select(EndUserAttendance)))
        named = {
            a.end_user_id
            for a in session.exec(
                select(EndUserAttendance).where(EndUserAttendance.event_id == latest)
            )
        }
    assert named == {e.id for e in end_users(database).values() if e.user_id is None}
    assert len(named) == 2  # Li Wei and Zhang San; Maria is removed
    assert emulator.violations == []


def import_rows(slack: SlackDriver, user: str, rows: str) -> None:
    training(slack, "endusers import", user=user)
    slack.submit_view(user, {"csv": rows})


def test_lists_and_readiness_are_paged_and_a_forged_page_is_refused(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    with database.session() as session:
        modules = [m.name for m in session.exec(select(TrainingModule))]
    departments = [f"Dept {index}" for index in range(1, 9)]
    rows = ["name,department,module,key_user"]
    for module in modules:
        for department in departments:
            rows.append(f"Person {len(rows)},{department},{module},{ANNA}")
    import_rows(slack, PM, "\n".join(rows) + "\n")
    count = len(modules) * len(departments)
    assert f"{count} added, 0 rows rejected" in texts(emulator.dm_messages(PM)[-1:])
    training(slack, "endusers")
    assert f"End users 1–20 of {count}" in texts([last_response(slack)])
    click_in_response(slack, PM, TrainingId.END_USERS_PAGE)
    assert f"End users 21–{min(40, count)} of {count}" in texts([last_response(slack)])
    # A page button naming the project, clicked by someone who is not of it: refused.
    click_in_response(slack, OUTSIDER, TrainingId.END_USERS_PAGE)
    assert "Only the PMs, the team and the key users" in told(slack)
    slack.click(PM, TrainingId.END_USERS_PAGE, view=slack.emulator.top_view(PM), value="999999:1")
    assert "Person" not in told(slack)

    # 32 module × department lines: 30 on the first page, the rest on the second.
    expected = expected_readiness(database)
    assert len(expected) == count
    training(slack, "readiness")
    first = texts([last_response(slack)])
    assert f"Lines 1–30 of {count}" in first
    shown = [key for key in expected if line(key[0], key[1], *expected[key]) in first]
    assert len(shown) == 30
    click_in_response(slack, PM, TrainingId.READINESS_PAGE)
    second = texts([last_response(slack)])
    assert f"Lines 31–{count} of {count}" in second
    rest = [key for key in expected if line(key[0], key[1], *expected[key]) in second]
    assert sorted(shown + rest) == sorted(expected)
    assert all(len(m.get("blocks", [])) <= 50 for m in emulator.responses)
    assert emulator.violations == []


def test_end_users_in_chinese(
    slack: SlackDriver, database: Database, emulator: SlackEmulator, runtime: Runtime
) -> None:
    project_with_curriculum(slack, locale="zh-CN")
    overview = str(module_id(database, "系统概述"))
    add(slack, PM, name="李伟", department="销售", module=overview, key_user=ANNA)
    assert "最终用户 *1* 李伟 已加入 ERP" in texts(emulator.dm_messages(PM))
    training(slack, "endusers")
    assert "ERP 的最终用户" in texts([last_response(slack)])
    training(slack, "readiness")
    shown = texts([last_response(slack)])
    assert "系统概述 · 销售：1 名中 0 名就绪（0%）" in shown
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        digest = digest_service.build_digest(ctx, project, now=ctx.now())
        for_pms = texts([digest_views.digest_message(digest)])
    assert "*最终用户就绪度* 1 名最终用户中 0 名就绪" in for_pms
    assert "系统概述 · 销售：就绪 0%（1 人中 0 人）" in for_pms
    training(slack, "endusers", user=OUTSIDER)
    assert "Only the PMs, the team and the key users of *ERP*" in texts([last_response(slack)])
    training(slack, "help")
    shown = texts([last_response(slack)])
    assert "`/training endusers add [项目代码]`" in shown and "登记最终用户" in shown
    assert emulator.violations == []
