"""The digest in detail: each poll figure at the edges of its scale (named and anonymous), which
round is the latest and which rounds make its trend, who is falling in satisfaction, the coming
week's window and its limit, the due time of a week, the settings and their refusals, the weekly
claim, the sections of a digest, issue figures at the edges of each week, the reasons that put a
key user at risk, which digests are due, overdue issues by owner, and the PM's dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col

from bot.clock import MovableClock
from bot.errors import Msg, ValidationError
from bot.services import digest, digest_schedule, keyusers
from bot.services.context import Ctx
from bot.services.digest_schedule import SettingsInput
from bot.services.keyusers import KeyUserInput, Quadrant
from storage.models import (
    CalendarEvent,
    DigestRun,
    Interaction,
    Issue,
    KeyUser,
    PollQuestion,
    PollResponse,
    Project,
    QuizAttempt,
    QuizRound,
    TrainingModule,
)
from tests.conftest import ADMIN, KEY_USERS, PM, PROJECT_CHANNEL, TEAM
from tests.digest_helpers import add_event, add_issue, add_round, make_project

END = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday 09:00 Berlin
ANNA, BEN, CLARA, DAN = KEY_USERS[:4]
PERIOD = digest_schedule.period_ending(END)


# ------------------------------------------------------------------------------ poll figures


@pytest.mark.parametrize("anonymous", [False, True])
def test_a_rounds_figures_at_the_edges_of_each_scale(ctx: Ctx, anonymous: bool) -> None:
    # Satisfied: 4 and 5 of 5. Promoters: 9 and 10; detractors: 0 to 6 (7 and 8 are passive).
    project = make_project(ctx)
    poll = add_round(
        ctx,
        project,
        series="s1",
        number=1,
        opens=END - timedelta(days=10),
        anonymous=anonymous,
        title="Pulse",
        invited=[ANNA, BEN, CLARA, DAN, KEY_USERS[4]],
        answers={
            ANNA: {"rating": 5, "nps": 9},
            BEN: {"rating": 4, "nps": 6},
            CLARA: {"rating": 2, "nps": 7},
            DAN: {"rating": 1, "nps": 10},  # last: every ballot counts, not only the last one
        },
    )
    summary = digest.latest_poll(ctx, project, PERIOD)
    assert summary is not None
    assert (summary.title, summary.anonymous) == ("Pulse", anonymous)
    assert summary.rounds == [
        digest.RoundSummary(
            poll_id=poll.id or 0,
            round_number=1,
            opens_at=END - timedelta(days=10),
            status="closed",
            invited=5,
            answered=4,
            csat=50.0,  # 5 and 4 of four answers
            nps=25.0,  # promoters 9 and 10, one detractor (6), of four answers
        )
    ]
    assert summary.previous is None


@pytest.mark.parametrize("anonymous", [False, True])
def test_nobody_satisfied_is_a_figure_of_zero_not_a_missing_one(ctx: Ctx, anonymous: bool) -> None:
    project = make_project(ctx)
    add_round(
        ctx,
        project,
        series="s1",
        number=1,
        opens=END - timedelta(days=10),
        anonymous=anonymous,
        answers={
            ANNA: {"rating": 3, "nps": 3},
            BEN: {"rating": 1, "nps": 0},
            CLARA: {"rating": 2, "nps": 2},
        },
    )
    summary = digest.latest_poll(ctx, project, PERIOD)
    assert summary is not None
    assert (summary.latest.csat, summary.latest.nps) == (0.0, -100.0)


def test_a_round_nobody_was_asked_has_no_invitations(ctx: Ctx) -> None:
    project = make_project(ctx)
    add_round(ctx, project, series="s1", number=1, opens=END - timedelta(days=3), answers={})
    summary = digest.latest_poll(ctx, project, PERIOD)
    assert summary is not None
    assert (summary.latest.invited, summary.latest.answered) == (0, 0)
    assert summary.latest.response_rate == 0.0
    assert (summary.latest.csat, summary.latest.nps) == (None, None)


# ------------------------------------------------------------------- which round is the latest


def test_the_latest_round_is_the_latest_closed_one_of_this_project(ctx: Ctx) -> None:
    project = make_project(ctx)
    other = make_project(ctx, code="CRM")
    answers = {ANNA: {"rating": 4}}
    add_round(ctx, project, series="s1", number=1, opens=END - timedelta(days=40), answers=answers)
    add_round(ctx, project, series="s1", number=2, opens=END - timedelta(days=10), answers=answers)
    # Open rounds, even newer ones, wait while a round has closed: its figures are final.
    add_round(
        ctx,
        project,
        series="s1",
        number=3,
        opens=END - timedelta(days=2),
        answers={},
        status="open",
    )
    add_round(
        ctx,
        project,
        series="s2",
        number=1,
        opens=END - timedelta(days=1),
        answers={},
        status="open",
    )
    # Another project's round, and one that opened after the end of the period (a late digest).
    add_round(ctx, other, series="s3", number=1, opens=END - timedelta(days=5), answers=answers)
    add_round(ctx, project, series="s4", number=1, opens=END + timedelta(hours=1), answers=answers)
    summary = digest.latest_poll(ctx, project, PERIOD)
    assert summary is not None
    assert [(r.round_number, r.status) for r in summary.rounds] == [(1, "closed"), (2, "closed")]
    assert summary.latest.opens_at == END - timedelta(days=10)


def test_while_no_round_has_closed_the_latest_open_one_is_shown(ctx: Ctx) -> None:
    project = make_project(ctx)
    add_round(
        ctx,
        project,
        series="s1",
        number=1,
        opens=END - timedelta(days=5),
        answers={},
        status="open",
    )
    # Due to open before the end but not opened yet: no round to show.
    add_round(
        ctx,
        project,
        series="s2",
        number=1,
        opens=END - timedelta(days=1),
        answers={},
        status="scheduled",
    )
    summary = digest.latest_poll(ctx, project, PERIOD)
    assert summary is not None
    assert [(r.round_number, r.status) for r in summary.rounds] == [(1, "open")]
    assert summary.latest.opens_at == END - timedelta(days=5)


def test_a_round_opening_at_the_end_of_the_period_is_in_it(ctx: Ctx) -> None:
    project = make_project(ctx)
    add_round(ctx, project, series="s1", number=1, opens=END, answers={}, status="open")
    assert digest.latest_poll(ctx, project, PERIOD) is not None


def test_the_latest_round_is_the_one_that_opened_last_not_the_one_created_last(
    ctx: Ctx,
) -> None:
    project = make_project(ctx)
    add_round(ctx, project, series="s1", number=1, opens=END - timedelta(days=5), answers={})
    add_round(ctx, project, series="s2", number=1, opens=END - timedelta(days=20), answers={})
    summary = digest.latest_poll(ctx, project, PERIOD)
    assert summary is not None and summary.latest.opens_at == END - timedelta(days=5)
    # Two rounds opening at the same moment: the one created last.
    same = END - timedelta(days=2)
    add_round(ctx, project, series="s3", number=1, opens=same, answers={}, title="First")
    add_round(ctx, project, series="s4", number=1, opens=same, answers={}, title="Second")
    summary = digest.latest_poll(ctx, project, PERIOD)
    assert summary is not None and summary.title == "Second"


def test_the_trend_holds_eight_rounds_and_the_dashboard_one(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    for number in range(1, 10):
        add_round(
            ctx,
            project,
            series="s1",
            number=number,
            opens=END - timedelta(days=7 * (10 - number)),
            answers={ANNA: {"rating": 5}},
        )
    summary = digest.latest_poll(ctx, project, PERIOD)
    assert summary is not None
    assert [r.round_number for r in summary.rounds] == list(range(2, 10))
    clock.set(END)
    dashboard = digest.project_dashboard(ctx, project, at_risk_limit=5)
    assert dashboard.poll is not None
    assert [r.round_number for r in dashboard.poll.rounds] == [9]


# --------------------------------------------------------------------- falling satisfaction


def test_falling_satisfaction_reads_the_latest_named_round_of_this_project(ctx: Ctx) -> None:
    project = make_project(ctx)
    other = make_project(ctx, code="CRM")
    add_round(
        ctx,
        project,
        series="s1",
        number=1,
        opens=END - timedelta(days=40),
        answers={ANNA: {"rating": 5}},
    )
    add_round(
        ctx,
        project,
        series="s1",
        number=2,
        opens=END - timedelta(days=10),
        answers={ANNA: {"rating": 3}},
    )
    # None of these newer rounds is compared: an anonymous series, a series of one round, a
    # second round not opened yet, and another project's series.
    for number, rating in ((1, 5), (2, 1)):
        add_round(
            ctx,
            project,
            series="anonymous",
            number=number,
            opens=END - timedelta(days=9 - number),
            anonymous=True,
            answers={BEN: {"rating": rating}, CLARA: {"rating": rating}, DAN: {"rating": rating}},
        )
    add_round(
        ctx,
        project,
        series="once",
        number=1,
        opens=END - timedelta(days=4),
        answers={ANNA: {"rating": 5}},
    )
    add_round(
        ctx,
        project,
        series="next",
        number=1,
        opens=END - timedelta(days=30),
        answers={ANNA: {"rating": 5}},
    )
    add_round(
        ctx,
        project,
        series="next",
        number=2,
        opens=END - timedelta(days=3),
        answers={},
        status="scheduled",
    )
    add_round(
        ctx,
        project,
        series="late",
        number=1,
        opens=END - timedelta(days=20),
        answers={ANNA: {"rating": 1}},
    )
    add_round(
        ctx,
        project,
        series="late",
        number=2,
        opens=END + timedelta(hours=1),
        answers={ANNA: {"rating": 5}},
    )
    add_round(
        ctx,
        other,
        series="s9",
        number=1,
        opens=END - timedelta(days=20),
        answers={ANNA: {"rating": 1}},
    )
    add_round(
        ctx,
        other,
        series="s9",
        number=2,
        opens=END - timedelta(days=2),
        answers={ANNA: {"rating": 5}},
    )
    assert digest.falling_satisfaction(ctx, project, PERIOD) == {
        ANNA: ("satisfaction_falling", {"from": 5.0, "to": 3.0})
    }


def test_falling_satisfaction_compares_two_rounds_of_one_series(ctx: Ctx) -> None:
    project = make_project(ctx)
    # The latest series is created first; an older series, created after it, rose for Anna.
    add_round(
        ctx,
        project,
        series="new",
        number=1,
        opens=END - timedelta(days=12),
        answers={ANNA: {"rating": 5}},
    )
    add_round(
        ctx,
        project,
        series="new",
        number=2,
        opens=END - timedelta(days=5),
        answers={ANNA: {"rating": 3}},
    )
    add_round(
        ctx,
        project,
        series="old",
        number=1,
        opens=END - timedelta(days=60),
        answers={ANNA: {"rating": 1}},
    )
    add_round(
        ctx,
        project,
        series="old",
        number=2,
        opens=END - timedelta(days=30),
        answers={ANNA: {"rating": 5}},
    )
    assert digest.falling_satisfaction(ctx, project, PERIOD) == {
        ANNA: ("satisfaction_falling", {"from": 5.0, "to": 3.0})
    }
    # Two second rounds opening at the same moment: the one created last is compared.
    same = END - timedelta(days=1)
    add_round(
        ctx,
        project,
        series="a",
        number=1,
        opens=same - timedelta(days=7),
        answers={BEN: {"rating": 5}},
    )
    add_round(
        ctx,
        project,
        series="b",
        number=1,
        opens=same - timedelta(days=7),
        answers={CLARA: {"rating": 5}},
    )
    add_round(ctx, project, series="a", number=2, opens=same, answers={BEN: {"rating": 2}})
    add_round(ctx, project, series="b", number=2, opens=same, answers={CLARA: {"rating": 4}})
    assert set(digest.falling_satisfaction(ctx, project, PERIOD)) == {CLARA}


def test_falling_satisfaction_averages_each_persons_ratings_to_a_tenth(ctx: Ctx) -> None:
    # Three rating questions and an NPS question a round; the NPS answers are no rating. The
    # second round opens at the very end of the period.
    project = make_project(ctx)
    for number, opens, ratings, nps in (
        (1, END - timedelta(days=14), (5, 5, 4), 0),
        (2, END, (4, 4, 3), 10),
    ):
        poll = add_round(
            ctx,
            project,
            series="s1",
            number=number,
            opens=opens,
            answers={ANNA: {"rating": ratings[0], "nps": nps}},
            status="open" if number == 2 else "closed",
        )
        response = ctx.session.exec(
            ctx.select(PollResponse).where(PollResponse.poll_id == poll.id)
        ).one()
        answers = dict(response.answers)
        for position, rating in enumerate(ratings[1:], start=3):
            question = PollQuestion(
                team_id=ctx.team_id,
                poll_id=poll.id or 0,
                position=position,
                kind="rating",
                text=f"Rating {position}",
            )
            ctx.session.add(question)
            ctx.session.flush()
            answers[str(question.id)] = rating
        response.answers = answers
        ctx.session.flush()
    assert digest.falling_satisfaction(ctx, project, PERIOD) == {
        ANNA: ("satisfaction_falling", {"from": 4.7, "to": 3.7})
    }


# ------------------------------------------------------------------------- the coming week


def test_the_coming_week_starts_at_the_end_of_the_period_and_lasts_seven_days(ctx: Ctx) -> None:
    project = make_project(ctx)
    other = make_project(ctx, code="CRM")
    first = add_event(
        ctx,
        project,
        kind="meeting",
        title="At the end",
        starts=END,
        answers={
            ANNA: "waitlisted",
            BEN: "accepted",
            CLARA: "accepted",
            DAN: "maybe",
            KEY_USERS[4]: "pending",
        },
    )
    add_event(ctx, project, kind="meeting", title="A week later", starts=END + timedelta(days=7))
    add_event(ctx, other, kind="meeting", title="Other project", starts=END + timedelta(days=1))
    cancelled = add_event(
        ctx, project, kind="training", title="Cancelled", starts=END + timedelta(days=2)
    )
    cancelled.status = "cancelled"
    ctx.session.flush()
    week = digest.coming_week(ctx, project, PERIOD)
    assert week == digest.ComingWeek(
        events=[
            digest.ComingEvent(
                event_id=first.id or 0,
                kind="meeting",
                title="At the end",
                starts_at=END,
                accepted=2,
                maybe=1,
                declined=0,
                pending=1,
                waitlisted=1,
            )
        ],
        more=False,
    )


def test_the_coming_week_lists_ten_events_and_says_when_there_are_more(ctx: Ctx) -> None:
    project = make_project(ctx)
    for hour in range(10):
        add_event(
            ctx, project, kind="meeting", title=f"M{hour}", starts=END + timedelta(hours=hour + 1)
        )
    week = digest.coming_week(ctx, project, PERIOD)
    assert week is not None and len(week.events) == 10 and not week.more
    add_event(ctx, project, kind="meeting", title="Last", starts=END + timedelta(days=6))
    week = digest.coming_week(ctx, project, PERIOD)
    assert week is not None and week.more
    assert [e.title for e in week.events] == [f"M{hour}" for hour in range(10)]


# ------------------------------------------------------------------------------ the calendar


def test_the_due_time_of_a_week_on_another_day_and_minute(ctx: Ctx) -> None:
    project = make_project(ctx, weekday=3, at="16:30")  # Thursdays 16:30 Berlin
    due = datetime(2026, 12, 10, 15, 30, tzinfo=UTC)
    for moment in (
        datetime(2026, 12, 7, 0, 0, tzinfo=UTC),  # Monday
        datetime(2026, 12, 12, 18, 0, tzinfo=UTC),  # Saturday
        datetime(2026, 12, 13, 22, 59, tzinfo=UTC),  # Sunday 23:59 Berlin
    ):
        assert digest_schedule.due_in_week(project, moment) == due
    assert digest_schedule.due_in_week(
        project, datetime(2026, 12, 13, 23, 0, tzinfo=UTC)
    ) == due + timedelta(days=7)


# ------------------------------------------------------------------------------- settings


def test_a_project_without_stored_settings_sends_to_the_channel_and_the_pms(ctx: Ctx) -> None:
    project = make_project(ctx)
    row = digest_schedule.settings_of(ctx, project)
    assert (row.team_id, row.project_id, row.target, row.updated_at) == (
        TEAM,
        project.id,
        "both",
        ctx.now(),
    )


def test_recipients_of_each_target(ctx: Ctx) -> None:
    project = make_project(ctx)
    assert digest_schedule.recipients(ctx, project, "channel") == [PROJECT_CHANNEL]
    assert digest_schedule.recipients(ctx, project, "pms") == [PM]
    assert digest_schedule.recipients(ctx, project, "both") == [PROJECT_CHANNEL, PM]
    no_channel = make_project(ctx, code="CRM", channel=None)
    for target in ("channel", "pms", "both"):
        assert digest_schedule.recipients(ctx, no_channel, target) == [PM]


def test_every_weekday_from_monday_to_sunday_is_accepted(ctx: Ctx) -> None:
    project = make_project(ctx)
    for weekday in (6, 0, "3"):
        digest_schedule.update_settings(
            ctx=ctx,
            project=project,
            data=SettingsInput(weekday=weekday, time="07:00", target="both"),
        )
        assert project.digest_weekday == int(weekday)
    for weekday in (7, -1, "monday", None):
        with pytest.raises(ValidationError) as error:
            digest_schedule.update_settings(
                ctx=ctx,
                project=project,
                data=SettingsInput(weekday=weekday, time="07:00", target="both"),  # type: ignore[arg-type]
            )
        assert error.value.errors == {"digest_weekday": Msg("errors.weekday_unknown")}
    assert project.digest_weekday == 3


def test_each_bad_setting_has_its_own_message(ctx: Ctx) -> None:
    project = make_project(ctx)
    with pytest.raises(ValidationError) as error:
        digest_schedule.update_settings(
            ctx=ctx, project=project, data=SettingsInput(weekday=8, time="9:00", target="all")
        )
    assert error.value.errors == {
        "digest_weekday": Msg("errors.weekday_unknown"),
        "digest_time": Msg("errors.time_format"),
        "digest_target": Msg("digest.errors.target_unknown"),
    }


def test_only_a_project_with_a_channel_sends_its_digest_to_the_channel(ctx: Ctx) -> None:
    project = make_project(ctx, channel=None)
    with pytest.raises(ValidationError) as error:
        digest_schedule.update_settings(
            ctx=ctx, project=project, data=SettingsInput(weekday=1, time="09:00", target="channel")
        )
    assert error.value.errors == {"digest_target": Msg("digest.errors.no_channel", code="ERP")}
    for target in ("pms", "both"):
        row = digest_schedule.update_settings(
            ctx=ctx, project=project, data=SettingsInput(weekday=1, time="09:00", target=target)
        )
        assert row.target == target
    with_channel = make_project(ctx, code="CRM")
    row = digest_schedule.update_settings(
        ctx=ctx, project=with_channel, data=SettingsInput(weekday=1, time="09:00", target="channel")
    )
    assert row.target == "channel"


def test_a_settings_change_is_stored_and_logged_with_before_and_after(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    clock.advance(timedelta(hours=1))
    row = digest_schedule.update_settings(
        ctx=ctx, project=project, data=SettingsInput(weekday="4", time=" 16:30 ", target="pms")
    )
    assert (project.digest_weekday, project.digest_time, project.updated_at) == (
        4,
        "16:30",
        ctx.now(),
    )
    assert (row.target, row.updated_by, row.updated_at) == ("pms", PM, ctx.now())
    [entry] = ctx.session.exec(
        ctx.select(Interaction).where(Interaction.kind == "digest.settings_changed")
    ).all()
    assert (entry.project_id, entry.actor_id, entry.at) == (project.id, PM, ctx.now())
    assert entry.detail == {"before": [0, "09:00", "both"], "after": [4, "16:30", "pms"]}


# ------------------------------------------------------------------------------- the claim


def test_a_claim_holds_one_project_and_one_week(ctx: Ctx) -> None:
    project = make_project(ctx)
    other = make_project(ctx, code="CRM")

    def claim(which: Project, week: str) -> DigestRun | None:
        return digest_schedule.claim_week(
            ctx, which, week=week, due_at=END, late=False, trigger="schedule"
        )

    assert claim(project, "2026-W50") is not None
    assert claim(other, "2026-W50") is not None
    assert claim(project, "2026-W51") is not None
    assert claim(project, "2026-W50") is None
    assert claim(other, "2026-W51") is not None


def test_a_claim_records_the_week_its_due_time_and_who_asked(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    clock.set(END + timedelta(hours=2))
    run = digest_schedule.claim_week(
        ctx, project, week="2026-W50", due_at=END, late=True, trigger="command"
    )
    assert run is not None
    ctx.session.flush()
    ctx.session.expire_all()
    [stored] = ctx.session.exec(ctx.select(DigestRun)).all()
    assert (
        stored.team_id,
        stored.project_id,
        stored.week,
        stored.due_at,
        stored.claimed_at,
        stored.late,
        stored.trigger,
        stored.actor_id,
    ) == (TEAM, project.id, "2026-W50", END, END + timedelta(hours=2), True, "command", PM)


# ---------------------------------------------------------------------------- the sections


def test_a_digest_has_its_sections_in_order_and_says_whether_it_is_late(
    ctx: Ctx, clock: MovableClock
) -> None:
    clock.set(END - timedelta(days=60))
    project = make_project(ctx)
    clock.set(END)
    module = TrainingModule(
        team_id=ctx.team_id,
        project_id=project.id,
        name="Basics",
        planned_hours=8,
        created_at=END,
        updated_at=END,
    )
    ctx.session.add(module)
    ctx.session.flush()
    quiz = QuizRound(
        team_id=ctx.team_id,
        project_id=project.id,
        module_id=module.id,
        opens_at=END - timedelta(days=5),
        deadline=END - timedelta(days=3),
        created_by=PM,
        created_at=END - timedelta(days=5),
    )
    ctx.session.add(quiz)
    ctx.session.flush()
    ctx.session.add(
        QuizAttempt(
            team_id=ctx.team_id,
            round_id=quiz.id,
            module_id=module.id,
            user_id=ANNA,
            score=90,
            passed=True,
            submitted_at=END - timedelta(days=4),
        )
    )
    add_event(ctx, project, kind="meeting", title="Review", starts=END + timedelta(days=1))
    add_round(ctx, project, series="s1", number=1, opens=END - timedelta(days=3), answers={})
    built = digest.build_digest(ctx, project, now=END)
    assert list(built.sections) == [
        "phase",
        "issues",
        "coming_week",
        "readiness",
        "polls",
        "at_risk",
    ]
    assert built.sections["phase"] == {"phase": "preparation", "position": 1, "count": 5}
    assert built.late is False
    assert digest.build_digest(ctx, project, now=END, late=True).late is True


def test_a_quiet_week_has_the_phase_and_the_issues_only(ctx: Ctx) -> None:
    project = make_project(ctx)  # key users just registered: nobody is in engagement debt
    project.phase = "realization"
    built = digest.build_digest(ctx, project, now=ctx.now())
    assert list(built.sections) == ["phase", "issues"]
    assert built.sections["phase"] == {"phase": "realization", "position": 3, "count": 5}


def test_readiness_needs_a_module_with_trainees(ctx: Ctx) -> None:
    project = make_project(ctx, key_users=[])
    ctx.session.add(
        TrainingModule(
            team_id=ctx.team_id,
            project_id=project.id,
            name="Basics",
            planned_hours=8,
            created_at=END,
            updated_at=END,
        )
    )
    ctx.session.flush()
    assert digest.readiness(ctx, project) is None


def test_readiness_percent_is_over_every_pair_of_key_user_and_module() -> None:
    modules = [
        {"trainees": 3, "ready": 3},
        {"trainees": 1, "ready": 0},
        {"trainees": 0, "ready": 0},
    ]
    assert digest.readiness_percent(modules) == 75
    assert digest.readiness_percent([{"trainees": 3, "ready": 1}]) == 33
    assert digest.readiness_percent([{"trainees": 0, "ready": 0}]) is None
    assert digest.readiness_percent(None) is None


def test_engagement_debt_says_since_when_and_for_how_many_days(
    ctx: Ctx, clock: MovableClock
) -> None:
    registered = END - timedelta(days=40)
    clock.set(registered)
    project = make_project(ctx, key_users=[ANNA])
    found = digest.at_risk(ctx, project, PERIOD)
    assert [(p.user_id, p.reasons) for p in found.people] == [
        (ANNA, {"engagement_debt": {"since": registered, "days": 40}})
    ]


def test_the_median_is_of_the_durations_not_of_any_order_of_the_issues(ctx: Ctx) -> None:
    # Answered after 5 h, 1 h and 30 h: the median is 5 h, though the issue answered after 5 h
    # comes first whether the issues are taken by number, by creation or by answer.
    project = make_project(ctx)
    start = END - timedelta(days=5)
    for number, (created, hours) in enumerate(
        ((start, 5), (start + timedelta(hours=10), 1), (start + timedelta(hours=1), 30)), start=1
    ):
        add_issue(
            ctx,
            project,
            number,
            created=created,
            first_response=created + timedelta(hours=hours),
            status="acknowledged",
        )
    figures = digest.issue_figures(ctx, project, PERIOD, now=END)
    assert figures.first_response_hours.now == 5.0


# ---------------------------------------------------------------------------- the dashboard


def test_a_pms_dashboard_counts_quadrants_and_reads_the_week_up_to_now(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)  # four key users of medium influence and interest: monitor
    keyusers.add_key_user(
        ctx=ctx,
        project=project,
        data=KeyUserInput(user_id=KEY_USERS[4], influence="high", interest="high"),
    )
    clock.set(END)
    add_event(ctx, project, kind="meeting", title="Review", starts=END + timedelta(days=1))
    add_issue(
        ctx,
        project,
        1,
        created=END - timedelta(days=6),
        first_response=END - timedelta(days=5),
        due=END - timedelta(days=1),
    )
    dashboard = digest.project_dashboard(ctx, project, at_risk_limit=5)
    assert dashboard.quadrants == {
        Quadrant.MANAGE_CLOSELY: 1,
        Quadrant.KEEP_SATISFIED: 0,
        Quadrant.KEEP_INFORMED: 0,
        Quadrant.MONITOR: 4,
    }
    assert list(dashboard.extra) == ["coming_week"]
    assert [e.title for e in dashboard.extra["coming_week"].events] == ["Review"]
    # The counts only: no medians, no list of overdue items.
    assert (dashboard.issues.opened.now, dashboard.issues.overdue_now) == (1, 1)
    assert dashboard.issues.first_response_hours.now is None
    assert dashboard.issues.oldest_overdue == []


def test_a_dashboards_list_of_people_at_risk_starts_at_the_first(
    ctx: Ctx, clock: MovableClock
) -> None:
    clock.set(END - timedelta(days=60))
    project = make_project(ctx, key_users=[ANNA, BEN])
    clock.set(END)
    dashboard = digest.project_dashboard(ctx, project, at_risk_limit=1)
    assert [p.user_id for p in dashboard.at_risk.people] == [ANNA]
    assert (dashboard.at_risk.total, dashboard.debt) == (2, 2)


# ---------------------------------------------------------------------------- issue figures

START = END - timedelta(days=7)  # the period is [START, END); the week before [BEFORE, START)
BEFORE = END - timedelta(days=14)
FAR = END + timedelta(days=60)  # a deadline outside every window


def issue(ctx: Ctx, project: Project, number: int, **values: Any) -> Issue:
    """An issue whose deadlines fall in no window unless given."""
    values.setdefault("created", END - timedelta(days=40))
    values.setdefault("due", FAR)
    values.setdefault("first_response_due", FAR)
    return add_issue(ctx, project, number, **values)


def test_issues_opened_and_resolved_count_from_the_first_moment_of_a_week(ctx: Ctx) -> None:
    project = make_project(ctx)
    issue(ctx, project, 1, created=START)  # this week
    issue(ctx, project, 2, created=BEFORE)  # the week before
    issue(ctx, project, 8, created=START - timedelta(seconds=1))  # the week before
    issue(ctx, project, 3, created=END)  # the next week
    issue(ctx, project, 4, status="resolved", resolved=START)
    issue(ctx, project, 5, status="resolved", resolved=BEFORE)
    issue(ctx, project, 6, status="resolved", resolved=END)
    issue(ctx, project, 7, status="closed")  # closed without a resolution
    figures = digest.issue_figures(ctx, project, PERIOD, now=END)
    assert (figures.opened.now, figures.opened.before) == (1, 2)
    assert (figures.resolved.now, figures.resolved.before) == (1, 1)
    assert figures.opened.change == -1
    assert figures.open_now == 4


def test_overdue_now_counts_the_open_issues_past_their_due_time(ctx: Ctx) -> None:
    project = make_project(ctx)
    long_ago = START - timedelta(days=5)
    issue(ctx, project, 1, created=long_ago, due=END)  # due at the end: overdue now
    issue(ctx, project, 2, created=long_ago, due=END + timedelta(seconds=1))
    issue(ctx, project, 3, created=long_ago, due=START)  # overdue at both ends
    # Resolved at the very start of the week: no longer overdue then.
    issue(
        ctx,
        project,
        4,
        created=long_ago,
        due=START - timedelta(days=1),
        resolved=START,
        status="resolved",
    )
    # Resolved later: it was still overdue at the start.
    issue(
        ctx,
        project,
        5,
        created=long_ago,
        due=START - timedelta(days=1),
        resolved=START + timedelta(hours=1),
        status="resolved",
    )
    # Closed without a resolution: its time no longer runs.
    issue(ctx, project, 6, created=long_ago, due=START - timedelta(days=1), status="closed")
    # Logged at the very start of the week, due at once: not yet overdue then.
    issue(ctx, project, 7, created=START, due=START, first_response_due=FAR)
    issue(ctx, project, 8, created=long_ago, due=START - timedelta(days=2))  # at both ends
    figures = digest.issue_figures(ctx, project, PERIOD, now=END)
    assert figures.overdue_now == 4  # 1, 3, 7 and 8
    assert figures.breaches.now == 2  # 3 and 7 were due this week


def test_breaches_are_deadlines_of_the_week_missed(ctx: Ctx) -> None:
    project = make_project(ctx)
    day = START + timedelta(days=1)
    second = timedelta(seconds=1)
    # First responses due this week: missing, exactly on time, one second late, due at the end.
    issue(ctx, project, 1, first_response_due=START)
    issue(ctx, project, 2, first_response_due=day, first_response=day)
    issue(ctx, project, 3, first_response_due=day, first_response=day + second)
    issue(ctx, project, 4, first_response_due=END)
    # Resolutions due this week: exactly on time, one second late, not resolved.
    issue(ctx, project, 5, due=day, resolved=day, status="resolved")
    issue(ctx, project, 6, due=day, resolved=day + second, status="resolved")
    issue(ctx, project, 7, due=START)
    # The week before: one first response and one resolution missed.
    issue(ctx, project, 8, first_response_due=BEFORE, due=BEFORE)
    figures = digest.issue_figures(ctx, project, PERIOD, now=END)
    assert (figures.breaches.now, figures.breaches.before) == (4, 2)


def test_median_hours_of_both_weeks_to_a_tenth(ctx: Ctx) -> None:
    project = make_project(ctx)
    # Answered after 20 minutes this week; after 1000 hours the week before.
    issue(ctx, project, 1, created=START, first_response=START + timedelta(minutes=20))
    issue(
        ctx,
        project,
        2,
        created=BEFORE - timedelta(hours=1000),
        first_response=BEFORE,
    )
    # Resolved after 9000 hours this week (a second a day more would show), after 90 minutes
    # the week before.
    issue(
        ctx,
        project,
        3,
        created=END - timedelta(hours=9001),
        resolved=END - timedelta(hours=1),
        status="resolved",
    )
    issue(
        ctx,
        project,
        4,
        created=BEFORE,
        resolved=BEFORE + timedelta(minutes=90),
        status="resolved",
    )
    # Answered and resolved after six minutes, a month ago: in neither week.
    issue(
        ctx,
        project,
        5,
        created=END - timedelta(days=30),
        first_response=END - timedelta(days=30, minutes=-6),
        resolved=END - timedelta(days=30, minutes=-6),
        status="resolved",
    )
    figures = digest.issue_figures(ctx, project, PERIOD, now=END)
    assert (figures.first_response_hours.now, figures.first_response_hours.before) == (0.3, 1000.0)
    assert (figures.resolution_hours.now, figures.resolution_hours.before) == (9000.0, 1.5)
    assert figures.first_response_hours.change == pytest.approx(-999.7)


def test_an_overdue_item_has_its_link_its_owner_and_its_days_in_the_projects_zone(
    ctx: Ctx,
) -> None:
    project = make_project(ctx)
    end = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # already Monday 00:30 in Berlin
    first = issue(
        ctx,
        project,
        7,
        created=end - timedelta(days=9),
        due=end - timedelta(days=3),
        title="Payment run stops",
        priority="P1",
        owner=BEN,
    )
    first.channel_id, first.message_ts = PROJECT_CHANNEL, "1700000000.000100"
    # Due on the same moment, logged after it: listed after it.
    issue(ctx, project, 2, created=end - timedelta(days=8), due=end - timedelta(days=3))
    issue(ctx, project, 3, created=end - timedelta(days=8), due=end)  # due today: 0 days
    ctx.session.flush()
    figures = digest.issue_figures(ctx, project, digest_schedule.period_ending(end), now=end)
    assert figures.oldest_overdue[0] == digest.OverdueItem(
        issue_id=first.id or 0,
        key="ERP-7",
        title="Payment run stops",
        priority="P1",
        owner_id=BEN,
        due_date=(end - timedelta(days=3)).date(),
        days_overdue=4,  # due Thursday (UTC), and it is Monday in Berlin
        channel_id=PROJECT_CHANNEL,
        message_ts="1700000000.000100",
    )
    assert [(i.key, i.days_overdue) for i in figures.oldest_overdue] == [
        ("ERP-7", 4),
        ("ERP-2", 4),
        ("ERP-3", 1),
    ]
    item = figures.oldest_overdue[2]
    assert item.due_date == end.date()
    # due_date is the UTC date here, one day before Berlin's: a due date of today is 0 days.
    third = ctx.session.get(Issue, item.issue_id)
    assert third is not None
    third.due_date = date(2026, 12, 7)
    ctx.session.flush()
    figures = digest.issue_figures(ctx, project, digest_schedule.period_ending(end), now=end)
    assert figures.oldest_overdue[2].days_overdue == 0


def test_issue_figures_are_of_this_projects_issues_still_logged(ctx: Ctx) -> None:
    project = make_project(ctx)
    other = make_project(ctx, code="CRM")
    # Answered after 2 hours (10 in the other project, 30 for the deleted one) in both weeks;
    # resolved after 4 hours (20, 60) in both weeks, and still overdue.
    for target, number, hours in ((project, 1, 2), (other, 1, 10), (project, 2, 30)):
        for week_start, offset in ((START, 0), (BEFORE, 10)):
            created = week_start + timedelta(hours=1)
            issue(
                ctx,
                target,
                number + offset,
                created=created,
                due=START + timedelta(days=1),
                first_response=created + timedelta(hours=hours),
                resolved=created + timedelta(hours=2 * hours),
                status="resolved",
            )
    for target in (project, other):
        issue(ctx, target, 3, created=START + timedelta(hours=1), due=START + timedelta(days=1))
    gone = issue(ctx, project, 4, created=START + timedelta(hours=1), due=START)
    for deleted in (
        gone,
        *ctx.session.exec(ctx.select(Issue).where(col(Issue.number).in_([2, 12]))).all(),
    ):
        deleted.deleted_at = START + timedelta(hours=2)
    ctx.session.flush()
    figures = digest.issue_figures(ctx, project, PERIOD, now=END)
    assert (figures.opened.now, figures.overdue_now, figures.open_now) == (2, 1, 1)
    assert (figures.first_response_hours.now, figures.first_response_hours.before) == (2.0, 2.0)
    assert (figures.resolution_hours.now, figures.resolution_hours.before) == (4.0, 4.0)
    assert [item.key for item in figures.oldest_overdue] == ["ERP-3"]  # not the resolved ones


def test_a_closed_issue_counts_by_whichever_of_its_moments_falls_in_the_weeks(ctx: Ctx) -> None:
    project = make_project(ctx)
    # Logged, due and answered long ago; resolved at the very start of the week before.
    issue(
        ctx,
        project,
        1,
        created=END - timedelta(days=40),
        first_response_due=END - timedelta(days=39),
        due=END - timedelta(days=30),
        resolved=BEFORE,
        status="resolved",
    )
    # Closed without a resolution, due at the very start of the week before.
    issue(
        ctx,
        project,
        2,
        created=BEFORE - timedelta(days=3),
        first_response_due=BEFORE - timedelta(days=2),
        due=BEFORE,
        status="closed",
    )
    # Closed without an answer, which was due at the very start of the week before (its due
    # date was moved before that).
    issue(
        ctx,
        project,
        3,
        created=BEFORE - timedelta(days=5),
        first_response_due=BEFORE,
        due=BEFORE - timedelta(days=1),
        status="closed",
    )
    figures = digest.issue_figures(ctx, project, PERIOD, now=END)
    assert (figures.resolved.now, figures.resolved.before) == (0, 1)
    assert figures.resolution_hours.before == 26 * 24.0
    assert (figures.breaches.now, figures.breaches.before) == (0, 2)


# ------------------------------------------------------------------------- people at risk

WINDOW_START = END - timedelta(days=28)  # absences and failed quizzes after it count


def quizzes(ctx: Ctx, project: Project, attempts: list[tuple[str, bool, datetime]]) -> None:
    """One quiz round per attempt (a person has one attempt a round)."""
    module = TrainingModule(
        team_id=ctx.team_id,
        project_id=project.id,
        name="Basics",
        planned_hours=8,
        created_at=END - timedelta(days=60),
        updated_at=END - timedelta(days=60),
    )
    ctx.session.add(module)
    ctx.session.flush()
    for user, passed, submitted in attempts:
        round_ = QuizRound(
            team_id=ctx.team_id,
            project_id=project.id,
            module_id=module.id,
            opens_at=submitted - timedelta(days=1),
            deadline=submitted + timedelta(days=1),
            created_by=PM,
            created_at=submitted - timedelta(days=1),
        )
        ctx.session.add(round_)
        ctx.session.flush()
        ctx.session.add(
            QuizAttempt(
                team_id=ctx.team_id,
                round_id=round_.id,
                module_id=module.id,
                user_id=user,
                score=90 if passed else 20,
                passed=passed,
                submitted_at=submitted,
            )
        )
    ctx.session.flush()


def test_reasons_counted_for_each_person_within_their_windows(ctx: Ctx) -> None:
    project = make_project(ctx)
    other = make_project(ctx, code="CRM")
    # Issues past their resolution time, by reporter; the earliest due date is named.
    issue(ctx, project, 1, reporter=ANNA, due=END - timedelta(days=5))
    issue(ctx, project, 2, reporter=ANNA, due=END)
    issue(ctx, project, 3, reporter=ANNA, due=END - timedelta(days=9), status="resolved")
    issue(ctx, project, 4, reporter=ANNA, due=END + timedelta(seconds=1))
    issue(ctx, other, 1, reporter=ANNA, due=END - timedelta(days=20))
    gone = issue(ctx, project, 5, reporter=ANNA, due=END - timedelta(days=20))
    gone.deleted_at = END - timedelta(days=1)
    issue(ctx, project, 6, reporter=BEN, due=END - timedelta(days=1), status="acknowledged")

    # Absences: from sessions and from meetings, counted apart; only "absent" counts, from
    # scheduled events of this project that ended within the four weeks up to the end.
    def absent(target: Project, kind: str, ends: datetime, mark: str = "absent") -> None:
        add_event(
            ctx,
            target,
            kind=kind,
            title=kind,
            starts=ends - timedelta(hours=2),
            attendance={CLARA: mark},
        )

    absent(project, "training", END)
    absent(project, "training", WINDOW_START + timedelta(seconds=1))
    absent(project, "training", WINDOW_START)
    absent(project, "training", END + timedelta(hours=1))
    absent(project, "training", END - timedelta(days=1), mark="excused")
    absent(project, "meeting", END - timedelta(days=3))
    add_event(
        ctx,
        project,
        kind="meeting",
        title="meeting",
        starts=END - timedelta(days=4),
        attendance={ANNA: "absent"},
    )
    absent(other, "meeting", END - timedelta(days=3))
    absent(project, "meeting", END - timedelta(days=2))
    cancelled = ctx.session.exec(
        ctx.select(CalendarEvent).where(CalendarEvent.ends_at == END - timedelta(days=2))
    ).one()
    cancelled.status = "cancelled"
    # Failed quizzes in the same window.
    quizzes(
        ctx,
        project,
        [
            (DAN, False, END),
            (DAN, False, WINDOW_START + timedelta(seconds=1)),
            (DAN, False, WINDOW_START),
            (DAN, False, END + timedelta(hours=1)),
            (DAN, True, END - timedelta(days=1)),
            (BEN, False, END - timedelta(days=2)),
        ],
    )
    quizzes(ctx, other, [(DAN, False, END - timedelta(days=1))])
    found = digest.counted_reasons(ctx, project, PERIOD)
    assert {user: dict(reasons) for user, reasons in found.items()} == {
        ANNA: {
            "issue_past_service_level": {"count": 2, "since": (END - timedelta(days=5)).date()},
            "missed_meetings": {"count": 1},
        },
        BEN: {
            "issue_past_service_level": {"count": 1, "since": (END - timedelta(days=1)).date()},
            "failed_quizzes": {"count": 1},
        },
        CLARA: {"missed_sessions": {"count": 2}, "missed_meetings": {"count": 1}},
        DAN: {"failed_quizzes": {"count": 2}},
    }


def test_people_at_risk_are_ranked_by_their_number_of_reasons_then_by_user(
    ctx: Ctx, clock: MovableClock
) -> None:
    clock.set(END - timedelta(days=60))
    project = make_project(ctx, key_users=[ANNA, BEN, CLARA, DAN, KEY_USERS[4]])
    clock.set(END)
    key_users = {k.user_id: k for k in ctx.session.exec(ctx.select(KeyUser)).all()}
    for user in (BEN, DAN):  # contacted: no engagement debt
        ctx.log(
            "contact.call", project_id=project.id, key_user_id=key_users[user].id, touchpoint=True
        )
    issue(ctx, project, 1, reporter=DAN, due=END - timedelta(days=1))
    issue(ctx, project, 2, reporter=CLARA, due=END - timedelta(days=1))
    # No key user: a PM, and a workspace admin whose user id sorts before everyone's.
    issue(ctx, project, 3, reporter=PM, due=END - timedelta(days=1))
    issue(ctx, project, 4, reporter=ADMIN, due=END - timedelta(days=1))
    quizzes(ctx, project, [(CLARA, False, END - timedelta(days=2))])
    ctx.session.flush()
    found = digest.at_risk(ctx, project, PERIOD)
    # Clara: debt, issue, quiz; Anna and the fifth: debt; Dan: issue; Ben: nothing.
    assert [(p.user_id, len(p.reasons)) for p in found.people] == [
        (CLARA, 3),
        (ANNA, 1),
        (DAN, 1),
        (KEY_USERS[4], 1),
    ]
    assert (found.total, found.offset) == (4, 0)
    assert found.per_reason == {
        "engagement_debt": 3,
        "issue_past_service_level": 2,
        "failed_quizzes": 1,
    }
    page = digest.at_risk(ctx, project, PERIOD, limit=2, offset=1)
    assert [p.user_id for p in page.people] == [ANNA, DAN]
    assert (page.total, page.offset, page.per_reason) == (4, 1, found.per_reason)
    assert [p.user_id for p in digest.at_risk(ctx, project, PERIOD, limit=2).people] == [
        CLARA,
        ANNA,
    ]


def test_at_most_fifteen_people_at_risk_are_named(ctx: Ctx, clock: MovableClock) -> None:
    clock.set(END - timedelta(days=60))
    people = [f"UKEY1{n:04d}" for n in range(16)]
    project = make_project(ctx, key_users=people)
    clock.set(END)
    found = digest.at_risk(ctx, project, PERIOD)
    assert [p.user_id for p in found.people] == people[:15]
    assert found.total == 16


# ------------------------------------------------------------------------ due and overdue


def test_a_digest_is_due_from_its_time_once_per_week_and_late_after_half_an_hour(
    ctx: Ctx, clock: MovableClock
) -> None:
    due = END  # Monday 09:00 Berlin: the digests of week 49 (Mon 30 Nov – Sun 6 Dec) are due
    clock.set(due - timedelta(days=3))
    project = make_project(ctx)
    clock.set(due - timedelta(hours=10))  # Sunday 23:00 Berlin, the last hour of week 49
    young = make_project(ctx, code="SUN")
    clock.set(due - timedelta(hours=8, minutes=59))  # Monday 00:01: week 49 had ended
    make_project(ctx, code="MON")  # its first digest covers week 50, next Monday
    clock.set(due + timedelta(seconds=1))
    make_project(ctx, code="NEWER")
    tuesday = make_project(ctx, code="TUE", weekday=1)
    make_project(ctx, code="WED", weekday=2)  # week 49 was before it: first digest in week 51

    def due_now(now: datetime) -> list[tuple[str, str, datetime, bool]]:
        return [
            (d.project.code, d.week, d.due_at, d.late)
            for d in digest_schedule.due_digests(ctx.session, now)
        ]

    assert due_now(due - timedelta(seconds=1)) == []
    assert due_now(due) == [("ERP", "2026-W49", due, False), ("SUN", "2026-W49", due, False)]
    half_hour = due + timedelta(minutes=30)
    assert [late for *_, late in due_now(half_hour)] == [False, False]
    assert [late for *_, late in due_now(half_hour + timedelta(seconds=1))] == [True, True]
    # The digest of week 49 claimed: not due again; a claim of another week or project changes
    # nothing.
    digest_schedule.claim_week(
        ctx, project, week="2026-W48", due_at=due, late=False, trigger="schedule"
    )
    digest_schedule.claim_week(
        ctx, tuesday, week="2026-W49", due_at=due, late=False, trigger="schedule"
    )
    assert [code for code, *_ in due_now(due)] == ["ERP", "SUN"]
    digest_schedule.claim_week(
        ctx, project, week="2026-W49", due_at=due, late=False, trigger="schedule"
    )
    assert due_now(due) == [("SUN", "2026-W49", due, False)]
    # Sunday evening: still the same week, now late.
    sunday = due + timedelta(days=6, hours=14)
    assert due_now(sunday) == [("SUN", "2026-W49", due, True)]
    # A week on, every project has a week it existed in.
    next_monday = due + timedelta(days=7)
    assert [code for code, week, *_ in due_now(next_monday) if week == "2026-W50"] == [
        "ERP",
        "SUN",
        "MON",
        "NEWER",
    ]
    assert young.id is not None


def test_overdue_issues_are_grouped_by_owner_most_overdue_first(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    other = make_project(ctx, code="CRM")
    clock.set(END)
    later = issue(ctx, project, 1, owner=ANNA, due=END - timedelta(days=1))
    first = issue(ctx, project, 2, owner=ANNA, due=END - timedelta(days=3))
    tied = issue(ctx, project, 3, owner=ANNA, due=END - timedelta(days=1))
    now = issue(ctx, project, 4, owner=BEN, due=END)
    issue(ctx, project, 5, owner=BEN, due=END + timedelta(seconds=1))
    issue(ctx, project, 6, owner=BEN, due=END - timedelta(days=1), status="resolved")
    issue(ctx, project, 7, due=END - timedelta(days=1))  # nobody's
    issue(ctx, other, 1, owner=CLARA, due=END - timedelta(days=1))
    gone = issue(ctx, project, 8, owner=CLARA, due=END - timedelta(days=1))
    gone.deleted_at = END
    ctx.session.flush()
    grouped = digest.overdue_by_owner(ctx, project)
    assert {owner: [i.number for i in items] for owner, items in grouped.items()} == {
        ANNA: [first.number, later.number, tied.number],
        BEN: [now.number],
    }


def test_a_project_without_issues_has_figures_of_zero(ctx: Ctx) -> None:
    project = make_project(ctx)
    for figures in (
        digest.issue_figures(ctx, project, PERIOD, now=END),
        digest.issue_figures(ctx, project, PERIOD, now=END, in_detail=False),
    ):
        counts = (figures.opened, figures.resolved, figures.breaches)
        assert [(c.now, c.before) for c in counts] == [(0, 0)] * 3
        assert (figures.open_now, figures.overdue_now, figures.past_service_level_now) == (0, 0, 0)
        assert (figures.first_response_hours.now, figures.resolution_hours.before) == (None, None)
        assert figures.oldest_overdue == []
