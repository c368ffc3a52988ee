"""Rules of the issue service in detail: service levels and their words, each field of an issue,
the roles and the refusals, what each move stores, rating, the lists and their pages, the
export, snoozes, reminders, escalations and auto-close (found by mutation testing to be
unguarded)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.clock import MovableClock
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.services import issue_followup, issue_levels, issues, keyusers, projects
from bot.services.context import Ctx
from bot.services.issue_levels import ServiceLevels
from bot.services.issues import IssueInput, ListQuery, Verb
from bot.services.keyusers import KeyUserInput
from bot.services.projects import ProjectInput
from storage.models import (
    Interaction,
    Issue,
    IssueHistory,
    IssueSettings,
    ProcessedRequest,
    Project,
)
from tests.conftest import OTHER_TEAM, OUTSIDER, PM, PM2, START
from tests.test_services_issues import ANNA, BEN, TOM, as_user, make_project

CHOICES = "issue, request, question, change_request"


def as_admin(ctx: Ctx, user_id: str) -> Ctx:
    return Ctx(
        session=ctx.session,
        team_id=ctx.team_id,
        actor_id=user_id,
        clock=ctx.clock,
        admin_check=lambda user: user == user_id,
    )


def log(ctx: Ctx, project: Project, user: str = ANNA, **values: object) -> Issue:
    values.setdefault("title", "Something broke")
    data = IssueInput(**values)  # type: ignore[arg-type]
    return issues.create_issue(ctx=as_user(ctx, user), project=project, data=data).issue


def bare_project(ctx: Ctx, code: str) -> Project:
    """A project with ANNA and BEN as key users and no team."""
    project = projects.create_project(
        ctx=ctx, data=ProjectInput(name="Other", code=code, pm_ids=[PM], timezone="Europe/Berlin")
    )
    for user in (ANNA, BEN):
        keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=user))
    return project


def refused(ctx: Ctx, project: Project, **values: object) -> dict[str, object]:
    values.setdefault("title", "Something broke")
    with pytest.raises(ValidationError) as error:
        issues.create_issue(ctx=ctx, project=project, data=IssueInput(**values))  # type: ignore[arg-type]
    return dict(error.value.errors)


def logs(ctx: Ctx, kind: str) -> list[Interaction]:
    ctx.session.flush()
    return list(
        ctx.session.exec(
            select(Interaction).where(Interaction.kind == kind).order_by(col(Interaction.id))
        ).all()
    )


def move(ctx: Ctx, issue: Issue, project: Project, verb: str, **values: object) -> issues.Change:
    change = issues.apply(ctx=ctx, issue=issue, project=project, verb=verb, **values)  # type: ignore[arg-type]
    assert change is not None
    assert change.issue is issue and change.project is project  # what the handlers render
    return change


def apply_refused(ctx: Ctx, issue: Issue, project: Project, verb: str, **values: object) -> object:
    with pytest.raises(ValidationError) as error:
        issues.apply(ctx=ctx, issue=issue, project=project, verb=verb, **values)  # type: ignore[arg-type]
    return dict(error.value.errors)


def denied(ctx: Ctx, issue: Issue, project: Project, verb: str, **values: object) -> object:
    with pytest.raises(PermissionDenied) as error:
        issues.apply(ctx=ctx, issue=issue, project=project, verb=verb, **values)  # type: ignore[arg-type]
    return error.value.reason


# ------------------------------------------------------------------------------ service levels


def test_service_levels_accept_their_limits_and_merge_with_earlier_overrides(ctx: Ctx) -> None:
    project = make_project(ctx)
    assert issue_levels.service_levels(ctx, project) == ServiceLevels(
        {"P1": 2, "P2": 8, "P3": 24, "P4": 72}, {"P1": 1, "P2": 3, "P3": 10, "P4": 30}, 7
    )
    issue_levels.set_service_levels(ctx=ctx, project=project, first_response_hours={"P1": 720})
    levels = issue_levels.set_service_levels(
        ctx=ctx,
        project=project,
        first_response_hours={"P4": 1},
        resolution_days={"P2": 365, "P3": 1},
        auto_close_days=90,
    )
    expected = ServiceLevels(
        {"P1": 720, "P2": 8, "P3": 24, "P4": 1}, {"P1": 1, "P2": 365, "P3": 1, "P4": 30}, 90
    )
    assert levels == expected and issue_levels.service_levels(ctx, project) == expected
    [*_, entry] = logs(ctx, "issue.service_levels_changed")
    assert (entry.project_id, entry.actor_id) == (project.id, PM)
    assert entry.detail == {
        "first_response_hours": expected.first_response_hours,
        "resolution_days": expected.resolution_days,
        "auto_close_days": 90,
    }
    # Nothing given: nothing changes (and an auto-close of 1 day is allowed).
    assert issue_levels.set_service_levels(ctx=ctx, project=project) == expected
    assert (
        issue_levels.set_service_levels(ctx=ctx, project=project, auto_close_days=1).auto_close_days
        == 1
    )


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"first_response_hours": {"P1": 721}}, {"first_response_hours": 720}),
        ({"first_response_hours": {"P2": 0}}, {"first_response_hours": 720}),
        ({"first_response_hours": {"P5": 4}}, {"first_response_hours": 720}),
        ({"resolution_days": {"P1": 366}}, {"resolution_days": 365}),
        ({"resolution_days": {"P4": 0}}, {"resolution_days": 365}),
        ({"resolution_days": {"p1": 3}}, {"resolution_days": 365}),
        (
            {"first_response_hours": {"P1": 0}, "resolution_days": {"P1": 0}},
            {"first_response_hours": 720, "resolution_days": 365},
        ),
    ],
)
def test_service_levels_out_of_range_are_refused_with_the_limit(
    ctx: Ctx, values: dict[str, object], errors: dict[str, int]
) -> None:
    project = make_project(ctx)
    with pytest.raises(ValidationError) as error:
        issue_levels.set_service_levels(ctx=ctx, project=project, **values)  # type: ignore[arg-type]
    assert error.value.errors == {
        name: Msg("issues.errors.sla_range", limit=limit) for name, limit in errors.items()
    }
    assert issue_levels.service_levels(ctx, project).first_response_hours["P1"] == 2


@pytest.mark.parametrize("days", [0, 91, -1])
def test_auto_close_is_1_to_90_days(ctx: Ctx, days: int) -> None:
    project = make_project(ctx)
    with pytest.raises(ValidationError) as error:
        issue_levels.set_service_levels(ctx=ctx, project=project, auto_close_days=days)
    assert error.value.errors == {"auto_close_days": Msg("issues.errors.auto_close_range")}


def test_stored_levels_are_read_as_numbers_and_unknown_priorities_ignored(ctx: Ctx) -> None:
    project = make_project(ctx)
    ctx.session.add(
        IssueSettings(
            team_id=ctx.team_id,
            project_id=project.id or 0,
            first_response_hours={"P2": "5", "P9": 1},
            resolution_days={"P4": "12", "X": 2},
            auto_close_days=4,
        )
    )
    ctx.session.flush()
    assert issue_levels.service_levels(ctx, project) == ServiceLevels(
        {"P1": 2, "P2": 5, "P3": 24, "P4": 72}, {"P1": 1, "P2": 3, "P3": 10, "P4": 12}, 4
    )
    # The first issue finds the row, it does not add a second one.
    assert log(ctx, project, priority="P4").due_date == date(2026, 12, 13)
    rows = ctx.session.exec(select(IssueSettings)).all()
    assert [(row.team_id, row.project_id, row.next_number) for row in rows] == [
        (ctx.team_id, project.id, 2)
    ]


def test_service_level_words_as_typed() -> None:
    assert issue_levels.parse_service_level_words([]) == ({}, {}, None)
    assert issue_levels.parse_service_level_words(
        ["P1=4h/2d", "p2=8h", "P3=5d", "P4=12h3d", "AutoClose=10"]
    ) == ({"P1": 4, "P2": 8, "P4": 12}, {"P1": 2, "P3": 5, "P4": 3}, 10)
    for word in ("P1=", "P5=4h", "P1=4", "autoclose=", "autoclose=1000", "P1=12345h", "x"):
        with pytest.raises(ValidationError) as error:
            issue_levels.parse_service_level_words(["P2=8h", word])
        assert error.value.errors == {"sla": Msg("issues.errors.sla_word", word=word)}


def test_a_local_day_ends_at_local_midnight_across_the_clock_change(ctx: Ctx) -> None:
    project = make_project(ctx)
    assert issue_levels.end_of_local_day(project, date(2026, 12, 1)) == datetime(
        2026, 12, 1, 23, 0, tzinfo=UTC
    )
    assert issue_levels.end_of_local_day(project, date(2026, 3, 28)) == datetime(
        2026, 3, 28, 23, 0, tzinfo=UTC
    )
    assert issue_levels.end_of_local_day(project, date(2026, 3, 29)) == datetime(
        2026, 3, 29, 22, 0, tzinfo=UTC
    )
    moment = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert issue_levels.local_today(project, moment) == date(2026, 12, 2)


# ------------------------------------------------------------------------------- permissions


def test_roles_of_each_kind_of_person(ctx: Ctx) -> None:
    project = make_project(ctx)
    issue = log(ctx, project, owner_id=TOM)
    assert issues.roles_of(ctx, project, issue, PM) == {"pm", "team"}
    assert issues.roles_of(ctx, project, issue, TOM) == {"team", "owner"}
    assert issues.roles_of(ctx, project, None, TOM) == {"team"}
    assert issues.roles_of(ctx, project, issue, ANNA) == {"reporter"}
    assert issues.roles_of(ctx, project, None, ANNA) == set()
    assert issues.roles_of(ctx, project, issue, BEN) == set()
    assert issues.roles_of(ctx, project, issue, None) == set()
    assert issues.roles_of(ctx, project, issue, "") == set()
    admin = as_admin(ctx, OUTSIDER)
    assert issues.roles_of(admin, project, issue, OUTSIDER) == {"pm"}
    assert issues.roles_of(admin, project, issue, BEN) == set()  # the admin acts for themselves
    assert issues.roles_of(as_user(ctx, OUTSIDER), project, issue, OUTSIDER) == set()


def test_who_sees_an_issue_and_who_may_log_one(ctx: Ctx) -> None:
    project = make_project(ctx)
    other = bare_project(ctx, "HR")
    keyusers.add_key_user(ctx=ctx, project=other, data=KeyUserInput(user_id="UKEY00009"))
    issue = log(ctx, project)
    assert issues.can_see(as_user(ctx, ANNA), project, issue)
    assert issues.can_see(as_user(ctx, ANNA), project, issue, TOM)
    assert not issues.can_see(as_user(ctx, BEN), project, issue)
    assert not issues.can_see(ctx, project, issue, BEN)
    assert issues.can_log(as_user(ctx, BEN), project)
    assert issues.can_log(as_user(ctx, TOM), project)
    assert issues.can_log(ctx, project, OUTSIDER) is False
    assert not issues.can_log(as_user(ctx, OUTSIDER), project)
    assert not issues.can_log(as_user(ctx, "UKEY00009"), project)  # another project's key user
    assert issues.is_key_user(ctx, other, "UKEY00009")
    assert not issues.is_key_user(ctx, project, "UKEY00009")
    [ben] = [k for k in keyusers.active_key_users(ctx, project) if k.user_id == BEN]
    keyusers.remove_key_user(ctx=ctx, key_user=ben)
    assert not issues.is_key_user(ctx, project, BEN)
    assert not issues.can_log(as_user(ctx, BEN), project)
    with pytest.raises(PermissionDenied) as error:
        log(ctx, project, BEN)
    assert error.value.reason == Msg("issues.errors.cannot_log", code="ERP")


def test_each_refusal_says_why(ctx: Ctx) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    assert issues.refusal(ctx, project, issue, Verb.REOPEN) == Msg(
        "issues.refused.status",
        verb=Msg("issues.verb.reopen"),
        ref="ERP-1",
        status=Msg("issues.status.new"),
    )
    assert issues.refusal(as_user(ctx, TOM), project, issue, Verb.CLOSE) == Msg(
        "issues.refused.role_close", ref="ERP-1"
    )
    assert issues.refusal(as_user(ctx, ANNA), project, issue, Verb.ACK) == Msg(
        "issues.refused.role_ack", ref="ERP-1"
    )
    assert issues.refusal(ctx, project, issue, Verb.CLOSE) is None
    move(ctx, issue, project, Verb.DELETE)
    assert issues.refusal(ctx, project, issue, Verb.UPDATE) == Msg(
        "issues.refused.deleted", ref="ERP-1"
    )
    assert issues.allowed_verbs(ctx, project, issue) == []


def test_the_moves_of_each_status_and_person(ctx: Ctx) -> None:
    working = [Verb.ASSIGN, Verb.PRIORITY, Verb.DUE, Verb.UPDATE, Verb.RESOLVE, Verb.CLOSE]
    assert issues.verbs_for_status("reopened") == [Verb.ACK, Verb.START, *working]
    assert issues.verbs_for_status("acknowledged") == [Verb.START, *working]
    assert issues.verbs_for_status("in_progress") == working
    assert issues.verbs_for_status("resolved") == [Verb.UPDATE, Verb.CLOSE, Verb.REOPEN]
    project = make_project(ctx)
    issue = log(ctx, project)
    assert issues.allowed_verbs(ctx, project, issue) == [
        Verb.ACK,
        Verb.START,
        *working,
        Verb.DELETE,
    ]
    team = [Verb.ACK, Verb.START, Verb.ASSIGN, Verb.PRIORITY, Verb.DUE, Verb.UPDATE]
    assert issues.allowed_verbs(as_user(ctx, TOM), project, issue) == team
    move(ctx, issue, project, Verb.ASSIGN, owner_id=TOM)
    assert issues.allowed_verbs(as_user(ctx, TOM), project, issue) == [*team, Verb.RESOLVE]
    move(ctx, issue, project, Verb.RESOLVE, text="done")
    assert issues.allowed_verbs(as_user(ctx, ANNA), project, issue) == [Verb.UPDATE, Verb.REOPEN]
    assert issues.allowed_verbs(as_user(ctx, BEN), project, issue) == []


# ----------------------------------------------------------------------------- logging one


def test_a_new_issue_keeps_every_field_as_cleaned(ctx: Ctx) -> None:
    project = make_project(ctx)
    change = issues.create_issue(
        ctx=ctx,
        project=project,
        data=IssueInput(
            title="  Payment   run\n stops ",
            description="  The run stops at step 3.  ",
            kind=" Change Request ",
            module="  FI  ",
            priority=" p2 ",
            reporter_id=ANNA,
            owner_id=TOM,
            due_date=" 2026-12-24 ",
            source_permalink="https://acme.slack.com/archives/C1/p1",
        ),
    )
    issue = change.issue
    assert change.created and change.project is project and change.verb is None
    assert not change.tell_reporter
    assert (issue.team_id, issue.project_id, issue.number, issue.status, issue.version) == (
        ctx.team_id,
        project.id,
        1,
        "new",
        1,
    )
    assert (issue.title, issue.description, issue.kind, issue.module, issue.priority) == (
        "Payment run stops",
        "The run stops at step 3.",
        "change_request",
        "FI",
        "P2",
    )
    assert (issue.reporter_id, issue.owner_id, issue.created_by) == (ANNA, TOM, PM)
    assert issue.due_date == date(2026, 12, 24)
    assert issue.due_at == datetime(2026, 12, 24, 23, 0, tzinfo=UTC)
    assert issue.first_response_due_at == START + timedelta(hours=8)
    assert issue.source_permalink == "https://acme.slack.com/archives/C1/p1"
    assert issue.created_at == issue.updated_at == START
    assert issue.first_response_at is None
    entry = change.history
    assert entry is not None
    assert (entry.team_id, entry.issue_id, entry.actor_id, entry.action) == (
        ctx.team_id,
        issue.id,
        PM,
        "created",
    )
    assert (entry.from_status, entry.to_status, entry.detail, entry.at) == (
        None,
        "new",
        {"title": "Payment run stops"},
        START,
    )


def test_optional_fields_left_empty_are_none_and_the_due_date_follows_the_level(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    issue_levels.set_service_levels(ctx=ctx, project=project, first_response_hours={"P4": 5})
    clock.set(datetime(2026, 12, 1, 23, 30, tzinfo=UTC))  # already Wednesday in Berlin
    issue = log(
        ctx, project, description="   ", module="", priority="P4", owner_id="", source_permalink=""
    )
    assert (issue.description, issue.module, issue.owner_id, issue.source_permalink) == (
        None,
        None,
        None,
        None,
    )
    assert (issue.kind, issue.priority, issue.reporter_id, issue.created_by) == (
        "issue",
        "P4",
        ANNA,
        ANNA,
    )
    assert issue.due_date == date(2026, 12, 2) + timedelta(days=30)
    assert issue.first_response_due_at == datetime(2026, 12, 2, 4, 30, tzinfo=UTC)
    assert log(ctx, project, kind="QUESTION", due_date=date(2026, 12, 2)).kind == "question"


def test_issues_are_numbered_per_project(ctx: Ctx) -> None:
    project = make_project(ctx)
    other = make_project(ctx, code="CRM")
    numbers = [log(ctx, p).number for p in (project, project, other, project, other)]
    assert numbers == [1, 2, 1, 3, 2]


def test_field_limits_and_choices(ctx: Ctx) -> None:
    project = make_project(ctx)
    anna = as_user(ctx, ANNA)
    kept = log(ctx, project, description="d" * 3000, module="m" * 120)
    assert (len(kept.description or ""), len(kept.module or "")) == (3000, 120)
    assert log(ctx, project, title="t" * 150).title == "t" * 150
    assert refused(anna, project, title="t" * 151) == {"title": Msg("errors.too_long", limit=150)}
    assert refused(anna, project, title=" \n ") == {"title": Msg("errors.required")}
    assert refused(anna, project, description="d" * 3001) == {
        "description": Msg("errors.too_long", limit=3000)
    }
    assert refused(anna, project, module="m" * 121) == {"module": Msg("errors.too_long", limit=120)}
    assert refused(anna, project, kind=None, priority=None) == {
        "kind": Msg("errors.choice", choices=CHOICES),
        "priority": Msg("errors.choice", choices="P1, P2, P3, P4"),
    }
    assert refused(anna, project, owner_id="tom") == {"owner_id": Msg("errors.user_required")}
    assert refused(anna, project, due_date="24.12.2026") == {
        "due_date": Msg("issues.errors.date_format")
    }
    assert refused(anna, project, due_date="2026-11-30") == {
        "due_date": Msg("issues.errors.due_past")
    }
    assert log(ctx, project, due_date="2026-12-01").due_date == date(2026, 12, 1)  # today


def test_logging_on_someones_behalf(ctx: Ctx) -> None:
    project = make_project(ctx)
    assert log(ctx, project, PM, reporter_id=ANNA).reporter_id == ANNA
    assert log(ctx, project, TOM, reporter_id=BEN).reporter_id == BEN
    assert log(ctx, project, PM, reporter_id=TOM).reporter_id == TOM  # the team logs too
    assert refused(as_user(ctx, ANNA), project, reporter_id=BEN) == {
        "reporter_id": Msg("issues.errors.on_behalf")
    }
    assert refused(ctx, project, reporter_id=OUTSIDER) == {
        "reporter_id": Msg("issues.errors.reporter_not_in_project", code="ERP")
    }
    assert refused(ctx, project, reporter_id="someone") == {
        "reporter_id": Msg("errors.user_required")
    }
    nobody = Ctx(session=ctx.session, team_id=ctx.team_id, actor_id=None, clock=ctx.clock)
    assert issues._clean(nobody, project, IssueInput(title="x"))[1] == {
        "reporter_id": Msg("errors.user_required")
    }


def test_logging_is_a_touchpoint_of_a_key_user_reporter_in_this_project(ctx: Ctx) -> None:
    other = make_project(ctx, code="CRM")  # ANNA is a key user here first
    project = make_project(ctx)
    log(ctx, project)
    log(ctx, project, TOM)
    [*_, anna_key] = [k for k in keyusers.active_key_users(ctx, project) if k.user_id == ANNA]
    assert anna_key.project_id == project.id and other.id != project.id
    entries = logs(ctx, "issue.logged")
    assert [(e.project_id, e.key_user_id, e.touchpoint, e.detail) for e in entries] == [
        (project.id, anna_key.id, True, {"issue": "ERP-1"}),
        (project.id, None, False, {"issue": "ERP-2"}),
    ]


# ------------------------------------------------------------------------------- finding one


def test_finding_an_issue_by_id_and_by_short_id(ctx: Ctx) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    assert issues.get_issue(ctx, issue.id or 0) == (issue, project)
    assert issues.find_issue(as_user(ctx, ANNA), " erp-1 ") == (issue, project)
    crm = make_project(ctx, code="CRM")
    other = log(ctx, crm)
    assert issues.find_issue(ctx, "CRM-1") == (other, crm)
    move(ctx, other, crm, Verb.DELETE)
    for key, ref in [("ERP-2", "ERP-2"), ("crm-1", "CRM-1"), ("ERP 1", "ERP 1"), ("", "")]:
        with pytest.raises(NotFound) as error:
            issues.find_issue(ctx, key)
        assert error.value.message == Msg("issues.errors.not_found", ref=ref)
    with pytest.raises(NotFound) as error:
        issues.find_issue(as_user(ctx, BEN), "erp-1")  # not his issue
    assert error.value.message == Msg("issues.errors.not_found", ref="ERP-1")
    move(ctx, issue, project, Verb.DELETE)
    with pytest.raises(NotFound) as error:
        issues.get_issue(ctx, issue.id or 0)
    assert error.value.message == Msg("issues.errors.not_found", ref=str(issue.id))
    with pytest.raises(NotFound):
        issues.find_issue(ctx, "ERP-1")
    with pytest.raises(NotFound):
        issues.get_issue(ctx, 999)


# ---------------------------------------------------------------------------------- moves


def test_verbs_by_their_other_names_and_unknown_verbs(ctx: Ctx) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    assert move(ctx, issue, project, "acknowledge").verb == Verb.ACK
    assert move(ctx, issue, project, "comment", text="a").verb == Verb.UPDATE
    assert move(ctx, issue, project, "note", text="b").verb == Verb.UPDATE
    assert apply_refused(ctx, issue, project, "fly") == {
        "verb": Msg("issues.errors.unknown_verb", verb="fly")
    }
    assert denied(ctx, issue, project, Verb.CLOSE, expected_version=1) == Msg(
        "issues.refused.outdated", ref="ERP-1"
    )


def test_assigning_checks_the_owner_and_records_the_previous_one(ctx: Ctx) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    assert apply_refused(ctx, issue, project, Verb.ASSIGN) == {
        "owner_id": Msg("errors.user_required")
    }
    assert apply_refused(ctx, issue, project, Verb.ASSIGN, owner_id="tom") == {
        "owner_id": Msg("errors.user_required")
    }
    change = move(ctx, issue, project, Verb.ASSIGN, owner_id=TOM)
    assert change.history is not None and change.history.detail == {"previous": None, "owner": TOM}
    assert (issue.owner_id, issue.status, issue.first_response_at) == (TOM, "new", None)
    assert apply_refused(ctx, issue, project, Verb.ASSIGN, owner_id=TOM) == {
        "owner_id": Msg("issues.errors.same_owner", ref="ERP-1")
    }
    change = move(ctx, issue, project, Verb.ASSIGN, owner_id=PM2)
    assert change.history is not None and change.history.detail == {"previous": TOM, "owner": PM2}


def test_a_new_priority_moves_the_first_response_target_from_logging(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    issue_levels.set_service_levels(ctx=ctx, project=project, first_response_hours={"P1": 3})
    issue = log(ctx, project)
    clock.advance(hours=5)
    assert apply_refused(ctx, issue, project, Verb.PRIORITY, priority="P0") == {
        "priority": Msg("errors.choice", choices="P1, P2, P3, P4")
    }
    assert apply_refused(ctx, issue, project, Verb.PRIORITY) == {
        "priority": Msg("errors.choice", choices="P1, P2, P3, P4")
    }
    assert apply_refused(ctx, issue, project, Verb.PRIORITY, priority="p3") == {
        "priority": Msg("issues.errors.same_priority")
    }
    change = move(ctx, issue, project, Verb.PRIORITY, priority=" p1 ")
    assert change.history is not None and change.history.detail == {
        "previous": "P3",
        "priority": "P1",
    }
    assert issue.priority == "P1"
    assert issue.first_response_due_at == START + timedelta(hours=3)
    assert issue.due_date == date(2026, 12, 11)  # the resolution date stays


def test_a_new_due_date_ends_a_snooze(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    issue.snoozed_until = date(2026, 12, 20)
    clock.set(datetime(2026, 12, 1, 23, 30, tzinfo=UTC))  # 2 December in Berlin
    for typed, error in [
        (None, "date_format"),
        ("soon", "date_format"),
        ("2026-12-01", "due_past"),
    ]:
        assert apply_refused(ctx, issue, project, Verb.DUE, due_date=typed) == {
            "due_date": Msg(f"issues.errors.{error}")
        }
    change = move(ctx, issue, project, Verb.DUE, due_date="2026-12-02")
    assert change.history is not None and change.history.detail == {
        "previous": "2026-12-11",
        "due": "2026-12-02",
    }
    assert (issue.due_date, issue.due_at, issue.snoozed_until) == (
        date(2026, 12, 2),
        datetime(2026, 12, 2, 23, 0, tzinfo=UTC),
        None,
    )


def test_updates_and_resolutions_need_a_text_of_3000_characters_at_most(ctx: Ctx) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    for verb, name in [(Verb.UPDATE, "text"), (Verb.RESOLVE, "resolution")]:
        assert apply_refused(ctx, issue, project, verb, text="  ") == {name: Msg("errors.required")}
        assert apply_refused(ctx, issue, project, verb, text="x" * 3001) == {
            name: Msg("errors.too_long", limit=3000)
        }
    change = move(ctx, issue, project, Verb.UPDATE, text=" " + "u" * 3000 + " ")
    assert change.history is not None and change.history.detail == {"text": "u" * 3000}
    assert issue.status == "new"  # an update alone does not start the work
    change = move(ctx, issue, project, Verb.RESOLVE, text=" Fixed ")
    assert change.history is not None and change.history.detail == {"text": "Fixed"}
    assert (issue.status, issue.resolution, issue.resolved_at) == ("resolved", "Fixed", START)


def test_an_update_on_an_acknowledged_issue_starts_it_unless_the_reporter_writes(
    ctx: Ctx,
) -> None:
    project = make_project(ctx)
    first, second = log(ctx, project), log(ctx, project)
    for issue in (first, second):
        move(ctx, issue, project, Verb.ACK)
    move(as_user(ctx, ANNA), first, project, Verb.UPDATE, text="still broken")
    move(as_user(ctx, TOM), second, project, Verb.UPDATE, text="looking")
    assert (first.status, second.status) == ("acknowledged", "in_progress")
    change = move(ctx, first, project, Verb.UPDATE, text="on it")
    assert change.history is not None
    assert (change.history.from_status, change.history.to_status) == ("acknowledged", "in_progress")


def test_closing_reopening_and_deleting(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    move(ctx, issue, project, Verb.RESOLVE, text="done")
    clock.advance(hours=1)
    change = move(ctx, issue, project, Verb.CLOSE)
    assert change.history is not None and change.history.detail == {}
    assert (issue.status, issue.closed_at) == ("closed", START + timedelta(hours=1))
    issue.snoozed_until = date(2026, 12, 9)
    change = move(as_user(ctx, ANNA), issue, project, Verb.REOPEN, text=" again ")
    assert change.history is not None and change.history.detail == {"text": "again"}
    assert (issue.status, issue.resolved_at, issue.closed_at, issue.snoozed_until) == (
        "reopened",
        None,
        None,
        None,
    )
    assert not change.tell_reporter  # the reporter reopened it
    change = move(ctx, issue, project, Verb.CLOSE, text="duplicate")
    assert change.history is not None and change.history.detail == {"text": "duplicate"}
    assert change.tell_reporter
    change = move(ctx, issue, project, Verb.REOPEN)
    assert change.history is not None and change.history.detail == {}
    clock.advance(hours=1)
    change = move(ctx, issue, project, Verb.DELETE)
    assert (issue.status, issue.deleted_at) == ("reopened", START + timedelta(hours=2))
    assert not change.tell_reporter


def test_every_move_is_counted_stamped_recorded_and_a_touchpoint(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    clock.advance(minutes=30)
    change = move(as_user(ctx, TOM), issue, project, Verb.START)
    assert (issue.version, issue.updated_at, issue.status) == (2, clock.now(), "in_progress")
    assert change.history is not None
    assert (change.history.action, change.history.actor_id, change.history.at) == (
        "start",
        TOM,
        clock.now(),
    )
    assert (change.history.from_status, change.history.to_status) == ("new", "in_progress")
    assert change.tell_reporter and change.verb == Verb.START and not change.created
    [key_user] = [k for k in keyusers.active_key_users(ctx, project) if k.user_id == ANNA]
    [entry] = logs(ctx, "issue.start")
    assert (entry.project_id, entry.key_user_id, entry.touchpoint, entry.actor_id) == (
        project.id,
        key_user.id,
        True,
        TOM,
    )
    assert entry.detail == {"issue": "ERP-1"}
    assert [h.action for h in issues.history(ctx, issue)] == ["created", "start"]


@pytest.mark.parametrize(
    ("verb", "values", "counts"),
    [
        (Verb.ACK, {}, True),
        (Verb.START, {}, True),
        (Verb.UPDATE, {"text": "x"}, True),
        (Verb.RESOLVE, {"text": "x"}, True),
        (Verb.ASSIGN, {"owner_id": TOM}, False),
        (Verb.PRIORITY, {"priority": "P1"}, False),
        (Verb.DUE, {"due_date": "2026-12-20"}, False),
        (Verb.CLOSE, {}, False),
    ],
)
def test_what_counts_as_the_first_response(
    ctx: Ctx, clock: MovableClock, verb: str, values: dict[str, object], counts: bool
) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    clock.advance(hours=1)
    move(ctx, issue, project, verb, **values)
    assert issue.first_response_at == (START + timedelta(hours=1) if counts else None)


def test_the_first_response_is_someone_elses_and_kept_once_made(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    issue = log(ctx, project, PM, reporter_id=PM)  # a PM reports, so a PM's update is no answer
    move(ctx, issue, project, Verb.UPDATE, text="more details")
    assert issue.first_response_at is None
    clock.advance(hours=1)
    move(as_user(ctx, TOM), issue, project, Verb.ACK)
    clock.advance(hours=1)
    move(as_user(ctx, TOM), issue, project, Verb.UPDATE, text="later")
    assert issue.first_response_at == START + timedelta(hours=1)


# --------------------------------------------------------------------------------- rating


def test_rating_in_detail(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    anna = as_user(ctx, ANNA)
    with pytest.raises(PermissionDenied) as error:
        issues.rate(ctx=anna, issue=issue, project=project, rating=5)
    assert error.value.reason == Msg(
        "issues.refused.rate_status", ref="ERP-1", status=Msg("issues.status.new")
    )
    move(ctx, issue, project, Verb.RESOLVE, text="done")
    with pytest.raises(PermissionDenied) as error:
        issues.rate(ctx=ctx, issue=issue, project=project, rating=5)
    assert error.value.reason == Msg("issues.refused.rate_not_reporter", ref="ERP-1")
    for rating in (0, 6):
        with pytest.raises(ValidationError) as invalid:
            issues.rate(ctx=anna, issue=issue, project=project, rating=rating)
        assert invalid.value.errors == {"rating": Msg("issues.errors.rating_range")}
    with pytest.raises(ValidationError) as invalid:
        issues.rate(ctx=anna, issue=issue, project=project, rating=4, comment="c" * 2001)
    assert invalid.value.errors == {"comment": Msg("errors.too_long", limit=2000)}
    clock.advance(hours=1)
    change = issues.rate(ctx=anna, issue=issue, project=project, rating="1", comment=" meh ")  # type: ignore[arg-type]
    assert change is not None and change.verb == "rated" and not change.tell_reporter
    assert change.issue is issue and change.project is project
    assert (issue.rating, issue.rating_comment, issue.rated_at) == (1, "meh", clock.now())
    assert (issue.version, issue.updated_at) == (3, clock.now())
    assert change.history is not None
    assert (change.history.action, change.history.from_status, change.history.to_status) == (
        "rated",
        "resolved",
        "resolved",
    )
    assert change.history.detail == {"rating": 1, "comment": "meh"}
    [entry] = logs(ctx, "issue.rated")
    assert (entry.touchpoint, entry.detail) == (True, {"issue": "ERP-1", "rating": 1})
    # The same rating again (with or without the same comment) changes nothing.
    assert issues.rate(ctx=anna, issue=issue, project=project, rating=1) is None
    assert issues.rate(ctx=anna, issue=issue, project=project, rating=1, comment="meh") is None
    assert issues.rate(ctx=anna, issue=issue, project=project, rating=1, comment="ok") is not None
    assert issue.rating_comment == "ok"
    move(ctx, issue, project, Verb.CLOSE)
    change = issues.rate(ctx=anna, issue=issue, project=project, rating=5)
    assert change is not None and change.history is not None
    assert (issue.rating, issue.rating_comment) == (5, "ok")  # no new comment: the last one stays
    assert change.history.detail == {"rating": 5, "comment": ""}
    assert issues.rate(ctx=anna, issue=issue, project=project, rating=4, comment="c" * 2000)


# --------------------------------------------------------------------------- lists and export


def test_list_filters_as_typed() -> None:
    assert issues.parse_list_query([]) == ListQuery()
    assert issues.parse_list_query(["MINE", "Module:fi", "project:erp", "status:Resolved"]) == (
        ListQuery(scope="mine", module="fi", code="ERP", status="resolved")
    )
    assert issues.parse_list_query(["overdue"]).scope == "overdue"
    assert issues.parse_list_query(["all"]).scope == "all"
    assert issues.parse_list_query(["module:F"]).module == "F"
    assert issues.parse_list_query(["project:H"]).code == "H"
    for word in ("module:", "project:", "status:done", "everything"):
        with pytest.raises(ValidationError) as error:
            issues.parse_list_query(["open", word])
        assert error.value.errors == {"filter": Msg("issues.errors.list_filter", word=word)}


def test_overdue_means_open_and_past_the_end_of_the_due_day(ctx: Ctx) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    assert not issues.is_overdue(issue, issue.due_at - timedelta(seconds=1))
    assert issues.is_overdue(issue, issue.due_at)
    move(ctx, issue, project, Verb.RESOLVE, text="done")
    assert not issues.is_overdue(issue, issue.due_at + timedelta(days=1))


def test_whose_projects_are_visible_whole(ctx: Ctx, clock: MovableClock) -> None:
    erp = make_project(ctx)
    crm = make_project(ctx, code="CRM")
    projects.set_team_members(ctx=ctx, project=crm, user_ids=[TOM, PM])  # PM twice in CRM
    other_workspace = Ctx(session=ctx.session, team_id=OTHER_TEAM, actor_id=PM, clock=clock)
    projects.create_project(
        ctx=other_workspace, data=ProjectInput(name="Elsewhere", code="ELS", pm_ids=[PM])
    )
    assert issues.visible_project_ids(ctx, PM) == sorted([erp.id or 0, crm.id or 0])
    assert issues.visible_project_ids(ctx, TOM) == sorted([erp.id or 0, crm.id or 0])
    assert issues.visible_project_ids(ctx, ANNA) == []
    admin = as_admin(ctx, OUTSIDER)
    assert issues.visible_project_ids(admin, OUTSIDER) is None
    assert issues.visible_project_ids(admin, TOM) == sorted([erp.id or 0, crm.id or 0])


def keys(page: issues.IssuePage) -> list[str]:
    return [issues.issue_key(project, issue) for issue, project in page.items]


def listed(ctx: Ctx, *words: str) -> list[str]:
    return keys(issues.list_issues(ctx, issues.parse_list_query(list(words)), page_size=50))


def test_lists_show_each_person_what_they_may_see(ctx: Ctx, clock: MovableClock) -> None:
    erp = make_project(ctx)
    hr = bare_project(ctx, "HR")
    log(ctx, erp, ANNA, module="FI")  # ERP-1
    log(ctx, erp, BEN, module="fi", priority="P1")  # ERP-2, due tomorrow
    log(ctx, hr, ANNA, owner_id=TOM, module="MM")  # HR-1
    log(ctx, hr, BEN, priority="P2")  # HR-2
    resolved = log(ctx, erp, ANNA, priority="P4")  # ERP-3
    move(ctx, resolved, erp, Verb.RESOLVE, text="done")
    closed = log(ctx, hr, BEN, priority="P4")  # HR-3
    move(ctx, closed, hr, Verb.CLOSE)
    gone = log(ctx, erp, ANNA)  # ERP-4
    move(ctx, gone, erp, Verb.DELETE)
    assert listed(ctx) == ["ERP-2", "HR-2", "ERP-1", "HR-1"]
    assert listed(ctx, "all") == ["ERP-2", "HR-2", "ERP-1", "HR-1", "ERP-3", "HR-3"]
    assert listed(ctx, "status:resolved") == ["ERP-3"]
    assert listed(ctx, "mine", "status:closed") == []
    assert listed(ctx, "all", "status:closed") == ["HR-3"]
    assert listed(ctx, "module:fi") == ["ERP-2", "ERP-1"]
    assert listed(ctx, "all", "project:hr") == ["HR-2", "HR-1", "HR-3"]
    assert listed(ctx, "mine") == []
    assert listed(as_user(ctx, ANNA), "all") == ["ERP-1", "HR-1", "ERP-3"]
    assert listed(as_user(ctx, BEN)) == ["ERP-2", "HR-2"]
    assert listed(as_user(ctx, TOM)) == ["ERP-2", "ERP-1", "HR-1"]  # ERP's team, HR-1's owner
    assert listed(as_user(ctx, TOM), "mine") == ["HR-1"]
    assert listed(as_user(ctx, ANNA), "mine") == ["ERP-1", "HR-1"]  # not the resolved ERP-3
    assert listed(as_user(ctx, OUTSIDER), "all") == []
    assert listed(as_admin(ctx, OUTSIDER), "all") == listed(ctx, "all")
    assert listed(ctx, "overdue") == []
    clock.set(datetime(2026, 12, 2, 23, 0, tzinfo=UTC))  # the end of ERP-2's due day
    assert listed(ctx, "overdue") == ["ERP-2"]
    assert listed(ctx, "overdue", "status:resolved") == []
    clock.advance(days=30)
    assert listed(ctx, "overdue") == ["ERP-2", "HR-2", "ERP-1", "HR-1"]


def test_lists_order_by_due_day_then_priority_then_logging(ctx: Ctx) -> None:
    project = make_project(ctx)
    for priority in ("P3", "P1", "P3", "P2"):
        log(ctx, project, priority=priority, due_date="2026-12-05")
    log(ctx, project, priority="P4", due_date="2026-12-04")
    assert listed(ctx) == ["ERP-5", "ERP-2", "ERP-4", "ERP-1", "ERP-3"]
    done = log(ctx, project, priority="P1", due_date="2026-12-01")  # ERP-6, due first
    move(ctx, done, project, Verb.RESOLVE, text="done")
    assert listed(ctx, "all") == ["ERP-5", "ERP-2", "ERP-4", "ERP-1", "ERP-3", "ERP-6"]


def test_lists_come_in_pages(ctx: Ctx) -> None:
    project = make_project(ctx)
    empty = issues.list_issues(ctx, ListQuery())
    assert (empty.items, empty.total, empty.page, empty.pages) == ([], 0, 1, 1)
    for _ in range(5):
        log(ctx, project)
    for page, expected, shown in [
        (1, ["ERP-1", "ERP-2"], 1),
        (3, ["ERP-5"], 3),
        (0, ["ERP-1", "ERP-2"], 1),
        (9, ["ERP-5"], 3),
    ]:
        result = issues.list_issues(ctx, ListQuery(), page=page, page_size=2)
        assert (keys(result), result.total, result.page, result.pages) == (expected, 5, shown, 3)
    default = issues.list_issues(ctx, ListQuery())
    assert (default.total, default.pages, len(default.items)) == (5, 1, 5)
    for _ in range(11):
        log(ctx, project)
    default = issues.list_issues(ctx, ListQuery())
    assert (default.total, default.pages, len(default.items)) == (16, 2, 15)


def test_someones_open_issues_across_projects_in_pages(ctx: Ctx, clock: MovableClock) -> None:
    erp = make_project(ctx)
    hr = bare_project(ctx, "HR")
    log(ctx, erp, ANNA, due_date="2026-12-20")  # ERP-1
    log(ctx, hr, BEN, owner_id=ANNA, due_date="2026-12-10")  # HR-1: she owns it
    log(ctx, erp, BEN, owner_id=TOM, due_date="2026-12-02")  # ERP-2: not hers
    resolved = log(ctx, hr, ANNA, due_date="2026-12-20")  # HR-2: resolved, still listed
    move(ctx, resolved, hr, Verb.RESOLVE, text="done")
    for verb in (Verb.CLOSE, Verb.DELETE):
        move(ctx, log(ctx, erp, ANNA, due_date="2026-12-02"), erp, verb)
    other_workspace = Ctx(session=ctx.session, team_id=OTHER_TEAM, actor_id=PM, clock=clock)
    elsewhere = make_project(other_workspace, code="ELS")
    log(other_workspace, elsewhere, ANNA)

    def page(number: int, size: int = 5) -> tuple[list[str], int, int]:
        items, total, shown = issues.open_issues_of(ctx, ANNA, page=number, page_size=size)
        return [issues.issue_key(p, i) for i, p in items], total, shown

    assert page(0) == (["HR-1", "ERP-1", "HR-2"], 3, 0)
    assert page(0, 2) == (["HR-1", "ERP-1"], 3, 0)
    assert page(1, 2) == (["HR-2"], 3, 1)
    assert page(-1, 2) == (["HR-1", "ERP-1"], 3, 0)
    assert page(7, 2) == (["HR-2"], 3, 1)  # past the end: the last page
    assert page(4, 1) == (["HR-2"], 3, 2)
    assert page(1, 3) == (["HR-1", "ERP-1", "HR-2"], 3, 0)
    assert all(isinstance(page(number, 2)[2], int) for number in (0, 1, 5))
    assert issues.open_issues_of(ctx, OUTSIDER, page=3) == ([], 0, 0)
    assert issues.open_issues_of(ctx, OUTSIDER) == ([], 0, 0)
    assert issues.open_issues_of(ctx, ANNA)[0][0][1] is hr
    for day in range(3):  # six in all: the first page shows five
        log(ctx, erp, ANNA, due_date=f"2026-12-2{day + 1}")
    items, total, shown = issues.open_issues_of(ctx, ANNA)
    assert ([issues.issue_key(p, i) for i, p in items], total, shown) == (
        ["HR-1", "ERP-1", "HR-2", "ERP-5", "ERP-6"],
        6,
        0,
    )


def test_export_has_every_column_in_local_time_and_is_for_the_team(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    first = log(
        ctx,
        project,
        title="=SUM(A1)",
        description="details",
        module="FI",
        owner_id=TOM,
        source_permalink="https://acme.slack.com/archives/C1/p1",
    )
    clock.advance(hours=1)
    move(as_user(ctx, TOM), first, project, Verb.RESOLVE, text="fixed")
    move(ctx, first, project, Verb.CLOSE)
    issues.rate(ctx=as_user(ctx, ANNA), issue=first, project=project, rating=4, comment="good")
    log(ctx, project, BEN, priority="P1")
    move(ctx, log(ctx, project), project, Verb.DELETE)
    log(ctx, make_project(ctx, code="CRM"))  # another project's
    with pytest.raises(PermissionDenied) as error:
        issues.export_csv(as_user(ctx, ANNA), project)
    assert error.value.reason == Msg("issues.errors.export_denied", code="ERP")
    text = issues.export_csv(as_user(ctx, TOM), project)
    lines = text.split("\r\n")
    assert lines[0] == ",".join(issues.CSV_COLUMNS)
    assert lines[1:] == [
        "ERP-1,'=SUM(A1),issue,FI,P3,closed,UKEY00001,UTOM00001,2026-12-01T09:00+01:00,"
        "2026-12-02T09:00+01:00,2026-12-01T10:00+01:00,2026-12-11,2026-12-01T10:00+01:00,"
        "2026-12-01T10:00+01:00,fixed,4,good,details,https://acme.slack.com/archives/C1/p1",
        "ERP-2,Something broke,issue,,P1,new,UKEY00002,,2026-12-01T10:00+01:00,"
        "2026-12-01T12:00+01:00,,2026-12-02,,,,,,,",
        "",
    ]
    [entry] = logs(ctx, "issue.exported")
    assert (entry.project_id, entry.actor_id, entry.detail) == (project.id, TOM, {"rows": 2})
    assert issues.export_csv(as_admin(ctx, OUTSIDER), project) == text  # an admin, no member


# ------------------------------------------------------------------- what the scheduler finds


def test_snoozing_until_a_day_after_today(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    tokyo = make_project(ctx, timezone="Asia/Tokyo", code="JP")
    mine = log(ctx, project, owner_id=TOM)
    theirs = log(ctx, project, owner_id=PM2)
    far = log(ctx, tokyo, owner_id=TOM)
    gone = log(ctx, project, owner_id=TOM)
    move(ctx, gone, project, Verb.DELETE)
    tom = as_user(ctx, TOM)
    clock.set(datetime(2026, 12, 1, 16, 0, tzinfo=UTC))  # 2 December in Tokyo
    ids = [gone.id or 0, 999, mine.id or 0, theirs.id or 0, far.id or 0]
    assert issue_followup.snooze(ctx=tom, issue_ids=ids, until=None) == [mine, far]
    assert (mine.snoozed_until, theirs.snoozed_until, far.snoozed_until) == (
        date(2026, 12, 2),
        None,
        date(2026, 12, 3),
    )
    assert [(e.project_id, e.actor_id, e.detail) for e in logs(ctx, "issue.snoozed")] == [
        (project.id, TOM, {"issue": "ERP-1", "until": "2026-12-02"}),
        (tokyo.id, TOM, {"issue": "JP-1", "until": "2026-12-03"}),
    ]
    assert issue_followup.snooze(ctx=ctx, issue_ids=[theirs.id or 0], until=" 2026-12-08 ") == [
        theirs
    ]
    assert theirs.snoozed_until == date(2026, 12, 8)  # a PM may snooze anyone's
    assert issue_followup.snooze(ctx=tom, issue_ids=[mine.id or 0], until=date(2026, 12, 9)) == [
        mine
    ]
    with pytest.raises(ValidationError) as error:
        issue_followup.snooze(ctx=tom, issue_ids=[mine.id or 0], until="soon")
    assert error.value.errors == {"until": Msg("issues.errors.date_format")}
    with pytest.raises(ValidationError) as error:
        issue_followup.snooze(
            ctx=tom, issue_ids=[far.id or 0], until="2026-12-02"
        )  # today in Tokyo
    assert error.value.errors == {"until": Msg("issues.errors.snooze_past")}
    assert issue_followup.snooze(ctx=tom, issue_ids=[mine.id or 0], until="2026-12-02") == [mine]


def test_reminders_are_the_overdue_open_owned_issues_per_owner(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    tokyo = make_project(ctx, timezone="Asia/Tokyo", code="JP")
    late = log(ctx, project, owner_id=TOM, due_date="2026-12-03")  # ERP-1
    later = log(ctx, project, owner_id=TOM, due_date="2026-12-02")  # ERP-2
    log(ctx, project, owner_id=PM2, due_date="2026-12-03")  # ERP-3
    log(ctx, project, due_date="2026-12-02")  # ERP-4: nobody owns it
    log(ctx, project, owner_id=TOM, due_date="2026-12-04")  # ERP-5: due at the end of 4 Dec
    move(
        ctx, log(ctx, project, owner_id=TOM, due_date="2026-12-02"), project, Verb.RESOLVE, text="x"
    )
    move(ctx, log(ctx, project, owner_id=TOM, due_date="2026-12-02"), project, Verb.DELETE)
    same_day = log(ctx, tokyo, owner_id=TOM, due_date="2026-12-03")  # JP-1
    log(ctx, tokyo, owner_id=TOM, due_date="2026-12-20")  # JP-2: not due yet
    other_workspace = Ctx(session=ctx.session, team_id=OTHER_TEAM, actor_id=PM, clock=clock)
    log(
        other_workspace,
        make_project(other_workspace, code="ELS"),
        owner_id=TOM,
        due_date="2026-12-02",
    )
    clock.set(datetime(2026, 12, 4, 23, 0, tzinfo=UTC))  # the end of 4 December in Berlin

    def due() -> dict[str, list[str]]:
        return {
            owner: [issues.issue_key(p, i) for i, p in items]
            for owner, items in issue_followup.reminders_due(ctx).items()
        }

    assert due() == {TOM: ["ERP-2", "JP-1", "ERP-1", "ERP-5"], PM2: ["ERP-3"]}
    clock.set(datetime(2026, 12, 5, 16, 0, tzinfo=UTC))  # 17:00 in Berlin, 6 December in Tokyo
    same_day.snoozed_until = date(2026, 12, 6)  # today in Tokyo: reminded today
    late.snoozed_until = date(2026, 12, 6)  # tomorrow in Berlin: not today
    later.snoozed_until = date(2026, 12, 5)
    assert due() == {TOM: ["ERP-2", "JP-1", "ERP-5"], PM2: ["ERP-3"]}


def breaches_seen(ctx: Ctx) -> list[tuple[str, str, datetime, tuple[int, datetime, int]]]:
    return [
        (f"{b.project.code}-{b.issue.number}", b.kind, b.since, b.worst_first())
        for b in issue_followup.breaches(ctx)
    ]


def test_breaches_of_each_kind_once(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    unowned = log(ctx, project, priority="P1")  # ERP-1: past 10:00
    silent = log(ctx, project, priority="P2", owner_id=TOM)  # ERP-2: past 16:00
    answered = log(ctx, project, priority="P1", owner_id=TOM)  # ERP-3
    move(as_user(ctx, TOM), answered, project, Verb.ACK)
    done = log(ctx, project, priority="P1")  # ERP-4: resolved in time
    move(ctx, done, project, Verb.RESOLVE, text="x")
    gone = log(ctx, project, priority="P1")
    move(ctx, gone, project, Verb.DELETE)
    log(ctx, project, priority="P4")  # unowned, but its first response is due in three days
    other_workspace = Ctx(session=ctx.session, team_id=OTHER_TEAM, actor_id=PM, clock=clock)
    log(other_workspace, make_project(other_workspace, code="ELS"), priority="P1")
    clock.set(START + timedelta(hours=2))  # exactly the P1 first-response level
    one = (unowned.id or 0, START + timedelta(hours=2))
    assert breaches_seen(ctx) == [("ERP-1", "unowned", one[1], (0, one[1], one[0]))]
    clock.set(datetime(2026, 12, 2, 23, 0, tzinfo=UTC))  # the end of the P1 due day
    eight = START + timedelta(hours=8)
    end = datetime(2026, 12, 2, 23, 0, tzinfo=UTC)
    assert breaches_seen(ctx) == [
        ("ERP-1", "unowned", one[1], (0, one[1], one[0])),
        ("ERP-2", "first_response", eight, (1, eight, silent.id)),
        ("ERP-1", "resolution", end, (0, end, one[0])),
        ("ERP-3", "resolution", end, (0, end, answered.id)),
    ]
    found = issue_followup.breaches(ctx)
    assert all(b.issue.title == "Something broke" and b.project is project for b in found)
    assert issue_followup.record_escalations(ctx, found[:3]) == 3
    assert breaches_seen(ctx) == [("ERP-3", "resolution", end, (0, end, answered.id))]
    assert issue_followup.record_escalations(ctx, []) == 0


def test_an_escalation_is_claimed_recorded_and_a_touchpoint(ctx: Ctx, clock: MovableClock) -> None:
    make_project(ctx, code="CRM")  # ANNA is a key user here too, and first
    project = make_project(ctx)
    reported = log(ctx, project, priority="P1", owner_id=TOM)  # by ANNA, a key user
    move(as_user(ctx, TOM), reported, project, Verb.START)
    by_team = log(ctx, project, TOM, priority="P1", owner_id=TOM)
    clock.set(START + timedelta(days=3))
    found = issue_followup.breaches(ctx)
    assert [(b.issue.id, b.kind) for b in found] == [
        (by_team.id, "first_response"),
        (reported.id, "resolution"),
        (by_team.id, "resolution"),
    ]
    assert issue_followup.record_escalations(ctx, found) == 3
    claims = ctx.session.exec(select(ProcessedRequest).order_by(col(ProcessedRequest.key))).all()
    assert [(c.team_id, c.key, c.at) for c in claims if c.key.startswith("escalation:")] == [
        (ctx.team_id, f"escalation:{reported.id}:resolution", clock.now()),
        (ctx.team_id, f"escalation:{by_team.id}:first_response", clock.now()),
        (ctx.team_id, f"escalation:{by_team.id}:resolution", clock.now()),
    ]
    entries = ctx.session.exec(
        select(IssueHistory)
        .where(IssueHistory.action == "escalated")
        .order_by(col(IssueHistory.issue_id), col(IssueHistory.id))
    ).all()
    assert [
        (e.team_id, e.issue_id, e.actor_id, e.from_status, e.to_status, e.detail, e.at)
        for e in entries
    ] == [
        (
            ctx.team_id,
            reported.id,
            None,
            "in_progress",
            "in_progress",
            {"breach": "resolution"},
            clock.now(),
        ),
        (ctx.team_id, by_team.id, None, "new", "new", {"breach": "first_response"}, clock.now()),
        (ctx.team_id, by_team.id, None, "new", "new", {"breach": "resolution"}, clock.now()),
    ]
    [key_user] = [k for k in keyusers.active_key_users(ctx, project) if k.user_id == ANNA]
    touchpoints = sorted(
        (
            (e.team_id, e.project_id, e.key_user_id, e.touchpoint, e.detail, e.at)
            for e in logs(ctx, "issue.escalated")
        ),
        key=lambda row: (row[4]["issue"], row[4]["breach"]),
    )
    assert touchpoints == [
        (
            ctx.team_id,
            project.id,
            key_user.id,
            True,
            {"issue": "ERP-1", "breach": "resolution"},
            clock.now(),
        ),
        (
            ctx.team_id,
            project.id,
            None,
            False,
            {"issue": "ERP-2", "breach": "first_response"},
            clock.now(),
        ),
        (
            ctx.team_id,
            project.id,
            None,
            False,
            {"issue": "ERP-2", "breach": "resolution"},
            clock.now(),
        ),
    ]


def test_resolved_issues_close_themselves_after_each_projects_delay(
    ctx: Ctx, clock: MovableClock
) -> None:
    short = make_project(ctx)
    usual = make_project(ctx, code="CRM")
    long = bare_project(ctx, "HR")
    issue_levels.set_service_levels(ctx=ctx, project=short, auto_close_days=3)
    issue_levels.set_service_levels(ctx=ctx, project=usual, auto_close_days=7)
    issue_levels.set_service_levels(ctx=ctx, project=long, auto_close_days=10)
    resolved = {}
    for project in (short, usual, long):
        issue = log(ctx, project)
        move(ctx, issue, project, Verb.RESOLVE, text="done")
        resolved[project.code] = issue
    rated = log(ctx, short)
    move(ctx, rated, short, Verb.RESOLVE, text="done")
    issues.rate(ctx=as_user(ctx, ANNA), issue=rated, project=short, rating=2)
    gone = log(ctx, short)
    move(ctx, gone, short, Verb.RESOLVE, text="done")
    move(ctx, gone, short, Verb.DELETE)
    log(ctx, short)  # still open
    other_workspace = Ctx(session=ctx.session, team_id=OTHER_TEAM, actor_id=PM, clock=clock)
    elsewhere = make_project(other_workspace, code="ELS")
    move(other_workspace, log(other_workspace, elsewhere), elsewhere, Verb.RESOLVE, text="x")

    def due_at(moment: datetime) -> list[str]:
        clock.set(moment)
        return [issues.issue_key(p, i) for i, p in issue_followup.auto_close_due(ctx)]

    assert due_at(START + timedelta(days=3, seconds=-1)) == []
    assert due_at(START + timedelta(days=3)) == ["ERP-1"]
    assert due_at(START + timedelta(days=7)) == ["ERP-1", "CRM-1"]
    assert due_at(START + timedelta(days=10)) == ["ERP-1", "CRM-1", "HR-1"]
    change = issue_followup.auto_close(ctx=ctx, issue=resolved["ERP"], project=short)
    issue = resolved["ERP"]
    assert (issue.status, issue.closed_at, issue.updated_at, issue.version) == (
        "closed",
        clock.now(),
        clock.now(),
        3,
    )
    assert change.verb == "auto_closed" and change.tell_reporter and change.project is short
    assert change.issue is issue
    assert change.history is not None
    assert (change.history.action, change.history.from_status, change.history.to_status) == (
        "auto_closed",
        "resolved",
        "closed",
    )
    assert change.history.detail == {"days": 3}
    [entry] = logs(ctx, "issue.auto_closed")
    assert (entry.project_id, entry.touchpoint, entry.detail) == (
        short.id,
        True,
        {"issue": "ERP-1"},
    )
    assert due_at(clock.now()) == ["CRM-1", "HR-1"]


def test_the_default_delay_holds_for_projects_without_an_override(
    ctx: Ctx, clock: MovableClock
) -> None:
    plain = make_project(ctx)
    short = make_project(ctx, code="CRM")
    for project in (plain, short):
        issue = log(ctx, project)
        move(ctx, issue, project, Verb.RESOLVE, text="done")
    clock.set(START + timedelta(days=7))
    assert [p.code for _, p in issue_followup.auto_close_due(ctx)] == ["ERP", "CRM"]  # no override
    issue_levels.set_service_levels(ctx=ctx, project=short, auto_close_days=2)
    clock.set(START + timedelta(days=7, seconds=-1))
    assert [p.code for _, p in issue_followup.auto_close_due(ctx)] == ["CRM"]
    clock.set(START + timedelta(days=7))
    assert [p.code for _, p in issue_followup.auto_close_due(ctx)] == ["ERP", "CRM"]


def test_an_empty_due_date_means_the_service_levels_date(ctx: Ctx) -> None:
    """A cleared date picker sends "" (or nothing): the issue gets its priority's due date."""
    project = make_project(ctx)
    blank = log(ctx, project, due_date="", priority="P2")
    absent = log(ctx, project, priority="P2")
    assert blank.due_date == absent.due_date is not None
