"""The readiness matrix in detail: the CSV's columns and values cell by cell, the latest quiz and
practical that count, the roster a caller passes, the summary per module (counted in SQL by the
same rule as the matrix) and the criteria shades."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import event

from bot.clock import MovableClock
from bot.services import keyusers, projects, training_quizzes
from bot.services import training_readiness as readiness
from bot.services import training_sessions as sessions
from bot.services import trainings as service
from bot.services.context import Ctx
from bot.services.home import viewer_of
from bot.services.keyusers import KeyUserInput
from bot.services.projects import ProjectInput
from bot.views.calendar import MESSAGES as CALENDAR_MESSAGES
from storage.models import (
    CalendarEvent,
    Invitation,
    KeyUser,
    PracticalAssessment,
    Project,
    QuizAttempt,
    QuizRound,
    TrainingModule,
    TrainingSession,
)
from tests.conftest import PM, START
from tests.test_services_trainings import (
    ADMIN_KEY_USER,
    ANNA,
    BEN,
    CARL,
    TRAINER,
    add_questions,
    as_user,
    attend,
    make_project,
    session_input,
    start_quiz,
)

Modules = tuple[TrainingModule, TrainingModule, TrainingModule]


def module(ctx: Ctx, project: Project, name: str, hours: int, **options: object) -> TrainingModule:
    return service.save_module(
        ctx=ctx,
        project=project,
        data=service.ModuleInput(name=name, planned_hours=hours, formats=["lecture"], **options),
    )


def answer(ctx: Ctx, quiz_id: int | None, user: str, choice: str) -> None:
    question = training_quizzes.quiz_questions(
        ctx, training_quizzes.quiz_for_taker(ctx, quiz_id, user)[0]
    )[0]
    training_quizzes.submit_quiz(
        ctx=as_user(ctx, user), quiz_id=quiz_id, user_id=user, raw={f"q{question.id}": choice}
    )


def practical(ctx: Ctx, project: Project, on: TrainingModule, user: str, score: int) -> None:
    service.record_practical(
        ctx=as_user(ctx, TRAINER), project=project, module_id=on.id, user_id=user, score=score
    )


def three_modules(ctx: Ctx, clock: MovableClock) -> tuple[Project, Modules]:
    """Overview (4 h, no practical, for everyone), Admin (4 h, practical, for system
    administrators only) and Hands-on (2 h, practical, for everyone). Anna and Ben attended the
    Overview session, Carl was excused; Anna passed its quiz, Ben failed it, Carl took none. The
    system administrator passed Admin's practical, Ben failed Hands-on's."""
    project = make_project(ctx)
    overview = module(ctx, project, "Overview", 4)
    admin = module(
        ctx, project, "Admin", 4, has_practical=True, audience_roles=["system_administrator"]
    )
    hands_on = module(ctx, project, "Hands-on", 2, has_practical=True)
    add_questions(ctx, project, overview, count=1)
    [view], _k = sessions.create_sessions(
        ctx=ctx,
        project=project,
        data=session_input(overview, capacity=""),
        messages=CALENDAR_MESSAGES,
    )
    quiz, _keys = start_quiz(ctx, project, overview)
    answer(ctx, quiz.id, ANNA, "0")
    answer(ctx, quiz.id, BEN, "1")
    clock.set(view.event.starts_at)
    attend(ctx, view, {ANNA: "present", BEN: "present", CARL: "excused"})
    practical(ctx, project, admin, ADMIN_KEY_USER, 90)
    practical(ctx, project, hands_on, BEN, 40)
    return project, (overview, admin, hands_on)


def test_the_csv_has_one_row_per_applicable_cell_with_every_value(
    ctx: Ctx, clock: MovableClock
) -> None:
    project, _modules = three_modules(ctx, clock)
    rows = list(csv.reader(io.StringIO(readiness.export_csv(as_user(ctx, TRAINER), project))))
    admin = ADMIN_KEY_USER
    assert rows == [
        [
            "slack_user",
            "name",
            "role",
            "module",
            "planned_hours",
            "attended_hours",
            "latest_quiz",
            "quiz_passed",
            "practical",
            "practical_passed",
            "ready",
        ],
        [ANNA, ANNA, "key_user", "Overview", "4", "4", "100", "yes", "", "", "yes"],
        [ANNA, ANNA, "key_user", "Hands-on", "2", "0", "", "no", "", "no", "no"],
        [BEN, BEN, "key_user", "Overview", "4", "4", "0", "no", "", "", "no"],
        [BEN, BEN, "key_user", "Hands-on", "2", "0", "", "no", "40", "no", "no"],
        [CARL, CARL, "key_user", "Overview", "4", "0", "", "no", "", "", "no"],
        [CARL, CARL, "key_user", "Hands-on", "2", "0", "", "no", "", "no", "no"],
        [admin, admin, "system_administrator", "Overview", "4", "0", "", "no", "", "", "no"],
        [admin, admin, "system_administrator", "Admin", "4", "0", "", "no", "90", "yes", "no"],
        [admin, admin, "system_administrator", "Hands-on", "2", "0", "", "no", "", "no", "no"],
    ]  # fmt: skip


def test_the_summary_per_module_and_the_roster_a_caller_passes(
    ctx: Ctx, clock: MovableClock
) -> None:
    project, (overview, admin, hands_on) = three_modules(ctx, clock)
    assert readiness.readiness_by_module(ctx, project) == [
        {
            "module_id": overview.id,
            "module": "Overview",
            "planned_hours": 4,
            "trainees": 4,
            "ready": 1,
            "share": 0.25,
        },
        {
            "module_id": admin.id,
            "module": "Admin",
            "planned_hours": 4,
            "trainees": 1,
            "ready": 0,
            "share": 0.0,
        },
        {
            "module_id": hands_on.id,
            "module": "Hands-on",
            "planned_hours": 2,
            "trainees": 4,
            "ready": 0,
            "share": 0.0,
        },
    ]
    anna = [k for k in keyusers.active_key_users(ctx, project) if k.user_id == ANNA]
    matrix = readiness.compute(ctx, project, anna)
    assert matrix.project is project  # the heatmap's title reads its code
    assert [row.key_user.user_id for row in matrix.rows] == [ANNA]
    assert [(m.module.name, m.trainees, m.ready) for m in matrix.by_module()] == [
        ("Overview", 1, 1),
        ("Admin", 0, 0),
        ("Hands-on", 1, 0),
    ]


def test_the_summary_counted_in_sql_follows_the_same_rule_as_the_matrix(ctx: Ctx) -> None:
    """Every combination of attended hours (none, just under 80 %, exactly 80 % in two
    sessions, all), latest quiz (none, failed, passed, passed then failed, failed then passed at
    the same moment) and latest practical (none, failed, passed then failed, passed), for a
    module with and one without a practical, for two roles of which one module takes only one;
    attendance that does not count (excused, a cancelled session) and a removed key user. The
    counts in SQL equal the matrix's, cell by cell summed, in two statements."""
    project = make_project(ctx)
    now = ctx.now()
    plain = module(ctx, project, "Plain", 5)
    practical_only_admins = module(
        ctx, project, "Practical", 2.5, has_practical=True, audience_roles=["system_administrator"]
    )
    everyone_practical = module(ctx, project, "Everyone", 4, has_practical=True)
    modules = [plain, practical_only_admins, everyone_practical]
    hour_options = ("none", "under", "exact", "all")
    quiz_options = ("none", "failed", "passed", "passed_then_failed", "tie")
    practical_options = ("none", "failed", "passed_then_failed", "passed")
    people = []
    for index in range(len(hour_options) * len(quiz_options) * len(practical_options)):
        person = KeyUser(
            team_id=ctx.team_id,
            project_id=project.id or 0,
            user_id=f"UGRID{index:04d}",
            role=("key_user", "system_administrator")[index % 2],
            created_at=now,
            updated_at=now,
        )
        ctx.session.add(person)
        people.append(person)
    gone = KeyUser(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        user_id="UGRIDGONE",
        role="key_user",
        created_at=now,
        updated_at=now,
        removed_at=now,
    )
    ctx.session.add(gone)
    ctx.session.flush()

    uids: list[int] = []

    def session_of(on: TrainingModule, hours: float, status: str = "scheduled") -> int:
        uids.append(len(uids))
        event = CalendarEvent(
            team_id=ctx.team_id,
            project_id=project.id or 0,
            kind="training",
            title=on.name,
            starts_at=now - timedelta(days=3),
            ends_at=now - timedelta(days=3) + timedelta(hours=hours),
            timezone="UTC",
            organizer_id=TRAINER,
            uid=f"grid-{len(uids)}",
            status=status,
            created_by=PM,
            created_at=now,
            updated_at=now,
        )
        ctx.session.add(event)
        ctx.session.flush()
        ctx.session.add(
            TrainingSession(
                team_id=ctx.team_id,
                project_id=project.id or 0,
                module_id=on.id or 0,
                event_id=event.id or 0,
                trainer_id=TRAINER,
                hours=hours,
            )
        )
        return event.id or 0

    def attended(event_id: int, user: str, attendance: str = "present") -> None:
        ctx.session.add(
            Invitation(
                team_id=ctx.team_id,
                event_id=event_id,
                user_id=user,
                response="accepted",
                invited_at=now,
                attendance=attendance,
            )
        )

    for on in modules:
        target = readiness.READY_ATTENDANCE_SHARE * on.planned_hours
        sessions_by_option = {
            "under": [session_of(on, round(target - 0.01, 2))],
            "exact": [session_of(on, target * 0.3), session_of(on, target * 0.7)],
            "all": [session_of(on, on.planned_hours)],
        }
        cancelled = session_of(on, on.planned_hours, status="cancelled")
        excused = session_of(on, on.planned_hours + 1)
        quiz = QuizRound(
            team_id=ctx.team_id,
            project_id=project.id or 0,
            module_id=on.id or 0,
            opens_at=now,
            deadline=now,
            created_by=PM,
            created_at=now,
        )
        later = QuizRound(**{**quiz.model_dump(exclude={"id"})})
        ctx.session.add_all([quiz, later])
        ctx.session.flush()
        for index, person in enumerate(people):
            hours = hour_options[index % 4]
            taken = quiz_options[(index // 4) % 5]
            assessed = practical_options[(index // 20) % 4]
            for event_id in sessions_by_option.get(hours, []):
                attended(event_id, person.user_id)
            attended(cancelled, person.user_id)
            attended(excused, person.user_id, "excused")
            results = {
                "none": [],
                "failed": [(quiz, False, now)],
                "passed": [(quiz, True, now)],
                "passed_then_failed": [(quiz, True, now), (later, False, now + timedelta(1))],
                "tie": [(quiz, False, now), (later, True, now)],
            }[taken]
            for round_, passed, at in results:
                ctx.session.add(
                    QuizAttempt(
                        team_id=ctx.team_id,
                        round_id=round_.id or 0,
                        module_id=on.id or 0,
                        user_id=person.user_id,
                        key_user_id=person.id,
                        score=80 if passed else 20,
                        passed=passed,
                        submitted_at=at,
                    )
                )
            marks = {
                "none": [],
                "failed": [("2026-01", False)],
                "passed_then_failed": [("2026-02", False), ("2026-01", True)],
                "passed": [("2026-01", False), ("2026-02", True)],
            }[assessed]
            for period, passed in marks:
                ctx.session.add(
                    PracticalAssessment(
                        team_id=ctx.team_id,
                        project_id=project.id or 0,
                        module_id=on.id or 0,
                        key_user_id=person.id or 0,
                        user_id=person.user_id,
                        period=period,
                        score=80 if passed else 20,
                        pass_mark=60,
                        passed=passed,
                        assessed_by=TRAINER,
                        assessed_at=now,
                    )
                )
        # The removed key user did everything.
        attended(sessions_by_option["all"][0], gone.user_id)
    ctx.session.flush()

    matrix = readiness.compute(ctx, project)
    expected = [(m.module.id, m.trainees, m.ready) for m in matrix.by_module()]
    engine = ctx.session.get_bind()
    seen: list[str] = []
    listener = lambda *_args: seen.append("statement")  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        summary = readiness.readiness_by_module(ctx, project)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert [(m["module_id"], m["trainees"], m["ready"]) for m in summary] == expected
    assert len(seen) == 2
    # The grid reaches both answers and each module's own audience, and the matrix itself
    # follows the rule where it is easy to see: 80 % attended, the later quiz, the later month.
    by_user = {row.key_user.user_id: row.cells for row in matrix.rows}
    assert [trainees for _id, trainees, _ready in expected] == [80 + 4, 40 + 1, 80 + 4]
    assert all(0 < ready < trainees for _id, trainees, ready in expected)
    assert by_user["UGRID0002"][0].hours == pytest.approx(4.0)  # exactly 80 % of 5 h
    assert by_user["UGRID0010"][0].ready  # exact hours, passed, no practical needed
    assert not by_user["UGRID0009"][0].ready  # just under 80 %
    assert not by_user["UGRID0014"][0].ready  # passed, then failed a later round
    assert by_user["UGRID0019"][0].ready  # the tie: the later row of the same moment, passed
    assert not by_user["UGRID0051"][2].ready  # passed, then failed the next month
    assert by_user["UGRID0051"][0].ready and by_user["UGRID0071"][2].ready


def test_the_latest_submitted_quiz_counts_not_the_latest_round(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    overview = module(ctx, project, "Overview", 4)
    add_questions(ctx, project, overview, count=1)
    first, _k = start_quiz(ctx, project, overview)
    second, _k = start_quiz(ctx, project, overview)
    answer(ctx, second.id, ANNA, "1")  # failed the second round first,
    clock.advance(timedelta(hours=2))
    answer(ctx, first.id, ANNA, "0")  # then passed the first one, later
    answer(ctx, first.id, BEN, "1")
    clock.advance(timedelta(hours=2))
    answer(ctx, second.id, BEN, "0")
    cells = {row.key_user.user_id: row.cells[0] for row in readiness.compute(ctx, project).rows}
    assert (cells[ANNA].quiz_score, cells[ANNA].quiz_passed) == (100, True)
    assert (cells[BEN].quiz_score, cells[BEN].quiz_passed) == (100, True)
    assert (cells[CARL].quiz_score, cells[CARL].quiz_passed) == (None, False)


def test_each_modules_latest_quiz_counts_for_the_same_person(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    overview = module(ctx, project, "Overview", 4)
    basics = module(ctx, project, "Basics", 4)
    for each in (overview, basics):
        add_questions(ctx, project, each, count=1)
    on_overview, _k = start_quiz(ctx, project, overview)
    on_basics, _k = start_quiz(ctx, project, basics)
    answer(ctx, on_overview.id, ANNA, "0")
    clock.advance(timedelta(hours=1))
    answer(ctx, on_basics.id, ANNA, "1")
    [row] = [r for r in readiness.compute(ctx, project).rows if r.key_user.user_id == ANNA]
    assert [(c.quiz_score, c.quiz_passed) for c in row.cells] == [(100, True), (0, False)]


def test_the_latest_months_practical_counts_whatever_order_it_was_recorded_in(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    hands_on = module(ctx, project, "Hands-on", 2, has_practical=True)
    reporting = module(ctx, project, "Reporting", 2, has_practical=True)
    december, january, november = START, START + timedelta(days=40), START - timedelta(days=20)
    for month, anna, ben in ((december, 20, 95), (january, 90, 30), (november, 30, 80)):
        clock.set(month)  # entered late: January's before November's
        practical(ctx, project, hands_on, ANNA, anna)
        practical(ctx, project, hands_on, BEN, ben)
    practical(ctx, project, reporting, ANNA, 70)  # November's, on another module
    clock.set(december + timedelta(days=10))
    practical(ctx, project, hands_on, CARL, 80)  # December only
    rows = {r.key_user.user_id: r.cells for r in readiness.compute(ctx, project).rows}
    assert [
        [(cell.practical_score, cell.practical_passed) for cell in rows[user]]
        for user in (ANNA, BEN, CARL)
    ] == [
        [(90, True), (70, True)],
        [(30, False), (None, False)],
        [(80, True), (None, False)],
    ]


def test_a_key_users_own_cells_in_two_projects(ctx: Ctx, clock: MovableClock) -> None:
    project, (overview, _admin, hands_on) = three_modules(ctx, clock)
    other = projects.create_project(
        ctx=ctx, data=ProjectInput(name="Other", code="HR", pm_ids=[PM], timezone="UTC")
    )
    keyusers.add_key_user(ctx=ctx, project=other, data=KeyUserInput(user_id=BEN))
    payroll = module(ctx, other, "Payroll", 1, has_practical=True)
    service.record_practical(ctx=ctx, project=other, module_id=payroll.id, user_id=BEN, score=70)
    own = readiness.own_readiness(as_user(ctx, BEN), viewer_of(ctx, BEN).key_user_projects)
    assert [(p.code, m.name, c.hours, c.quiz_score, c.practical_score) for p, m, c in own] == [
        ("ERP", overview.name, 4, 0, None),
        ("ERP", hands_on.name, 0, None, 40),
        ("HR", payroll.name, 0, None, 70),
    ]


def plain_module(has_practical: bool) -> TrainingModule:
    return TrainingModule(
        name="M",
        planned_hours=10,
        formats=["lecture"],
        has_practical=has_practical,
        team_id="T",
        project_id=1,
        created_at=START,
        updated_at=START,
    )


@pytest.mark.parametrize(
    ("hours", "quiz", "practical_passed", "has_practical", "criteria"),
    [
        (8, True, True, True, (3, 3)),
        (8, True, False, True, (2, 3)),
        (0, True, True, True, (2, 3)),
        (0, False, True, True, (1, 3)),
        (8, False, False, False, (1, 2)),
        (0, True, True, False, (1, 2)),
        (8, True, True, False, (2, 2)),
    ],
)
def test_the_criteria_met_for_the_heatmaps_shades(
    hours: float,
    quiz: bool,
    practical_passed: bool,
    has_practical: bool,
    criteria: tuple[int, int],
) -> None:
    cell = readiness.ReadinessCell(
        applicable=True, hours=hours, quiz_passed=quiz, practical_passed=practical_passed
    )
    assert cell.criteria(plain_module(has_practical)) == criteria


def test_a_module_that_does_not_apply_is_never_ready() -> None:
    cell = readiness.ReadinessCell(
        applicable=False, hours=10, quiz_passed=True, practical_passed=True
    )
    assert readiness.cell_ready(plain_module(False), cell) is False
