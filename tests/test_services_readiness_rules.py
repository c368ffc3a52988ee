"""The readiness matrix in detail: the CSV's columns and values cell by cell, the latest quiz and
practical that count, the roster a caller passes, the summary per module and the criteria
shades."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.clock import MovableClock
from bot.services import keyusers, projects
from bot.services import training_readiness as readiness
from bot.services import training_sessions as sessions
from bot.services import trainings as service
from bot.services.context import Ctx
from bot.services.home import viewer_of
from bot.services.keyusers import KeyUserInput
from bot.services.projects import ProjectInput
from bot.views.calendar import MESSAGES as CALENDAR_MESSAGES
from storage.models import Project, TrainingModule
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
    question = service.quiz_questions(ctx, service.quiz_for_taker(ctx, quiz_id, user)[0])[0]
    service.submit_quiz(
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
    only_anna = readiness.readiness_by_module(ctx, project, roster=anna)
    assert [(m["module"], m["trainees"], m["ready"], m["share"]) for m in only_anna] == [
        ("Overview", 1, 1, 1.0),
        ("Admin", 0, 0, None),
        ("Hands-on", 1, 0, 0.0),
    ]
    matrix = readiness.compute(ctx, project, anna)
    assert matrix.project is project  # the heatmap's title reads its code
    assert [row.key_user.user_id for row in matrix.rows] == [ANNA]


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
