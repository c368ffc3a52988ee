"""People control what they receive: a run's notices to one person come in one DM, held to their
morning summary, past their quiet days, and the digest reaches them where they chose."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.ids import NotificationId
from bot.jobs import run_due
from bot.runtime import Runtime
from bot.services import digest_schedule, notifications
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import notifications as notification_views
from storage.db import Database
from storage.models import NotificationPreference, OutboxMessage, OutboxStatus
from tests.conftest import KEY_USERS, PM, PROJECT_CHANNEL, TEAM
from tests.digest_helpers import add_issue, make_project
from tests.flows import add_key_user, create_project, texts

TOM = KEY_USERS[4]
ANNA = KEY_USERS[0]
# Monday 7 December 2026, 09:05 in Berlin: the digest's hour, the daily lists' too.
MONDAY = datetime(2026, 12, 7, 8, 5, tzinfo=UTC)


def dms(slack: SlackDriver, user: str) -> list[dict[str, Any]]:
    """The messages in the bot's DM with ``user``, as Slack holds them (not the outbox)."""
    return slack.emulator.dm_messages(user)


def prefer(runtime: Runtime, user: str, **choices: Any) -> None:
    data = {"reminders": "daily", "morning_hour": 9, "digest": "project", "quiet_days": []}
    data.update(choices)
    with runtime.unit(TEAM, user) as ctx:
        notifications.save_preference(
            ctx=ctx, data=notifications.PreferenceInput(person_id=user, **data)
        )


def busy_monday(runtime: Runtime, clock: MovableClock, *, owner: str = PM) -> None:
    """A project set up weeks before MONDAY with, on MONDAY: an issue of ``owner`` past its
    due date (a reminder, and an escalation to the PM), the weekly digest (a copy for the PM by
    default) and key users nobody contacted since (an engagement nudge)."""
    clock.set(MONDAY - timedelta(days=40))
    with runtime.unit(TEAM, PM) as ctx:
        project = make_project(ctx)
        add_issue(
            ctx,
            project,
            1,
            created=MONDAY - timedelta(days=9),
            owner=owner,
            status="acknowledged",
            first_response=MONDAY - timedelta(days=9),
            due=MONDAY - timedelta(days=2),
            title="Payment run stops",
        )
    clock.set(MONDAY)


def held_for(database: Database, user: str) -> list[OutboxMessage]:
    with database.session() as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [row for row in rows if row.payload.get("channel") == user]


