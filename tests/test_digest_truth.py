"""The digest says true things: which week it covers, what is "now", and who may read whom.

Every expected figure here is worked out in the test (``date.isocalendar()``, plain SQL over the
rows), not by the digest's own queries, and read back from what Slack shows.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.jobs import run_due
from bot.runtime import Runtime
from bot.services import projects as project_service
from storage.db import Database
from storage.models import DigestRun, KeyUser
from tests.conftest import KEY_USERS, PM, PROJECT_CHANNEL, TEAM
from tests.digest_helpers import add_issue
from tests.flows import add_key_user, create_project, last_response_text, texts

TITLE = "Weekly digest"


def digests_in(slack: SlackDriver, channel: str) -> list[dict]:
    return [m for m in slack.emulator.messages(channel) if TITLE in str(m.get("text"))]


def digests_to_pm(slack: SlackDriver) -> list[dict]:
    return [m for m in slack.emulator.dm_messages(PM) if TITLE in str(m.get("text"))]


def expected_week(moment: datetime, timezone: str) -> tuple[str, date, date]:
    """The label and first and last day of the ISO week that ended before ``moment``, worked
    out from ``date.isocalendar()``."""
    today = moment.astimezone(ZoneInfo(timezone)).date()
    sunday = today - timedelta(days=today.isoweekday())
    monday = sunday - timedelta(days=6)
    year, week, weekday = monday.isocalendar()
    assert weekday == 1 and sunday.isocalendar() == (year, week, 7)
    return f"{year}-W{week:02d}", monday, sunday


def week_line(message: dict) -> str:
    """The digest's first line: its week and range."""
    [line] = [part for part in texts([message]).split("\n") if part.startswith("*Week ")]
    return line.split(" (")[0]


def shown_range(first: date, last: date) -> str:
    if first.year != last.year:
        return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"
    if first.month != last.month:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day}–{last.day} {last:%b %Y}"


SENDS = [
    # (what, timezone, digest weekday, digest time, the send instant in UTC)
    ("Monday 30 Nov 2026, the issue's case", "Europe/Berlin", 0, "09:00", (2026, 11, 30, 8)),
    ("a Friday in December", "Europe/Berlin", 4, "09:00", (2026, 12, 11, 8)),
    ("into 2026's week 53", "Europe/Berlin", 0, "09:00", (2027, 1, 4, 8)),
    ("week 53 from Sydney, Sunday in UTC", "Australia/Sydney", 0, "08:00", (2027, 1, 3, 21)),
    (
        "Sunday evening in Los Angeles, Monday in UTC",
        "America/Los_Angeles",
        6,
        "20:00",
        (2027, 1, 4, 4),
    ),
    ("Friday 8 January 2027: still week 53 of 2026", "Europe/Berlin", 4, "09:00", (2027, 1, 8, 8)),
    ("a week that spans two months", "Asia/Shanghai", 2, "10:00", (2026, 12, 9, 2)),
]


@pytest.mark.parametrize(
    ("timezone", "weekday", "at", "when"), [s[1:] for s in SENDS], ids=[s[0] for s in SENDS]
)
def test_a_digest_is_labelled_with_the_iso_week_that_ended_and_shows_its_seven_days(
    slack: SlackDriver,
    runtime: Runtime,
    clock,  # type: ignore[no-untyped-def]
    database: Database,
    timezone: str,
    weekday: int,
    at: str,
    when: tuple[int, ...],
) -> None:
    sent_at = datetime(*when, tzinfo=UTC)
    clock.set(sent_at - timedelta(days=10))
    create_project(slack, timezone=timezone, digest_weekday=str(weekday), digest_time=at)
    clock.set(sent_at)
    run_due(runtime)
    label, monday, sunday = expected_week(sent_at, timezone)
    assert (sunday - monday).days == 6
    [posted] = digests_in(slack, PROJECT_CHANNEL)
    assert week_line(posted) == f"*Week {label}* · {shown_range(monday, sunday)}"
    assert label in posted["text"]
    with database.session() as session:
        assert [run.week for run in session.exec(select(DigestRun)).all()] == [label]
    # The preview at the same instant covers the same week, shown the same way.
    slack.slash_command(PM, "/digest", "preview ERP")
    assert week_line(slack.new_sent[-1]) == week_line(posted)


def test_a_late_digest_and_a_preview_of_the_same_week_show_the_same_seven_days(
    slack: SlackDriver,
    runtime: Runtime,
    clock,  # type: ignore[no-untyped-def]
    database: Database,
) -> None:
    create_project(slack)  # Mondays 09:00 Berlin
    clock.set(datetime(2027, 1, 14, 10, 0, tzinfo=UTC))  # Thursday: Monday's time was missed
    slack.slash_command(PM, "/digest", "preview ERP")
    preview = week_line(slack.new_sent[-1])
    run_due(runtime)
    [late] = digests_in(slack, PROJECT_CHANNEL)
    assert "Sent late" in texts([late])
    label, monday, sunday = expected_week(clock.now(), "Europe/Berlin")
    assert (label, monday, sunday) == ("2027-W01", date(2027, 1, 4), date(2027, 1, 10))
    assert week_line(late) == preview == f"*Week 2027-W01* · {shown_range(monday, sunday)}"
    # The claim is of the week covered: the digest sent on Monday 18 January covers week 2.
    clock.set(datetime(2027, 1, 18, 8, 0, tzinfo=UTC))
    run_due(runtime)
    with database.session() as session:
        weeks = [run.week for run in session.exec(select(DigestRun).order_by(DigestRun.id))]
    assert weeks == ["2027-W01", "2027-W02"]
    assert week_line(digests_in(slack, PROJECT_CHANNEL)[-1]).startswith("*Week 2027-W02* · 11–17")


