"""Poll rules against the database: figures on known answers, validation, periods, scheduling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.clock import MovableClock
from bot.errors import PermissionDenied, ValidationError
from bot.services import keyusers as keyuser_service
from bot.services import poll_closing, poll_results
from bot.services import polls as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views.polls import MESSAGES
from storage.models import PollStatus, Project
from tests.conftest import KEY_USERS, PM, START

START_OF_TEST = START


@pytest.fixture
def project(ctx: Ctx) -> Project:
    project = project_service.create_project(
        ctx=ctx,
        data=project_service.ProjectInput(name="ERP", code="ERP", pm_ids=[PM]),
    )
    for user_id in KEY_USERS:
        keyuser_service.add_key_user(
            ctx=ctx, project=project, data=keyuser_service.KeyUserInput(user_id=user_id)
        )
    return project


def test_csat_and_nps_follow_their_definitions() -> None:
    assert poll_results.csat([5, 4, 4, 2, 1]) == pytest.approx(60.0)
    assert poll_results.nps([10, 9, 8, 7, 6, 0]) == pytest.approx(0.0)
    assert poll_results.nps([10, 10, 9, 3]) == pytest.approx(50.0)
    assert poll_results.csat([]) is None and poll_results.nps([]) is None


def test_figures_on_known_answers(ctx: Ctx, project: Project) -> None:
    poll, _keys = service.create_poll(
        ctx=ctx,
        project=project,
        data=service.PollInput(
            title="Pulse",
            questions=[
                service.QuestionInput("rating", "Satisfied?"),
                service.QuestionInput("nps", "Recommend?"),
                service.QuestionInput("multiple", "Which?", ["A", "B", "C"], required=False),
            ],
        ),
        messages=MESSAGES,
    )
    rating, nps, multiple = service.questions_of(ctx, poll)
    answers = [(5, 10, ["0"]), (4, 9, ["0", "2"]), (3, 7, []), (1, 0, ["1"])]
    for user_id, (r, n, m) in zip(KEY_USERS, answers, strict=False):
        service.submit_answers(
            ctx=ctx,
            poll_id=poll.id or 0,
            user_id=user_id,
            raw={f"q{rating.id}": str(r), f"q{nps.id}": str(n), f"q{multiple.id}": m},
        )
    figures = poll_results.compute(ctx, poll)
    assert (figures.invited, figures.answered) == (6, 4)
    assert figures.response_rate == pytest.approx(66.666, rel=1e-3)
    assert figures.csat == pytest.approx(50.0)  # 5 and 4 of 5, 4, 3, 1
    assert figures.nps == pytest.approx(25.0)  # promoters 10, 9; detractor 0; passive 7
    assert figures.average == pytest.approx(3.25)
    by_question = {f.question.id: f for f in figures.questions}
    assert by_question[multiple.id].distribution == [("A", 2), ("B", 1), ("C", 1)]
    assert by_question[rating.id].distribution[-1] == ("5", 1)
    assert sorted(figures.not_answered or []) == sorted(KEY_USERS[4:])


def test_answers_are_validated_and_only_the_audience_answers(ctx: Ctx, project: Project) -> None:
    poll, _keys = service.create_poll(
        ctx=ctx,
        project=project,
        data=service.PollInput(
            title="Pulse",
            audience_kind="people",
            audience_people=[KEY_USERS[0]],
            questions=[service.QuestionInput("single", "Pick", ["X", "Y"])],
        ),
        messages=MESSAGES,
    )
    [question] = service.questions_of(ctx, poll)
    with pytest.raises(ValidationError) as error:
        service.submit_answers(
            ctx=ctx, poll_id=poll.id or 0, user_id=KEY_USERS[0], raw={f"q{question.id}": "7"}
        )
    assert set(error.value.errors) == {f"q{question.id}"}
    with pytest.raises(PermissionDenied):
        service.submit_answers(
            ctx=ctx, poll_id=poll.id or 0, user_id=KEY_USERS[1], raw={f"q{question.id}": "1"}
        )


def test_settings_are_checked(ctx: Ctx, project: Project) -> None:
    now = ctx.now()
    with pytest.raises(ValidationError) as error:
        service.clean_settings(
            ctx,
            service.PollInput(
                title="",
                audience_kind="quadrant",
                opens_at=now - timedelta(days=1),
                closes_at=now - timedelta(days=1),
            ),
        )
    assert set(error.value.errors) == {"title", "audience_quadrants", "opens_at", "closes_at"}
    with pytest.raises(ValidationError) as error:
        service.clean_settings(
            ctx,
            service.PollInput(
                title="Weekly", recurrence="weekly", closes_at=now + timedelta(days=10)
            ),
        )
    assert set(error.value.errors) == {"closes_at"}


def test_templates_give_their_questions() -> None:
    training = service.template_questions("en", "training_feedback")
    assert [q.kind for q in training] == ["rating", "rating", "single", "text"]
    assert training[2].options == ["Too slow", "Just right", "Too fast"]
    assert service.template_questions("zh-CN", "monthly_satisfaction")[0].text.endswith("？")


def test_periods_keep_the_day_of_month() -> None:
    moment = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
    assert service.add_period(moment, "monthly") == datetime(2027, 2, 28, 9, 0, tzinfo=UTC)
    assert service.add_period(moment, "quarterly") == datetime(2027, 4, 30, 9, 0, tzinfo=UTC)
    assert service.add_period(moment, "weekly") == moment + timedelta(days=7)


def test_a_poll_opening_later_waits_for_its_time(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    opens = clock.now() + timedelta(days=2)
    poll, keys = service.create_poll(
        ctx=ctx,
        project=project,
        data=service.PollInput(
            title="Later",
            opens_at=opens,
            questions=[service.QuestionInput("rating", "Satisfied?")],
        ),
        messages=MESSAGES,
    )
    assert (poll.status, keys) == (PollStatus.SCHEDULED, [])
    assert poll.closes_at == opens + timedelta(days=service.DEFAULT_OPEN_DAYS)
    assert service.open_due(ctx=ctx, messages=MESSAGES) == []
    clock.set(opens)
    assert len(service.open_due(ctx=ctx, messages=MESSAGES)) == 6
    assert service.open_due(ctx=ctx, messages=MESSAGES) == []
    assert poll.status == PollStatus.OPEN


def test_opening_reminding_and_closing_take_the_same_statements_for_6_or_36_people(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    """Invitations, reminders and "closed" updates are queued in one insert each, and the
    invitations' messages read in one query: the statements do not grow with the audience."""
    from sqlalchemy import event, update

    from storage.models import OutboxMessage

    crowd = project_service.create_project(
        ctx=ctx, data=project_service.ProjectInput(name="Crowd", code="CROWD", pm_ids=[PM])
    )
    for index in range(36):
        keyuser_service.add_key_user(
            ctx=ctx,
            project=crowd,
            data=keyuser_service.KeyUserInput(user_id=f"UCROWD{index:04d}"),
        )

    def statements(work) -> int:  # type: ignore[no-untyped-def]
        seen: list[str] = []

        def count(*_args: object) -> None:
            seen.append("statement")

        engine = ctx.session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            work()
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    def life_of_a_poll(of: Project) -> list[int]:
        clock.set(START_OF_TEST)
        data = service.PollInput(
            title=f"Pulse {of.code}",
            opens_at=START_OF_TEST + timedelta(hours=1),
            questions=[service.QuestionInput("rating", "Satisfied?")],
        )
        poll, _keys = service.create_poll(ctx=ctx, project=of, data=data, messages=MESSAGES)
        clock.set(START_OF_TEST + timedelta(hours=1))
        opened = statements(lambda: service.open_poll(ctx=ctx, poll=poll, messages=MESSAGES))
        ctx.session.execute(  # every invitation delivered, as the sender would mark it
            update(OutboxMessage)
            .where(OutboxMessage.subject == service.subject(poll))
            .values(status="sent", channel="D0CHANNEL", ts="1.000")
        )
        clock.set(poll.closes_at - timedelta(hours=23))
        reminded = statements(lambda: service.remind_due(ctx=ctx, messages=MESSAGES))
        closed = statements(lambda: poll_closing.close_poll(ctx=ctx, poll=poll, messages=MESSAGES))
        people = len(service.participants_of(ctx, poll))
        rows = ctx.session.exec(
            select(OutboxMessage).where(OutboxMessage.subject == service.subject(poll))
        ).all()
        assert len([r for r in rows if ":remind:" in r.key]) == people
        assert len([r for r in rows if ":closed:" in r.key]) == people
        return [opened, reminded, closed]

    assert life_of_a_poll(crowd) == life_of_a_poll(project)
