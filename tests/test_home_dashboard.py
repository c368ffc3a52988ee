"""The Home tab's dashboards at the limit: a PM with many projects full of key users at risk, who is
also a key user with many open issues and polls, still gets a Home tab within Slack's 100 blocks,
with "Show more" paging and a picker for the projects not shown."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.ids import DigestId
from bot.runtime import Runtime
from bot.services import keyusers
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
