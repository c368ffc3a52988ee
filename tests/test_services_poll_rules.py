"""Polls at the service level, on known answers: the scales' edges, the figures of every kind of
question, rounds of a series, undelivered invitations and what an anonymous poll gives out; then
a poll's life field by field (created, opened, answered, closed, its next round), the ballot box
and the chart's upload (found by mutation testing to be unguarded)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot import charts
from bot.clock import MovableClock
from bot.errors import Msg, PermissionDenied, ValidationError
from bot.i18n import plain
from bot.services import keyusers as keyuser_service
from bot.services import poll_closing, poll_results
from bot.services import polls as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views.polls import MESSAGES
from storage.models import (
    BallotBox,
    Interaction,
    OutboxMessage,
    Poll,
    PollQuestion,
    PollResponse,
    PollStatus,
    Project,
    QuestionKind,
)
from storage.models.outbox import OutboxStatus
from tests.conftest import KEY_USERS, OUTSIDER, PM

Q = service.QuestionInput


@pytest.fixture
def project(ctx: Ctx) -> Project:
    project = project_service.create_project(
        ctx=ctx, data=project_service.ProjectInput(name="ERP", code="ERP", pm_ids=[PM])
    )
    for user_id in KEY_USERS:
        keyuser_service.add_key_user(
            ctx=ctx, project=project, data=keyuser_service.KeyUserInput(user_id=user_id)
        )
    return project


def new_poll(
    ctx: Ctx, project: Project, *questions: service.QuestionInput, **settings: Any
) -> Poll:
    data = service.PollInput(title="Pulse", questions=list(questions), **settings)
    poll, _keys = service.create_poll(ctx=ctx, project=project, data=data, messages=MESSAGES)
    return poll


def answer(ctx: Ctx, poll: Poll, user_id: str, *values: Any) -> None:
    questions = service.questions_of(ctx, poll)
    raw = {f"q{q.id}": value for q, value in zip(questions, values, strict=True)}
    service.submit_answers(ctx=ctx, poll_id=poll.id or 0, user_id=user_id, raw=raw)


def test_the_scales_edges() -> None:
    assert poll_results.csat([4]) == 100.0 and poll_results.csat([3]) == 0.0
    assert poll_results.nps([9]) == 100.0 and poll_results.nps([8]) == 0.0
    assert poll_results.nps([7]) == 0.0 and poll_results.nps([6]) == -100.0
    assert poll_results.average([1, 2]) == 1.5 and poll_results.average([]) is None


def test_what_an_anonymous_poll_gives_out_depends_on_answers_and_closing() -> None:
    named = Poll(id=7, anonymous=False, status=PollStatus.OPEN)
    assert poll_results.disclosure(named, 1) == poll_results.Disclosure(figures=True, rows=True)
    anonymous = Poll(id=7, anonymous=True, status=PollStatus.OPEN)
    few = Msg("poll.errors.export_few", minimum=3)
    is_open = Msg("poll.errors.export_open")
    for answers in (1, 2):
        assert poll_results.disclosure(anonymous, answers) == poll_results.Disclosure(
            figures=False, rows=False, reason=few
        )
    for answers in (0, 3):
        assert poll_results.disclosure(anonymous, answers) == poll_results.Disclosure(
            figures=True, rows=False, reason=is_open
        )
    anonymous.status = PollStatus.CLOSED
    assert poll_results.disclosure(anonymous, 2).reason == few
    for answers in (0, 3):
        assert poll_results.disclosure(anonymous, answers) == poll_results.Disclosure(
            figures=True, rows=True
        )


def test_figures_of_every_kind_of_question(ctx: Ctx, project: Project) -> None:
    poll = new_poll(
        ctx,
        project,
        Q("rating", "Satisfied?"),
        Q("rating", "Supported?", required=False),
        Q("nps", "Recommend?"),
        Q("single", "Pace?", ["Slow", "Right", "Fast"]),
        Q("multiple", "Which?", ["A", "B"], required=False),
        Q("text", "Anything else?", required=False),
    )
    answer(ctx, poll, KEY_USERS[0], "5", "2", "10", "1", ["0", "1"], "apples")
    answer(ctx, poll, KEY_USERS[1], "4", "", "6", "1", ["1"], "Bananas")
    answer(ctx, poll, KEY_USERS[2], "1", "3", "8", "0", [], "")
    figures = poll_results.compute(ctx, poll)
    satisfied, supported, recommend, pace, which, other = figures.questions
    assert satisfied.answered == 3 and supported.answered == 2 and other.answered == 2
    assert satisfied.distribution == [("1", 1), ("2", 0), ("3", 0), ("4", 1), ("5", 1)]
    assert (satisfied.average, satisfied.csat, satisfied.nps) == (
        pytest.approx(10 / 3),
        pytest.approx(200 / 3),
        None,
    )
    assert (supported.average, supported.csat) == (2.5, 0.0)
    assert recommend.distribution == [(str(v), int(v in (6, 8, 10))) for v in range(11)]
    assert (recommend.average, recommend.nps, recommend.csat) == (8.0, 0.0, None)
    assert pace.distribution == [("Slow", 1), ("Right", 2), ("Fast", 0)]
    assert which.distribution == [("A", 1), ("B", 2)]
    assert other.texts == ["apples", "Bananas"]  # by letter, whatever the case
    assert (pace.average, pace.texts, other.distribution) == (None, [], [])
    # The poll's own figures pool every rating question (and every NPS question).
    assert figures.csat == pytest.approx(40.0)  # 5 and 4 of 5, 2, 4, 1, 3
    assert figures.average == pytest.approx(3.0)
    assert figures.nps == pytest.approx(0.0)
    assert figures.withheld is False


def test_who_has_not_answered_is_named_or_only_counted(ctx: Ctx, project: Project) -> None:
    named = new_poll(ctx, project, Q("rating", "Satisfied?"))
    anonymous = new_poll(
        ctx, project, Q("rating", "Satisfied?"), Q("nps", "Recommend?"), anonymous=True
    )
    answer(ctx, named, KEY_USERS[1], "5")
    answer(ctx, anonymous, KEY_USERS[1], "5", "10")
    figures = poll_results.compute(ctx, named)
    assert (figures.invited, figures.answered, figures.not_answered_count) == (6, 1, 5)
    assert figures.not_answered == [u for u in KEY_USERS if u != KEY_USERS[1]]
    assert figures.response_rate == pytest.approx(100 / 6)
    figures = poll_results.compute(ctx, anonymous)
    assert (figures.not_answered, figures.not_answered_count, figures.answered) == (None, 5, 1)
    assert figures.withheld is True
    assert (figures.questions, figures.csat, figures.nps, figures.average) == ([], None, None, None)
    for user_id in KEY_USERS[2:4]:
        answer(ctx, anonymous, user_id, "4", "10")
    figures = poll_results.compute(ctx, anonymous)
    assert (figures.withheld, figures.csat, figures.nps) == (False, 100.0, 100.0)
    assert [q.answered for q in figures.questions] == [3, 3]


def test_invitations_never_delivered_are_listed_with_slacks_reason(
    ctx: Ctx, project: Project
) -> None:
    poll = new_poll(ctx, project, Q("rating", "Satisfied?"))
    other = new_poll(ctx, project, Q("rating", "Satisfied?"))
    rows = {row.key: row for row in ctx.session.exec(select(OutboxMessage)).all()}
    for key, error in (
        (service.invite_key(poll, KEY_USERS[1]), "user_not_found"),
        (service.invite_key(poll, KEY_USERS[2]), None),
        (service.invite_key(other, KEY_USERS[3]), "account_inactive"),
    ):
        rows[key].status = OutboxStatus.FAILED
        rows[key].error = error
    ctx.session.add(
        OutboxMessage(
            team_id=ctx.team_id,
            key=f"poll:{poll.id}:remind:{KEY_USERS[4]}",
            method="chat.postMessage",
            payload={},
            status=OutboxStatus.FAILED,
            error="channel_not_found",
            created_at=ctx.now(),
            next_attempt_at=ctx.now(),
            expires_at=poll.closes_at,
            subject=service.subject(poll),
        )
    )
    ctx.session.flush()
    assert sorted(poll_results.delivery_failures(ctx, poll)) == [
        (KEY_USERS[1], "user_not_found"),
        (KEY_USERS[2], ""),
    ]
    assert poll_results.compute(ctx, other).failures == [(KEY_USERS[3], "account_inactive")]


def test_the_trend_has_every_opened_round_of_the_series_oldest_first(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    new_poll(ctx, project, Q("rating", "Satisfied?"))  # another series
    first = new_poll(
        ctx, project, Q("rating", "Satisfied?"), Q("nps", "Recommend?"), recurrence="weekly"
    )
    answer(ctx, first, KEY_USERS[0], "5", "10")
    answer(ctx, first, KEY_USERS[1], "3", "3")
    answer(ctx, first, KEY_USERS[2], "4", "9")
    clock.advance(timedelta(days=8))
    poll_closing.close_due(ctx=ctx, messages=MESSAGES)
    [second] = service.create_next_rounds(ctx=ctx)
    assert second.status == PollStatus.SCHEDULED
    assert [r.round_number for r in poll_results.compute(ctx, second).trend] == [1]
    service.open_due(ctx=ctx, messages=MESSAGES)
    answer(ctx, second, KEY_USERS[0], "2", "0")
    trend = poll_results.compute(ctx, second).trend
    assert [(r.round_number, r.status, r.opens_at) for r in trend] == [
        (1, PollStatus.CLOSED, first.opens_at),
        (2, PollStatus.OPEN, second.opens_at),
    ]
    assert trend[0].response_rate == pytest.approx(50.0)
    assert (trend[0].csat, trend[0].nps, trend[0].average) == (
        pytest.approx(200 / 3),
        pytest.approx(100 / 3),
        pytest.approx(4.0),
    )
    assert (trend[1].csat, trend[1].nps, trend[1].average) == (0.0, -100.0, 2.0)
    assert trend[1].response_rate == pytest.approx(100 / 6)
    assert [r.round_number for r in poll_results.trend(ctx, first)] == [1]


def test_results_and_exports_are_for_the_projects_pms(ctx: Ctx, project: Project) -> None:
    poll = new_poll(ctx, project, Q("rating", "Satisfied?"))
    assert poll_results.results_for_pm(ctx, f"#{poll.id}").poll is poll
    outsider = Ctx(session=ctx.session, team_id=ctx.team_id, actor_id=OUTSIDER, clock=ctx.clock)
    with pytest.raises(PermissionDenied):
        poll_results.results_for_pm(outsider, poll.id or 0)
    with pytest.raises(PermissionDenied):
        poll_results.export_csv(outsider, poll.id or 0)


def test_a_named_export_has_one_row_per_person_in_id_order(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    poll = new_poll(
        ctx,
        project,
        Q("rating", "Satisfied?"),
        Q("single", "Pace?", ["Slow", "Right"]),
        Q("multiple", "Which?", ["A", "B", "C"], required=False),
        Q("text", "Else?", required=False),
    )
    answer(ctx, poll, KEY_USERS[2], "5", "1", ["0", "2"], "=1+1")
    clock.advance(timedelta(minutes=90, seconds=30))
    answer(ctx, poll, KEY_USERS[0], "3", "0", [], "")
    found, content = poll_results.export_csv(ctx, poll.id or 0)
    assert found is poll
    assert content.splitlines() == [
        "round,slack_user,answered_at,Satisfied?,Pace?,Which?,Else?",
        f"1,{KEY_USERS[0]},2026-12-01T09:30+00:00,3,Slow,,",
        f"1,{KEY_USERS[2]},2026-12-01T08:00+00:00,5,Right,A; C,'=1+1",
    ]
    entry = ctx.session.exec(select(Interaction).order_by(col(Interaction.id))).all()[-1]
    assert (entry.kind, entry.project_id, entry.detail) == (
        "poll.exported",
        project.id,
        {"poll_id": poll.id, "rows": 2},
    )


def test_an_anonymous_export_waits_for_closing_and_names_nobody(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    poll = new_poll(
        ctx,
        project,
        Q("single", "Pace?", ["Slow", "Right"]),
        Q("multiple", "Which?", ["A", "B"], required=False),
        anonymous=True,
    )
    answer(ctx, poll, KEY_USERS[0], "1", ["0", "1"])
    with pytest.raises(PermissionDenied) as refused:
        poll_results.export_csv(ctx, poll.id or 0)
    assert refused.value.reason == Msg("poll.errors.export_few", minimum=3)
    answer(ctx, poll, KEY_USERS[1], "0", [])
    answer(ctx, poll, KEY_USERS[2], "1", ["1"])
    with pytest.raises(PermissionDenied) as refused:
        poll_results.export_csv(ctx, poll.id or 0)
    assert refused.value.reason == Msg("poll.errors.export_open")
    poll_closing.close_by_pm(ctx=ctx, poll_id=poll.id or 0, messages=MESSAGES)
    _poll, content = poll_results.export_csv(ctx, poll.id or 0)
    assert content.splitlines() == [
        "round,Pace?,Which?",
        "1,Right,A; B",
        "1,Right,B",
        "1,Slow,",
    ]
    entry = ctx.session.exec(select(Interaction).order_by(col(Interaction.id))).all()[-1]
    assert (entry.kind, entry.detail) == ("poll.exported", {"poll_id": poll.id, "rows": 3})


def test_a_poll_nobody_was_invited_to_has_a_response_rate_of_zero(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    sponsor = keyuser_service.active_key_users(ctx, project)[0]
    keyuser_service.update_key_user(
        ctx=ctx, key_user=sponsor, data=keyuser_service.KeyUserInput(role="sponsor")
    )
    poll = new_poll(
        ctx,
        project,
        Q("rating", "Satisfied?"),
        audience_kind="role",
        audience_roles=["sponsor"],
        opens_at=clock.now() + timedelta(days=1),
    )
    assert poll_results.compute(ctx, poll).response_rate == 0.0  # not open yet
    keyuser_service.remove_key_user(ctx=ctx, key_user=sponsor)
    clock.advance(timedelta(days=1))
    assert service.open_due(ctx=ctx, messages=MESSAGES) == []  # opened, to nobody
    figures = poll_results.compute(ctx, poll)
    assert (figures.poll.status, figures.invited, figures.response_rate) == (
        PollStatus.OPEN,
        0,
        0.0,
    )
    assert [(r.round_number, r.response_rate) for r in figures.trend] == [(1, 0.0)]


# What a PM may type into the poll modal and a key user into the answer form.


def test_a_question_is_checked_as_typed(ctx: Ctx) -> None:
    cleaned = service.clean_question(Q("rating", "  Satisfied?  ", ["ignored"], required=True))
    assert cleaned == Q("rating", "Satisfied?", [], True)
    assert service.clean_question(Q("text", "t" * 300, required=False)).required is False
    cases = [
        (Q("slider", "Q"), "question_kind", Msg("errors.choice", choices=", ".join(QuestionKind))),
        (Q("text", "  "), "question_text", Msg("errors.required")),
        (Q("text", None), "question_text", Msg("errors.required")),  # type: ignore[arg-type]
        (Q("text", "t" * 301), "question_text", Msg("errors.too_long", limit=300)),
        (
            Q("single", "Q", ["A", " ", ""]),
            "question_options",
            Msg("poll.errors.options_count", limit=10),
        ),
        (
            Q("single", "Q", list("ABCDEFGHIJK")),
            "question_options",
            Msg("poll.errors.options_count", limit=10),
        ),
        (Q("multiple", "Q", ["A", "o" * 76]), "question_options", Msg("errors.too_long", limit=75)),
        (Q("multiple", "Q", ["A", " A"]), "question_options", Msg("poll.errors.options_unique")),
    ]
    for question, field, message in cases:
        with pytest.raises(ValidationError) as refused:
            service.clean_question(question)
        assert refused.value.errors == {field: message}, question
    ten = service.clean_question(Q("single", "Q", [" A ", "", "  ", *"BCDEFGHIJ"]))
    assert ten.options == list("ABCDEFGHIJ")
    assert service.clean_question(Q("multiple", "Q", ["A", "o" * 75])).options == ["A", "o" * 75]


def test_answers_are_checked_against_each_questions_scale(ctx: Ctx) -> None:
    rating, nps, single, multiple, text = (
        PollQuestion(id=index, kind=kind, options=["A", "B"] if index in (3, 4) else [])
        for index, kind in enumerate(("rating", "nps", "single", "multiple", "text"), start=1)
    )
    questions = [rating, nps, single, multiple, text]
    good = {"q1": "1", "q2": "0", "q3": "1", "q4": ["1", "0", "1"], "q5": " " + "t" * 2000 + " "}
    assert service.clean_answers(questions, good) == {
        "1": 1,
        "2": 0,
        "3": 1,
        "4": [0, 1],
        "5": "t" * 2000,
    }
    assert service.clean_answers(questions, {**good, "q1": "5", "q2": "10"})["2"] == 10
    bad = Msg("poll.errors.bad_answer")
    for raw, field in (
        ({"q1": "0"}, "q1"),
        ({"q1": "6"}, "q1"),
        ({"q2": "11"}, "q2"),
        ({"q2": "-1"}, "q2"),
        ({"q3": "2"}, "q3"),
        ({"q3": "x"}, "q3"),
        ({"q4": ["2"]}, "q4"),
    ):
        with pytest.raises(ValidationError) as refused:
            service.clean_answers(questions, {**good, **raw})
        assert refused.value.errors == {field: bad}, raw
    with pytest.raises(ValidationError) as refused:
        service.clean_answers(questions, {**good, "q5": "t" * 2001})
    assert refused.value.errors == {"q5": Msg("errors.too_long", limit=2000)}
    with pytest.raises(ValidationError) as refused:
        service.clean_answers(questions, {"q2": "", "q5": "   "})
    assert refused.value.errors == {
        f"q{index}": Msg("errors.required") for index in (1, 2, 3, 4, 5)
    }
    assert service.clean_answers(questions, {"q5": "   "}, partial=True) == {}


def test_an_audience_keeps_only_known_roles_quadrants_and_people(ctx: Ctx) -> None:
    assert service.clean_audience("role", ["sponsor", "boss"], [], []) == (["sponsor"], {})
    assert service.clean_audience("quadrant", [], ["monitor", "bogus"], []) == (["monitor"], {})
    assert service.clean_audience("quadrant", [], ["bogus"], []) == (
        [],
        {"audience_quadrants": Msg("poll.errors.audience_quadrants")},
    )
    assert service.clean_audience("people", [], [], ["U1", "", "U1", "U2"]) == (["U1", "U2"], {})
    assert service.clean_audience("everyone", [], [], []) == (
        [],
        {"audience_kind": Msg("errors.choice", choices=", ".join(service.AUDIENCE_KINDS))},
    )


def test_a_period_crosses_the_year_and_keeps_the_end_of_the_month() -> None:
    moment = datetime(2027, 11, 30, 9, 0, tzinfo=UTC)
    assert service.add_period(moment, "quarterly") == datetime(2028, 2, 29, 9, 0, tzinfo=UTC)
    assert service.add_period(moment, "monthly") == datetime(2027, 12, 30, 9, 0, tzinfo=UTC)
    december = datetime(2027, 12, 15, 9, 0, tzinfo=UTC)
    assert service.add_period(december, "monthly") == datetime(2028, 1, 15, 9, 0, tzinfo=UTC)
    assert service.add_period(moment, "none") == moment


def test_a_polls_settings_at_their_limits(ctx: Ctx, clock: MovableClock) -> None:
    now = clock.now()

    def refused(**fields: Any) -> dict[str, object]:
        with pytest.raises(ValidationError) as refusal:
            service.clean_settings(ctx, service.PollInput(**{"title": "Pulse", **fields}))
        return dict(refusal.value.errors)

    opens, closes, values = service.clean_settings(
        ctx, service.PollInput(title="t" * 150, intro="i" * 2000, remind_hours=None)
    )
    assert (opens, closes, values) == (now, now + timedelta(days=7), [])
    assert refused(title="t" * 151) == {"title": Msg("errors.too_long", limit=150)}
    assert refused(title=" ") == {"title": Msg("errors.required")}
    assert refused(intro="i" * 2001) == {"intro": Msg("errors.too_long", limit=2000)}
    _o, _c, roles = service.clean_settings(
        ctx, service.PollInput(title="Pulse", audience_kind="role", audience_roles=["sponsor"])
    )
    assert roles == ["sponsor"]
    late = now - timedelta(minutes=5)
    assert service.clean_settings(ctx, service.PollInput(title="Pulse", opens_at=late))[0] == late
    assert refused(opens_at=late - timedelta(seconds=1)) == {
        "opens_at": Msg("poll.errors.opens_past")
    }
    assert refused(closes_at=now + timedelta(hours=1)) == {
        "closes_at": Msg("poll.errors.closes_before")
    }
    assert service.clean_settings(
        ctx, service.PollInput(title="Pulse", closes_at=now + timedelta(hours=1, minutes=1))
    )
    week = now + timedelta(days=7)
    assert service.clean_settings(
        ctx, service.PollInput(title="Pulse", recurrence="weekly", closes_at=week)
    )
    assert refused(recurrence="weekly", closes_at=week + timedelta(minutes=1)) == {
        "closes_at": Msg("poll.errors.longer_than_period")
    }
    assert refused(recurrence="daily") == {
        "recurrence": Msg("errors.choice", choices="none, weekly, monthly, quarterly")
    }
    assert refused(remind_hours=5) == {"remind_hours": Msg("errors.choice", choices="0, 2, 24, 48")}
    for hours in (0, 2, 24, 48):
        assert service.clean_settings(ctx, service.PollInput(title="Pulse", remind_hours=hours))


# Creating, opening, answering, closing and the next round, field by field.


def outbox_rows(ctx: Ctx, poll: Poll) -> dict[str, OutboxMessage]:
    rows = ctx.session.exec(select(OutboxMessage).where(OutboxMessage.subject == f"poll:{poll.id}"))
    return {row.key: row for row in rows}


def entries(ctx: Ctx, kind: str) -> list[Interaction]:
    return list(
        ctx.session.exec(
            select(Interaction).where(Interaction.kind == kind).order_by(col(Interaction.id))
        ).all()
    )


def deliver(ctx: Ctx, poll: Poll, *users: str) -> None:
    """The invitations to ``users`` as if Slack had taken them."""
    for user_id in users:
        row = outbox_rows(ctx, poll)[service.invite_key(poll, user_id)]
        row.status, row.channel, row.ts = OutboxStatus.SENT, "D" + user_id[1:], f"{user_id[-1]}.5"
        ctx.session.add(row)
    ctx.session.flush()


def test_a_poll_is_stored_as_typed_with_its_questions_in_order(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    opens = clock.now() + timedelta(days=1)
    data = service.PollInput(
        title="  Pulse  ",
        intro="  Tell us  ",
        template="monthly_satisfaction",
        audience_kind="people",
        audience_people=[KEY_USERS[2], KEY_USERS[0]],
        anonymous=True,
        opens_at=opens,
        closes_at=opens + timedelta(days=2),
        recurrence="weekly",
        remind_hours=0,
        questions=[Q("text", "Why?", required=False), Q("single", "Pace?", ["Slow", "Fast"])],
    )
    poll, keys = service.create_poll(ctx=ctx, project=project, data=data, messages=MESSAGES)
    assert keys == [] and poll.status == PollStatus.SCHEDULED
    assert (poll.title, poll.intro, poll.template, poll.anonymous) == (
        "Pulse",
        "Tell us",
        "monthly_satisfaction",
        True,
    )
    assert (poll.audience_kind, poll.audience_values) == ("people", [KEY_USERS[2], KEY_USERS[0]])
    assert (poll.recurrence, poll.remind_hours, poll.round_number) == ("weekly", None, 1)
    assert (poll.opens_at, poll.closes_at) == (opens, opens + timedelta(days=2))
    assert (poll.created_by, poll.created_at, poll.project_id) == (PM, clock.now(), project.id)
    assert [
        (q.position, q.kind, q.text, q.options, q.required) for q in service.questions_of(ctx, poll)
    ] == [
        (0, "text", "Why?", [], False),
        (1, "single", "Pace?", ["Slow", "Fast"], True),
    ]
    [entry] = entries(ctx, "poll.created")
    assert (entry.project_id, entry.detail) == (
        project.id,
        {"poll_id": poll.id, "title": "Pulse", "anonymous": True, "questions": 2},
    )
    plain_poll = new_poll(ctx, project, Q("rating", "Satisfied?"), intro="  ", remind_hours=2)
    assert (plain_poll.intro, plain_poll.template, plain_poll.remind_hours) == (None, None, 2)
    assert plain_poll.series_id != poll.series_id


def test_a_poll_needs_between_one_and_twelve_questions_and_someone_to_ask(
    ctx: Ctx, project: Project
) -> None:
    def refused(*questions: service.QuestionInput, **settings: Any) -> dict[str, object]:
        with pytest.raises(ValidationError) as refusal:
            new_poll(ctx, project, *questions, **settings)
        return dict(refusal.value.errors)

    assert refused() == {"question_text": Msg("poll.errors.no_questions")}
    thirteen = [Q("rating", f"Q{n}") for n in range(13)]
    assert refused(*thirteen) == {"question_text": Msg("poll.errors.too_many", limit=12)}
    assert refused(Q("rating", "Q"), audience_kind="role", audience_roles=["sponsor"]) == {
        "audience_kind": Msg("poll.errors.audience_empty")
    }
    assert len(service.questions_of(ctx, new_poll(ctx, project, *thirteen[:12]))) == 12
    with pytest.raises(PermissionDenied):
        outsider = Ctx(session=ctx.session, team_id=ctx.team_id, actor_id=OUTSIDER, clock=ctx.clock)
        new_poll(outsider, project, Q("rating", "Q"))
    assert len(ctx.session.exec(select(Poll)).all()) == 1


def test_opening_writes_participants_and_one_invitation_each(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    poll = new_poll(
        ctx,
        project,
        Q("rating", "Satisfied?"),
        audience_kind="people",
        audience_people=[KEY_USERS[3], OUTSIDER, KEY_USERS[1]],
        anonymous=True,
        opens_at=clock.now() + timedelta(hours=1),
    )
    assert service.open_due(ctx=ctx, messages=MESSAGES) == []
    clock.advance(timedelta(hours=1))
    keys = service.open_due(ctx=ctx, messages=MESSAGES)
    assert keys == [service.invite_key(poll, u) for u in (KEY_USERS[3], OUTSIDER, KEY_USERS[1])]
    assert (poll.status, poll.opened_at) == (PollStatus.OPEN, clock.now())
    assert service.open_poll(ctx=ctx, poll=poll, messages=MESSAGES) == []
    by_user = {k.user_id: k.id for k in keyuser_service.active_key_users(ctx, project)}
    assert [(p.user_id, p.key_user_id, p.answered) for p in service.participants_of(ctx, poll)] == [
        (KEY_USERS[1], by_user[KEY_USERS[1]], False),
        (KEY_USERS[3], by_user[KEY_USERS[3]], False),
        (OUTSIDER, None, False),
    ]
    invitation = outbox_rows(ctx, poll)[service.invite_key(poll, OUTSIDER)]
    questions = service.questions_of(ctx, poll)
    assert invitation.payload == {
        "channel": OUTSIDER,
        **MESSAGES.invite("en", poll, questions, project=project),
    }
    assert (invitation.method, invitation.created_at) == ("chat.postMessage", clock.now())
    [box] = ctx.session.exec(select(BallotBox)).all()
    assert (box.poll_id, box.sealed, box.ballots, box.team_id) == (poll.id, False, [], ctx.team_id)
    [entry] = entries(ctx, "poll.opened")
    assert (entry.project_id, entry.detail) == (project.id, {"poll_id": poll.id, "invited": 3})


def test_who_is_asked_follows_the_audience_rule(ctx: Ctx, project: Project) -> None:
    rows = keyuser_service.active_key_users(ctx, project)
    for key_user, (role, influence, interest) in zip(
        rows, [("sponsor", "high", "high"), ("sponsor", "low", "low")], strict=False
    ):
        keyuser_service.update_key_user(
            ctx=ctx,
            key_user=key_user,
            data=keyuser_service.KeyUserInput(role=role, influence=influence, interest=interest),
        )
    ids = {k.user_id: k.id for k in rows}

    def asked(kind: str, values: list[str]) -> list[tuple[str, int | None]]:
        poll = Poll(project_id=project.id, audience_kind=kind, audience_values=values)
        return service.audience(ctx, project, poll)

    assert asked("role", ["sponsor"]) == [(k.user_id, k.id) for k in rows[:2]]
    assert asked("quadrant", ["manage_closely"]) == [(rows[0].user_id, rows[0].id)]
    assert asked("people", [OUTSIDER, rows[5].user_id]) == [
        (OUTSIDER, None),
        (rows[5].user_id, ids[rows[5].user_id]),
    ]
    assert asked("all", []) == [(k.user_id, k.id) for k in rows]


def test_the_people_not_yet_answered_are_listed_by_user_id(ctx: Ctx, project: Project) -> None:
    people = [KEY_USERS[4], KEY_USERS[0], KEY_USERS[2]]
    poll = new_poll(
        ctx, project, Q("rating", "Satisfied?"), audience_kind="people", audience_people=people
    )
    assert [p.user_id for p in service.participants_of(ctx, poll)] == sorted(people)
    assert poll_results.compute(ctx, poll).not_answered == sorted(people)


def test_every_answer_error_is_reported_even_after_a_text_too_long() -> None:
    questions = [
        PollQuestion(id=1, kind="text", options=[]),
        PollQuestion(id=2, kind="rating", options=[]),
        PollQuestion(id=3, kind="text", options=[], required=True),
    ]
    with pytest.raises(ValidationError) as refused:
        service.clean_answers(questions, {"q1": "t" * 2001, "q2": "9"})
    assert refused.value.errors == {
        "q1": Msg("errors.too_long", limit=2000),
        "q2": Msg("poll.errors.bad_answer"),
        "q3": Msg("errors.required"),
    }


def test_a_named_answer_is_stored_and_may_change_until_close(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    poll = new_poll(ctx, project, Q("rating", "Satisfied?"), Q("text", "Why?", required=False))
    rating, why = service.questions_of(ctx, poll)
    raw = {f"q{rating.id}": "4", f"q{why.id}": "fine"}
    outcome = service.submit_answers(ctx=ctx, poll_id=poll.id or 0, user_id=KEY_USERS[1], raw=raw)
    assert (outcome.poll, outcome.edited) == (poll, False)
    clock.advance(timedelta(hours=1))
    raw = {f"q{rating.id}": "2"}
    edited = service.submit_answers(ctx=ctx, poll_id=poll.id or 0, user_id=KEY_USERS[1], raw=raw)
    assert edited.edited is True
    [response] = ctx.session.exec(select(PollResponse)).all()
    key_user_id = service.participant(ctx, poll, KEY_USERS[1]).key_user_id  # type: ignore[union-attr]
    assert (response.user_id, response.key_user_id, response.answers) == (
        KEY_USERS[1],
        key_user_id,
        {str(rating.id): 2},
    )
    assert (response.submitted_at, response.updated_at) == (
        clock.now() - timedelta(hours=1),
        clock.now(),
    )
    assert service.current_answers(ctx, poll, KEY_USERS[1]) == {str(rating.id): 2}
    assert service.current_answers(ctx, poll, KEY_USERS[2]) == {}
    answer(ctx, poll, KEY_USERS[2], "5", "")
    other = new_poll(ctx, project, Q("rating", "Satisfied?"))
    answer(ctx, other, KEY_USERS[1], "1")
    assert service.current_answers(ctx, poll, KEY_USERS[1]) == {str(rating.id): 2}
    assert service.current_answers(ctx, poll, KEY_USERS[2]) == {str(rating.id): 5}
    assert service.participant(ctx, poll, KEY_USERS[1]).answered  # type: ignore[union-attr]
    logged = entries(ctx, "poll.answered")[:2]
    assert [(e.key_user_id, e.touchpoint, e.project_id, e.detail) for e in logged] == [
        (key_user_id, True, project.id, {"poll_id": poll.id, "edited": False}),
        (key_user_id, True, project.id, {"poll_id": poll.id, "edited": True}),
    ]


def test_an_anonymous_ballot_is_final_and_logged_only_at_close(ctx: Ctx, project: Project) -> None:
    poll = new_poll(ctx, project, Q("rating", "Satisfied?"), anonymous=True)
    [rating] = service.questions_of(ctx, poll)
    raw = {f"q{rating.id}": "5"}
    outcome = service.submit_answers(ctx=ctx, poll_id=poll.id or 0, user_id=KEY_USERS[0], raw=raw)
    assert outcome.edited is False
    with pytest.raises(PermissionDenied) as refused:
        service.submit_answers(ctx=ctx, poll_id=poll.id or 0, user_id=KEY_USERS[0], raw=raw)
    assert refused.value.reason == Msg("poll.errors.anonymous_final")
    assert service.ballots_of(ctx, poll) == [{str(rating.id): 5}]
    assert service.current_answers(ctx, poll, KEY_USERS[0]) == {}
    assert ctx.session.exec(select(PollResponse)).all() == []
    assert entries(ctx, "poll.answered") == []
    poll_closing.close_by_pm(ctx=ctx, poll_id=poll.id or 0, messages=MESSAGES)
    key_user_id = service.participant(ctx, poll, KEY_USERS[0]).key_user_id  # type: ignore[union-attr]
    [logged] = entries(ctx, "poll.answered")
    assert (logged.key_user_id, logged.touchpoint, logged.project_id, logged.detail) == (
        key_user_id,
        True,
        project.id,
        {"poll_id": poll.id},
    )


def test_a_full_ballot_box_seals_a_random_half(
    ctx: Ctx, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BOX_SIZE", 2)
    other = new_poll(ctx, project, Q("rating", "Satisfied?"), anonymous=True)
    answer(ctx, other, KEY_USERS[5], "1")
    poll = new_poll(ctx, project, Q("rating", "Satisfied?"), anonymous=True)
    [rating] = service.questions_of(ctx, poll)
    for index, user_id in enumerate(KEY_USERS[:5]):
        raw = {f"q{rating.id}": str(index + 1)}
        service.submit_answers(ctx=ctx, poll_id=poll.id or 0, user_id=user_id, raw=raw)
        boxes = ctx.session.exec(select(BallotBox).where(BallotBox.poll_id == poll.id)).all()
        sizes = sorted((box.sealed, len(box.ballots)) for box in boxes)
        assert (
            sizes
            == [
                [(False, 1)],
                [(False, 2)],
                [(False, 3)],
                [(False, 2), (True, 2)],
                [(False, 3), (True, 2)],
            ][index]
        )
        assert all(box.team_id == ctx.team_id for box in boxes)
    values = sorted(ballot[str(rating.id)] for ballot in service.ballots_of(ctx, poll))
    assert values == [1, 2, 3, 4, 5]
    [other_rating] = service.questions_of(ctx, other)
    assert service.ballots_of(ctx, other) == [{str(other_rating.id): 1}]


def test_answering_needs_an_open_poll_one_was_asked(ctx: Ctx, project: Project) -> None:
    poll = new_poll(
        ctx,
        project,
        Q("rating", "Satisfied?"),
        audience_kind="people",
        audience_people=[KEY_USERS[0]],
    )
    with pytest.raises(PermissionDenied) as refused:
        service.answerable(ctx, poll.id or 0, KEY_USERS[1])
    assert refused.value.reason == Msg("poll.errors.not_asked")
    poll_closing.close_by_pm(ctx=ctx, poll_id=poll.id or 0, messages=MESSAGES)
    with pytest.raises(service.PollClosed) as closed:
        service.answerable(ctx, poll.id or 0, KEY_USERS[0])
    assert closed.value.reason == Msg("poll.errors.closed", title="Pulse")
    with pytest.raises(service.PollClosed) as again:
        poll_closing.close_by_pm(ctx=ctx, poll_id=poll.id or 0, messages=MESSAGES)
    assert again.value.reason == Msg("poll.errors.already_closed", id=poll.id)


def test_closing_updates_each_delivered_invitation_and_withdraws_the_rest(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    poll = new_poll(ctx, project, Q("rating", "Satisfied?"))
    deliver(ctx, poll, KEY_USERS[0], KEY_USERS[1])
    answer(ctx, poll, KEY_USERS[1], "4")
    invitation = outbox_rows(ctx, poll)[service.invite_key(poll, KEY_USERS[2])]
    ctx.session.delete(invitation)  # never queued: nothing to update or withdraw
    ctx.session.flush()
    clock.advance(timedelta(days=7))
    keys = poll_closing.close_due(ctx=ctx, messages=MESSAGES)
    pms = project_service.pm_ids(ctx, project)
    assert keys == [
        f"poll:{poll.id}:closed:{KEY_USERS[0]}",
        f"poll:{poll.id}:closed:{KEY_USERS[1]}",
        *[
            key
            for pm in pms
            for key in (f"poll:{poll.id}:results:{pm}", f"poll:{poll.id}:chart:{pm}")
        ],
    ]
    assert (poll.status, poll.closed_at) == (PollStatus.CLOSED, clock.now())
    rows = outbox_rows(ctx, poll)
    for user_id, answered in ((KEY_USERS[0], False), (KEY_USERS[1], True)):
        update = rows[f"poll:{poll.id}:closed:{user_id}"]
        assert (update.method, update.created_at) == ("chat.update", clock.now())
        assert update.payload == {
            "channel": "D" + user_id[1:],
            "ts": f"{user_id[-1]}.5",
            **MESSAGES.closed("en", poll, answered, project=project),
        }
    ctx.session.expire_all()
    statuses = {
        key: (row.status, row.error)
        for key, row in outbox_rows(ctx, poll).items()
        if ":invite:" in key
    }
    for user_id in KEY_USERS[3:]:
        assert statuses[service.invite_key(poll, user_id)] == (
            OutboxStatus.CANCELLED,
            "poll closed before delivery",
        )
    assert statuses[service.invite_key(poll, KEY_USERS[0])][0] == OutboxStatus.SENT
    figures = poll_results.compute(ctx, poll)
    report = rows[f"poll:{poll.id}:results:{pms[0]}"]
    assert report.payload == {"channel": pms[0], **MESSAGES.results("en", figures, project=project)}
    chart = rows[f"poll:{poll.id}:chart:{pms[0]}"]
    assert chart.method == "files.upload_v2" and chart.payload["channel"] == pms[0]
    [entry] = entries(ctx, "poll.closed")
    assert (entry.project_id, entry.detail) == (project.id, {"poll_id": poll.id, "was_open": True})
    assert poll_closing.close_poll(ctx=ctx, poll=poll, messages=MESSAGES) == []
    assert poll_closing.close_due(ctx=ctx, messages=MESSAGES) == []


def test_a_poll_closed_before_it_opened_sends_no_results(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    poll = new_poll(
        ctx, project, Q("rating", "Satisfied?"), opens_at=clock.now() + timedelta(days=1)
    )
    open_one = new_poll(ctx, project, Q("rating", "Satisfied?"))
    _poll, keys = poll_closing.close_by_pm(ctx=ctx, poll_id=poll.id or 0, messages=MESSAGES)
    assert keys == [] and poll.status == PollStatus.CLOSED
    assert entries(ctx, "poll.closed")[0].detail == {"poll_id": poll.id, "was_open": False}
    assert poll_closing.close_due(ctx=ctx, messages=MESSAGES) == []
    assert open_one.status == PollStatus.OPEN


def test_the_charts_upload_names_the_poll_and_its_round() -> None:
    poll = Poll(
        id=7, title="Pulse", round_number=3, opens_at=datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    )
    project = Project(code="ERP", locale="en", timezone="Europe/Berlin")
    assert poll_closing.chart_payload(project, poll, b"png", "UPM00001") == {
        "channel": "UPM00001",
        "content_base64": "cG5n",
        "filename": "poll-ERP-2026-12-07-round-3.png",  # the day it opened in Berlin, no poll id
        "title": "Pulse, round 3",
        "alt_txt": "Answer distributions and trend of Pulse",
    }


def test_a_pm_closing_a_recurring_poll_ends_the_series(ctx: Ctx, project: Project) -> None:
    poll = new_poll(ctx, project, Q("rating", "Satisfied?"), recurrence="weekly")
    poll_closing.close_by_pm(ctx=ctx, poll_id=f"#{poll.id}", messages=MESSAGES)
    assert poll.recurrence == "none"
    [ended] = entries(ctx, "poll.series_ended")
    assert (ended.project_id, ended.detail) == (project.id, {"poll_id": poll.id})
    assert service.create_next_rounds(ctx=ctx) == []
    outsider = Ctx(session=ctx.session, team_id=ctx.team_id, actor_id=OUTSIDER, clock=ctx.clock)
    other = new_poll(ctx, project, Q("rating", "Satisfied?"))
    with pytest.raises(PermissionDenied):
        poll_closing.close_by_pm(ctx=outsider, poll_id=other.id or 0, messages=MESSAGES)
    assert other.status == PollStatus.OPEN


def test_the_next_round_copies_the_poll_one_period_later(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    first = new_poll(
        ctx,
        project,
        Q("single", "Pace?", ["Slow", "Fast"]),
        Q("text", "Why?", required=False),
        intro="Tell us",
        template="monthly_satisfaction",
        audience_kind="people",
        audience_people=[KEY_USERS[1], KEY_USERS[0]],
        anonymous=True,
        recurrence="monthly",
        remind_hours=2,
        closes_at=clock.now() + timedelta(days=3),
    )
    new_poll(ctx, project, Q("rating", "Satisfied?"))  # closes, but does not recur
    clock.advance(timedelta(days=3))
    poll_closing.close_due(ctx=ctx, messages=MESSAGES)
    clock.advance(timedelta(hours=5))
    new_poll(ctx, project, Q("rating", "Satisfied?"), recurrence="weekly")  # still open
    [second] = service.create_next_rounds(ctx=ctx)
    assert first.next_round_id == second.id
    assert (second.series_id, second.round_number, second.status) == (
        first.series_id,
        2,
        PollStatus.SCHEDULED,
    )
    assert (second.title, second.intro, second.template, second.anonymous) == (
        "Pulse",
        "Tell us",
        "monthly_satisfaction",
        True,
    )
    assert (second.audience_kind, second.audience_values) == (
        "people",
        [KEY_USERS[1], KEY_USERS[0]],
    )
    assert (second.recurrence, second.remind_hours, second.created_by) == ("monthly", 2, PM)
    assert (second.opens_at, second.closes_at, second.created_at) == (
        datetime(2027, 1, 1, 8, 0, tzinfo=UTC),
        datetime(2027, 1, 4, 8, 0, tzinfo=UTC),
        clock.now(),
    )
    assert (second.project_id, second.team_id) == (project.id, ctx.team_id)
    assert [
        (q.position, q.kind, q.text, q.options, q.required)
        for q in service.questions_of(ctx, second)
    ] == [
        (0, "single", "Pace?", ["Slow", "Fast"], True),
        (1, "text", "Why?", [], False),
    ]
    [entry] = entries(ctx, "poll.round_scheduled")
    assert (entry.project_id, entry.detail) == (project.id, {"poll_id": second.id, "round": 2})
    assert service.create_next_rounds(ctx=ctx) == []


def test_a_round_closed_late_skips_the_periods_already_gone(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    start = clock.now()
    first = new_poll(
        ctx,
        project,
        Q("rating", "Satisfied?"),
        recurrence="weekly",
        closes_at=start + timedelta(days=2),
    )
    clock.advance(timedelta(days=9))  # the jobs were down: closed a week late
    poll_closing.close_due(ctx=ctx, messages=MESSAGES)
    [second] = service.create_next_rounds(ctx=ctx)
    # A week on would close on day 9, when this one closed: two weeks on instead.
    assert (second.opens_at, second.closes_at) == (
        start + timedelta(days=14),
        start + timedelta(days=16),
    )
    assert first.next_round_id == second.id


def test_a_pm_closing_a_one_off_poll_ends_no_series(ctx: Ctx, project: Project) -> None:
    poll = new_poll(ctx, project, Q("rating", "Satisfied?"))
    poll_closing.close_by_pm(ctx=ctx, poll_id=poll.id or 0, messages=MESSAGES)
    assert entries(ctx, "poll.series_ended") == []


def test_the_jobs_open_and_close_every_poll_due_and_only_those(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    later = clock.now() + timedelta(days=1)
    first = new_poll(ctx, project, Q("rating", "Q"), opens_at=later)
    second = new_poll(
        ctx,
        project,
        Q("rating", "Q"),
        audience_kind="people",
        audience_people=[KEY_USERS[0]],
        opens_at=later,
    )
    missed = new_poll(  # the jobs were down for the whole of its window
        ctx, project, Q("rating", "Q"), opens_at=later, closes_at=later + timedelta(hours=2)
    )
    clock.set(later + timedelta(hours=3))
    assert poll_closing.close_due(ctx=ctx, messages=MESSAGES) == []
    assert missed.status == PollStatus.SCHEDULED  # it opens first, then closes
    opened = service.open_due(ctx=ctx, messages=MESSAGES)
    assert len(opened) == 6 + 1 + 6
    assert {key.split(":")[1] for key in opened} == {str(p.id) for p in (first, second, missed)}
    closed = poll_closing.close_due(ctx=ctx, messages=MESSAGES)
    assert {key.split(":")[1] for key in closed} == {str(missed.id)}
    clock.set(first.closes_at)
    closed = poll_closing.close_due(ctx=ctx, messages=MESSAGES)
    assert {key.split(":")[1] for key in closed} == {str(first.id), str(second.id)}
    assert (first.status, second.status) == (PollStatus.CLOSED, PollStatus.CLOSED)


def test_templates_keep_which_questions_are_required_in_each_language() -> None:
    feedback = service.template_questions("zh-CN", "training_feedback")
    assert [q.required for q in feedback] == [True, True, True, False]
    assert feedback[2].options[0] == "太慢"
    assert service.template_questions("en", None) == []
    assert service.template_questions("en", "unknown") == []


def test_closing_speaks_the_projects_language(ctx: Ctx, clock: MovableClock) -> None:
    project = project_service.create_project(
        ctx=ctx,
        data=project_service.ProjectInput(name="ERP", code="ERP", pm_ids=[PM], locale="zh-CN"),
    )
    keyuser_service.add_key_user(
        ctx=ctx, project=project, data=keyuser_service.KeyUserInput(user_id=KEY_USERS[0])
    )
    poll = new_poll(ctx, project, Q("rating", "Satisfied?"))
    assert poll.intro is None
    invitation = outbox_rows(ctx, poll)[service.invite_key(poll, KEY_USERS[0])].payload
    questions = service.questions_of(ctx, poll)
    assert invitation == {
        "channel": KEY_USERS[0],
        **MESSAGES.invite("zh-CN", poll, questions, project=project),
    }
    deliver(ctx, poll, KEY_USERS[0])
    answer(ctx, poll, KEY_USERS[0], "4")
    poll_closing.close_by_pm(ctx=ctx, poll_id=poll.id or 0, messages=MESSAGES)
    rows = outbox_rows(ctx, poll)
    assert rows[f"poll:{poll.id}:closed:{KEY_USERS[0]}"].payload == {
        "channel": "D" + KEY_USERS[0][1:],
        "ts": f"{KEY_USERS[0][-1]}.5",
        **MESSAGES.closed("zh-CN", poll, True, project=project),
    }
    figures = poll_results.compute(ctx, poll)
    report = rows[f"poll:{poll.id}:results:{PM}"].payload
    assert report == {"channel": PM, **MESSAGES.results("zh-CN", figures, project=project)}
    chart = rows[f"poll:{poll.id}:chart:{PM}"].payload
    assert chart["title"] == plain("zh-CN", "poll.chart_title", title="Pulse", round=1)
    assert chart["alt_txt"] == plain("zh-CN", "poll.chart_alt", title="Pulse")
    english = charts.results_chart(figures, "en")
    assert base64.b64decode(chart["content_base64"]) != english
