"""Rules of the key-user register at the service level: what each field accepts, what a restore,
an edit and a removal keep, who sees which part of the register, and the CSV round trip (found by
mutation testing to be unguarded)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.clock import MovableClock
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.services import keyusers, projects
from bot.services.context import Ctx
from bot.services.keyusers import CHANNELS, CSV_COLUMNS, LEVELS, ROLES, KeyUserInput, Quadrant
from bot.services.projects import ProjectInput
from storage.models import Interaction, KeyUser, Project
from tests.conftest import KEY_USERS, OTHER_TEAM, OUTSIDER, PM, PM2, TEAM


@pytest.fixture
def project(ctx: Ctx) -> Project:
    return projects.create_project(
        ctx=ctx, data=ProjectInput(name="Finance", code="ERP", pm_ids=[PM], team_ids=[PM2])
    )


def as_person(ctx: Ctx, user_id: str, *, admin: bool = False) -> Ctx:
    return Ctx(
        session=ctx.session,
        team_id=ctx.team_id,
        actor_id=user_id,
        clock=ctx.clock,
        admin_check=lambda _user: admin,
    )


def add(ctx: Ctx, project: Project, user_id: str = KEY_USERS[0], **fields: object) -> KeyUser:
    return keyusers.add_key_user(
        ctx=ctx,
        project=project,
        data=KeyUserInput(user_id=user_id, **fields),  # type: ignore[arg-type]
    )


def refusal(ctx: Ctx, project: Project, **fields: object) -> dict[str, object]:
    fields.setdefault("user_id", "UNEW00001")  # nobody in the register yet
    with pytest.raises(ValidationError) as refused:
        keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(**fields))  # type: ignore[arg-type]
    return dict(refused.value.errors)


def last_log(ctx: Ctx) -> Interaction:
    return ctx.session.exec(select(Interaction).order_by(col(Interaction.id))).all()[-1]


def test_a_slack_user_id_is_a_u_or_w_and_two_to_thirty_more(ctx: Ctx, project: Project) -> None:
    for user_id in ("U12", "WABC", "U" + "A" * 30):
        assert add(ctx, project, user_id).user_id == user_id
    for user_id in ("U1", "X123", "u123", "U" + "A" * 31, "", None):
        assert refusal(ctx, project, user_id=user_id) == {"user_id": Msg("errors.user_required")}


def test_choices_are_understood_as_typed_and_refused_with_the_list(
    ctx: Ctx, project: Project
) -> None:
    key_user = add(
        ctx,
        project,
        role=" Decision Maker ",
        influence=" HIGH ",
        interest="Low",
        preferred_channel=" Project Channel",
    )
    assert (key_user.role, key_user.influence, key_user.interest, key_user.preferred_channel) == (
        "decision_maker",
        "high",
        "low",
        "project_channel",
    )
    assert add(ctx, project, KEY_USERS[1], preferred_channel="").preferred_channel == "dm"
    assert add(ctx, project, KEY_USERS[2], preferred_channel=None).preferred_channel == "dm"
    assert refusal(ctx, project, role="boss") == {
        "role": Msg("errors.choice", choices=", ".join(ROLES))
    }
    assert refusal(ctx, project, role=None) == {
        "role": Msg("errors.choice", choices=", ".join(ROLES))
    }
    levels = Msg("errors.choice", choices=", ".join(LEVELS))
    assert refusal(ctx, project, influence="huge", interest=None) == {
        "influence": levels,
        "interest": levels,
    }
    assert refusal(ctx, project, interest="huge", influence=None) == {
        "influence": levels,
        "interest": levels,
    }
    assert refusal(ctx, project, preferred_channel="fax") == {
        "preferred_channel": Msg("errors.choice", choices=", ".join(CHANNELS))
    }


def test_a_cadence_is_a_whole_number_of_days_from_1_to_365(ctx: Ctx, project: Project) -> None:
    for index, (typed, kept) in enumerate(
        [(" 7 ", 7), ("1", 1), ("365", 365), (30, 30), (None, None), ("", None), ("  ", None)]
    ):
        assert add(ctx, project, f"UCAD{index:05d}", cadence_days=typed).cadence_days == kept, typed
    for typed in ("0", "366", "-1", "x", "1.5", 0):
        assert refusal(ctx, project, cadence_days=typed) == {
            "cadence_days": Msg("errors.cadence_range")
        }, typed


def test_texts_are_trimmed_empty_is_none_and_lengths_are_limited(
    ctx: Ctx, project: Project
) -> None:
    key_user = add(
        ctx,
        project,
        department=" " + "d" * 120 + " ",
        module="m" * 120,
        notes=" " + "n" * 2000 + " ",
    )
    assert (key_user.department, key_user.module, key_user.notes) == (
        "d" * 120,
        "m" * 120,
        "n" * 2000,
    )
    empty = add(ctx, project, KEY_USERS[1], department="  ", module="", notes=None)
    assert (empty.department, empty.module, empty.notes) == (None, None, None)
    assert refusal(ctx, project, department="d" * 121, module="m" * 121, notes="n" * 2001) == {
        "department": Msg("errors.too_long", limit=120),
        "module": Msg("errors.too_long", limit=120),
        "notes": Msg("errors.too_long", limit=2000),
    }


def test_an_added_key_user_is_stored_and_logged_whole(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    key_user = add(
        ctx, project, role="sponsor", module=" FI ", display_name="Key One", cadence_days="10"
    )
    assert (key_user.team_id, key_user.project_id, key_user.display_name) == (
        TEAM,
        project.id,
        "Key One",
    )
    assert key_user.created_at == key_user.updated_at == clock.now()
    entry = last_log(ctx)
    assert (entry.kind, entry.project_id, entry.key_user_id) == (
        "keyuser.added",
        project.id,
        key_user.id,
    )
    assert entry.detail == {
        "user_id": KEY_USERS[0],
        "role": "sponsor",
        "department": None,
        "module": "FI",
        "influence": "medium",
        "interest": "medium",
        "preferred_channel": "dm",
        "cadence_days": 10,
        "notes": None,
    }


def test_only_pms_and_admins_change_the_register(ctx: Ctx, project: Project) -> None:
    key_user = add(ctx, project)
    for person in (as_person(ctx, OUTSIDER), as_person(ctx, PM2)):  # PM2: team, not a PM
        with pytest.raises(PermissionDenied):
            add(person, project, KEY_USERS[1])
        with pytest.raises(PermissionDenied):
            keyusers.update_key_user(
                ctx=person, key_user=key_user, data=KeyUserInput(role="sponsor")
            )
        with pytest.raises(PermissionDenied):
            keyusers.remove_key_user(ctx=person, key_user=key_user)
        with pytest.raises(PermissionDenied):
            keyusers.export_csv(ctx=person, project=project)
        with pytest.raises(PermissionDenied):
            keyusers.import_csv(
                ctx=person, project=project, text="slack_user,role\n", resolve_user=dict().get
            )
    assert key_user.role == "key_user" and key_user.active
    admin = as_person(ctx, OUTSIDER, admin=True)
    assert add(admin, project, KEY_USERS[1]).user_id == KEY_USERS[1]


def test_an_active_key_user_is_refused_again_with_the_project_code(
    ctx: Ctx, project: Project
) -> None:
    add(ctx, project)
    assert refusal(ctx, project, user_id=KEY_USERS[0], role="boss") == {
        "role": Msg("errors.choice", choices=", ".join(ROLES)),
        "user_id": Msg("errors.keyuser_exists", code="ERP"),
    }


def test_a_restore_keeps_the_row_and_the_name_unless_a_new_one_is_given(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    created = clock.now()
    key_user = add(ctx, project, display_name="Key One", notes="first")
    keyusers.remove_key_user(ctx=ctx, key_user=key_user)
    clock.advance(timedelta(days=3))
    again = add(ctx, project, role="sponsor")
    assert again.id == key_user.id and again.active
    assert (again.display_name, again.role, again.notes) == ("Key One", "sponsor", None)
    assert (again.created_at, again.updated_at) == (created, clock.now())
    entry = last_log(ctx)
    assert (entry.kind, entry.key_user_id, entry.detail["user_id"], entry.detail["role"]) == (
        "keyuser.restored",
        key_user.id,
        KEY_USERS[0],
        "sponsor",
    )
    keyusers.remove_key_user(ctx=ctx, key_user=again)
    assert add(ctx, project, display_name="Key 1").display_name == "Key 1"


def test_an_edit_keeps_the_person_and_logs_only_the_changes(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    key_user = add(ctx, project, display_name="Key One", module="FI")
    clock.advance(timedelta(hours=2))
    data = KeyUserInput(user_id="", module="CO", influence="high")
    keyusers.update_key_user(ctx=ctx, key_user=key_user, data=data)
    assert (key_user.user_id, key_user.module, key_user.influence) == (KEY_USERS[0], "CO", "high")
    assert key_user.display_name == "Key One"  # no new name given
    assert key_user.updated_at == clock.now() and key_user.created_at < clock.now()
    entry = last_log(ctx)
    assert (entry.kind, entry.project_id, entry.key_user_id) == (
        "keyuser.updated",
        project.id,
        key_user.id,
    )
    assert entry.detail == {"changes": {"module": ["FI", "CO"], "influence": ["medium", "high"]}}
    keyusers.update_key_user(
        ctx=ctx, key_user=key_user, data=KeyUserInput(module="CO", display_name="Key 1")
    )
    assert key_user.display_name == "Key 1"
    with pytest.raises(ValidationError) as refused:
        keyusers.update_key_user(
            ctx=ctx, key_user=key_user, data=KeyUserInput(module="CO", cadence_days="0")
        )
    assert set(refused.value.errors) == {"cadence_days"}
    assert key_user.module == "CO" and key_user.cadence_days is None


def test_a_removal_is_dated_logged_and_not_repeated(
    ctx: Ctx, project: Project, clock: MovableClock
) -> None:
    key_user = add(ctx, project)
    clock.advance(timedelta(days=1))
    keyusers.remove_key_user(ctx=ctx, key_user=key_user)
    assert key_user.removed_at == key_user.updated_at == clock.now()
    entry = last_log(ctx)
    assert (entry.kind, entry.project_id, entry.key_user_id, entry.detail) == (
        "keyuser.removed",
        project.id,
        key_user.id,
        {"user_id": KEY_USERS[0]},
    )
    with pytest.raises(NotFound) as missing:
        keyusers.remove_key_user(ctx=ctx, key_user=key_user)
    assert missing.value.message == Msg("errors.keyuser_not_found", code="ERP")


def test_key_users_are_found_while_active_and_in_this_workspace(ctx: Ctx, project: Project) -> None:
    key_user = add(ctx, project)
    gone = add(ctx, project, KEY_USERS[1])
    keyusers.remove_key_user(ctx=ctx, key_user=gone)
    assert keyusers.get_key_user(ctx, project, KEY_USERS[0]) is key_user
    for user_id in (KEY_USERS[1], KEY_USERS[2]):
        with pytest.raises(NotFound) as missing:
            keyusers.get_key_user(ctx, project, user_id)
        assert missing.value.message == Msg("errors.keyuser_not_found", code="ERP")
    assert keyusers.get_key_user_by_id(ctx, gone.id or 0) is gone  # history stays reachable
    with pytest.raises(NotFound) as missing:
        keyusers.get_key_user_by_id(ctx, 999)
    assert missing.value.message == Msg("errors.keyuser_gone")


def test_active_key_users_by_name_then_id_of_this_project_only(ctx: Ctx, project: Project) -> None:
    other = projects.create_project(ctx=ctx, data=ProjectInput(name="CRM", code="CRM", pm_ids=[PM]))
    add(ctx, other, KEY_USERS[5])
    add(ctx, project, KEY_USERS[2], display_name="Bea")
    add(ctx, project, KEY_USERS[4], display_name="Anna")
    add(ctx, project, KEY_USERS[3], display_name="Bea")
    add(ctx, project, KEY_USERS[1], display_name="Bea")
    keyusers.remove_key_user(ctx=ctx, key_user=add(ctx, project, KEY_USERS[0], display_name="Al"))
    assert [k.user_id for k in keyusers.active_key_users(ctx, project)] == [
        KEY_USERS[4],
        KEY_USERS[1],
        KEY_USERS[2],
        KEY_USERS[3],
    ]


def test_the_register_groups_by_quadrant_and_shows_a_key_user_only_their_entry(
    ctx: Ctx, project: Project
) -> None:
    close = add(ctx, project, influence="high", interest="high", cadence_days="3")
    informed = add(ctx, project, KEY_USERS[1], influence="low", interest="high")
    grid = keyusers.register(ctx, project)
    assert list(grid) == [
        Quadrant.MANAGE_CLOSELY,
        Quadrant.KEEP_SATISFIED,
        Quadrant.KEEP_INFORMED,
        Quadrant.MONITOR,
    ]
    [entry] = grid[Quadrant.MANAGE_CLOSELY]
    assert (entry.key_user, entry.quadrant, entry.cadence_days, entry.cadence_overridden) == (
        close,
        Quadrant.MANAGE_CLOSELY,
        3,
        True,
    )
    [entry] = grid[Quadrant.KEEP_INFORMED]
    assert (entry.key_user, entry.cadence_days, entry.cadence_overridden) == (informed, 14, False)
    assert grid[Quadrant.KEEP_SATISFIED] == grid[Quadrant.MONITOR] == []
    assert keyusers.register(as_person(ctx, PM2), project) == grid  # the project team
    own = keyusers.register(as_person(ctx, KEY_USERS[1]), project)
    assert [e.key_user for q in own for e in own[q]] == [informed]
    assert list(own) == list(grid)
    with pytest.raises(PermissionDenied) as refused:
        keyusers.register(as_person(ctx, OUTSIDER), project)
    assert refused.value.reason == Msg("security.register_private", code="ERP")


def test_the_export_has_every_column_and_is_logged(ctx: Ctx, project: Project) -> None:
    add(
        ctx,
        project,
        display_name="Key One",
        role="sponsor",
        department="Finance",
        module="FI",
        influence="high",
        interest="low",
        preferred_channel="email",
        cadence_days="10",
        notes="Prefers mornings",
    )
    add(ctx, project, KEY_USERS[1])
    keyusers.remove_key_user(ctx=ctx, key_user=add(ctx, project, KEY_USERS[2]))
    content = keyusers.export_csv(ctx=ctx, project=project)
    header, *rows = content.splitlines()
    assert header == (
        "Slack user,Name,Role,Department,System module,Influence,Interest,Preferred channel,"
        "Contact every (days),Notes"
    )
    assert sorted(rows) == [  # the order of names is the database's (empty names first or last)
        f"{KEY_USERS[0]},Key One,Sponsor,Finance,FI,High,Low,Email,10,Prefers mornings",
        f"{KEY_USERS[1]},,Key user,,,Medium,Medium,Direct message,,",
    ]
    entry = last_log(ctx)
    assert (entry.kind, entry.project_id, entry.detail) == (
        "keyuser.exported",
        project.id,
        {"rows": 2},
    )


def test_an_import_needs_slack_user_and_role_columns_and_at_most_2000_rows(
    ctx: Ctx, project: Project
) -> None:
    header = {"csv": Msg("errors.csv_header", columns=", ".join(CSV_COLUMNS))}
    for text in ("slack_user,name\nU123,Anna\n", "role,name\nkey_user,Anna\n", ""):
        with pytest.raises(ValidationError) as refused:
            keyusers.import_csv(ctx=ctx, project=project, text=text, resolve_user=dict().get)
        assert refused.value.errors == header
    rows = "".join(f"x{i},key_user\n" for i in range(2000))
    report = keyusers.import_csv(
        ctx=ctx, project=project, text="slack_user,role\n" + rows, resolve_user=dict().get
    )
    assert len(report.errors) == 2000
    with pytest.raises(ValidationError) as refused:
        keyusers.import_csv(
            ctx=ctx,
            project=project,
            text="slack_user,role\n" + rows + "x,key_user\n",
            resolve_user=dict().get,
        )
    assert refused.value.errors == {"csv": Msg("errors.csv_too_many", limit=2000)}


def test_an_import_asks_the_directory_only_about_ids_and_emails(ctx: Ctx, project: Project) -> None:
    asked: list[str] = []

    def resolve(who: str) -> tuple[str, str | None] | None:
        asked.append(who)
        return {"key2@acme.test": (KEY_USERS[1], None)}.get(who)

    text = (
        "slack_user,role,name\n"
        "Anna Example,key_user,Anna\n"
        "key2@acme.test,key_user,Key Two,extra\n"
        "key2@acme.test,key_user,Key Two\n"
        f"{KEY_USERS[2]},key_user,\n"
    )
    report = keyusers.import_csv(ctx=ctx, project=project, text=text, resolve_user=resolve)
    assert asked == ["key2@acme.test", KEY_USERS[2]]
    assert report.errors == [
        (2, "slack_user", Msg("errors.csv_unknown_user", who="Anna Example")),
        (3, None, Msg("errors.csv_extra_cells")),
        (5, "slack_user", Msg("errors.csv_unknown_user", who=KEY_USERS[2])),
    ]
    [key_user] = keyusers.active_key_users(ctx, project)
    assert (key_user.user_id, key_user.display_name) == (KEY_USERS[1], "Key Two")


def test_an_imported_row_gets_the_defaults_and_the_directorys_name_first(
    ctx: Ctx, project: Project
) -> None:
    directory = {
        KEY_USERS[0]: (KEY_USERS[0], "Slack Name"),
        KEY_USERS[1]: (KEY_USERS[1], None),
        KEY_USERS[2]: (KEY_USERS[2], None),
    }
    text = (
        "slack_user,name,role,department,module,influence,interest,preferred_channel,"
        "cadence_days,notes\n"
        f"{KEY_USERS[0]},Sheet Name,sponsor,Finance,FI,,,,,Call first\n"
        f"{KEY_USERS[1]},Sheet Name,key_user,,,low,high,email,21,\n"
        f"{KEY_USERS[2]},,key_user,,,,,,,\n"
        f"{KEY_USERS[2]},,key_user,,,,,,,\n"
    )
    report = keyusers.import_csv(ctx=ctx, project=project, text=text, resolve_user=directory.get)
    assert report.added == KEY_USERS[:3] and report.updated == []
    assert report.errors == [(5, "slack_user", Msg("errors.csv_duplicate", who=KEY_USERS[2]))]
    rows = {k.user_id: k for k in keyusers.active_key_users(ctx, project)}
    first, second, third = (rows[user_id] for user_id in KEY_USERS[:3])
    assert (first.display_name, first.role, first.department, first.module, first.notes) == (
        "Slack Name",
        "sponsor",
        "Finance",
        "FI",
        "Call first",
    )
    assert (first.influence, first.interest, first.preferred_channel, first.cadence_days) == (
        "medium",
        "medium",
        "dm",
        None,
    )
    assert (second.display_name, second.influence, second.interest) == ("Sheet Name", "low", "high")
    assert (second.preferred_channel, second.cadence_days) == ("email", 21)
    assert third.display_name is None
    entry = last_log(ctx)
    assert (entry.kind, entry.project_id, entry.detail) == (
        "keyuser.imported",
        project.id,
        {"added": 3, "updated": 0, "rejected": 1},
    )


def test_an_import_restores_removed_key_users_and_updates_active_ones(
    ctx: Ctx, project: Project
) -> None:
    keyusers.remove_key_user(ctx=ctx, key_user=add(ctx, project, KEY_USERS[0]))
    add(ctx, project, KEY_USERS[1], module="FI")
    directory = {user_id: (user_id, None) for user_id in KEY_USERS}
    text = (
        "slack_user,role,module,cadence_days\n"
        f"{KEY_USERS[0]},key_user,SD,\n"
        f"{KEY_USERS[1]},key_user,CO,\n"
        f"{KEY_USERS[2]},key_user,MM,0\n"
    )
    report = keyusers.import_csv(ctx=ctx, project=project, text=text, resolve_user=directory.get)
    assert (report.added, report.updated) == ([KEY_USERS[0]], [KEY_USERS[1]])
    assert report.errors == [(4, "cadence_days", Msg("errors.cadence_range"))]
    rows = {k.user_id: k for k in keyusers.active_key_users(ctx, project)}
    assert {user_id: k.module for user_id, k in rows.items()} == {
        KEY_USERS[0]: "SD",
        KEY_USERS[1]: "CO",
    }
    # Columns the file does not have are left empty.
    assert (rows[KEY_USERS[0]].department, rows[KEY_USERS[0]].notes) == (None, None)
    assert len(ctx.session.exec(select(KeyUser)).all()) == 2  # the refused row left nothing


def test_a_plain_text_refusal_is_reported_as_a_message() -> None:
    message = Msg("errors.required")
    assert keyusers._as_msg(message) is message
    assert keyusers._as_msg("too odd") == Msg("errors.plain", text="too odd")


def test_another_workspace_reaches_no_key_user(ctx: Ctx, project: Project) -> None:
    key_user = add(ctx, project)
    elsewhere = Ctx(session=ctx.session, team_id=OTHER_TEAM, actor_id=PM, clock=ctx.clock)
    with pytest.raises(NotFound):
        keyusers.get_key_user(elsewhere, project, KEY_USERS[0])
    assert keyusers.active_key_users(elsewhere, project) == []
    assert key_user.active


def test_a_person_may_be_a_key_user_of_several_projects(ctx: Ctx, project: Project) -> None:
    other = projects.create_project(ctx=ctx, data=ProjectInput(name="CRM", code="CRM", pm_ids=[PM]))
    first = add(ctx, other, module="SD")
    second = add(ctx, project, module="FI")
    assert first.id != second.id and first.module == "SD"
    assert keyusers.get_key_user(ctx, project, KEY_USERS[0]) is second
    assert keyusers.get_key_user(ctx, other, KEY_USERS[0]) is first
    report = keyusers.import_csv(
        ctx=ctx,
        project=project,
        text=f"slack_user,role\n{KEY_USERS[1]},key_user\n",
        resolve_user=lambda who: (who, None),
    )
    assert report.added == [KEY_USERS[1]]
    rows = keyusers.active_key_users(ctx, project)
    assert [
        (k.user_id, k.department, k.module, k.notes) for k in rows if k.user_id == KEY_USERS[1]
    ] == [(KEY_USERS[1], None, None, None)]


def test_the_register_lists_people_without_a_name_first_on_either_database(
    ctx: Ctx, project: Project
) -> None:
    """SQLite sorts a missing name first and PostgreSQL last unless told: the order is asked for."""
    add(ctx, project, KEY_USERS[0], display_name="Anna")
    add(ctx, project, KEY_USERS[2])
    add(ctx, project, KEY_USERS[1])
    assert [k.user_id for k in keyusers.active_key_users(ctx, project)] == [
        KEY_USERS[1],
        KEY_USERS[2],
        KEY_USERS[0],
    ]
