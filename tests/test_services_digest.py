"""The digest's sections from known data: issue figures against the week before, medians, the
oldest overdue items, the latest poll with its trend, and who is at risk for which reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import MovableClock
from bot.errors import PermissionDenied, ValidationError
from bot.services import digest, digest_schedule
from bot.services.context import Ctx
from bot.services.digest_schedule import SettingsInput
from storage.models import Interaction, KeyUser
from tests.conftest import KEY_USERS, OUTSIDER, PM
from tests.digest_helpers import add_event, add_issue, add_round, make_project

END = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday 09:00 Berlin
THIS_WEEK = END - timedelta(days=2)
LAST_WEEK = END - timedelta(days=10)
ANNA, BEN, CLARA, DAN = KEY_USERS[:4]


def test_issue_figures_compare_the_week_with_the_one_before(ctx: Ctx) -> None:
    project = make_project(ctx)
    # This week: three opened; one answered after 2 h, one after 6 h; one resolved after 10 h.
    add_issue(
        ctx,
        project,
        1,
        created=THIS_WEEK,
        first_response=THIS_WEEK + timedelta(hours=2),
        status="acknowledged",
    )
    add_issue(
        ctx,
        project,
        2,
        created=THIS_WEEK,
        first_response=THIS_WEEK + timedelta(hours=6),
        resolved=THIS_WEEK + timedelta(hours=10),
        status="resolved",
    )
    add_issue(
        ctx,
        project,
        3,
        created=THIS_WEEK,
        first_response=THIS_WEEK + timedelta(hours=4),
        status="in_progress",
    )
    # Last week: one opened, answered after 30 h (a first-response breach), overdue this week.
    add_issue(
        ctx,
        project,
        4,
        created=LAST_WEEK,
        first_response=LAST_WEEK + timedelta(hours=30),
        due=END - timedelta(days=5),
        status="in_progress",
        title="Payment run <stops>",
    )
    # Two weeks ago, overdue since then and still open: overdue at both ends.
    add_issue(
        ctx,
        project,
        5,
        created=END - timedelta(days=20),
        due=END - timedelta(days=15),
        status="new",
    )
    # Deleted issues never count.
    gone = add_issue(ctx, project, 6, created=THIS_WEEK, status="new")
    gone.deleted_at = THIS_WEEK
    ctx.session.flush()

    figures = digest.issue_figures(ctx, project, digest_schedule.period_ending(END), now=END)

    assert (figures.opened.now, figures.opened.before) == (3, 1)
    assert (figures.resolved.now, figures.resolved.before) == (1, 0)
    assert figures.overdue_now == 2
    assert figures.breaches.before >= 1
    assert figures.first_response_hours.now == 4.0  # median of 2, 4, 6 hours
    assert figures.first_response_hours.before == 30.0
    assert figures.resolution_hours.now == 10.0
    assert figures.open_now == 4
    assert [item.key for item in figures.oldest_overdue] == ["ERP-5", "ERP-4"]
    assert figures.oldest_overdue[0].days_overdue == 15


def test_median_of_an_even_count_is_the_mean_of_the_middle_two(ctx: Ctx) -> None:
    project = make_project(ctx)
    for number, hours in enumerate((1, 3, 5, 30), start=1):
        add_issue(
            ctx,
            project,
            number,
            created=THIS_WEEK,
            first_response=THIS_WEEK + timedelta(hours=hours),
            status="acknowledged",
        )
    figures = digest.issue_figures(ctx, project, digest_schedule.period_ending(END), now=END)
    assert figures.first_response_hours.now == 4.0


def test_at_most_five_oldest_overdue_items(ctx: Ctx) -> None:
    project = make_project(ctx)
    for number in range(1, 9):
        add_issue(
            ctx,
            project,
            number,
            created=END - timedelta(days=30 - number),
            due=END - timedelta(days=20 - number),
        )
    figures = digest.issue_figures(ctx, project, digest_schedule.period_ending(END), now=END)
    assert [item.key for item in figures.oldest_overdue] == [f"ERP-{n}" for n in range(1, 6)]
    assert figures.overdue_now == 8


def test_latest_poll_with_response_rate_csat_nps_and_trend(ctx: Ctx) -> None:
    project = make_project(ctx)
    everyone = [ANNA, BEN, CLARA, DAN]
    add_round(
        ctx,
        project,
        series="s1",
        number=1,
        opens=END - timedelta(days=40),
        invited=everyone,
        answers={ANNA: {"rating": 5, "nps": 10}, BEN: {"rating": 2, "nps": 3}},
    )
    add_round(
        ctx,
        project,
        series="s1",
        number=2,
        opens=END - timedelta(days=10),
        invited=everyone,
        answers={
            ANNA: {"rating": 4, "nps": 9},
            BEN: {"rating": 5, "nps": 9},
            CLARA: {"rating": 1, "nps": 0},
        },
    )
    summary = digest.latest_poll(ctx, project, digest_schedule.period_ending(END))
    assert summary is not None
    assert [r.round_number for r in summary.rounds] == [1, 2]
    assert summary.latest.response_rate == 75.0
    assert summary.latest.csat == pytest.approx(200 / 3)
    assert summary.latest.nps == pytest.approx(100 / 3)  # 2 promoters, 1 detractor of 3
    assert summary.previous is not None and summary.previous.csat == 50.0
    assert summary.previous.nps == 0.0


def test_anonymous_rounds_are_counted_but_never_name_anyone(ctx: Ctx) -> None:
    project = make_project(ctx)
    add_round(
        ctx,
        project,
        series="anon",
        number=1,
        opens=END - timedelta(days=40),
        anonymous=True,
        answers={ANNA: {"rating": 5}, BEN: {"rating": 5}},  # two answers: too few to show
    )
    add_round(
        ctx,
        project,
        series="anon",
        number=2,
        opens=END - timedelta(days=10),
        anonymous=True,
        answers={ANNA: {"rating": 1, "nps": 10}, BEN: {"rating": 1}, CLARA: {"rating": 4}},
    )
    summary = digest.latest_poll(ctx, project, digest_schedule.period_ending(END))
    assert summary is not None
    assert summary.latest.csat == pytest.approx(100 / 3) and summary.latest.nps == 100.0
    assert summary.previous is not None and summary.previous.answered == 2
    assert (summary.previous.csat, summary.previous.nps) == (None, None)  # held back
    found = digest.at_risk(ctx, project, digest_schedule.period_ending(END))
    assert all("satisfaction_falling" not in person.reasons for person in found.people)


def test_people_at_risk_with_their_reasons(ctx: Ctx, clock: MovableClock) -> None:
    clock.set(END - timedelta(days=60))
    project = make_project(ctx)
    clock.set(END)
    add_round(
        ctx,
        project,
        series="named",
        number=1,
        opens=END - timedelta(days=40),
        answers={ANNA: {"rating": 5}, BEN: {"rating": 3}, CLARA: {"rating": 4}},
    )
    add_round(
        ctx,
        project,
        series="named",
        number=2,
        opens=END - timedelta(days=10),
        answers={ANNA: {"rating": 3}, BEN: {"rating": 4}, CLARA: {"rating": 4}},
    )
    add_issue(
        ctx, project, 1, created=END - timedelta(days=9), due=END - timedelta(days=5), reporter=BEN
    )
    add_issue(
        ctx, project, 2, created=END - timedelta(days=9), due=END - timedelta(days=5), reporter=PM
    )  # a PM's own issue makes no key user at risk
    key_users = {k.user_id: k for k in ctx.session.exec(ctx.select(KeyUser)).all()}
    for user in (ANNA, BEN, CLARA):  # recent contacts: only DAN is in engagement debt
        ctx.session.add(
            Interaction(
                team_id=ctx.team_id,
                project_id=project.id,
                key_user_id=key_users[user].id,
                kind="contact.call",
                touchpoint=True,
                at=END - timedelta(days=2),
            )
        )
    ctx.session.flush()

    found = digest.at_risk(ctx, project, digest_schedule.period_ending(END))

    reasons = {person.user_id: set(person.reasons) for person in found.people}
    assert reasons == {
        ANNA: {"satisfaction_falling"},
        BEN: {"issue_past_service_level"},
        DAN: {"engagement_debt"},
    }
    anna = next(p for p in found.people if p.user_id == ANNA)
    assert anna.reasons["satisfaction_falling"] == {"from": 5.0, "to": 3.0}
    assert found.total == 3


def test_digest_weeks_follow_the_project_timezone() -> None:
    from storage.models import Project

    project = Project(
        name="x",
        code="X",
        phase="p",
        phases=["p"],
        timezone="Pacific/Auckland",
        locale="en",
        digest_weekday=0,
        digest_time="08:00",
        team_id="T",
        created_by=PM,
        created_at=END,
        updated_at=END,
    )
    # Sunday 20:00 UTC is already Monday 09:00 in Auckland (UTC+13 in December).
    sunday_evening = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    assert digest_schedule.iso_week(project, sunday_evening) == "2026-W50"
    assert digest_schedule.due_in_week(project, sunday_evening) == datetime(
        2026, 12, 6, 19, 0, tzinfo=UTC
    )


def test_settings_change_day_time_and_target(ctx: Ctx) -> None:
    project = make_project(ctx)
    digest_schedule.update_settings(
        ctx=ctx, project=project, data=SettingsInput(weekday=4, time="16:30", target="pms")
    )
    assert (project.digest_weekday, project.digest_time) == (4, "16:30")
    assert digest_schedule.settings_of(ctx, project).target == "pms"
    assert digest_schedule.recipients(ctx, project, "pms") == [PM]
    with pytest.raises(ValidationError) as error:
        digest_schedule.update_settings(
            ctx=ctx, project=project, data=SettingsInput(weekday=9, time="25:00", target="nowhere")
        )
    assert set(error.value.errors) == {"digest_weekday", "digest_time", "digest_target"}
    assert project.digest_time == "16:30"


def test_only_a_pm_changes_the_digest_settings(ctx: Ctx) -> None:
    project = make_project(ctx)
    outsider = Ctx(session=ctx.session, team_id=ctx.team_id, actor_id=OUTSIDER, clock=ctx.clock)
    with pytest.raises(PermissionDenied):
        digest_schedule.update_settings(
            ctx=outsider,
            project=project,
            data=SettingsInput(weekday=1, time="09:00", target="both"),
        )


def test_a_week_is_claimed_once(ctx: Ctx) -> None:
    project = make_project(ctx)
    first = digest_schedule.claim_week(
        ctx, project, week="2026-W50", due_at=END, late=False, trigger="schedule"
    )
    again = digest_schedule.claim_week(
        ctx, project, week="2026-W50", due_at=END, late=False, trigger="schedule"
    )
    assert first is not None and again is None


def test_coming_week_lists_trainings_and_meetings_with_their_answers(ctx: Ctx) -> None:
    project = make_project(ctx)
    add_event(
        ctx,
        project,
        kind="training",
        title="FI basics",
        starts=END + timedelta(days=2),
        answers={ANNA: "accepted", BEN: "declined", CLARA: "pending"},
    )
    add_event(
        ctx, project, kind="meeting", title="Blueprint review", starts=END + timedelta(days=1)
    )
    add_event(ctx, project, kind="meeting", title="Too late", starts=END + timedelta(days=8))
    add_event(ctx, project, kind="training", title="Past", starts=END - timedelta(days=1))
    week = digest.coming_week(ctx, project, digest_schedule.period_ending(END))
    assert week is not None
    assert [(e.kind, e.title) for e in week.events] == [
        ("meeting", "Blueprint review"),
        ("training", "FI basics"),
    ]
    training = week.events[1]
    assert (training.accepted, training.declined, training.pending) == (1, 1, 1)


def test_missed_sessions_and_meetings_make_a_key_user_at_risk(ctx: Ctx) -> None:
    project = make_project(ctx)
    for days in (3, 10):
        add_event(
            ctx,
            project,
            kind="training",
            title="MM",
            starts=END - timedelta(days=days),
            attendance={CLARA: "absent", ANNA: "present", PM: "absent"},
        )
    add_event(
        ctx,
        project,
        kind="meeting",
        title="Weekly",
        starts=END - timedelta(days=2),
        attendance={CLARA: "absent"},
    )
    add_event(
        ctx,
        project,
        kind="training",
        title="Long ago",
        starts=END - timedelta(days=60),
        attendance={BEN: "absent"},
    )
    found = digest.at_risk(ctx, project, digest_schedule.period_ending(END))
    reasons = {p.user_id: p.reasons for p in found.people}
    assert reasons[CLARA]["missed_sessions"] == {"count": 2}
    assert reasons[CLARA]["missed_meetings"] == {"count": 1}
    assert "missed_sessions" not in reasons.get(BEN, {})
    assert PM not in reasons  # a PM is never a key user at risk


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("en", ["The coming week", "Training *FI &lt;basics&gt;*", "missed 1 meeting"]),
        ("zh-CN", ["下周安排", "培训 *FI &lt;basics&gt;*", "缺席 1 次会议", "每周摘要"]),
    ],
)
def test_the_digest_message_renders_every_section_in_the_project_language(
    ctx: Ctx, locale: str, words: list[str]
) -> None:
    from bot.views import digest as views
    from tests.flows import texts

    project = make_project(ctx, locale=locale)
    add_event(
        ctx,
        project,
        kind="training",
        title="FI <basics>",
        starts=END + timedelta(days=2),
        answers={ANNA: "accepted"},
    )
    add_event(
        ctx,
        project,
        kind="meeting",
        title="Weekly",
        starts=END - timedelta(days=2),
        attendance={BEN: "absent"},
    )
    add_issue(ctx, project, 1, created=END - timedelta(days=9), due=END - timedelta(days=2))
    message = views.digest_message(digest.build_digest(ctx, project, now=END))
    text = texts([message])
    for word in words:
        assert word in text
    assert len(message["blocks"]) <= 50


def _module_with_quiz(ctx: Ctx, project, results: dict[str, bool]):  # type: ignore[no-untyped-def]
    from storage.models import QuizAttempt, QuizRound, TrainingModule

    module = TrainingModule(
        team_id=ctx.team_id,
        project_id=project.id,
        name="Basic operation",
        planned_hours=16,
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
    for user, passed in results.items():
        ctx.session.add(
            QuizAttempt(
                team_id=ctx.team_id,
                round_id=quiz.id,
                module_id=module.id,
                user_id=user,
                score=90 if passed else 20,
                passed=passed,
                submitted_at=END - timedelta(days=4),
            )
        )
    ctx.session.flush()
    return module


def test_failed_quizzes_make_a_key_user_at_risk(ctx: Ctx) -> None:
    project = make_project(ctx)
    _module_with_quiz(ctx, project, {ANNA: True, BEN: False})
    found = digest.at_risk(ctx, project, digest_schedule.period_ending(END))
    reasons = {p.user_id: p.reasons for p in found.people}
    assert reasons[BEN]["failed_quizzes"] == {"count": 1}
    assert "failed_quizzes" not in reasons.get(ANNA, {})


def test_readiness_per_module_in_the_digest_and_the_dashboard(
    ctx: Ctx, clock: MovableClock
) -> None:
    from bot.views import home as home_views
    from tests.flows import texts

    project = make_project(ctx)
    _module_with_quiz(ctx, project, {ANNA: True})
    modules = digest.readiness(ctx, project)
    assert modules is not None and modules[0]["module"] == "Basic operation"
    assert modules[0]["trainees"] == 4 and modules[0]["ready"] == 0  # no hours attended yet
    assert digest.readiness_percent(modules) == 0
    clock.set(END)
    dashboard = digest.project_dashboard(ctx, project, at_risk_limit=8)
    text = texts([{"blocks": [b.to_dict() for b in home_views.project_dashboard("en", dashboard)]}])
    assert "*Readiness* 0%" in text and "Basic operation: *0%* ready (0 of 4)" in text


@pytest.mark.parametrize(
    ("locale", "said", "not_said"),
    [("en", "invitations not sent yet", "0 invited"), ("zh-CN", "尚未发出邀请", "邀请 0 人")],
)
def test_an_event_whose_invitations_are_not_out_yet_says_so_not_0_invited(
    ctx: Ctx, locale: str, said: str, not_said: str
) -> None:
    """A series' next meeting is invited some days ahead: until then it has nobody invited, and
    the coming week says the invitations are not out rather than "0 invited: 0 accepted…"."""
    from bot.i18n import render

    project = make_project(ctx)
    add_event(ctx, project, kind="meeting", title="Weekly", starts=END + timedelta(days=3))
    add_event(
        ctx, project, kind="training", title="FI basics", starts=END + timedelta(days=2),
        answers={ANNA: "accepted"},
    )  # fmt: skip
    week = digest.coming_week(ctx, project, digest_schedule.period_ending(END))
    assert week is not None and [e.invited for e in week.events] == [1, 0]
    text = render(locale, "digest/coming_week.j2", data=week, timezone=project.timezone)
    [training, meeting] = [line for line in text.splitlines() if line.startswith("•")]
    assert said in meeting and not_said not in meeting
    assert said not in training
