"""The consistency oracle: at several instants, every figure of the digest, the PM's Home tab and
``/issue list overdue`` agrees with the rows, recounted by ``tests/oracle.py`` (plain SQL and
Python written from the product's rules, not the services' queries).

A project seeded at random (a fixed seed: hundreds of issues, dozens of key users, polls,
trainings, meetings, quizzes and contacts) is read at instants a week and more apart, across the
end of an ISO week; the demo's week is checked in ``test_demo_oracle.py``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.emulator.driver import SlackDriver
from bot.jobs import run_due
from bot.runtime import Runtime
from storage.db import Database
from tests.conftest import KEY_USERS, PM, PROJECT_CHANNEL, START, TEAM
from tests.digest_helpers import add_event, add_issue, make_project
from tests.flows import last_response_text, texts, told
from tests.oracle import (
    Rows,
    contact_list_disagreements,
    digest_disagreements,
    home_disagreements,
    nudge_disagreements,
    seed_project,
)
from tests.test_flows_trainings import (
    ANNA,
    BEN,
    SESSION_START,
    project_with_curriculum,
    schedule,
    training,
)

# (seeded up to, instant): instants a week and more apart, across the end of an ISO week, and
# across the switch to summer time (a week of 167 hours).
SPRING = datetime(2027, 3, 26, 12, 0, tzinfo=UTC)  # Friday before the clocks go forward
INSTANTS = [
    (START, START),  # Tuesday 1 December, 08:00 UTC
    (START, datetime(2026, 12, 4, 16, 30, tzinfo=UTC)),  # Friday afternoon
    (START, datetime(2026, 12, 6, 22, 59, tzinfo=UTC)),  # Sunday 23:59 in Berlin: week 49 open
    (START, datetime(2026, 12, 6, 23, 1, tzinfo=UTC)),  # Monday 00:01 in Berlin: it is covered
    (START, datetime(2026, 12, 21, 9, 0, tzinfo=UTC)),  # three weeks on: debts have grown
    (SPRING, datetime(2027, 3, 29, 7, 0, tzinfo=UTC)),  # Monday 09:00 CEST: week 12 of 167 h
    (SPRING, datetime(2027, 4, 5, 7, 0, tzinfo=UTC)),  # the week after the switch
]


@pytest.mark.parametrize(
    ("seeded_until", "instant"), INSTANTS, ids=[f"{i:%a %d %b %Y %H:%M}" for _s, i in INSTANTS]
)
def test_every_figure_of_the_digest_and_the_home_tab_agrees_with_the_rows_of_a_seeded_project(
    slack: SlackDriver,
    runtime: Runtime,
    clock,  # type: ignore[no-untyped-def]
    database: Database,
    seeded_until: datetime,
    instant: datetime,
) -> None:
    clock.set(seeded_until - timedelta(days=1))
    code = seed_project(
        runtime, seed=23, team=TEAM, pm=PM, channel=PROJECT_CHANNEL, now=seeded_until
    )
    seeded = Rows.load(database, code)
    assert len(seeded.issues) == 300 and len(seeded.key_users) == 80
    clock.set(instant)
    slack.slash_command(PM, "/digest", "preview ERP")
    preview = told(slack)
    assert digest_disagreements(preview, seeded, instant) == []
    slack.open_home(PM)
    home = slack.emulator.home(PM)
    assert home is not None
    assert home_disagreements(texts([home]), seeded, instant) == []
    # What the digest calls open and overdue is what /issue list counts and lists then.
    counts = seeded.issue_counts(instant, instant - timedelta(days=7), instant)
    overdue = seeded.overdue_refs(instant)
    assert len(overdue) == counts.overdue
    for scope, expected in (("open", counts.open), ("overdue", counts.overdue)):
        slack.slash_command(PM, "/issue", f"list {scope} project:ERP")
        answer = last_response_text(slack) + texts([slack.emulator.responses[-1]])
        listed = re.search(rf"\*{scope.title()} issues: (\d+)\*", answer)
        assert listed and int(listed[1]) == expected
        refs = re.findall(r"• \*(ERP-\d+)\* · [^\n]*", answer)
        marked = set(re.findall(r"• \*(ERP-\d+)\* · [^\n]*:warning: overdue", answer))
        assert refs and marked == overdue & set(refs)


def test_the_digests_coming_week_counts_every_answer_so_they_add_up_to_the_invited(
    slack: SlackDriver,
    runtime: Runtime,
    clock,  # type: ignore[no-untyped-def]
    database: Database,
) -> None:
    with runtime.unit(TEAM, PM) as ctx:
        project = make_project(ctx)
        answers = ["accepted", "maybe", "maybe", "declined", "waitlisted", "pending"]
        add_event(
            ctx,
            project,
            kind="meeting",
            title="Blueprint review",
            starts=START + timedelta(days=2),
            answers=dict(zip(KEY_USERS, answers, strict=True)),
        )
    slack.slash_command(PM, "/digest", "preview ERP")
    shown = told(slack)
    [line] = [part for part in shown.split("\n") if "Blueprint review" in part]
    assert line.endswith(
        "— 6 invited: 1 accepted, 2 maybe, 1 on the waitlist, 1 declined, 1 not answered"
    ), line
    rows = Rows.load(database, "ERP")
    assert [tally.invited for tally in rows.coming_tallies(START, START + timedelta(days=7))] == [6]
    assert digest_disagreements(shown, rows, START) == []


def test_the_pm_is_nudged_at_most_once_in_seven_days_with_whoever_the_rows_say_is_in_debt(
    slack: SlackDriver,
    runtime: Runtime,
    clock,  # type: ignore[no-untyped-def]
    database: Database,
) -> None:
    seed_project(runtime, seed=23, team=TEAM, pm=PM, channel=PROJECT_CHANNEL, now=START)
    nudges: list[datetime] = []
    for day in range(17):  # every morning at 10:00 in Berlin for two weeks and a half
        now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(days=day)
        clock.set(now)
        before = len(slack.emulator.dm_messages(PM))
        run_due(runtime)
        rows = Rows.load(database, "ERP")
        # The blocks: the message's text repeats its first line for the lock screen.
        new = [
            texts(m.get("blocks") or [])
            for m in slack.emulator.dm_messages(PM)[before:]
            if "Key users in engagement debt" in texts([m])
        ]
        assert len(new) <= 1
        due = rows.in_debt(now) and not any(now - sent < timedelta(days=7) for sent in nudges)
        assert bool(new) == bool(due), now
        if new:
            assert nudge_disagreements(new[0], rows, now) == [], now
            nudges.append(now)
    assert len(nudges) == 3
    assert all(b - a >= timedelta(days=7) for a, b in zip(nudges, nudges[1:], strict=False))


def test_an_issue_nobody_answered_in_time_puts_its_reporter_at_risk_as_past_the_service_level(
    slack: SlackDriver,
    runtime: Runtime,
    clock,  # type: ignore[no-untyped-def]
    database: Database,
) -> None:
    """The digest counts an open issue unanswered past its first-response time as past a service
    level; the reasons of its reporter say the same, with the day the deadline passed."""
    with runtime.unit(TEAM, PM) as ctx:
        project = make_project(ctx, key_users=KEY_USERS[:2])
        add_issue(
            ctx,
            project,
            1,
            created=START - timedelta(days=2),
            reporter=KEY_USERS[0],
            first_response_due=START - timedelta(days=1),  # Monday 30 November, 09:00 Berlin
            due=START + timedelta(days=5),
        )
    slack.slash_command(PM, "/digest", "preview ERP")
    shown = told(slack)
    assert "*1* open · *0* overdue · *1* past a service level" in shown
    [line] = [part for part in shown.split("\n") if f"<@{KEY_USERS[0]}>" in part]
    assert "1 issue past the service level since 30 Nov" in line
    slack.open_home(PM)
    home = texts([slack.emulator.home(PM) or {}])
    [line] = [part for part in home.split("\n") if part.startswith(f"• <@{KEY_USERS[0]}>")]
    assert "1 issue past the service level since 30 Nov" in line
    rows = Rows.load(database, "ERP")
    assert digest_disagreements(shown, rows, START) == []
    assert home_disagreements(home, rows, START) == []


def test_an_issue_closed_before_its_deadlines_misses_no_service_level(
    slack: SlackDriver,
    runtime: Runtime,
    clock,  # type: ignore[no-untyped-def]
    database: Database,
) -> None:
    """A PM closes an issue (a duplicate, say) before its first-response and resolution times:
    neither deadline was missed, in the digest's week nor on the Home tab."""
    with runtime.unit(TEAM, PM) as ctx:
        project = make_project(ctx, key_users=KEY_USERS[:2])
        add_issue(
            ctx,
            project,
            1,
            created=START - timedelta(days=1),
            reporter=KEY_USERS[0],
            first_response_due=START + timedelta(hours=4),
            due=START + timedelta(days=2),
        )
    slack.slash_command(PM, "/issue", "ERP-1 close")
    assert "closed" in last_response_text(slack).lower() or slack.emulator.find_text("closed")
    friday = START + timedelta(days=3)
    clock.set(friday)
    slack.open_home(PM)
    home = texts([slack.emulator.home(PM) or {}])
    assert "*Breaches in the last 7 days* 0" in home
    monday = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)  # the digest of week 49
    clock.set(monday)
    slack.slash_command(PM, "/digest", "preview ERP")
    shown = told(slack)
    assert "*Week 2026-W49*" in shown
    assert "• Service-level deadlines missed: *0*" in shown
    rows = Rows.load(database, "ERP")
    assert rows.issues[0]["status"] == "closed" and rows.issues[0]["resolved_at"] is None
    assert home_disagreements(home, rows, friday) == []
    assert digest_disagreements(shown, rows, monday) == []


