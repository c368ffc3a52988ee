"""Trainings in detail: the curriculum, question and practical CSVs column by column, a practical
assessment's fields and limits, the quiz jobs (reminder window, closing, the weekly repetition and
its deadline) and the results of a round."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.clock import MovableClock
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.services import keyusers, projects, training_quizzes
from bot.services import trainings as service
from bot.services.context import Ctx
from bot.services.keyusers import KeyUserInput
from bot.services.projects import ProjectInput
from bot.views.trainings import MESSAGES
from storage.models import (
    Interaction,
    OutboxMessage,
    PracticalAssessment,
    Project,
    QuizRound,
    TrainingModule,
)
from tests.conftest import ADMIN, OUTSIDER, PM, START
from tests.test_services_trainings import (
    ADMIN_KEY_USER,
    ANNA,
    BEN,
    CARL,
    TRAINER,
    add_questions,
    as_user,
    make_project,
)

EVERYONE = sorted([ANNA, BEN, CARL, ADMIN_KEY_USER])


def module(ctx: Ctx, project: Project, name: str, **options: Any) -> TrainingModule:
    values: dict[str, Any] = {"planned_hours": 4, "formats": ["lecture"], **options}
    return service.save_module(
        ctx=ctx, project=project, data=service.ModuleInput(name=name, **values)
    )


def last_entry(ctx: Ctx, kind: str) -> Interaction:
    return ctx.session.exec(
        select(Interaction).where(Interaction.kind == kind).order_by(col(Interaction.id).desc())
    ).first()  # type: ignore[return-value]


def outbox(ctx: Ctx, key: str) -> OutboxMessage:
    return ctx.session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def deliver_all(ctx: Ctx, round_: QuizRound, *, except_for: tuple[str, ...] = ()) -> None:
    """Mark the round's DMs as sent, as the sender would (but those to ``except_for``)."""
    for row in ctx.session.exec(select(OutboxMessage)).all():
        if (
            row.subject == training_quizzes.quiz_subject(round_)
            and row.payload["channel"] not in except_for
        ):
            row.ts, row.channel, row.status = "1.000", "D" + row.payload["channel"][1:], "sent"
            ctx.session.add(row)
    ctx.session.flush()


def quiz(
    ctx: Ctx, project: Project, on: TrainingModule, deadline: datetime, **options: Any
) -> QuizRound:
    values: dict[str, Any] = {"remind_hours": 24, **options}
    round_, _keys = training_quizzes.start_quiz(
        ctx=ctx, project=project, module_id=on.id, deadline=deadline, messages=MESSAGES, **values
    )
    return round_


def take(ctx: Ctx, round_: QuizRound, user: str, right: bool = True) -> None:
    raw = {
        f"q{q.id}": [str(i) for i in q.correct] if right else str(len(q.options) - 1)
        for q in training_quizzes.quiz_questions(ctx, round_)
    }
    training_quizzes.submit_quiz(ctx=as_user(ctx, user), quiz_id=round_.id, user_id=user, raw=raw)


# ------------------------------------------------------------------------------ curriculum


def test_the_curriculum_import_reads_every_column_and_reports_by_line(ctx: Ctx) -> None:
    project = make_project(ctx)
    text = (
        "name,planned_hours,description,formats,audience_roles,practical,pass_mark\n"
        "Reporting,6,Month-end reports,case_study|discussion,key_user|sponsor,Y,75\n"  # 2
        "Closing,4,,,,TRUE,\n"  # 3
        "Ones,2,,,,1,\n"  # 4
        "Chinese,2,,,,是,\n"  # 5
        "Spelled,2,,,,yes,\n"  # 6
        "Nope,2,,,,no,\n"  # 7
        "Blank,2,,,,,\n"  # 8
        "Extra,2,,,,,,surplus\n"  # 9
        "Broken,lots,,,,,\n"  # 10
        "REPORTING,8,,,,,\n"  # 11: the module added on line 2, changed
    )
    report = service.import_curriculum_csv(ctx=ctx, project=project, text=text)
    assert report.added == ["Reporting", "Closing", "Ones", "Chinese", "Spelled", "Nope", "Blank"]
    assert report.updated == ["REPORTING"]
    assert report.errors == [
        (9, None, Msg("errors.csv_extra_cells")),
        (10, "planned_hours", Msg("errors.number_range", low=0.5, high=500)),
    ]
    modules = {m.name: m for m in service.modules_of(ctx, project.id or 0)}
    reporting = modules["REPORTING"]
    assert (reporting.planned_hours, reporting.description, reporting.pass_mark) == (8, None, 60)
    assert (reporting.formats, reporting.audience_roles) == (["lecture"], [])
    assert [name for name, m in modules.items() if m.has_practical] == [
        "Closing",
        "Ones",
        "Chinese",
        "Spelled",
    ]
    first = service.import_curriculum_csv(
        ctx=ctx,
        project=project,
        text="name,planned_hours,description,formats,audience_roles,practical,pass_mark\n"
        "Reporting,6,Month-end reports,case_study|discussion,key_user|sponsor,Y,75\n",
    )
    assert first.updated == ["Reporting"]
    reporting = service.get_module(ctx, reporting.id, project)
    assert (reporting.description, reporting.pass_mark, reporting.has_practical) == (
        "Month-end reports",
        75,
        True,
    )
    assert (reporting.formats, reporting.audience_roles) == (
        ["case_study", "discussion"],
        ["key_user", "sponsor"],
    )


