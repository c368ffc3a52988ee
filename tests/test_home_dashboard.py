"""The Home tab's dashboards at the limit: a PM with many projects full of key users at risk, who is
also a key user with many open issues and polls, still gets a Home tab within Slack's 100 blocks,
with "Show more" paging and a picker for the projects not shown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from bot.calendar import upcoming
from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.ids import DigestId
from bot.runtime import Runtime
from bot.services import digest as digest_service
from bot.services import issues as issue_service
from bot.services import keyusers, projects, trainings
from bot.services.keyusers import KeyUserInput
from bot.views.common import VIEW_BLOCK_LIMIT
from handlers.home import build_home
from tests.conftest import PM, TEAM
from tests.digest_helpers import add_event, add_issue, add_round, make_project
from tests.flows import texts

PROJECTS = 6
PEOPLE = 30


def busy_pm(runtime: Runtime, clock: MovableClock) -> None:
    """Six projects of 30 key users each, every one in engagement debt, issues past their service
    level; the PM is also a key user of every project, with open issues and polls awaiting."""
    start = clock.now()
    clock.set(start - timedelta(days=90))
    with runtime.unit(TEAM, PM) as ctx:
        for index in range(PROJECTS):
            project = make_project(
                ctx,
                code=f"P{index}X",
                channel=None,
                key_users=[f"UK{index}{n:04d}" for n in range(PEOPLE)],
            )
            keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=PM))
            for number in range(1, 6):
                add_issue(
                    ctx,
                    project,
                    number,
                    created=clock.now(),
                    reporter=PM,
                    due=clock.now() + timedelta(days=3),
                    title=f"Issue {number} of {index}",
                )
            for kind in ("training", "meeting"):
                add_event(
                    ctx,
                    project,
                    kind=kind,
                    title=f"{kind} {index}",
                    starts=start + timedelta(days=2),
                    answers={PM: "pending"},
                )
            add_round(
                ctx,
                project,
                series=f"s{index}",
                number=1,
                opens=start - timedelta(days=1),
                answers={},
                invited=[PM],
                status="open",
                title=f"Pulse {index}",
            )
    clock.set(start)


def test_home_stays_within_the_block_limit_with_paging(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    busy_pm(runtime, clock)
    view = build_home(runtime, TEAM, PM)
    assert len(view["blocks"]) <= VIEW_BLOCK_LIMIT
    slack.open_home(PM)
    home = slack.emulator.home(PM)
    text = texts([home])
    assert "P0X" in text and "P1X" in text and "You manage 6 projects; showing 2" in text
    assert "Your upcoming training sessions" in text  # every part still has its place
    assert (
        f"*Key users at risk* ({PEOPLE + 1})" in text or f"*Key users at risk* ({PEOPLE})" in text
    )
    assert "1–8 of" in text
    assert "1–5 of 30" in text  # the PM's own open issues, five at a time
    # Show more at-risk people of the first project.
    slack.click(PM, DigestId.HOME_PAGE, view=home, value="risk:1:1")
    home = slack.emulator.home(PM)
    assert "9–16 of" in texts([home])
    # Pick a project that was not shown: its dashboard comes first.
    slack.block_action(
        PM,
        DigestId.HOME_PICK_PROJECT,
        view=home,
        selected_option={"value": "6", "text": {"type": "plain_text", "text": "P5X"}},
    )
    home = slack.emulator.home(PM)
    first_header = next(b for b in home["blocks"] if b["type"] == "header")
    assert "P5X" in first_header["text"]["text"]
    assert len(home["blocks"]) <= VIEW_BLOCK_LIMIT
    assert slack.emulator.violations == []


def test_a_forged_page_for_someone_elses_project_shows_nothing_of_it(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    busy_pm(runtime, clock)
    slack.open_home("UOUT0001")
    home = slack.emulator.home("UOUT0001")
    slack.block_action("UOUT0001", DigestId.HOME_PAGE, value="risk:1:1", channel_id="C0GENERAL")
    assert "P0X" not in texts([slack.emulator.home("UOUT0001")])
    assert home is not None


# One bounded statement per part at most, whatever the data: the register, issues, events,
# trainings, polls, risks, change requests, the phase checklist and the notification settings.
# 20, not 17: a dashboard lists the first of the open issues its figure counts beside it (one
# statement, LIMIT 3, per dashboard shown), so that the figure and the list agree; the checklist
# items the person owns are listed with Mark (one statement, LIMIT 5); and the person's
# notification settings are read once. A project without key users adds one statement for its
# next steps instead (not counted here: this PM's projects have key users).
HOME_BUDGET = 20


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


def _grow(runtime: Runtime, clock: MovableClock, code: str, scale: int) -> None:
    """A project of the PM with ``scale`` times more of everything a dashboard reads."""
    start = clock.now()
    with runtime.unit(TEAM, PM) as ctx:
        project = make_project(
            ctx, code=code, channel=None, key_users=[f"UG{code}{n:04d}" for n in range(5 * scale)]
        )
        trainings.adopt_standard_curriculum(ctx=ctx, project=project)
        for number in range(1, 10 * scale + 1):
            add_issue(ctx, project, number, created=start - timedelta(days=number % 9), reporter=PM)
        for index in range(2 * scale):
            for kind in ("training", "meeting"):
                add_event(
                    ctx,
                    project,
                    kind=kind,
                    title=f"{kind} {index}",
                    starts=start + timedelta(days=1 + index),
                    answers={PM: "pending"},
                )
        for number in range(1, scale + 1):
            add_round(
                ctx,
                project,
                series=f"g{code}",
                number=number,
                opens=start - timedelta(days=7 * (scale - number) + 1),
                answers={},
                invited=[PM],
                status="open" if number == scale else "closed",
            )


def test_the_pms_home_tab_costs_the_same_few_statements_whatever_the_data(
    runtime: Runtime, clock: MovableClock
) -> None:
    """Every part of the Home tab reads set-based: a PM's Home costs at most ``HOME_BUDGET``
    statements, the same for a small project as for one ten times larger (issues, key users,
    events, polls)."""
    _grow(runtime, clock, "SMALL", 1)
    small = _statements_of(runtime, lambda: build_home(runtime, TEAM, PM))
    with runtime.unit(TEAM, PM) as ctx:
        projects.get_project(ctx, "SMALL").code = "ZSMALL"  # the larger one is shown first
    _grow(runtime, clock, "LARGE", 10)
    large_view: dict[str, Any] = {}
    large = _statements_of(runtime, lambda: large_view.update(build_home(runtime, TEAM, PM)))
    # Two dashboards are shown now: each costs the same again; nothing grows with the data.
    with runtime.unit(TEAM, PM) as ctx:
        project = projects.get_project(ctx, "LARGE")
        dashboard = _statements_of(
            runtime, lambda: digest_service.project_dashboard(ctx, project, at_risk_limit=8)
        )
    assert small <= HOME_BUDGET, small
    assert large <= small + dashboard, (small, large, dashboard)
    assert "LARGE" in texts([large_view])


def test_issues_paged_past_the_end_show_the_last_page(
    runtime: Runtime, clock: MovableClock
) -> None:
    """A "Show more" drawn before issues were closed asks for a page that no longer exists: the
    Home tab shows the last page there is, in order of due date."""
    _grow(runtime, clock, "ERP", 1)  # ten open issues reported by the PM
    with runtime.unit(TEAM, PM) as ctx:
        first, total, _page = issue_service.open_issues_of(ctx, PM, page=0, page_size=5)
        last, _total, page = issue_service.open_issues_of(ctx, PM, page=7, page_size=5)
    assert (total, page, len(last)) == (10, 1, 5)
    dues = [issue.due_at for issue, _p in first + last]
    assert dues == sorted(dues)  # soonest due first, across pages
    home = build_home(runtime, TEAM, PM, {"issues": 7})
    # The PM's own issues: the part under "Your issues" (the dashboard lists the project's).
    start = next(n for n, b in enumerate(home["blocks"]) if "Your issues" in str(b.get("text", "")))
    text = texts([{"blocks": home["blocks"][start:]}])
    assert "6–10 of 10" in text
    assert all(f"*ERP-{issue.number}*" in text for issue, _p in last)
    assert not any(f"*ERP-{issue.number}*" in text for issue, _p in first)


def test_upcoming_events_are_listed_per_kind_soonest_first(
    runtime: Runtime, clock: MovableClock
) -> None:
    """Someone invited to many trainings and meetings sees the next five of each, in one
    statement: meetings do not crowd trainings out."""
    _grow(runtime, clock, "ERP", 4)  # eight trainings and eight meetings
    found: dict[str, Any] = {}
    with runtime.unit(TEAM, PM) as ctx:
        count = _statements_of(
            runtime, lambda: found.update(upcoming.upcoming_for(ctx, PM, limit=5))
        )
    assert count == 1
    assert sorted(found) == ["meeting", "training"]
    for kind, rows in found.items():
        assert [event.title for event, _i in rows] == [f"{kind} {n}" for n in range(5)]