def test_a_run_that_sent_a_pm_four_dms_sends_one(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    busy_monday(runtime, clock)
    run_due(runtime)
    # What the run had for the PM, counted from the outbox: each was a DM of its own before.
    grouped = [row for row in held_for(database, PM) if row.status == OutboxStatus.GROUPED]
    kinds = sorted(row.kind for row in grouped)
    assert kinds == ["digest", "engagement", "escalations", "reminder"]
    # What the PM received, counted in Slack: one DM.
    [dm] = dms(slack, PM)
    assert "4 updates for you (1 urgent)" in dm["text"]
    blocks = dm["blocks"]
    headers = [b["text"]["text"] for b in blocks if b["type"] == "header"]
    assert headers[:2] == ["Urgent", "Other updates"]
    shown = texts([dm])
    assert shown.index("service-level breach") < shown.index("Weekly digest")
    assert "You own 1 overdue issue" in shown
    assert len({b["block_id"] for b in blocks if "block_id" in b}) == len(
        [b for b in blocks if "block_id" in b]
    )
    # A rerun, later the same morning, sends nothing twice.
    run_due(runtime)
    clock.advance(minutes=30)
    run_due(runtime)
    assert len(dms(slack, PM)) == 1
    assert slack.emulator.violations == []


def test_a_pm_who_wants_the_digest_in_the_channel_only_gets_no_copy(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    busy_monday(runtime, clock)
    prefer(runtime, PM, digest="channel")
    run_due(runtime)
    assert "Weekly digest" not in texts(dms(slack, PM))
    assert "Weekly digest" in texts(slack.emulator.messages(PROJECT_CHANNEL))


def test_digest_by_dm_follows_each_pms_choice_over_the_projects(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    ctx.session.add(
        NotificationPreference(
            team_id=ctx.team_id, person_id=PM, digest="dm", updated_at=clock.now()
        )
    )
    ctx.session.flush()
    # The project sends it to the channel only: the PM who asked for a DM copy still gets one.
    assert digest_schedule.recipients(ctx, project, "channel") == [project.channel_id, PM]
    # The project sends it to the channel and the PMs: a PM who wants the channel only does not.
    ctx.session.exec(select(NotificationPreference)).one().digest = "channel"
    assert digest_schedule.recipients(ctx, project, "both") == [project.channel_id]
    # Without a channel post the DM is the only way: everyone gets it.
    assert digest_schedule.recipients(ctx, project, "pms") == [PM]


def test_a_morning_summary_person_gets_nothing_until_the_morning_then_one_dm(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    busy_monday(runtime, clock, owner=TOM)
    prefer(runtime, TOM, reminders="morning", morning_hour=8)
    run_due(runtime)  # Monday 09:05: TOM's reminder is due, but he chose 08:00
    assert dms(slack, TOM) == []
    [row] = [r for r in held_for(database, TOM) if r.kind == "reminder"]
    assert row.status == OutboxStatus.HELD
    assert row.next_attempt_at == datetime(2026, 12, 8, 7, 0, tzinfo=UTC)  # Tuesday 08:00 Berlin
    assert row.expires_at > row.next_attempt_at  # deferred, not dropped
    clock.set(datetime(2026, 12, 8, 6, 59, tzinfo=UTC))
    run_due(runtime)
    assert dms(slack, TOM) == []
    clock.set(datetime(2026, 12, 8, 7, 0, tzinfo=UTC))
    run_due(runtime)
    [summary] = dms(slack, TOM)
    assert "You own 1 overdue issue" in texts([summary])
    clock.advance(minutes=30)
    run_due(runtime)
    assert len(dms(slack, TOM)) == 1


def test_quiet_days_defer_to_the_next_allowed_morning_and_the_newest_list_wins(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    busy_monday(runtime, clock, owner=TOM)
    prefer(runtime, TOM, quiet_days=[6, 7])
    saturday = datetime(2026, 12, 12, 8, 5, tzinfo=UTC)
    for day in range(2):  # Saturday and Sunday, 09:05 and later
        clock.set(saturday + timedelta(days=day))
        run_due(runtime)
        clock.advance(hours=6)
        run_due(runtime)
    assert dms(slack, TOM) == []
    lists = [r for r in held_for(database, TOM) if r.kind == "reminder"]
    weekend = [r for r in lists if r.created_at >= saturday]
    assert len(weekend) == 2
    assert {r.next_attempt_at for r in weekend} == {datetime(2026, 12, 14, 8, 0, tzinfo=UTC)}
    clock.set(datetime(2026, 12, 14, 8, 5, tzinfo=UTC))  # Monday 09:05
    run_due(runtime)
    [dm] = [m for m in dms(slack, TOM) if "overdue" in texts([m])]
    # The newest list, not three.
    assert json.dumps(dm["blocks"]).count("You own 1 overdue issue") == 1
    statuses = {
        r.key.rsplit(":", 1)[1]: r.status for r in held_for(database, TOM) if r.kind == "reminder"
    }
    assert statuses["2026-12-12"] == statuses["2026-12-13"] == OutboxStatus.CANCELLED


def test_urgent_notices_are_not_deferred(runtime: Runtime, clock: MovableClock) -> None:
    pref = notifications.default_preference(TEAM, PM, clock.now())
    pref.reminders, pref.quiet_days = "morning", "1,2,3,4,5,6"
    now = MONDAY
    assert notifications.release_at(pref, "Europe/Berlin", now, urgent=True) == now
    # Not urgent: Sunday, the one allowed day, at 09:00.
    assert notifications.release_at(pref, "Europe/Berlin", now) == datetime(
        2026, 12, 13, 8, 0, tzinfo=UTC
    )


def test_the_reporter_hears_of_a_mornings_changes_in_one_dm(
    slack: SlackDriver, runtime: Runtime, database: Database
) -> None:
    create_project(slack)
    add_key_user(slack, ANNA)
    for title in ("Invoice posting fails", "Stock values wrong"):
        slack.slash_command(ANNA, "/issue", "new ERP")
        slack.submit_view(ANNA, {"title": title})
    confirmations = len(dms(slack, ANNA))  # the answers to her own submissions: at once
    for ref in ("ERP-1", "ERP-2"):
        for verb in ("ack", f"assign <@{PM}|pm>", "start"):
            slack.slash_command(PM, "/issue", f"{ref} {verb}")
    assert len(dms(slack, ANNA)) == confirmations  # six changes, nothing yet
    run_due(runtime)
    new = dms(slack, ANNA)[confirmations:]
    assert len(new) == 1
    assert "ERP-1" in texts(new) and "ERP-2" in texts(new)
    run_due(runtime)
    assert len(dms(slack, ANNA)) == confirmations + 1


def test_home_shows_the_settings_and_the_form_saves_them(
    slack: SlackDriver, runtime: Runtime, database: Database
) -> None:
    create_project(slack)
    slack.open_home(PM)
    home = slack.emulator.home(PM)
    assert home is not None
    assert "Notifications" in texts([home]) and "as things fall due" in texts([home])
    slack.click(PM, NotificationId.OPEN_SETTINGS, view=home)
    form = slack.emulator.top_view(PM)
    assert form["callback_id"] == NotificationId.SETTINGS_MODAL
    answer = slack.submit_view(
        PM, {"reminders": "morning", "morning_hour": "10", "digest": "dm", "quiet_days": ["7"]}
    )
    assert answer.status == 200 and not (answer.json or {}).get("errors")
    with database.session() as session:
        [pref] = session.exec(select(NotificationPreference)).all()
    assert (pref.person_id, pref.reminders, pref.morning_hour, pref.digest, pref.quiet_days) == (
        PM,
        "morning",
        10,
        "dm",
        "7",
    )
    home = slack.emulator.home(PM)
    assert "one morning summary at *10:00*" in texts([home]) and "Sunday" in texts([home])


@pytest.mark.parametrize("every_day", [False, True])
def test_a_forged_form_for_someone_elses_settings_is_refused(
    slack: SlackDriver, database: Database, every_day: bool
) -> None:
    create_project(slack)
    add_key_user(slack, TOM)
    slack.open_home(TOM)
    slack.click(TOM, NotificationId.OPEN_SETTINGS, view=slack.emulator.home(TOM))
    form = slack.emulator.top_view(TOM)
    days = [str(d) for d in range(1, 8)] if every_day else []
    forged = {**form, "private_metadata": json.dumps({"person_id": PM})}
    answer = slack.submit_view(
        TOM,
        {"reminders": "morning", "morning_hour": "10", "digest": "dm", "quiet_days": days},
        view=forged if not every_day else form,
    )
    assert (answer.json or {}).get("response_action") == "errors"
    with database.session() as session:
        assert session.exec(select(NotificationPreference)).all() == []


def test_the_pm_chooses_where_the_digest_goes_when_creating_the_project(
    slack: SlackDriver, runtime: Runtime, database: Database
) -> None:
    refused = create_project(slack, channel_id=None, digest_target="channel")
    assert refused.json["errors"]["digest_target"]
    create_project(slack, digest_target="pms")
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        assert digest_schedule.settings_of(ctx, project).target == "pms"
        assert digest_schedule.recipients(ctx, project, "pms") == [PM]
    # The project's settings show it, and change it.
    slack.slash_command(PM, "/project", "edit ERP")
    form = slack.emulator.top_view(PM)
    [choice] = [b for b in form["blocks"] if b.get("block_id") == "digest_target"]
    assert choice["element"]["initial_option"]["value"] == "pms"
    slack.submit_view(PM, {"digest_target": "both"})
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        assert digest_schedule.settings_of(ctx, project).target == "both"


def test_a_grouped_dm_too_long_for_one_message_is_split_and_keeps_block_ids_unique() -> None:
    def part(urgent: bool, word: str) -> notifications.Part:
        blocks = [
            {"type": "section", "block_id": f"b{n}", "text": {"type": "mrkdwn", "text": word}}
            for n in range(30)
        ]
        return notifications.Part(urgent, {"text": f"{word} &lt;!here&gt;", "blocks": blocks})

    pages = notification_views.grouped_dm("en", [part(True, "first"), part(False, "second")])
    assert len(pages) == 2
    assert all(len(page["blocks"]) <= 50 for page in pages)
    assert pages[0]["text"].startswith("2 updates for you (1 urgent): first")
    # The notices' own texts, escaped as they were written: nobody is pinged.
    assert "<!here>" not in pages[0]["text"] and "&lt;!here&gt;" in pages[0]["text"]
    ids = [b["block_id"] for page in pages for b in page["blocks"] if "block_id" in b]
    assert len(ids) == len(set(ids)) == 60


def test_a_lone_notice_goes_out_under_its_own_key(
    runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    busy_monday(runtime, clock, owner=TOM)
    run_due(runtime)
    [row] = [r for r in held_for(database, TOM) if r.kind == "reminder"]
    assert row.status == OutboxStatus.SENT  # not grouped: its buttons find it by its key
    assert [r for r in held_for(database, TOM) if r.kind == "notices"] == []