def test_a_curriculum_without_optional_columns_takes_the_defaults(ctx: Ctx) -> None:
    project = make_project(ctx)
    report = service.import_curriculum_csv(
        ctx=ctx, project=project, text="name,planned_hours\nBare,3"
    )
    assert report.added == ["Bare"]
    [bare] = service.modules_of(ctx, project.id or 0)
    assert (bare.description, bare.formats, bare.audience_roles) == (None, ["lecture"], [])
    assert (bare.has_practical, bare.pass_mark) == (False, 60)
    with pytest.raises(ValidationError) as refused:
        service.import_curriculum_csv(ctx=ctx, project=project, text="name,hours\nBare,3")
    assert refused.value.errors == {
        "csv": Msg("training.errors.csv_header", columns=", ".join(service.CURRICULUM_COLUMNS))
    }


def test_the_curriculum_export_writes_each_modules_values(ctx: Ctx) -> None:
    project = make_project(ctx)
    module(ctx, project, "Overview", planned_hours=1.5)
    module(
        ctx,
        project,
        "Admin",
        description="For admins",
        formats=["lecture", "hands_on"],
        audience_roles=["system_administrator", "key_user"],
        has_practical=True,
        pass_mark=80,
    )
    assert service.export_curriculum_csv(ctx, project).splitlines() == [
        "position,name,description,planned_hours,formats,audience_roles,practical,pass_mark",
        "1,Overview,,1.5,lecture,,no,60",
        "2,Admin,For admins,4,lecture|hands_on,system_administrator|key_user,yes,80",
    ]


# ---------------------------------------------------------------------------- question bank


def test_the_question_import_reports_each_bad_row_and_keeps_going(ctx: Ctx) -> None:
    project = make_project(ctx)
    basics = module(ctx, project, "Basics")
    text = (
        "module,kind,question,options,correct\n"
        "Nope,single,Lost?,a|b,1\n"  # 2
        "basics,single,Which?,a|b,x\n"  # 3
        "Basics,single,Two right?,a|b,1|2\n"  # 4
        "Basics,single,Extra?,a|b,1,surplus\n"  # 5
        "Basics,,  Default kind?  ,a|b,2\n"  # 6
        " BASICS ,MULTIPLE,Both?,a|b|c,1|3\n"  # 7
    )
    report = training_quizzes.import_questions_csv(
        ctx=as_user(ctx, TRAINER), project=project, text=text
    )
    assert report.errors == [
        (2, "module", Msg("training.errors.module_not_found")),
        (3, "correct", Msg("training.errors.no_right_answer")),
        (4, "options", Msg("training.errors.single_one_right")),
        (5, None, Msg("errors.csv_extra_cells")),
    ]
    assert report.added == ["Default kind?", "Both?"]
    bank = training_quizzes.questions_of(ctx, basics.id or 0)
    assert [(q.kind, q.text, q.options, q.correct) for q in bank] == [
        ("single", "Default kind?", ["a", "b"], [1]),
        ("multiple", "Both?", ["a", "b", "c"], [0, 2]),
    ]
    with pytest.raises(ValidationError) as refused:
        training_quizzes.import_questions_csv(
            ctx=ctx, project=project, text="module,question\nBasics,Q"
        )
    assert refused.value.errors == {
        "csv": Msg(
            "training.errors.csv_header", columns=", ".join(training_quizzes.QUESTION_COLUMNS)
        )
    }


def test_marked_options_of_nothing_are_none() -> None:
    assert training_quizzes.parse_marked_options(None) == ([], [])  # type: ignore[arg-type]
    assert training_quizzes.parse_marked_options("") == ([], [])


# ---------------------------------------------------------------------- practical assessment


