"""Projects and the key-user register, at the service level (no Slack)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.services import engagement, keyusers, projects
from bot.services.context import Ctx
from bot.services.keyusers import KeyUserInput, Quadrant
from bot.services.projects import ProjectInput
from storage.models import Interaction, KeyUser
from tests.conftest import KEY_USERS, OTHER_TEAM, PM, PM2, TEAM


def make_project(ctx: Ctx, code: str = "ERP", **overrides: object) -> object:
    data = ProjectInput(
        name="S/4HANA finance rollout", code=code, pm_ids=[PM], timezone="Europe/Berlin"
    )
    for name, value in overrides.items():
        setattr(data, name, value)
    return projects.create_project(ctx=ctx, data=data)


def test_project_is_created_with_default_phases_and_creator_as_pm(ctx: Ctx) -> None:
    project = make_project(ctx)
    assert project.code == "ERP"
    assert project.phase == "preparation"
    assert project.phases[-1] == "go_live_support"
    assert projects.pm_ids(ctx, project) == [PM]
    assert ctx.session.exec(ctx.select(Interaction)).first().kind == "project.created"


def test_every_bad_project_field_is_reported_at_once(ctx: Ctx) -> None:
    make_project(ctx)
    with pytest.raises(ValidationError) as caught:
        projects.create_project(
            ctx=ctx,
            data=ProjectInput(
                name=" ",
                code="ERP",
                pm_ids=[],
                timezone="Mars/Base",
                digest_time="9am",
                phase="nowhere",
            ),
        )
    errors = caught.value.errors
    assert set(errors) == {"name", "code", "pm_ids", "timezone", "digest_time", "phase"}
    assert errors["code"] == Msg("errors.project_code_taken", code="ERP")


def test_custom_phases_replace_the_standard_ones(ctx: Ctx) -> None:
    project = make_project(ctx, custom_phases="Discover, Design, Build, Deploy", phase="design")
    assert project.phases == ["discover", "design", "build", "deploy"]
    projects.set_phase(ctx=ctx, project=project, phase="Build")
    assert project.phase == "build"
    with pytest.raises(ValidationError):
        projects.set_phase(ctx=ctx, project=project, phase="realization")


def test_only_pms_or_admins_change_a_project(ctx: Ctx) -> None:
    project = make_project(ctx)
    ctx.actor_id = PM2
    ctx._admin = None
    with pytest.raises(PermissionDenied):
        projects.set_phase(ctx=ctx, project=project, phase="blueprint")
    ctx.admin_check = lambda user: user == PM2
    ctx._admin = None
    projects.set_phase(ctx=ctx, project=project, phase="blueprint")
    assert project.phase == "blueprint"


def test_another_workspace_cannot_see_the_project(ctx: Ctx) -> None:
    make_project(ctx)
    other = Ctx(session=ctx.session, team_id=OTHER_TEAM, actor_id=PM, clock=ctx.clock)
    with pytest.raises(NotFound):
        projects.get_project(other, "ERP")
    assert projects.list_projects(other) == []
    # The same code is free in the other workspace.
    other_project = make_project(other)
    assert other_project.team_id == OTHER_TEAM


@pytest.mark.parametrize(
    ("influence", "interest", "expected", "cadence"),
    [
        ("high", "high", Quadrant.MANAGE_CLOSELY, 7),
        ("high", "low", Quadrant.KEEP_SATISFIED, 14),
        ("medium", "high", Quadrant.KEEP_INFORMED, 14),
        ("medium", "medium", Quadrant.MONITOR, 30),
    ],
)
def test_quadrant_and_default_cadence(
    ctx: Ctx, influence: str, interest: str, expected: Quadrant, cadence: int
) -> None:
    project = make_project(ctx)
    key_user = keyusers.add_key_user(
        ctx=ctx,
        project=project,
        data=KeyUserInput(user_id=KEY_USERS[0], influence=influence, interest=interest),
    )
    assert keyusers.quadrant(influence, interest) is expected
    assert keyusers.cadence_days(key_user) == cadence


def test_pm_override_of_cadence_wins(ctx: Ctx) -> None:
    project = make_project(ctx)
    key_user = keyusers.add_key_user(
        ctx=ctx, project=project, data=KeyUserInput(user_id=KEY_USERS[0], cadence_days="3")
    )
    assert keyusers.cadence_days(key_user) == 3
    entry = keyusers.register(ctx, project)[Quadrant.MONITOR][0]
    assert entry.cadence_overridden


def test_bad_key_user_input_stores_nothing(ctx: Ctx) -> None:
    project = make_project(ctx)
    with pytest.raises(ValidationError) as caught:
        keyusers.add_key_user(
            ctx=ctx,
            project=project,
            data=KeyUserInput(user_id="nobody", role="boss", influence="huge", cadence_days="0"),
        )
    assert set(caught.value.errors) == {"user_id", "role", "influence", "cadence_days"}
    assert ctx.session.exec(ctx.select(KeyUser)).all() == []


def test_removal_is_soft_and_readding_restores_history(ctx: Ctx) -> None:
    project = make_project(ctx)
    key_user = keyusers.add_key_user(
        ctx=ctx, project=project, data=KeyUserInput(user_id=KEY_USERS[0], module="FI")
    )
    keyusers.remove_key_user(ctx=ctx, key_user=key_user)
    assert keyusers.active_key_users(ctx, project) == []
    assert ctx.session.get(KeyUser, key_user.id) is not None
    again = keyusers.add_key_user(
        ctx=ctx, project=project, data=KeyUserInput(user_id=KEY_USERS[0], module="CO")
    )
    assert again.id == key_user.id and again.module == "CO" and again.active
    kinds = [row.kind for row in ctx.session.exec(ctx.select(Interaction)).all()]
    assert kinds[-3:] == ["keyuser.added", "keyuser.removed", "keyuser.restored"]


def test_a_key_user_is_registered_once_per_project(ctx: Ctx) -> None:
    project = make_project(ctx)
    keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=KEY_USERS[0]))
    with pytest.raises(ValidationError) as caught:
        keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=KEY_USERS[0]))
    assert "user_id" in caught.value.errors


def test_engagement_debt_follows_cadence_and_touchpoints(ctx: Ctx, clock) -> None:  # type: ignore[no-untyped-def]
    project = make_project(ctx)
    close = keyusers.add_key_user(
        ctx=ctx,
        project=project,
        data=KeyUserInput(user_id=KEY_USERS[0], influence="high", interest="high"),
    )
    keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=KEY_USERS[1]))
    clock.advance(timedelta(days=8))
    debt = engagement.engagement_debt(ctx, project.id, ctx.now())
    assert [e.user_id for e in debt] == [KEY_USERS[0]]
    ctx.log("contact.email", project_id=project.id, key_user_id=close.id, touchpoint=True)
    assert engagement.engagement_debt(ctx, project.id, ctx.now()) == []
    clock.advance(timedelta(days=31))
    assert len(engagement.engagement_debt(ctx, project.id, ctx.now())) == 2


def test_export_escapes_formulas(ctx: Ctx) -> None:
    project = make_project(ctx)
    keyusers.add_key_user(
        ctx=ctx,
        project=project,
        data=KeyUserInput(user_id=KEY_USERS[0], department='=HYPERLINK("x")', notes="+1 call"),
    )
    content = keyusers.export_csv(ctx=ctx, project=project)
    assert content.splitlines()[0].startswith("Slack user,Name,Role")
    assert "'=HYPERLINK" in content and "'+1 call" in content


def test_import_keeps_good_rows_and_reports_each_bad_one(ctx: Ctx) -> None:
    project = make_project(ctx)
    keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=KEY_USERS[0]))
    directory = {
        KEY_USERS[0]: (KEY_USERS[0], "Key 1"),
        "key2@acme.test": (KEY_USERS[1], "Key 2"),
        KEY_USERS[2]: (KEY_USERS[2], "Key 3"),
        KEY_USERS[3]: (KEY_USERS[3], "Key 4"),
    }
    text = (
        "slack_user,role,department,module,influence,interest,cadence_days\n"
        f"{KEY_USERS[0]},decision_maker,Finance,FI,high,high,\n"  # update
        "key2@acme.test,key_user,Logistics,MM,low,high,10\n"  # add by email
        f"{KEY_USERS[2]},wizard,IT,BASIS,low,low,\n"  # bad role
        "ghost@acme.test,key_user,,,,,\n"  # unknown person
        "key2@acme.test,key_user,,,,,\n"  # duplicate
        f"{KEY_USERS[3]},key_user,IT,BASIS,low,low,999\n"  # bad cadence
    )
    report = keyusers.import_csv(ctx=ctx, project=project, text=text, resolve_user=directory.get)
    assert report.added == [KEY_USERS[1]]
    assert report.updated == [KEY_USERS[0]]
    assert [(line, field) for line, field, _ in report.errors] == [
        (4, "role"),
        (5, "slack_user"),
        (6, "slack_user"),
        (7, "cadence_days"),
    ]
    active = {k.user_id: k for k in keyusers.active_key_users(ctx, project)}
    assert set(active) == {KEY_USERS[0], KEY_USERS[1]}
    assert active[KEY_USERS[0]].role == "decision_maker"
    assert active[KEY_USERS[1]].cadence_days == 10


def test_import_without_the_needed_columns_is_refused(ctx: Ctx) -> None:
    project = make_project(ctx)
    with pytest.raises(ValidationError):
        keyusers.import_csv(ctx=ctx, project=project, text="name\nAnna\n", resolve_user=dict().get)


def test_workspace_boundary_holds_for_key_users(ctx: Ctx) -> None:
    project = make_project(ctx)
    key_user = keyusers.add_key_user(
        ctx=ctx, project=project, data=KeyUserInput(user_id=KEY_USERS[0])
    )
    other = Ctx(session=ctx.session, team_id=OTHER_TEAM, actor_id=PM, clock=ctx.clock)
    with pytest.raises(NotFound):
        keyusers.get_key_user_by_id(other, key_user.id)
    assert ctx.team_id == TEAM
