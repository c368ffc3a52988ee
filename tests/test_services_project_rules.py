"""Rules of the project service that other features lean on: who counts as the project team,
which projects a PM manages, phase names as people type them, the audit log and the workspace
row (found by mutation testing to be unguarded)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.clock import MovableClock
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import say
from bot.runtime import Runtime
from bot.services import keyusers, projects
from bot.services.context import Ctx
from bot.services.home import viewer_of
from bot.services.keyusers import KeyUserInput
from bot.services.projects import DEFAULT_PHASES, ProjectInput
from bot.settings import Settings
from storage.db import Database
from storage.models import Interaction, Project, ProjectMember, Workspace
from storage.models.core import MemberRole
from tests.conftest import KEY_USERS, OTHER_TEAM, OUTSIDER, PM, PM2, TEAM


def make(ctx: Ctx, code: str, pm_ids: list[str]) -> Project:
    data = ProjectInput(name=f"Project {code}", code=code, pm_ids=pm_ids)
    return projects.create_project(ctx=ctx, data=data)


def test_the_team_is_its_members_and_pms_and_defaults_to_the_acting_person(ctx: Ctx) -> None:
    project = make(ctx, "ERP", [PM])
    projects.set_team_members(ctx=ctx, project=project, user_ids=[KEY_USERS[0]])
    assert projects.is_team_member(ctx, project, KEY_USERS[0])
    assert projects.is_team_member(ctx, project, PM)  # a PM is always in the team
    assert projects.is_team_member(ctx, project)  # the acting person (the PM)
    assert not projects.is_team_member(ctx, project, OUTSIDER)
    assert not projects.is_team_member(ctx, project, KEY_USERS[1])


def test_projects_managed_by_a_pm_are_theirs_only_in_code_order(ctx: Ctx) -> None:
    make(ctx, "WMS", [PM])
    make(ctx, "CRM", [PM2])
    erp = make(ctx, "ERP", [PM, PM2])
    projects.set_team_members(ctx=ctx, project=erp, user_ids=[OUTSIDER])
    assert [p.code for p in projects.projects_managed_by(ctx, PM)] == ["ERP", "WMS"]
    assert [p.code for p in projects.projects_managed_by(ctx, PM2)] == ["CRM", "ERP"]
    assert projects.projects_managed_by(ctx, OUTSIDER) == []  # the team does not manage


def test_a_phase_is_understood_as_people_type_it(ctx: Ctx) -> None:
    project = make(ctx, "ERP", [PM])
    projects.set_phase(ctx=ctx, project=project, phase="  Go Live-Support ")
    assert project.phase == "go_live_support"
    with pytest.raises(ValidationError) as refused:
        projects.set_phase(ctx=ctx, project=project, phase="hypercare")
    message = refused.value.errors["phase"]
    assert message.params["phases"] == ", ".join(project.phases)
    assert project.phase == "go_live_support"


def test_changes_are_logged_with_who_made_them(ctx: Ctx) -> None:
    project = make(ctx, "ERP", [PM])
    projects.set_phase(ctx=ctx, project=project, phase="blueprint")
    entries = ctx.session.exec(select(Interaction).order_by(Interaction.id)).all()
    assert [(e.kind, e.project_id, e.actor_id, e.touchpoint) for e in entries] == [
        ("project.created", project.id, PM, False),
        ("project.phase_changed", project.id, PM, False),
    ]
    assert entries[-1].detail == {"previous": "preparation", "phase": "blueprint"}


def test_the_workspace_is_recorded_once(ctx: Ctx) -> None:
    make(ctx, "ERP", [PM])
    make(ctx, "CRM", [PM])
    assert [w.team_id for w in ctx.session.exec(select(Workspace)).all()] == [TEAM]
    assert ctx.ensure_workspace().team_id == TEAM


def test_only_pms_and_admins_change_a_project_and_a_refusal_names_it(
    ctx: Ctx, database: Database, clock: MovableClock
) -> None:
    project = make(ctx, "ERP", [PM])
    ctx.session.commit()
    runtime = Runtime(settings=Settings(), database=database, clock=clock)
    with runtime.unit(TEAM, OUTSIDER, admin_check=lambda user: False) as outsider:
        erp = projects.get_project(outsider, "ERP")
        with pytest.raises(PermissionDenied) as refused:
            projects.set_phase(ctx=outsider, project=erp, phase="blueprint")
        assert say("en", refused.value.reason) == (
            "Only the project managers of ERP (or a workspace admin) "
            "can do that: ask one of them (`/project list` names them)."
        )
    with runtime.unit(TEAM, OUTSIDER, admin_check=lambda user: user == OUTSIDER) as admin:
        erp = projects.get_project(admin, "ERP")
        assert projects.set_phase(ctx=admin, project=erp, phase="blueprint").phase == "blueprint"
    assert project.code == "ERP"


# What a PM may type into the project modal, field by field (the flow tests only check a few).


def as_person(ctx: Ctx, user_id: str | None, *, admin: bool = False) -> Ctx:
    """The same unit of work, acting as someone else."""
    return Ctx(
        session=ctx.session,
        team_id=ctx.team_id,
        actor_id=user_id,
        clock=ctx.clock,
        admin_check=lambda _user: admin,
    )


def form(**fields: object) -> ProjectInput:
    data = ProjectInput(name="Finance", code="FIN", pm_ids=[PM])
    for name, value in fields.items():
        setattr(data, name, value)
    return data


def refusal(ctx: Ctx, **fields: object) -> dict[str, object]:
    with pytest.raises(ValidationError) as refused:
        projects.validate_project(ctx, form(**fields))
    return dict(refused.value.errors)


def test_a_name_is_required_and_120_characters_at_most(ctx: Ctx) -> None:
    assert projects.validate_project(ctx, form(name="  " + "n" * 120 + "  "))
    assert refusal(ctx, name="n" * 121) == {"name": Msg("errors.too_long", limit=120)}
    assert refusal(ctx, name="   ") == {"name": Msg("errors.required")}


def test_a_code_is_a_capital_letter_and_one_to_nine_more_letters_or_digits(ctx: Ctx) -> None:
    for code in (" fin ", "A1", "A123456789", "S4H"):
        assert projects.validate_project(ctx, form(code=code))
    for code in ("A", "A1234567890", "4ERP", "ER-P", "", "E RP"):
        assert refusal(ctx, code=code) == {"code": Msg("errors.project_code_format")}, code


def test_a_code_in_use_is_refused_but_a_project_keeps_its_own(ctx: Ctx) -> None:
    erp = make(ctx, "ERP", [PM])
    crm = make(ctx, "CRM", [PM])
    taken = {"code": Msg("errors.project_code_taken", code="ERP")}
    assert refusal(ctx, code=" erp") == taken
    assert projects.validate_project(ctx, form(code="ERP"), existing=erp)
    with pytest.raises(ValidationError) as refused:
        projects.validate_project(ctx, form(code="ERP"), existing=crm)
    assert refused.value.errors == taken


def test_phases_as_typed_up_to_20_of_up_to_60_characters(ctx: Ctx) -> None:
    assert projects.validate_project(ctx, form(custom_phases="   ")) == list(DEFAULT_PHASES)
    typed = " Go  Live , ,go live,HYPERCARE,"
    assert projects.validate_project(ctx, form(custom_phases=typed)) == ["go_live", "hypercare"]
    twenty = [f"p{i}" for i in range(20)]
    assert projects.validate_project(ctx, form(custom_phases=",".join(twenty))) == twenty
    too_many = {"custom_phases": Msg("errors.phases_too_many", limit=20)}
    assert refusal(ctx, custom_phases=",".join([*twenty, "p20"])) == too_many
    assert projects.validate_project(ctx, form(custom_phases="a" * 60)) == ["a" * 60]
    assert refusal(ctx, custom_phases="a" * 61) == too_many


def test_the_current_phase_is_one_of_the_phases_and_defaults_to_the_first(ctx: Ctx) -> None:
    assert projects.validate_project(ctx, form(phase=" Final Preparation"))
    assert refusal(ctx, phase="hypercare") == {
        "phase": Msg("errors.phase_unknown", phases=", ".join(DEFAULT_PHASES))
    }
    assert refusal(ctx, custom_phases="build,run", phase="preparation") == {
        "phase": Msg("errors.phase_unknown", phases="build, run")
    }
    project = projects.create_project(ctx=ctx, data=form(custom_phases="Build, Run"))
    assert project.phase == "build"


def test_pms_timezone_language_and_digest_slot_are_checked(ctx: Ctx) -> None:
    assert refusal(ctx, pm_ids=[]) == {"pm_ids": Msg("errors.pm_required")}
    for zone in ("Mars/Base", "", "../etc"):
        assert refusal(ctx, timezone=zone) == {
            "timezone": Msg("errors.timezone_unknown", timezone=zone)
        }
    assert projects.validate_project(ctx, form(timezone="Asia/Shanghai", locale="zh-CN"))
    assert refusal(ctx, locale="de") == {"locale": Msg("errors.locale_unknown")}
    for weekday in (0, 6):
        assert projects.validate_project(ctx, form(digest_weekday=weekday))
    for weekday in (-1, 7):
        assert refusal(ctx, digest_weekday=weekday) == {
            "digest_weekday": Msg("errors.weekday_unknown")
        }
    for moment in ("00:00", "19:59", "23:59"):
        assert projects.validate_project(ctx, form(digest_time=moment))
    for moment in ("24:00", "9:00", "09:60", "09:00 ", "", None):
        assert refusal(ctx, digest_time=moment) == {"digest_time": Msg("errors.time_format")}


def test_a_new_project_keeps_every_field_as_cleaned(ctx: Ctx, clock: MovableClock) -> None:
    data = ProjectInput(
        name="  Finance rollout  ",
        code=" fin ",
        phase="Final Preparation",
        channel_id="CFIN00001",
        pm_ids=[PM2, PM, PM2],
        team_ids=[OUTSIDER],
        timezone="Asia/Shanghai",
        locale="zh-CN",
        digest_weekday=4,
        digest_time="17:30",
    )
    project = projects.create_project(ctx=ctx, data=data)
    assert projects.project_summary(project) == {
        "name": "Finance rollout",
        "code": "FIN",
        "phase": "final_preparation",
        "phases": list(DEFAULT_PHASES),
        "channel_id": "CFIN00001",
        "timezone": "Asia/Shanghai",
        "locale": "zh-CN",
        "digest_weekday": 4,
        "digest_time": "17:30",
    }
    assert (project.team_id, project.created_by) == (TEAM, PM)
    assert project.created_at == project.updated_at == clock.now()
    assert projects.pm_ids(ctx, project) == [PM2, PM]
    assert projects.member_ids(ctx, project, MemberRole.TEAM) == [OUTSIDER]
    members = ctx.session.exec(select(ProjectMember)).all()
    assert {(m.team_id, m.project_id, m.added_at) for m in members} == {
        (TEAM, project.id, clock.now())
    }
    [entry] = ctx.session.exec(select(Interaction)).all()
    assert (entry.kind, entry.project_id) == ("project.created", project.id)
    assert entry.detail == {"code": "FIN", "name": "Finance rollout"}


def test_a_project_created_without_an_actor_or_a_team(ctx: Ctx) -> None:
    project = projects.create_project(ctx=as_person(ctx, None), data=form())
    assert project.created_by == ""
    assert projects.member_ids(ctx, project, MemberRole.TEAM) == []


def test_an_edit_changes_every_field_and_logs_what_changed(ctx: Ctx, clock: MovableClock) -> None:
    project = projects.create_project(ctx=ctx, data=form(team_ids=[OUTSIDER]))
    created = clock.now()
    clock.advance(timedelta(hours=1))
    data = ProjectInput(
        name=" Finance, wave 2 ",
        code="fin2",
        phase="Run",
        custom_phases="Build, Run",
        channel_id="CFIN00002",
        pm_ids=[PM2],
        timezone="Asia/Shanghai",
        locale="zh-CN",
        digest_weekday=2,
        digest_time="08:15",
    )
    projects.update_project(ctx=ctx, project=project, data=data)
    assert projects.project_summary(project) == {
        "name": "Finance, wave 2",
        "code": "FIN2",
        "phase": "run",
        "phases": ["build", "run"],
        "channel_id": "CFIN00002",
        "timezone": "Asia/Shanghai",
        "locale": "zh-CN",
        "digest_weekday": 2,
        "digest_time": "08:15",
    }
    assert (project.created_at, project.updated_at) == (created, clock.now())
    assert projects.pm_ids(ctx, project) == [PM2]
    assert projects.member_ids(ctx, project, MemberRole.TEAM) == [OUTSIDER]  # None: left alone
    entry = ctx.session.exec(select(Interaction).order_by(col(Interaction.id))).all()[-1]
    assert (entry.kind, entry.project_id, entry.actor_id) == ("project.updated", project.id, PM)
    assert entry.detail == {
        "changes": {
            "name": ["Finance", "Finance, wave 2"],
            "code": ["FIN", "FIN2"],
            "phase": ["preparation", "run"],
            "phases": [list(DEFAULT_PHASES), ["build", "run"]],
            "channel_id": [None, "CFIN00002"],
            "timezone": ["UTC", "Asia/Shanghai"],
            "locale": ["en", "zh-CN"],
            "digest_weekday": [0, 2],
            "digest_time": ["09:00", "08:15"],
        }
    }


def test_an_edit_logs_only_the_changes_and_may_empty_the_team(ctx: Ctx) -> None:
    project = projects.create_project(ctx=ctx, data=form(team_ids=[OUTSIDER]))
    projects.update_project(ctx=ctx, project=project, data=form(name="Finance 2", team_ids=[]))
    entry = ctx.session.exec(select(Interaction).order_by(col(Interaction.id))).all()[-1]
    assert entry.detail == {"changes": {"name": ["Finance", "Finance 2"]}}
    assert projects.member_ids(ctx, project, MemberRole.TEAM) == []
    assert projects.pm_ids(ctx, project) == [PM]
    projects.update_project(ctx=ctx, project=project, data=form(phase=" Final Preparation"))
    assert project.phase == "final_preparation"


def test_an_edit_by_someone_else_is_refused_before_anything_changes(ctx: Ctx) -> None:
    project = make(ctx, "ERP", [PM])
    with pytest.raises(PermissionDenied):
        projects.update_project(
            ctx=as_person(ctx, OUTSIDER), project=project, data=form(code="ERP", name="Mine")
        )
    assert project.name == "Project ERP"
    with pytest.raises(PermissionDenied):
        projects.set_team_members(ctx=as_person(ctx, OUTSIDER), project=project, user_ids=[])


def test_setting_the_team_keeps_who_stays_and_leaves_the_pms(ctx: Ctx, clock: MovableClock) -> None:
    project = make(ctx, "ERP", [PM])
    first = clock.now()
    projects.set_team_members(ctx=ctx, project=project, user_ids=[KEY_USERS[0], KEY_USERS[1]])
    clock.advance(timedelta(days=1))
    projects.set_team_members(
        ctx=ctx, project=project, user_ids=[KEY_USERS[1], KEY_USERS[2], KEY_USERS[2]]
    )
    team = ctx.session.exec(
        select(ProjectMember).where(ProjectMember.role == MemberRole.TEAM)
    ).all()
    assert sorted((m.user_id, m.added_at) for m in team) == [
        (KEY_USERS[1], first),
        (KEY_USERS[2], clock.now()),
    ]
    assert projects.pm_ids(ctx, project) == [PM]
    entry = ctx.session.exec(select(Interaction).order_by(col(Interaction.id))).all()[-1]
    assert (entry.kind, entry.project_id) == ("project.team_changed", project.id)
    assert entry.detail == {"team": [KEY_USERS[1], KEY_USERS[2], KEY_USERS[2]]}


def test_the_pms_of_many_projects_in_one_go(ctx: Ctx) -> None:
    erp = make(ctx, "ERP", [PM2, PM])
    crm = make(ctx, "CRM", [PM2])
    wms = make(ctx, "WMS", [PM])
    projects.set_team_members(ctx=ctx, project=erp, user_ids=[OUTSIDER])
    assert projects.pm_ids_by_project(ctx, set()) == {}
    assert projects.pm_ids_by_project(ctx, {erp.id or 0, crm.id or 0}) == {
        erp.id: [PM2, PM],
        crm.id: [PM2],
    }
    assert projects.pm_ids_by_project(ctx, {wms.id or 0}) == {wms.id: [PM]}
    assert projects.is_pm(ctx, erp) and not projects.is_pm(ctx, crm)
    assert projects.is_pm(as_person(ctx, PM2), crm)


def test_the_register_is_for_the_team_the_pms_and_admins(ctx: Ctx) -> None:
    project = make(ctx, "ERP", [PM])
    projects.set_team_members(ctx=ctx, project=project, user_ids=[KEY_USERS[0]])
    for person in (as_person(ctx, PM), as_person(ctx, KEY_USERS[0])):
        projects.require_team(person, project)
    projects.require_team(as_person(ctx, OUTSIDER, admin=True), project)
    outsider = as_person(ctx, OUTSIDER)
    for what in ("register", "service_levels"):
        with pytest.raises(PermissionDenied) as refused:
            projects.require_team(outsider, project, what)
        assert refused.value.reason == Msg(f"security.{what}_private", code="ERP")
    with pytest.raises(PermissionDenied) as refused:
        projects.require_team(outsider, project)
    assert refused.value.reason == Msg("security.register_private", code="ERP")
    with pytest.raises(PermissionDenied):
        projects.require_pm(as_person(ctx, KEY_USERS[0]), project)  # the team does not manage


def test_a_project_is_found_by_its_code_as_typed_or_by_its_id(ctx: Ctx) -> None:
    project = make(ctx, "ERP", [PM])
    assert projects.get_project(ctx, " erp ") is project
    for typed, shown in (("nope", "NOPE"), ("", "?"), (None, "?")):
        with pytest.raises(NotFound) as missing:
            projects.get_project(ctx, typed)  # type: ignore[arg-type]
        assert missing.value.message == Msg("errors.project_not_found", code=shown)
    assert projects.get_project_by_id(ctx, project.id or 0) is project
    with pytest.raises(NotFound) as missing:
        projects.get_project_by_id(ctx, 999)
    assert missing.value.message == Msg("errors.project_not_found", code="999")
    elsewhere = Ctx(session=ctx.session, team_id=OTHER_TEAM, actor_id=PM, clock=ctx.clock)
    with pytest.raises(NotFound):
        projects.get_project_by_id(elsewhere, project.id or 0)


def test_a_channel_leads_to_its_project(ctx: Ctx) -> None:
    project = projects.create_project(ctx=ctx, data=form(channel_id="CFIN00001"))
    make(ctx, "ERP", [PM])
    assert projects.project_for_channel(ctx, "CFIN00001") is project
    assert projects.project_for_channel(ctx, "COTHER001") is None
    assert projects.project_for_channel(ctx, None) is None
    assert projects.project_for_channel(ctx, "") is None


def test_projects_are_listed_by_code_within_the_workspace(ctx: Ctx) -> None:
    for code in ("WMS", "CRM", "ERP"):
        make(ctx, code, [PM])
    elsewhere = Ctx(session=ctx.session, team_id=OTHER_TEAM, actor_id=PM, clock=ctx.clock)
    projects.create_project(ctx=elsewhere, data=form(code="ABC"))
    assert [p.code for p in projects.list_projects(ctx)] == ["CRM", "ERP", "WMS"]


def test_a_persons_language_is_that_of_their_latest_project(ctx: Ctx, clock: MovableClock) -> None:
    assert projects.language_of_person(ctx, PM) is None
    english = projects.create_project(ctx=ctx, data=form(code="ENG", team_ids=[OUTSIDER]))
    keyusers.add_key_user(ctx=ctx, project=english, data=KeyUserInput(user_id=KEY_USERS[0]))
    gone = keyusers.add_key_user(ctx=ctx, project=english, data=KeyUserInput(user_id=KEY_USERS[1]))
    keyusers.remove_key_user(ctx=ctx, key_user=gone)
    for person in (PM, OUTSIDER, KEY_USERS[0]):
        assert projects.language_of_person(ctx, person) == "en", person
    assert projects.language_of_person(ctx, KEY_USERS[1]) is None  # removed
    clock.advance(timedelta(days=1))
    chinese = projects.create_project(
        ctx=ctx, data=form(code="CHN", locale="zh-CN", team_ids=[OUTSIDER])
    )
    keyusers.add_key_user(ctx=ctx, project=chinese, data=KeyUserInput(user_id=KEY_USERS[0]))
    for person in (PM, OUTSIDER, KEY_USERS[0]):
        assert projects.language_of_person(ctx, person) == "zh-CN", person
    # Created at the same moment: the later one counts.
    projects.create_project(ctx=ctx, data=form(code="ENG2", pm_ids=[PM2]))
    projects.create_project(ctx=ctx, data=form(code="CHN2", pm_ids=[PM2], locale="zh-CN"))
    assert projects.language_of_person(ctx, PM2) == "zh-CN"
    # The latest by the time of creation, even when two requests at once stored them in the
    # other order.
    clock.advance(timedelta(days=2))
    projects.create_project(ctx=ctx, data=form(code="LATE", pm_ids=[PM2], locale="en"))
    clock.advance(timedelta(days=-1))
    projects.create_project(ctx=ctx, data=form(code="EARLY", pm_ids=[PM2], locale="zh-CN"))
    assert projects.language_of_person(ctx, PM2) == "en"
    # Another workspace's projects do not count.
    elsewhere = Ctx(session=ctx.session, team_id=OTHER_TEAM, actor_id=PM, clock=ctx.clock)
    clock.advance(timedelta(days=1))
    projects.create_project(ctx=elsewhere, data=form(code="ENG", pm_ids=[PM, KEY_USERS[5]]))
    assert projects.language_of_person(ctx, PM) == "zh-CN"
    assert projects.language_of_person(ctx, KEY_USERS[5]) is None


def test_the_projects_of_a_key_user_by_code_without_removals(ctx: Ctx) -> None:
    found = {}
    for code in ("WMS", "CRM", "ERP"):
        project = make(ctx, code, [PM])
        found[code] = keyusers.add_key_user(
            ctx=ctx, project=project, data=KeyUserInput(user_id=KEY_USERS[0])
        )
    keyusers.remove_key_user(ctx=ctx, key_user=found["CRM"])
    assert [
        (project.code, key_user)
        for project, key_user in viewer_of(ctx, KEY_USERS[0]).key_user_projects
    ] == [("ERP", found["ERP"]), ("WMS", found["WMS"])]
    assert viewer_of(ctx, KEY_USERS[1]).key_user_projects == []


def test_a_form_offers_the_projects_the_actor_manages(ctx: Ctx) -> None:
    with pytest.raises(NotFound) as none:
        projects.manageable_choice(ctx, None, project_command="/poll")
    assert none.value.message == Msg("errors.no_managed_projects", command="/poll")
    wms = make(ctx, "WMS", [PM])
    assert projects.manageable_choice(ctx, None) == (wms, [wms])
    assert projects.manageable_choice(ctx, wms) == (wms, [wms])
    erp = make(ctx, "ERP", [PM])
    crm = make(ctx, "CRM", [PM2])
    assert projects.manageable_choice(ctx, None) == (None, [erp, wms])
    assert projects.manageable_choice(ctx, erp) == (erp, [erp])
    with pytest.raises(PermissionDenied):
        projects.manageable_choice(ctx, crm)
    admin = as_person(ctx, OUTSIDER, admin=True)
    assert projects.manageable_choice(admin, None) == (None, [crm, erp, wms])
    with pytest.raises(NotFound) as none:
        projects.manageable_choice(as_person(ctx, OUTSIDER), None)
    assert none.value.message == Msg("errors.no_managed_projects", command="/project")


def test_a_command_means_the_code_given_else_the_channels_else_the_only_managed(
    ctx: Ctx,
) -> None:
    erp = projects.create_project(ctx=ctx, data=form(code="ERP", channel_id="CERP00009"))
    crm = make(ctx, "CRM", [PM2])
    assert projects.resolve_project(ctx, "crm", "CERP00009") is crm
    assert projects.resolve_project(as_person(ctx, PM2), None, "CERP00009") is erp
    assert projects.resolve_project(ctx, None, "COTHER001") is erp  # the only one PM manages
    assert projects.resolve_project(as_person(ctx, PM2), "", None) is crm
    make(ctx, "WMS", [PM])
    for person in (ctx, as_person(ctx, OUTSIDER), as_person(ctx, None)):
        with pytest.raises(NotFound) as unclear:
            projects.resolve_project(person, None, None)
        assert unclear.value.message == Msg("errors.project_code_needed")