def test_a_practical_assessment_keeps_its_fields_and_limits(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    hands_on = module(ctx, project, "Hands-on", has_practical=True, pass_mark=70)
    lecture = module(ctx, project, "Lecture")
    trainer = as_user(ctx, TRAINER)

    def record(**fields: Any) -> PracticalAssessment:
        values: dict[str, Any] = {"module_id": hands_on.id, "user_id": ANNA, "score": 70}
        values.update(fields)
        return service.record_practical(ctx=trainer, project=project, **values)

    def refused(**fields: Any) -> dict[str, object]:
        with pytest.raises(ValidationError) as refusal:
            record(**fields)
        return dict(refusal.value.errors)

    row = record(comment="  " + "c" * 2000 + " ")
    assert (row.score, row.pass_mark, row.passed, row.comment) == (70, 70, True, "c" * 2000)
    assert (row.user_id, row.assessed_by, row.assessed_at, row.period) == (
        ANNA,
        TRAINER,
        START,
        "2026-12",
    )
    entry = last_entry(ctx, "training.practical_assessed")
    assert (entry.project_id, entry.key_user_id, entry.touchpoint, entry.actor_id) == (
        project.id,
        row.key_user_id,
        True,
        TRAINER,
    )
    assert entry.detail == {"module_id": hands_on.id, "score": 70, "passed": True}
    clock.advance(timedelta(hours=1))
    row = service.record_practical(
        ctx=ctx, project=project, module_id=hands_on.id, user_id=ANNA, score="69", comment="again"
    )
    assert (row.score, row.passed, row.comment, row.assessed_by) == (69, False, "again", PM)
    assert row.assessed_at == START + timedelta(hours=1)
    assert last_entry(ctx, "training.practical_assessed").detail["passed"] is False
    assert record(user_id=BEN, score=0).score == 0
    assert refused(comment="c" * 2001) == {"comment": Msg("errors.too_long", limit=2000)}
    assert refused(module_id=lecture.id) == {
        "module": Msg("training.errors.no_practical", module="Lecture")
    }
    assert refused(user_id=OUTSIDER) == {"user_id": Msg("errors.keyuser_not_found", code="ERP")}
    assert refused(user_id="") == {"user_id": Msg("errors.user_required")}
    [carl] = [k for k in keyusers.active_key_users(ctx, project) if k.user_id == CARL]
    keyusers.remove_key_user(ctx=ctx, key_user=carl)
    assert refused(user_id=CARL) == {"user_id": Msg("errors.keyuser_not_found", code="ERP")}
    other = projects.create_project(
        ctx=ctx, data=ProjectInput(name="Other", code="HR", pm_ids=[PM], timezone="UTC")
    )
    foreign = module(ctx, other, "Foreign", has_practical=True)
    assert refused(module_id=foreign.id) == {"module": Msg("training.errors.module_not_found")}


def test_a_practicals_month_is_the_projects_month() -> None:
    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert service.period_of(new_year, "Asia/Tokyo") == "2027-01"
    assert service.period_of(new_year, "America/New_York") == "2026-12"


def test_the_practical_import_resolves_only_ids_and_emails_and_keeps_comments(ctx: Ctx) -> None:
    project = make_project(ctx)
    module(ctx, project, "Hands-on", has_practical=True)
    asked: list[str] = []

    def resolve(who: str) -> tuple[str, str | None] | None:
        asked.append(who)
        return (BEN, None) if who == "ben@acme.test" else (who, None)

    text = (
        "slack_user,module,score,comment\n"
        "somebody,Hands-on,70,\n"  # 2
        f"{ANNA},Hands-on,70,good,surplus\n"  # 3
        f"{ANNA},Nope,70,\n"  # 4
        f"{ANNA},Hands-on,101,\n"  # 5
        f"{ANNA}, HANDS-ON ,90,good\n"  # 6
        "ben@acme.test,Hands-on,40,\n"  # 7
    )
    report = service.import_practicals_csv(
        ctx=ctx, project=project, text=text, resolve_user=resolve
    )
    assert asked == [ANNA, ANNA, ANNA, "ben@acme.test"]
    assert report.errors == [
        (2, "slack_user", Msg("errors.csv_unknown_user", who="somebody")),
        (3, None, Msg("errors.csv_extra_cells")),
        (4, "module", Msg("training.errors.module_not_found")),
        (5, "score", Msg("errors.number_range", low=0, high=100)),
    ]
    assert report.added == [ANNA, BEN]
    rows = ctx.session.exec(select(PracticalAssessment).order_by(col(PracticalAssessment.id)))
    assert [(r.user_id, r.score, r.comment) for r in rows] == [(ANNA, 90, "good"), (BEN, 40, None)]
    bare = service.import_practicals_csv(
        ctx=ctx,
        project=project,
        text=f"slack_user,module,score\n{CARL},Hands-on,55",
        resolve_user=resolve,
    )
    assert bare.added == [CARL]
    assert (
        ctx.session.exec(
            select(PracticalAssessment.comment).where(PracticalAssessment.user_id == CARL)
        ).one()
        is None
    )
    with pytest.raises(ValidationError) as refused:
        service.import_practicals_csv(
            ctx=ctx, project=project, text="slack_user,score\nU1,5", resolve_user=resolve
        )
    assert refused.value.errors == {
        "csv": Msg("training.errors.csv_header", columns=", ".join(service.PRACTICAL_COLUMNS))
    }


# ------------------------------------------------------------------------------------ quizzes


def test_the_quiz_reminder_waits_for_its_hour_and_skips_what_was_never_delivered(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    basics = module(ctx, project, "Basics")
    add_questions(ctx, project, basics, count=1)
    deadline = START + timedelta(days=3)
    first = quiz(as_user(ctx, TRAINER), project, basics, deadline)
    deliver_all(ctx, first, except_for=(CARL,))
    second = quiz(ctx, project, basics, deadline + timedelta(hours=1))
    deliver_all(ctx, second)
    take(ctx, first, ANNA)
    clock.set(deadline - timedelta(hours=24, seconds=1))
    assert training_quizzes.remind_quizzes(ctx=ctx, messages=MESSAGES) == []
    clock.set(deadline - timedelta(hours=24))
    reminded = training_quizzes.remind_quizzes(ctx=ctx, messages=MESSAGES)
    assert reminded == [f"training:quiz:{first.id}:remind:{user}" for user in (BEN, ADMIN_KEY_USER)]
    row = outbox(ctx, reminded[0])
    invitation = outbox(ctx, training_quizzes.quiz_invite_key(first, BEN))
    assert (row.payload["channel"], row.payload["thread_ts"]) == (invitation.channel, "1.000")
    assert row.subject == f"training:quiz:{first.id}"
    assert first.reminded_at == deadline - timedelta(hours=24)
    assert second.reminded_at is None
    clock.set(deadline + timedelta(hours=1))  # the second's deadline: too late to remind
    assert training_quizzes.remind_quizzes(ctx=ctx, messages=MESSAGES) == []
    assert second.reminded_at is None


def test_a_quiz_past_its_deadline_is_not_reminded_before_it_closes(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    basics = module(ctx, project, "Basics")
    add_questions(ctx, project, basics, count=1)
    round_ = quiz(ctx, project, basics, START + timedelta(days=3))
    later = quiz(ctx, project, basics, START + timedelta(days=4))
    deliver_all(ctx, round_)
    clock.set(START + timedelta(days=3, hours=1))
    assert training_quizzes.remind_quizzes(ctx=ctx, messages=MESSAGES) == []
    assert round_.reminded_at is None
    [results] = training_quizzes.close_quizzes(ctx=ctx, messages=MESSAGES)
    assert results == f"training:quiz:{round_.id}:results"
    assert outbox(ctx, results).subject == f"training:quiz:{round_.id}"
    assert (round_.closed_at, later.closed_at) == (START + timedelta(days=3, hours=1), None)
    entry = last_entry(ctx, "training.quiz_closed")
    assert (entry.project_id, entry.detail) == (project.id, {"quiz_id": round_.id})


def test_results_list_attempts_by_user_id_and_count_misses_per_question(ctx: Ctx) -> None:
    project = make_project(ctx)
    keyusers.add_key_user(
        ctx=ctx,
        project=project,
        data=KeyUserInput(user_id="UAAA00001", role="key_user", display_name="Zed"),
    )
    basics = module(ctx, project, "Basics")
    add_questions(ctx, project, basics, count=2)
    round_ = quiz(ctx, project, basics, START + timedelta(days=3))
    single, multiple = training_quizzes.quiz_questions(ctx, round_)
    take(ctx, round_, ANNA, right=False)
    take(ctx, round_, BEN, right=False)
    training_quizzes.submit_quiz(
        ctx=as_user(ctx, CARL),
        quiz_id=round_.id,
        user_id=CARL,
        raw={f"q{single.id}": "0", f"q{multiple.id}": ["0"]},
    )
    results = training_quizzes.quiz_results(ctx, round_.id)
    assert [a.user_id for a in results.attempts] == ["UAAA00001", *EVERYONE]
    assert results.project is project
    assert (results.missed_by(single.id or 0), results.missed_by(multiple.id or 0)) == (2, 3)


def test_the_weekly_quiz_keeps_its_reminder_and_a_deadline_two_hours_ahead(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    basics = module(ctx, project, "Basics")
    add_questions(ctx, project, basics, count=1)
    tight = quiz(ctx, project, basics, START + timedelta(hours=2), repeat_weekly=True)
    loose = quiz(ctx, project, basics, START + timedelta(hours=2, minutes=30), repeat_weekly=True)
    long = quiz(ctx, project, basics, START + timedelta(days=13), repeat_weekly=True)
    clock.set(START + timedelta(days=7))
    keys = training_quizzes.repeat_quizzes(ctx=ctx, messages=MESSAGES)
    assert len(keys) == 3 * 4
    following = {r.id: ctx.session.get(QuizRound, r.next_round_id) for r in (tight, loose, long)}
    assert following[tight.id].deadline == START + timedelta(days=14, hours=2)  # type: ignore[union-attr]
    assert following[loose.id].deadline == START + timedelta(days=7, hours=2, minutes=30)  # type: ignore[union-attr]
    assert following[long.id].deadline == START + timedelta(days=20)  # type: ignore[union-attr]
    assert {r.remind_hours for r in following.values()} == {24}  # type: ignore[union-attr]


def test_a_stopped_weekly_quiz_tells_its_sender_and_the_others_go_on(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    basics = module(ctx, project, "Basics")
    add_questions(ctx, project, basics, count=1)
    deadline = START + timedelta(days=3)
    by_trainer = quiz(as_user(ctx, TRAINER), project, basics, deadline, repeat_weekly=True)
    by_pm = quiz(ctx, project, basics, deadline, repeat_weekly=True)
    projects.set_team_members(ctx=ctx, project=project, user_ids=[])  # the trainer left
    clock.set(START + timedelta(days=7))
    keys = training_quizzes.repeat_quizzes(ctx=ctx, messages=MESSAGES)
    stopped = f"training:quiz:{by_trainer.id}:repeat_stopped"
    assert keys[0] == stopped and len(keys) == 1 + 4
    row = outbox(ctx, stopped)
    assert row.payload == {"channel": TRAINER, **MESSAGES.quiz_stopped(project, 1)}
    assert row.subject == f"training:quiz:{by_trainer.id}"
    assert by_pm.next_round_id is not None and by_trainer.next_round_id is None


def test_the_weekly_quiz_is_sent_as_its_sender_not_as_the_job(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    basics = module(ctx, project, "Basics")
    add_questions(ctx, project, basics, count=1)
    first = quiz(
        as_user(ctx, TRAINER), project, basics, START + timedelta(days=3), repeat_weekly=True
    )
    projects.set_team_members(ctx=ctx, project=project, user_ids=[])
    clock.set(START + timedelta(days=7))
    job = Ctx(
        session=ctx.session,
        team_id=ctx.team_id,
        actor_id=ADMIN,
        clock=ctx.clock,
        admin_check=lambda user_id: user_id == ADMIN,
    )
    assert job.actor_is_admin
    [stopped] = training_quizzes.repeat_quizzes(ctx=job, messages=MESSAGES)
    assert stopped == f"training:quiz:{first.id}:repeat_stopped"


def test_modules_and_quizzes_are_found_by_id_only(ctx: Ctx) -> None:
    project = make_project(ctx)
    basics = module(ctx, project, "Basics")
    assert service.get_module(ctx, str(basics.id)) is basics
    for ident in (None, "", "x", 999):
        with pytest.raises(NotFound) as missing:
            service.get_module(ctx, ident)
        assert missing.value.message == Msg("training.errors.module_not_found")
    add_questions(ctx, project, basics, count=1)
    round_ = quiz(ctx, project, basics, START + timedelta(days=3))
    assert training_quizzes.get_quiz(ctx, f"#{round_.id}") is round_
    for ident in (None, "", "#x", 999):
        with pytest.raises(NotFound) as missing:
            training_quizzes.get_quiz(ctx, ident)
        assert missing.value.message == Msg("training.errors.no_such_quiz")


def test_a_modules_fields_at_their_limits(ctx: Ctx) -> None:
    def clean(**fields: Any) -> dict[str, Any]:
        values: dict[str, Any] = {"name": "Basics", "planned_hours": "4", "formats": ["lecture"]}
        values.update(fields)
        return service.clean_module(service.ModuleInput(**values))

    def refused(**fields: Any) -> dict[str, object]:
        with pytest.raises(ValidationError) as refusal:
            clean(**fields)
        return dict(refusal.value.errors)

    assert clean(
        name=" " + "n" * 120 + " ",
        description=" " + "d" * 2000 + " ",
        planned_hours="1,666",
        formats=["hands_on", "", "lecture", "hands_on"],
        audience_roles=["key_user", "", "sponsor", "key_user"],
        has_practical="yes",
        pass_mark="59.6",
    ) == {
        "name": "n" * 120,
        "description": "d" * 2000,
        "planned_hours": 1.67,
        "formats": ["hands_on", "lecture"],
        "audience_roles": ["key_user", "sponsor"],
        "has_practical": True,
        "pass_mark": 60,
    }
    assert clean(description="  ", has_practical=0)["description"] is None
    assert clean(has_practical=0)["has_practical"] is False
    for hours in ("0.5", 500):
        assert clean(planned_hours=hours)["planned_hours"] == float(hours)
    for mark in (0, "100"):
        assert clean(pass_mark=mark)["pass_mark"] == int(mark)
    hours_range = Msg("errors.number_range", low=0.5, high=500)
    mark_range = Msg("errors.number_range", low=0, high=100)
    assert refused(name="n" * 121) == {"name": Msg("errors.too_long", limit=120)}
    assert refused(name=None) == {"name": Msg("errors.required")}
    assert refused(description="d" * 2001) == {"description": Msg("errors.too_long", limit=2000)}
    for hours in ("0.49", "500.01", None, "four"):
        assert refused(planned_hours=hours) == {"planned_hours": hours_range}, hours
    for mark in ("-1", "100.5"):
        assert refused(pass_mark=mark) == {"pass_mark": mark_range}, mark
    assert refused(formats=["", ""]) == {"formats": Msg("training.errors.formats")}
    assert refused(formats=["lecture", "webinar"]) == {
        "formats": Msg("errors.choice", choices="lecture, hands_on, case_study, discussion")
    }
    assert refused(audience_roles=["sponsor", "wizard"]) == {
        "audience_roles": Msg("errors.choice", choices=", ".join(keyusers.ROLES))
    }
    assert refused(name="", planned_hours="0", pass_mark="x", formats=[]) == {
        "name": Msg("errors.required"),
        "planned_hours": hours_range,
        "pass_mark": mark_range,
        "formats": Msg("training.errors.formats"),
    }


def test_saving_a_module_adds_at_the_end_or_changes_it_in_place(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    first = module(ctx, project, "Basics")
    entry = last_entry(ctx, "training.module_saved")
    assert (entry.project_id, entry.actor_id) == (project.id, PM)
    assert entry.detail == {"module_id": first.id, "name": "Basics", "new": True}
    second = module(ctx, project, "Advanced")
    assert (first.position, second.position) == (1, 2)
    assert (first.team_id, first.project_id, first.created_at, first.updated_at) == (
        ctx.team_id,
        project.id,
        START,
        START,
    )
    clock.advance(timedelta(hours=1))
    changed = service.save_module(
        ctx=ctx,
        project=project,
        module_id=first.id,
        data=service.ModuleInput(name="BASICS", planned_hours=6, formats=["hands_on"]),
    )
    assert changed is first
    assert (changed.name, changed.planned_hours, changed.position) == ("BASICS", 6, 1)
    assert (changed.created_at, changed.updated_at) == (START, START + timedelta(hours=1))
    assert last_entry(ctx, "training.module_saved").detail == {
        "module_id": first.id,
        "name": "BASICS",
        "new": False,
    }
    taken = {"name": Msg("training.errors.module_name_taken")}
    with pytest.raises(ValidationError) as refused:
        service.save_module(
            ctx=ctx,
            project=project,
            module_id=second.id,
            data=service.ModuleInput(name="basics", planned_hours=6, formats=["hands_on"]),
        )
    assert refused.value.errors == taken
    other = projects.create_project(
        ctx=ctx, data=ProjectInput(name="Other", code="HR", pm_ids=[PM], timezone="UTC")
    )
    assert module(ctx, other, "Basics").position == 1  # names are unique per project only
    with pytest.raises(NotFound):
        service.save_module(
            ctx=ctx,
            project=project,
            module_id=service.modules_of(ctx, other.id or 0)[0].id,
            data=service.ModuleInput(name="Elsewhere", planned_hours=6, formats=["hands_on"]),
        )
    assert [m.name for m in service.modules_of(ctx, project.id or 0)] == ["BASICS", "Advanced"]


def test_a_curriculum_holds_thirty_modules(ctx: Ctx) -> None:
    project = make_project(ctx)
    for index in range(service.MAX_MODULES):
        module(ctx, project, f"Module {index + 1}")
    with pytest.raises(ValidationError) as refused:
        module(ctx, project, "One more")
    assert refused.value.errors == {"name": Msg("training.errors.too_many_modules", limit=30)}
    assert service.modules_of(ctx, project.id or 0)[-1].position == 30


def test_the_standard_curriculum_has_its_descriptions_and_refuses_a_second_time(
    ctx: Ctx,
) -> None:
    english = service.standard_curriculum("en")
    chinese = service.standard_curriculum("zh-CN")
    assert all(m.description for m in english) and all(m.description for m in chinese)
    assert english[0].description != chinese[0].description
    assert [m.has_practical for m in english] == [False, True, True, True]
    project = make_project(ctx)
    module(ctx, project, "Own module")
    with pytest.raises(ValidationError) as refused:
        service.adopt_standard_curriculum(ctx=ctx, project=project)
    assert refused.value.errors == {"": Msg("training.errors.curriculum_exists", code="ERP")}


# ---------------------------------------------------------------------------- question bank


def test_a_questions_fields_at_their_limits(ctx: Ctx) -> None:
    project = make_project(ctx)
    basics = module(ctx, project, "Basics")
    trainer = as_user(ctx, TRAINER)

    def add(**fields: Any) -> Any:
        values: dict[str, Any] = {
            "module_id": basics.id,
            "kind": "single",
            "text": "Which?",
            "options": ["a", "b"],
            "correct": [0],
        }
        values.update(fields)
        return training_quizzes.add_question(
            ctx=trainer, project=project, data=training_quizzes.QuestionInput(**values)
        )

    def refused(**fields: Any) -> dict[str, object]:
        with pytest.raises(ValidationError) as refusal:
            add(**fields)
        return dict(refusal.value.errors)

    question = add(text=" " + "t" * 300 + " ", options=[" a ", "b"], correct=[1, 1])
    assert (question.text, question.options, question.correct) == ("t" * 300, ["a", "b"], [1])
    assert (question.module_id, question.created_by, question.created_at) == (
        basics.id,
        TRAINER,
        START,
    )
    entry = last_entry(ctx, "training.question_added")
    assert (entry.project_id, entry.detail) == (project.id, {"module_id": basics.id})
    assert add(options=list("abcdefghij"), correct=[9]).options == list("abcdefghij")
    assert add(options=["a", "o" * 75]).options == ["a", "o" * 75]
    assert add(kind="multiple", correct=[1, 0]).correct == [0, 1]
    no_right = {"options": Msg("training.errors.no_right_answer")}
    assert refused(text="t" * 301) == {"text": Msg("errors.too_long", limit=300)}
    assert refused(text=None) == {"text": Msg("errors.required")}
    assert refused(options=list("abcdefghijk")) == {
        "options": Msg("poll.errors.options_count", limit=10)
    }
    assert refused(options=["a", "o" * 76]) == {"options": Msg("errors.too_long", limit=75)}
    assert refused(options=["a", "A"]) == {"options": Msg("poll.errors.options_unique")}
    assert refused(kind="multiple", correct=[]) == no_right
    assert refused(correct=[2]) == no_right
    assert refused(correct=[-1]) == no_right
    assert refused(correct=[0, 1]) == {"options": Msg("training.errors.single_one_right")}
    assert refused(kind="essay") == {"kind": Msg("errors.choice", choices="single, multiple")}
    other = projects.create_project(
        ctx=ctx, data=ProjectInput(name="Other", code="HR", pm_ids=[PM], timezone="UTC")
    )
    foreign = module(ctx, other, "Foreign")
    assert refused(module_id=foreign.id) == {"module": Msg("training.errors.module_not_found")}


# ------------------------------------------------------------------------------------ quizzes


def test_a_quiz_round_keeps_the_modules_pass_mark_and_its_own_settings(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    basics = module(ctx, project, "Basics", pass_mark=80)
    add_questions(ctx, project, basics, count=1)
    trainer = as_user(ctx, TRAINER)
    soon = START + timedelta(hours=1)
    with pytest.raises(ValidationError) as refused:
        quiz(trainer, project, basics, soon)
    assert refused.value.errors == {"deadline": Msg("training.errors.deadline_soon")}
    round_ = quiz(trainer, project, basics, soon + timedelta(seconds=1), remind_hours=2)
    assert (round_.pass_mark, round_.remind_hours, round_.repeat_weekly) == (80, 2, False)
    assert (round_.created_by, round_.opens_at, round_.deadline) == (
        TRAINER,
        START,
        soon + timedelta(seconds=1),
    )
    assert quiz(trainer, project, basics, START + timedelta(hours=1, minutes=30)).remind_hours == 24
    silent = quiz(trainer, project, basics, START + timedelta(days=2), remind_hours=0)
    assert silent.remind_hours is None  # "no reminder": not the column's former default of 24
    deliver_all(ctx, silent)
    clock.set(silent.deadline - timedelta(hours=1))
    assert training_quizzes.remind_quizzes(ctx=ctx, messages=MESSAGES) == []
    invitation = outbox(ctx, training_quizzes.quiz_invite_key(round_, ANNA))
    assert invitation.payload == {
        "channel": ANNA,
        **MESSAGES.quiz_invite(project, round_, basics, 1),
    }
    assert invitation.subject == f"training:quiz:{round_.id}"
    entry = last_entry(ctx, "training.quiz_sent")
    assert (entry.project_id, entry.actor_id) == (project.id, TRAINER)
    sent = ctx.session.exec(
        select(Interaction)
        .where(Interaction.kind == "training.quiz_sent")
        .order_by(col(Interaction.id))
    ).first()
    assert sent is not None and sent.detail == {
        "quiz_id": round_.id,
        "module_id": basics.id,
        "invited": 4,
    }


def test_a_quiz_is_refused_with_the_reason(ctx: Ctx) -> None:
    project = make_project(ctx)
    empty = module(ctx, project, "Empty")
    sponsors = module(ctx, project, "Sponsors", audience_roles=["sponsor"])
    add_questions(ctx, project, sponsors, count=1)
    other = projects.create_project(
        ctx=ctx, data=ProjectInput(name="Other", code="HR", pm_ids=[PM], timezone="UTC")
    )
    foreign = module(ctx, other, "Foreign")
    add_questions(ctx, other, foreign, count=1)
    deadline = START + timedelta(days=3)
    for on, message in (
        (empty, Msg("training.errors.empty_bank", module="Empty")),
        (sponsors, Msg("training.errors.no_trainees", module="Sponsors")),
        (foreign, Msg("training.errors.module_not_found")),
    ):
        with pytest.raises(ValidationError) as refused:
            quiz(ctx, project, on, deadline)
        assert refused.value.errors == {"module": message}
    with pytest.raises(ValidationError) as refused:
        quiz(ctx, project, sponsors, deadline, remind_hours=5)
    assert refused.value.errors["remind_hours"] == Msg("errors.choice", choices="0, 2, 24")
    with pytest.raises(PermissionDenied) as denied:
        quiz(as_user(ctx, ANNA), project, sponsors, deadline)
    assert denied.value.reason == Msg("training.errors.not_team", code="ERP")


def test_taking_a_quiz_scores_at_the_pass_mark_and_says_why_it_cannot(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    basics = module(ctx, project, "Basics", pass_mark=50)
    add_questions(ctx, project, basics, count=2)
    round_ = quiz(ctx, project, basics, START + timedelta(days=3))
    single, multiple = training_quizzes.quiz_questions(ctx, round_)
    required = Msg("errors.required")
    for raw in (
        {f"q{single.id}": "3", f"q{multiple.id}": ["0"]},  # three options: 0 to 2
        {f"q{single.id}": "12", f"q{multiple.id}": ["0"]},
        {f"q{single.id}": "", f"q{multiple.id}": ["0"]},
    ):
        with pytest.raises(ValidationError) as refused:
            training_quizzes.submit_quiz(
                ctx=as_user(ctx, ANNA), quiz_id=round_.id, user_id=ANNA, raw=raw
            )
        assert refused.value.errors == {f"q{single.id}": required}, raw
    _r, attempt, _q = training_quizzes.submit_quiz(
        ctx=as_user(ctx, ANNA),
        quiz_id=round_.id,
        user_id=ANNA,
        raw={f"q{single.id}": "0", f"q{multiple.id}": ["2"]},
    )
    assert (attempt.score, attempt.passed, attempt.submitted_at) == (50, True, START)
    assert attempt.answers == {str(single.id): [0], str(multiple.id): [2]}
    entry = last_entry(ctx, "training.quiz_taken")
    assert (entry.project_id, entry.key_user_id, entry.touchpoint, entry.actor_id) == (
        project.id,
        attempt.key_user_id,
        True,
        ANNA,
    )
    assert entry.detail == {"quiz_id": round_.id, "score": 50, "passed": True}
    reasons = {
        ANNA: Msg("training.errors.quiz_taken", score=50),
        OUTSIDER: Msg("training.errors.quiz_not_yours"),
    }
    for user, reason in reasons.items():
        with pytest.raises(PermissionDenied) as denied:
            training_quizzes.quiz_for_taker(ctx, round_.id, user)
        assert denied.value.reason == reason
    clock.set(round_.deadline)
    with pytest.raises(PermissionDenied) as denied:
        training_quizzes.quiz_for_taker(ctx, round_.id, BEN)
    assert denied.value.reason == Msg("training.errors.quiz_closed")


def test_a_quiz_not_yet_due_for_its_reminder_does_not_hold_up_the_others(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    basics = module(ctx, project, "Basics")
    add_questions(ctx, project, basics, count=1)
    deadline = START + timedelta(days=3)
    short = quiz(ctx, project, basics, deadline, remind_hours=2)
    long = quiz(ctx, project, basics, deadline + timedelta(hours=1), remind_hours=24)
    deliver_all(ctx, short)
    deliver_all(ctx, long)
    clock.set(deadline - timedelta(hours=23))
    reminded = training_quizzes.remind_quizzes(ctx=ctx, messages=MESSAGES)
    assert {key.split(":")[2] for key in reminded} == {str(long.id)}
    assert (short.reminded_at, long.reminded_at) == (None, clock.now())
