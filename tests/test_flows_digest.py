"""The weekly digest through Slack: once per project and ISO week over a month of job runs (a missed
digest time goes out late, a timezone across midnight from UTC), preview equal to what is sent,
settings with inline errors, buttons that refuse forged ids, and the chart of a poll's trend."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import DigestId
from bot.jobs import digest as digest_jobs
from bot.jobs import run_due
from bot.runtime import Runtime
from bot.services import digest as digest_service
from bot.services import keyusers
from bot.services import projects as project_service
from bot.services.keyusers import KeyUserInput
from storage.db import Database
from storage.models import DigestRun, DigestSettings, OutboxMessage
from tests.conftest import KEY_USERS, OUTSIDER, PM, PROJECT_CHANNEL, TEAM
from tests.digest_helpers import add_event, add_issue, add_round
from tests.flows import add_key_user, create_project, last_response, last_response_text, texts

TITLE = "Weekly digest"


def digests_in(emulator: SlackEmulator, channel: str) -> list[dict]:
    return [m for m in emulator.messages(channel) if TITLE in str(m.get("text"))]


def runs(database: Database) -> list[DigestRun]:
    with database.session() as session:
        return list(session.exec(select(DigestRun).order_by(DigestRun.id)).all())


def run_every(runtime: Runtime, clock: MovableClock, until: datetime, step: timedelta) -> None:
    while clock.now() < until:
        clock.advance(seconds=step.total_seconds())
        run_due(runtime)


def test_once_a_week_over_a_month_and_a_missed_digest_goes_out_late(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    create_project(slack)  # Europe/Berlin, Mondays 09:00; created Tuesday 1 December
    add_key_user(slack, KEY_USERS[0])
    emulator = slack.emulator
    # Week 49's digest time (Monday 30 November) passed before the project existed: none.
    run_every(runtime, clock, datetime(2026, 12, 7, 2, 0, tzinfo=UTC), timedelta(hours=6))
    assert digests_in(emulator, PROJECT_CHANNEL) == []
    clock.set(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))  # Monday 09:00 Berlin
    run_due(runtime)
    run_due(runtime)  # a rerun at the same instant adds nothing
    assert len(digests_in(emulator, PROJECT_CHANNEL)) == 1
    assert len([m for m in emulator.dm_messages(PM) if TITLE in str(m.get("text"))]) == 1
    # The rest of the week: nothing more.
    run_every(runtime, clock, datetime(2026, 12, 14, 5, 0, tzinfo=UTC), timedelta(hours=3))
    assert len(digests_in(emulator, PROJECT_CHANNEL)) == 1
    # The scheduler is down from Monday 08:00 to Wednesday: week 51's digest goes out late.
    clock.set(datetime(2026, 12, 16, 10, 0, tzinfo=UTC))
    run_due(runtime)
    late = digests_in(emulator, PROJECT_CHANNEL)
    assert len(late) == 2 and "Sent late" in texts([late[-1]])
    assert "Sent late" not in texts([late[0]])
    clock.set(datetime(2026, 12, 17, 0, 0, tzinfo=UTC))  # then every 4 hours, on the hour
    run_every(runtime, clock, datetime(2027, 1, 2, 0, 0, tzinfo=UTC), timedelta(hours=4))
    weeks = [run.week for run in runs(database)]
    assert weeks == ["2026-W49", "2026-W50", "2026-W51", "2026-W52"]  # the weeks that ended
    assert [run.late for run in runs(database)] == [False, True, False, False]
    assert len(digests_in(emulator, PROJECT_CHANNEL)) == 4
    assert emulator.violations == []


def test_a_week_that_ended_without_its_digest_is_not_sent_afterwards(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    create_project(slack, digest_weekday="6", digest_time="18:00")  # Sundays 18:00 Berlin
    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))  # Monday: Sunday's time was missed
    run_due(runtime)
    assert digests_in(slack.emulator, PROJECT_CHANNEL) == []
    assert runs(database) == []


def test_a_timezone_ahead_of_utc_gets_its_digest_on_the_utc_day_before(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    # Monday 08:00 in Sydney (UTC+11 in December) is Sunday 21:00 UTC.
    create_project(slack, timezone="Australia/Sydney", digest_time="08:00")
    clock.set(datetime(2026, 12, 6, 20, 55, tzinfo=UTC))
    run_due(runtime)
    assert digests_in(slack.emulator, PROJECT_CHANNEL) == []
    clock.set(datetime(2026, 12, 6, 21, 0, tzinfo=UTC))
    run_due(runtime)
    assert len(digests_in(slack.emulator, PROJECT_CHANNEL)) == 1
    # The week that ended in Sydney (49), not the one that ended in UTC (48).
    assert [run.week for run in runs(database)] == ["2026-W49"]
    clock.set(datetime(2026, 12, 8, 12, 0, tzinfo=UTC))  # Tuesday in Sydney, same week
    run_due(runtime)
    assert len(digests_in(slack.emulator, PROJECT_CHANNEL)) == 1


def test_a_timezone_behind_utc_gets_its_digest_on_the_utc_day_after(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    # Sunday 20:00 in Los Angeles (UTC-8) is Monday 04:00 UTC. The project is created in week 49,
    # so its first digest covers week 49, on Sunday 13 December in Los Angeles.
    create_project(slack, timezone="America/Los_Angeles", digest_weekday="6", digest_time="20:00")
    clock.set(datetime(2026, 12, 14, 3, 59, tzinfo=UTC))
    run_due(runtime)
    assert digests_in(slack.emulator, PROJECT_CHANNEL) == []
    clock.set(datetime(2026, 12, 14, 4, 0, tzinfo=UTC))
    run_due(runtime)
    # Still Sunday in Los Angeles (Monday in UTC, of week 51): the week that ended is 49.
    assert [run.week for run in runs(database)] == ["2026-W49"]
    assert len(digests_in(slack.emulator, PROJECT_CHANNEL)) == 1


def test_two_schedulers_at_the_same_instant_send_one_digest(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    create_project(slack)
    clock.set(datetime(2026, 12, 7, 8, 5, tzinfo=UTC))
    barrier = threading.Barrier(2)
    results: list[dict] = []

    def scheduler() -> None:
        barrier.wait()
        results.append(digest_jobs.send_digests(runtime))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run_due(runtime)
    assert sorted(result["digests"] for result in results) == [0, 1]
    assert len(runs(database)) == 1
    assert len(digests_in(slack.emulator, PROJECT_CHANNEL)) == 1


def test_preview_shows_the_asker_exactly_what_send_sends_the_pms(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    create_project(slack, digest_weekday="4")  # Fridays 09:00 Berlin
    for user in KEY_USERS[:3]:
        add_key_user(slack, user)
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        add_issue(
            ctx,
            project,
            1,
            created=clock.now() - timedelta(days=9),
            owner=PM,
            due=clock.now() - timedelta(days=2),
            title="Payment <run> & stops",
        )
    slack.slash_command(PM, "/digest", "preview", channel_id=PROJECT_CHANNEL)
    preview = last_response(slack)
    assert preview.get("type") == "modal"  # the asker's alone, like an ephemeral, but it stays
    assert "Payment &lt;run&gt; &amp; stops" in texts([preview])
    assert digests_in(slack.emulator, PROJECT_CHANNEL) == []
    slack.slash_command(PM, "/digest", "send", channel_id=PROJECT_CHANNEL)
    assert "counts as this week's digest" in last_response_text(slack)
    assert len(digests_in(slack.emulator, PROJECT_CHANNEL)) == 1
    [sent] = [m for m in slack.emulator.dm_messages(PM) if TITLE in str(m.get("text"))]

    def content(blocks: list[dict]) -> list[dict]:  # Slack adds block ids of its own
        return [{k: v for k, v in b.items() if k != "block_id"} for b in blocks]

    without_note = [b for b in preview["blocks"] if "Preview" not in str(b)]
    assert content(without_note) == content(sent["blocks"])
    # The scheduled digest of this week (Friday) does not go out again.
    clock.set(datetime(2026, 12, 4, 8, 0, tzinfo=UTC))
    run_due(runtime)
    assert len(digests_in(slack.emulator, PROJECT_CHANNEL)) == 1
    # A second send the same week is an extra one, said so.
    slack.slash_command(PM, "/digest", "send ERP")
    assert "in addition" in last_response_text(slack)
    assert len(digests_in(slack.emulator, PROJECT_CHANNEL)) == 2
    assert slack.emulator.violations == []


def test_only_pms_preview_or_send(slack: SlackDriver) -> None:
    create_project(slack)
    slack.slash_command(OUTSIDER, "/digest", "preview ERP")
    assert "Only the PMs of ERP" in last_response_text(slack)
    slack.slash_command(KEY_USERS[0], "/digest", "send ERP")
    assert "Only the PMs of ERP" in last_response_text(slack)
    assert digests_in(slack.emulator, PROJECT_CHANNEL) == []
    slack.slash_command(PM, "/digest", "")
    assert "/digest preview [CODE]" in last_response_text(slack)


def test_settings_change_day_time_and_target_with_inline_errors(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    create_project(slack)
    slack.slash_command(PM, "/digest", "settings", channel_id=PROJECT_CHANNEL)
    modal = slack.emulator.top_view(PM)
    assert modal["callback_id"] == DigestId.SETTINGS_MODAL
    response = slack.submit_view(  # no time picker gives "7 pm": a hand-made request
        PM, {"digest_weekday": "4", "digest_time": "7 pm", "digest_target": "pms"}, forged=True
    )
    assert response.json["response_action"] == "errors"
    assert set(response.json["errors"]) == {"digest_time"}
    with database.session() as session:
        # The target chosen when the project was created, unchanged by the refused form.
        [kept] = session.exec(select(DigestSettings)).all()
        assert kept.target == "both"
    slack.submit_view(PM, {"digest_weekday": "4", "digest_time": "16:30", "digest_target": "pms"})
    assert "every *Friday* at *16:30*" in texts(slack.emulator.dm_messages(PM))
    # Friday 16:30 Berlin, a week on: the first digest covers week 49, the project's first
    clock.set(datetime(2026, 12, 11, 15, 30, tzinfo=UTC))
    run_due(runtime)
    assert digests_in(slack.emulator, PROJECT_CHANNEL) == []  # PMs only now
    assert len([m for m in slack.emulator.dm_messages(PM) if TITLE in str(m.get("text"))]) == 1
    assert slack.emulator.violations == []


def test_remind_owners_button_reminds_each_owner_once_and_refuses_forged_ids(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    create_project(slack)
    owner = KEY_USERS[5]
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        for number in (1, 2):
            add_issue(
                ctx,
                project,
                number,
                created=clock.now() - timedelta(days=9),
                owner=owner,
                due=clock.now() - timedelta(days=2),
            )
    slack.slash_command(PM, "/digest", "send ERP")
    [digest] = digests_in(slack.emulator, PROJECT_CHANNEL)
    slack.click(OUTSIDER, DigestId.REMIND_OWNERS, message=digest)
    assert slack.emulator.dm_messages(owner) == []
    slack.click(OUTSIDER, DigestId.OPEN_DASHBOARD, message=digest)
    assert slack.emulator.top_view(OUTSIDER) is None
    # The channel's copy offers the PMs' actions in a menu; reminding there asks first.
    assert [e["type"] for b in digest["blocks"] for e in b.get("elements") or []][-1:] == [
        "overflow"
    ]
    slack.click(PM, DigestId.REMIND_OWNERS, message=digest)
    asking = slack.emulator.top_view(PM)
    assert asking is not None and "The owners of the 2 overdue issues of *ERP*" in texts([asking])
    assert slack.emulator.dm_messages(owner) == []  # nothing sent yet
    slack.submit_view(PM, {})
    slack.click(PM, DigestId.REMIND_OWNERS, message=digest)
    slack.submit_view(PM, {})
    reminders = slack.emulator.dm_messages(owner)
    assert len(reminders) == 1 and "2 overdue" in texts(reminders)
    slack.click(PM, DigestId.OPEN_DASHBOARD, message=digest)
    dashboard = slack.emulator.top_view(PM)
    assert dashboard is not None and "*Overdue* 2" in texts([dashboard])
    assert slack.emulator.violations == []


def test_trend_chart_goes_with_the_digest_when_a_poll_has_two_rounds(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    create_project(slack, locale="zh-CN")
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        for number, rating in ((1, 5), (2, 2)):
            add_round(
                ctx,
                project,
                series="pulse",
                number=number,
                opens=clock.now() - timedelta(days=40 - 20 * number),
                answers={KEY_USERS[0]: {"rating": rating, "nps": 9}},
            )
    slack.slash_command(PM, "/digest", "send ERP")
    [digest] = [
        m for m in slack.emulator.messages(PROJECT_CHANNEL) if "每周摘要" in str(m.get("blocks"))
    ]
    text = texts([digest])
    assert "满意度" in text and "第 2 轮" in text and "每周摘要" in text
    charts = [f for f in slack.emulator.files if f["name"].startswith("digest-ERP")]
    assert len(charts) == 2  # the channel and the PM's DM
    assert charts[0]["content"].startswith(b"\x89PNG")
    assert slack.emulator.violations == []


def test_digest_outbox_keys_are_unique_per_project_week_and_recipient(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    create_project(slack)
    clock.set(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    run_due(runtime)
    with database.session() as session:
        keys = [row.key for row in session.exec(select(OutboxMessage)).all()]
    digest_keys = [key for key in keys if key.startswith("digest:")]
    assert sorted(digest_keys) == [
        f"digest:1:2026-W49:to:{PROJECT_CHANNEL}",
        f"digest:1:2026-W49:to:{PM}",
    ]


def test_a_failing_digest_holds_back_no_other_project_and_is_tried_again(
    slack: SlackDriver,
    runtime: Runtime,
    clock: MovableClock,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_project(slack)
    create_project(slack, code="CRM", name="CRM rollout", channel_id="C0GENERAL")
    real_build = digest_service.build_digest

    def broken_for_erp(ctx, project, **kwargs):  # type: ignore[no-untyped-def]
        if project.code == "ERP":
            raise RuntimeError("boom")
        return real_build(ctx, project, **kwargs)

    monkeypatch.setattr(digest_service, "build_digest", broken_for_erp)
    clock.set(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    summary = digest_jobs.send_digests(runtime)
    assert (summary["digests"], summary["digests_failed"]) == (1, 1)
    assert [run.project_id for run in runs(database)] == [2]  # ERP's claim was rolled back
    monkeypatch.setattr(digest_service, "build_digest", real_build)
    clock.advance(minutes=5)
    assert digest_jobs.send_digests(runtime)["digests"] == 1
    assert sorted(run.project_id for run in runs(database)) == [1, 2]


def test_a_digest_full_of_everything_stays_within_slacks_limits(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    create_project(slack)
    long = "Very long title " * 9
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        for index in range(40):
            user = f"URISK{index:04d}"
            slack.emulator.add_user(user, f"risk{index}")
            keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=user))
            add_issue(
                ctx,
                project,
                index + 1,
                created=clock.now() - timedelta(days=30),
                due=clock.now() - timedelta(days=20),
                reporter=user,
                owner=PM,
                title=long[:150],
            )
        for index in range(12):
            add_event(
                ctx,
                project,
                kind="meeting",
                title=long[:150],
                starts=clock.now() + timedelta(days=1, hours=index),
            )
    clock.advance(days=60)
    slack.slash_command(PM, "/digest", "send ERP")
    [digest] = digests_in(slack.emulator, PROJECT_CHANNEL)
    assert "*Key users at risk now* — 40" in texts([digest])
    [for_pm] = [m for m in slack.emulator.dm_messages(PM) if TITLE in str(m.get("text"))]
    text = texts([for_pm])
    assert "*Key users at risk now* — 40" in text and "…and 25 more on the dashboard." in text
    assert len(digest["blocks"]) <= 50 and len(for_pm["blocks"]) <= 50
    assert slack.emulator.violations == []