# ------------------------------------------------------------------------------ now vs the week


def now_line(message: dict) -> tuple[int, int, int]:
    found = re.search(
        r"_Now:_ \*(\d+)\* open · \*(\d+)\* overdue · \*(\d+)\* past a service level",
        texts([message]),
    )
    assert found, texts([message])
    return int(found[1]), int(found[2]), int(found[3])


def counted_in_sql(database: Database, project_id: int, now: datetime) -> tuple[int, int, int]:
    """Open, overdue and past a service level at ``now``, counted over the rows in plain SQL."""
    with database.session() as session:
        rows = session.execute(
            text(
                "SELECT status, due_at, first_response_at, first_response_due_at FROM issue"
                " WHERE project_id = :project AND deleted_at IS NULL"
            ),
            {"project": project_id},
        ).all()

    def aware(value: datetime | str | None) -> datetime | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    open_rows = [
        (aware(due), aware(answered), aware(answer_due))
        for status, due, answered, answer_due in rows
        if status in ("new", "acknowledged", "in_progress", "reopened")
    ]
    overdue = [row for row in open_rows if row[0] is not None and row[0] <= now]
    past = [
        row
        for row in open_rows
        if (row[0] is not None and row[0] <= now)
        or (row[1] is None and row[2] is not None and row[2] <= now)
    ]
    return len(open_rows), len(overdue), len(past)


def test_the_digests_now_figures_agree_with_issue_list_overdue_and_the_escalations_of_its_run(
    slack: SlackDriver,
    runtime: Runtime,
    clock,  # type: ignore[no-untyped-def]
    database: Database,
) -> None:
    create_project(slack, digest_weekday="4")  # Fridays 09:00 Berlin
    for user in KEY_USERS[:2]:
        add_key_user(slack, user)
    friday = datetime(2027, 1, 8, 8, 0, tzinfo=UTC)
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        project_id = project.id or 0
        # Resolved in time last week.
        add_issue(
            ctx,
            project,
            1,
            created=friday - timedelta(days=9),
            status="resolved",
            resolved=friday - timedelta(days=8),
            first_response=friday - timedelta(days=9),
        )
        # Logged on Wednesday, nobody answered: past its first-response time this morning.
        add_issue(
            ctx,
            project,
            2,
            created=friday - timedelta(days=2),
            owner=PM,
            first_response_due=friday - timedelta(hours=1),
            due=friday + timedelta(days=3),
        )
        # Due yesterday, still open: overdue now (not in the week that ended).
        add_issue(
            ctx,
            project,
            3,
            created=friday - timedelta(days=6),
            owner=PM,
            first_response=friday - timedelta(days=6),
            status="in_progress",
            due=friday - timedelta(days=1),
        )
        # Due later, answered: neither.
        add_issue(
            ctx,
            project,
            4,
            created=friday - timedelta(days=1),
            owner=PM,
            first_response=friday - timedelta(hours=20),
            status="acknowledged",
            due=friday + timedelta(days=5),
        )
    clock.set(friday)
    run_due(runtime)  # the escalations and the digest, in one run
    # The escalation and the PM's copy of the digest come in one DM, the escalation first.
    escalations = [
        m
        for m in slack.emulator.dm_messages(PM)
        if "ERP-2" in texts([m]) and ":rotating_light:" in texts([m])
    ]
    assert escalations, "ERP-2's missed first response is escalated in the same run"
    [posted] = digests_in(slack, PROJECT_CHANNEL)
    expected = counted_in_sql(database, project_id, friday)
    assert expected == (3, 1, 2)
    assert now_line(posted) == expected
    slack.slash_command(PM, "/issue", "list overdue project:ERP")
    listed = re.search(r"\*Overdue issues: (\d+)\*", last_response_text(slack))
    assert listed and int(listed[1]) == now_line(posted)[1]
    # The week's figures say which week they are of.
    assert "_In week 53:_" in texts([posted])  # 28 Dec – 3 Jan


# ------------------------------------------------------------ who reads what in the channel


def test_the_channel_copy_counts_key_users_at_risk_without_naming_them_or_their_reasons(
    slack: SlackDriver,
    runtime: Runtime,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    create_project(slack)  # Mondays 09:00 Berlin, to the channel and the PM
    for user in KEY_USERS[:2]:
        add_key_user(slack, user)
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        names = [row.display_name for row in ctx.session.exec(select(KeyUser)).all()]
        add_issue(
            ctx,
            project,
            1,
            created=clock.now(),
            reporter=KEY_USERS[1],
            due=clock.now() + timedelta(days=1),
        )
    clock.set(datetime(2027, 1, 11, 8, 0, tzinfo=UTC))  # six weeks without a contact
    run_due(runtime)
    [channel] = digests_in(slack, PROJECT_CHANNEL)
    [for_pm] = digests_to_pm(slack)
    seen_by_all, seen_by_pm = texts([channel]), texts([for_pm])
    assert "*Key users at risk now* — 2" in seen_by_all
    assert len(names) == 2 and all(names)
    for user, name in zip(KEY_USERS[:2], names, strict=True):
        assert user not in seen_by_all and name not in seen_by_all
        assert f"<@{user}>" in seen_by_pm
    for reason in ("not contacted", "past the service level"):
        assert reason not in seen_by_all and reason in seen_by_pm
    assert "PMs' copy" in seen_by_all
