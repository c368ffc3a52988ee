"""The decision log through the emulator: a meeting's decisions logged when its outcome is recorded
(and withdrawn when it is recorded again without them), the form with its inline errors, the
paged list, the CSV export, who may read and add, forged ids, the weekly digest's section in the
PMs' and the channel's copy at a flat statement count, and the migration's copy of the decisions
already recorded in meeting outcomes."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, text
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import DecisionId, MeetingId
from bot.jobs import run_due
from bot.runtime import Runtime
from bot.services import decisions as decision_service
from bot.services import digest as digest_service
from bot.services import projects as project_service
from bot.services import risks as risk_service
from bot.services.digest_schedule import covered_week
from storage.db import Database, make_engine
from storage.migrate import upgrade
from storage.models import Decision, Project
from tests.conftest import KEY_USERS, OUTSIDER, PM, PM2, PROJECT_CHANNEL, TEAM
from tests.digest_helpers import add_issue
from tests.flows import add_key_user, create_project, last_response, last_response_text, texts
from tests.test_migrations import isolated_schema

BERLIN = ZoneInfo("Europe/Berlin")
MARIA, ANNA, BEN = KEY_USERS[:3]
TOM = "UTOM00001"
MONDAY_0900 = datetime(2027, 3, 15, 9, 0, tzinfo=BERLIN)


@pytest.fixture
def erp(slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: Any) -> SlackDriver:
    """ERP (Berlin) with PM Pia, Tom in the team, key users Maria, Anna and Ben; OTH, another
    project of another PM."""
    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    emulator.add_user(TOM, "tom.consultant", real_name="Tom Consultant")
    create_project(slack)
    for user in (MARIA, ANNA, BEN):
        add_key_user(slack, user)
    create_project(slack, PM2, code="OTH", name="Other", channel_id=None, pm_ids=[PM2])
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        project_service.set_team_members(ctx=ctx, project=project, user_ids=[TOM])
    emulator.reset_calls()
    return slack


def log_rows(database: Database, code: str = "ERP") -> list[Decision]:
    with database.session() as session:
        project = session.exec(select(Project).where(Project.code == code)).one()
        return list(
            session.exec(
                select(Decision).where(Decision.project_id == project.id).order_by(Decision.id)
            ).all()
        )


def latest_with(messages: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    for message in reversed(messages):
        for block in message.get("blocks") or []:
            for element in block.get("elements") or [block.get("accessory") or {}]:
                if element.get("action_id") == action_id:
                    return message
    raise AssertionError(f"no message with {action_id}")


def plan_meeting(slack: SlackDriver) -> None:
    slack.slash_command(PM, "/meeting", "new", channel_id=PROJECT_CHANNEL)
    slack.submit_view(
        PM,
        {
            "title": "Release strategy",
            "kind": "decision_review",
            "starts_at": int(MONDAY_0900.timestamp()),
            "duration": "60",
            "people": [MARIA, ANNA],
            "repeat": "none",
        },
    )


def record_outcome(slack: SlackDriver, decisions: str, attended: list[str]) -> None:
    prompt = latest_with(slack.emulator.dm_messages(PM), MeetingId.OUTCOME)
    slack.click(PM, MeetingId.OUTCOME, message=prompt)
    slack.submit_view(PM, {"attended": attended, "decisions": decisions})


def listing(slack: SlackDriver, user: str, words: str = "decisions ERP") -> dict[str, Any]:
    slack.slash_command(user, "/project", words, channel_id=PROJECT_CHANNEL)
    return last_response(slack)


# ------------------------------------------------------------------------- meeting outcomes


def test_a_meetings_decisions_enter_the_log_and_follow_its_outcome(
    erp: SlackDriver, runtime: Runtime, database: Database, clock: Any
) -> None:
    plan_meeting(erp)
    clock.set(MONDAY_0900 + timedelta(hours=1, minutes=5))
    run_due(runtime)
    record_outcome(erp, "- Two release levels\n• Freeze on 20 March", [ANNA])
    rows = log_rows(database)
    assert [(d.number, d.text, d.decided_by, d.source) for d in rows] == [
        (1, "Two release levels", [ANNA], "meeting"),
        (2, "Freeze on 20 March", [ANNA], "meeting"),
    ]
    assert {d.decided_on for d in rows} == {date(2027, 3, 15)}
    # A key user reads the log of their project: newest first, with where each came from.
    shown = texts([listing(erp, ANNA)])
    assert "Decision log of ERP* (2 decisions" in shown
    assert shown.index("*#2*") < shown.index("*#1*")
    assert "meeting _Release strategy_ on 2027-03-15" in shown and f"<@{ANNA}>" in shown
    # Recorded again: a decision dropped is withdrawn (kept for the export), a new one logged.
    record_outcome(erp, "Two release levels\nGo-live on 1 April", [ANNA, MARIA])
    rows = log_rows(database)
    assert [(d.number, d.withdrawn_at is not None) for d in rows] == [
        (1, False),
        (2, True),
        (3, False),
    ]
    assert rows[2].decided_by == sorted([ANNA, MARIA])
    shown = texts([listing(erp, PM)])
    assert "(2 decisions" in shown and "*#2*" not in shown and "Go-live on 1 April" in shown
    erp.slash_command(PM, "/project", "decisions ERP export", channel_id=PROJECT_CHANNEL)
    assert "decision log of *ERP* is in your DMs" in last_response_text(erp)
    [shared] = [f for f in erp.emulator.files if f["filename"].startswith("ERP-decisions-")]
    exported = list(csv.DictReader(io.StringIO(shared["content"].decode())))
    assert [(r["number"], r["source"], bool(r["withdrawn_at"])) for r in exported] == [
        ("1", "meeting", False),
        ("2", "meeting", True),
        ("3", "meeting", False),
    ]
    assert exported[0]["meeting"] == "Release strategy (2027-03-15)"
    assert erp.emulator.violations == []


# ------------------------------------------------------------------------------- the form


def test_the_form_checks_every_field_inline_and_stores_nothing_until_right(
    erp: SlackDriver, runtime: Runtime, database: Database, clock: Any
) -> None:
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        risk_service.create_risk(
            ctx=ctx,
            project=project,
            data=risk_service.RiskInput(
                title="Late data load", category="data", probability=3, impact=4
            ),
        )
        add_issue(ctx, project, 1, created=clock.now())
    erp.slash_command(TOM, "/project", "decisions ERP add", channel_id=PROJECT_CHANNEL)
    view = erp.emulator.top_view(TOM)
    picker = next(b for b in view["blocks"] if b.get("block_id") == "decided_on")
    # The default is today in Berlin (08:00 UTC on 10 March is 09:00 there).
    assert picker["element"]["initial_date"] == "2027-03-10"
    answer = erp.submit_view(
        TOM,
        {
            "text": "  ",
            "decided_on": "2027-03-11",
            "risk": "9",
            "issue": "OTH-1",
            "supersedes": "4",
        },
    )
    errors = (answer.json or {}).get("errors") or {}
    assert set(errors) == {"text", "decided_by", "decided_on", "risk", "issue", "supersedes"}
    assert "pick today or an earlier day" in errors["decided_on"]
    assert log_rows(database) == []
    answer = erp.submit_view(
        TOM,
        {
            "text": "Use the standard release strategy",
            "decided_by": [MARIA],
            "decided_by_names": "Steering committee",
            "decided_on": "2027-03-09",
            "risk": "#1",
            "issue": "ERP-1",
        },
    )
    assert not (answer.json or {}).get("errors")
    [decision] = log_rows(database)
    assert (decision.number, decision.source, decision.recorded_by) == (1, "manual", TOM)
    assert "Decision *#1* recorded" in texts(erp.emulator.dm_messages(TOM))
    shown = texts([listing(erp, PM)])
    assert "risk #1" in shown and "issue ERP-1" in shown and "Steering committee" in shown
    assert f"recorded by <@{TOM}>" in shown
    # A correction supersedes it; both lines say so.
    erp.slash_command(PM, "/project", "decisions ERP add", channel_id=PROJECT_CHANNEL)
    erp.submit_view(
        PM,
        {"text": "Two release levels instead", "decided_by": [PM], "supersedes": "1"},
    )
    shown = texts([listing(erp, PM)])
    assert "supersedes #1" in shown and "superseded by #2" in shown


def test_key_users_read_and_only_the_team_adds(
    erp: SlackDriver, runtime: Runtime, database: Database
) -> None:
    erp.slash_command(ANNA, "/project", "decisions ERP add", channel_id=PROJECT_CHANNEL)
    assert "Only the PMs and the team of *ERP* record decisions" in last_response_text(erp)
    assert "Record a decision" not in texts([listing(erp, ANNA)])  # no Add button for them
    erp.slash_command(OUTSIDER, "/project", "decisions ERP", channel_id=PROJECT_CHANNEL)
    assert "is for its PMs, team and key users" in last_response_text(erp)
    erp.slash_command(OUTSIDER, "/project", "decisions ERP export", channel_id=PROJECT_CHANNEL)
    assert "is for its PMs, team and key users" in last_response_text(erp)
    assert not [f for f in erp.emulator.files if "decisions" in f["filename"]]
    # A PM of ERP opens the form, then forges the project to one they are not in: refused inline.
    erp.slash_command(PM, "/project", "decisions ERP add", channel_id=PROJECT_CHANNEL)
    view = erp.emulator.top_view(PM)
    with runtime.unit(TEAM, PM2) as ctx:
        other = project_service.get_project(ctx, "OTH").id
    forged = {**view, "private_metadata": f'{{"project_id": {other}}}'}
    answer = erp.submit_view(PM, {"text": "Smuggled", "decided_by": [PM]}, view=forged)
    assert answer.json and answer.json.get("response_action") == "errors"
    assert log_rows(database, "OTH") == [] and log_rows(database) == []
    # The usage names the new verb.
    erp.slash_command(PM, "/project", "help")
    assert "/project decisions [CODE] [add|export]" in last_response_text(erp)


def test_the_list_pages_newest_first_and_a_forged_page_is_refused(
    erp: SlackDriver, runtime: Runtime, database: Database, clock: Any
) -> None:
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        for day in range(25):
            decision_service.record(
                ctx=ctx,
                project=project,
                text=f"Decision of day {day} " + "x" * 2900,
                decided_by=[PM],
                decided_on=date(2027, 2, 1) + timedelta(days=day),
                source="manual",
            )
    first = listing(erp, PM)
    total = len(log_rows(database))
    assert f"({total} decisions" in texts([first])
    assert len(first["blocks"]) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in first["blocks"])
    newest = sorted(log_rows(database), key=lambda d: (d.decided_on, d.number), reverse=True)
    shown_numbers = [d.number for d in newest[:10]]
    assert f"*#{shown_numbers[0]}*" in texts([first]) and "Page 1 of 3" in texts([first])
    erp.block_action(
        PM,
        f"{DecisionId.LIST_PAGE}_next",
        message={**first, "ts": "1.0"},
        channel_id=PROJECT_CHANNEL,
    )
    second = last_response(erp)
    assert "Page 2 of 3" in texts([second])
    assert f"*#{newest[10].number}*" in texts([second])
    assert f"*#{shown_numbers[0]}*" not in texts([second])
    # Someone outside the project turns a page of it: refused, nothing of it shown.
    erp.block_action(
        OUTSIDER, f"{DecisionId.LIST_PAGE}_next", value=f"{project.id}|2", channel_id="C0GENERAL"
    )
    refusal = texts([last_response(erp)])
    assert "is for its PMs, team and key users" in refusal and "Decision of day" not in refusal
    erp.block_action(PM, f"{DecisionId.LIST_PAGE}_next", value="x|y", channel_id="C0GENERAL")
    assert "Decision of day" not in texts([last_response(erp)])
    assert erp.emulator.violations == []


# ------------------------------------------------------------------------------ the digest


def _statements_of(runtime: Runtime, work: Callable[[], object]) -> int:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")):
            seen.append(statement)

    event.listen(runtime.database.engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        event.remove(runtime.database.engine, "before_cursor_execute", count)
    return len(seen)


def test_the_weeks_decisions_are_in_both_copies_of_the_digest_at_a_flat_cost(
    erp: SlackDriver, runtime: Runtime, database: Database, clock: Any
) -> None:
    """The covered week is the ISO week of Berlin before the digest: 1–7 March 2027 for a digest
    sent on 10 March. A decision of Sunday 7 March is in it, one of Monday 8 March is not."""
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        for day, words in (
            (date(2027, 2, 28), "Before the week"),
            (date(2027, 3, 1), "Monday's decision"),
            (date(2027, 3, 7), "Sunday's decision"),
            (date(2027, 3, 8), "After the week"),
        ):
            decision_service.record(
                ctx=ctx,
                project=project,
                text=words,
                decided_by=[MARIA],
                decided_by_names="Board",
                decided_on=day,
                source="manual",
            )
        period = covered_week(project, ctx.now())

    def build() -> None:
        with runtime.unit(TEAM, PM) as ctx:
            digest_service.build_digest(ctx, project_service.get_project(ctx, "ERP"), now=ctx.now())

    small = _statements_of(runtime, build)
    assert small <= 15, small  # the digest's budget (bench/digest.py)
    erp.slash_command(PM, "/digest", "send ERP")
    first, after = (period.start.astimezone(BERLIN).date(), period.end.astimezone(BERLIN).date())
    with database.session() as session:
        expected = session.exec(
            text(
                "SELECT number, text FROM decision WHERE decided_on >= :first"
                " AND decided_on < :after AND withdrawn_at IS NULL ORDER BY decided_on, number"
            ),
            params={"first": first, "after": after},
        ).all()
    assert [t for _n, t in expected] == ["Monday's decision", "Sunday's decision"]
    channel = [m for m in erp.emulator.messages(PROJECT_CHANNEL) if "Weekly digest" in str(m)]
    pms = [m for m in erp.emulator.dm_messages(PM) if "Weekly digest" in str(m.get("text"))]
    for copy in (channel[-1], pms[-1]):
        shown = texts([copy])
        assert f"*Decisions of week 9* — {len(expected)}" in shown
        for number, words in expected:
            assert f"*#{number}*" in shown and words in shown
        assert "Before the week" not in shown and "After the week" not in shown
        assert f"<@{MARIA}>, Board" in shown
    # Ten times the decisions (and more than the digest lists): the same statements.
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        for index in range(40):
            decision_service.record(
                ctx=ctx,
                project=project,
                text=f"More {index}",
                decided_by=[PM],
                decided_on=date(2027, 3, 1) + timedelta(days=index % 7),
                source="manual",
            )
    assert _statements_of(runtime, build) == small
    with runtime.unit(TEAM, PM) as ctx:
        digest = digest_service.build_digest(
            ctx, project_service.get_project(ctx, "ERP"), now=ctx.now()
        )
    section = digest.sections["decisions"]
    assert section.total == 42 and len(section.lines) == decision_service.WEEK_LIMIT
    assert erp.emulator.violations == []


# ---------------------------------------------------------------------------- the migration


def test_the_migration_copies_the_decisions_of_recorded_outcomes(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    _copies_meeting_decisions(engine)
    engine.dispose()


def test_the_migration_copies_the_decisions_of_recorded_outcomes_on_postgresql() -> None:
    with isolated_schema("decisions_copy") as engine:
        _copies_meeting_decisions(engine)


def _copies_meeting_decisions(engine: Any) -> None:
    upgrade(engine, "0012")
    at = "2026-11-30 08:30:00"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO project (id, team_id, name, code, phase, phases, timezone, locale,"
                " digest_weekday, digest_time, created_by, created_at, updated_at) VALUES"
                " (1, 'T1', 'ERP', 'ERP', 'design', '[]', 'Asia/Shanghai', 'en', 0, '09:00',"
                " 'UPM1', :at, :at)"
            ),
            {"at": at},
        )
        for event_id, starts in ((1, "2026-11-30 17:00:00"), (2, "2026-11-20 08:00:00")):
            connection.execute(
                text(
                    "INSERT INTO calendarevent (id, team_id, project_id, kind, title, starts_at,"
                    " ends_at, timezone, organizer_id, allow_maybe, check_in, reminder_minutes,"
                    " status, uid, sequence, created_by, created_at, updated_at) VALUES"
                    " (:id, 'T1', 1, 'meeting', 'Review', :starts, :starts, 'Asia/Shanghai',"
                    " 'UORG1', FALSE, FALSE, '[]', 'scheduled', :uid, 0, 'UPM1', :at, :at)"
                ),
                {"id": event_id, "starts": starts, "uid": f"u{event_id}", "at": at},
            )
        for event_id, attended, decided in (
            (1, '["UKEY2", "UKEY1"]', '["Freeze scope", "Hire a tester"]'),
            (2, "[]", '["Kick-off held"]'),
        ):
            connection.execute(
                text(
                    "INSERT INTO meetingoutcome (team_id, project_id, event_id, attended,"
                    " decisions, recorded_by, recorded_at, detail) VALUES ('T1', 1, :event,"
                    " :attended, :decided, 'UPM1', :at, '{}')"
                ),
                {"event": event_id, "attended": attended, "decided": decided, "at": at},
            )
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT number, text, decided_by, decided_on, source, source_id FROM decision"
                " ORDER BY number"
            )
        ).all()
        counter = connection.execute(text("SELECT next_number FROM decisionsettings")).scalar()
    # Numbered in the order of the meetings; 17:00 UTC on 30 November is 1 December in Shanghai.
    assert [(r[0], r[1], str(r[3]), r[4], r[5]) for r in rows] == [
        (1, "Kick-off held", "2026-11-20", "meeting", 2),
        (2, "Freeze scope", "2026-12-01", "meeting", 1),
        (3, "Hire a tester", "2026-12-01", "meeting", 1),
    ]
    people = [r[2] if isinstance(r[2], list) else json.loads(r[2]) for r in rows]
    assert people == [["UORG1"], ["UKEY1", "UKEY2"], ["UKEY1", "UKEY2"]]
    assert counter == 4