def test_a_training_attended_is_a_contact_at_the_session_and_a_corrected_roll_call_takes_it_back(
    slack: SlackDriver,
    runtime: Runtime,
    clock,  # type: ignore[no-untyped-def]
    database: Database,
) -> None:
    """The trainer takes the roll three days after the session: the key users who came were in
    contact at the session, not at the roll call; one marked present by mistake and corrected to
    absent was not in contact at all. The Home tab's last contacts say so."""
    project_with_curriculum(slack)
    event_id = schedule(slack, database, capacity="")
    roll_call = SESSION_START + timedelta(days=3)
    clock.set(roll_call)
    training(slack, f"attendance {event_id}")
    slack.submit_view(PM, {f"att:{ANNA}": "present", f"att:{BEN}": "present"})
    training(slack, f"attendance {event_id}")
    slack.submit_view(PM, {f"att:{ANNA}": "present", f"att:{BEN}": "absent"})
    slack.open_home(PM)
    home = texts([slack.emulator.home(PM) or {}])
    [anna] = [line for line in home.split("\n") if line.startswith(f"<@{ANNA}> — ")]
    [ben] = [line for line in home.split("\n") if f"<@{BEN}> — " in line]
    assert f"<!date^{int(SESSION_START.timestamp())}^" in anna
    assert "none since" in ben and f"<!date^{int(roll_call.timestamp())}^" not in ben
    rows = Rows.load(database, "ERP")
    assert contact_list_disagreements(home, rows, roll_call) == []
