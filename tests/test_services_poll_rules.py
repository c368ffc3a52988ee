"""Poll figures and exports at the service level, on known answers: the scales' edges, the
figures of every kind of question, rounds of a series, undelivered invitations and what an
anonymous poll gives out (found by mutation testing to be unguarded)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.clock import MovableClock
from bot.errors import Msg, PermissionDenied, ValidationError
from bot.services import keyusers as keyuser_service
from bot.services import poll_results
from bot.services import polls as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views.polls import MESSAGES
from storage.models import (
    Interaction,
    OutboxMessage,
    Poll,
    PollQuestion,
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
    few = Msg("poll.errors.export_few", id=7, minimum=3)
    is_open = Msg("poll.errors.export_open", id=7)
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
    service.close_due(ctx=ctx, messages=MESSAGES)
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
    assert refused.value.reason == Msg("poll.errors.export_few", id=poll.id, minimum=3)
    answer(ctx, poll, KEY_USERS[1], "0", [])
    answer(ctx, poll, KEY_USERS[2], "1", ["1"])
    with pytest.raises(PermissionDenied) as refused:
        poll_results.export_csv(ctx, poll.id or 0)
    assert refused.value.reason == Msg("poll.errors.export_open", id=poll.id)
    service.close_by_pm(ctx=ctx, poll_id=poll.id or 0, messages=MESSAGES)
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
