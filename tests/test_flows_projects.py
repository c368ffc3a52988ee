"""`/project` and the project modal, through the emulator as Slack would drive them."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from storage.db import Database
from storage.models import Project, ProjectMember
from tests.conftest import ADMIN, OTHER_TEAM, OUTSIDER, PM, PM2, PROJECT_CHANNEL, SIGNING_SECRET
from tests.flows import PROJECT_VALUES, create_project, last_response, last_response_text, texts


def projects_in(database: Database) -> list[Project]:
    with database.session() as session:
        return list(session.exec(select(Project)).all())


def test_help_and_unknown_input_answer_with_usage(slack: SlackDriver) -> None:
    for text in ("help", "", "frobnicate", "edit"):
        slack.slash_command(PM, "/project", text)
        assert "Usage of `/project`" in last_response_text(slack)


def test_new_project_modal_creates_project_and_confirms(
    slack: SlackDriver, database: Database
) -> None:
    slack.open_home(PM)  # the PM has the Home tab: the new project shows there at once
    slack.slash_command(PM, "/project", "new", channel_id=PROJECT_CHANNEL)
    view = slack.emulator.top_view(PM)
    block_ids = [block.get("block_id") for block in view["blocks"]]
    for field in (
        "name",
        "code",
        "phase",
        "channel_id",
        "pm_ids",
        "timezone",
        "locale",
        "digest_weekday",
        "digest_time",
    ):
        assert field in block_ids
    response = slack.submit_view(PM, PROJECT_VALUES)
    assert response.status == 200 and not (response.json or {}).get("errors")
    assert slack.emulator.top_view(PM) is None  # the modal closed

    [project] = projects_in(database)
    assert (project.code, project.phase, project.channel_id) == (
        "ERP",
        "preparation",
        PROJECT_CHANNEL,
    )
    assert project.timezone == "Europe/Berlin"
    confirmation = texts(slack.emulator.dm_messages(PM))
    assert "Project *ERP*" in confirmation
    assert "Liaison now follows project *ERP*" in texts(slack.emulator.messages(PROJECT_CHANNEL))
    assert "ERP" in texts([slack.emulator.home(PM)])
    assert slack.emulator.violations == []


def test_bad_input_gets_inline_errors_and_stores_nothing(
    slack: SlackDriver, database: Database
) -> None:
    slack.slash_command(PM, "/project", "new")
    bad = {**PROJECT_VALUES, "code": "erp 2027!", "digest_time": "9am", "name": "  "}
    with pytest.raises(ValueError, match="time picker"):
        slack.submit_view(PM, bad)  # Slack's time picker gives no "9am"...
    response = slack.submit_view(PM, bad, forged=True)  # ...a hand-made request may
    errors = response.json["errors"]
    assert set(errors) == {"code", "digest_time", "name"}
    assert "capital letters" in errors["code"]
    assert projects_in(database) == []
    assert slack.emulator.top_view(PM) is not None  # still open for correction


def test_the_corrected_form_is_saved_after_errors(slack: SlackDriver, database: Database) -> None:
    slack.slash_command(PM, "/project", "new")
    slack.submit_view(PM, {**PROJECT_VALUES, "digest_time": "9am"}, forged=True)
    response = slack.submit_view(PM, PROJECT_VALUES)
    assert not (response.json or {}).get("errors")
    assert [p.code for p in projects_in(database)] == ["ERP"]
    assert "Project *ERP*" in texts(slack.emulator.dm_messages(PM))


def test_duplicate_code_is_refused_inline(slack: SlackDriver, database: Database) -> None:
    create_project(slack)
    response = create_project(slack, name="Another")
    assert "already uses the code ERP" in response.json["errors"]["code"]
    assert len(projects_in(database)) == 1


def test_a_double_submitted_modal_creates_one_project(
    slack: SlackDriver, database: Database
) -> None:
    slack.slash_command(PM, "/project", "new")
    view = slack.emulator.top_view(PM)
    slack.submit_view(PM, PROJECT_VALUES, view=view)
    slack.submit_view(PM, PROJECT_VALUES, view=view)
    assert len(projects_in(database)) == 1
    assert len([m for m in slack.emulator.dm_messages(PM) if "created" in m.get("text", "")]) == 1


def test_channel_problem_is_told_to_the_pm(slack: SlackDriver, database: Database) -> None:
    create_project(slack, channel_id="CMISSING01")
    assert len(projects_in(database)) == 1
    dm = texts(slack.emulator.dm_messages(PM))
    assert "could not post in" in dm
    assert "does not exist" in dm


def test_list_shows_projects_with_pms_and_counts(slack: SlackDriver) -> None:
    create_project(slack, pm_ids=[PM, PM2])
    slack.slash_command(OUTSIDER, "/project", "list")
    text = texts([last_response(slack)])
    assert "*ERP*" in text and f"<@{PM2}>" in text and "0 key users" in text


def test_edit_is_for_pms_only_and_saves_changes(slack: SlackDriver, database: Database) -> None:
    create_project(slack)
    slack.slash_command(OUTSIDER, "/project", "edit ERP")
    assert "Only the project managers of ERP" in last_response_text(slack)
    assert slack.emulator.top_view(OUTSIDER) is None

    slack.slash_command(PM, "/project", "edit ERP")
    view = slack.emulator.top_view(PM)
    initial = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert initial["code"]["initial_value"] == "ERP"
    slack.submit_view(
        PM, {"name": "Finance rollout, wave 2", "pm_ids": [PM, PM2], "locale": "zh-CN"}
    )
    [project] = projects_in(database)
    assert project.name == "Finance rollout, wave 2" and project.locale == "zh-CN"
    with database.session() as session:
        pms = {m.user_id for m in session.exec(select(ProjectMember)).all()}
    assert pms == {PM, PM2}


def test_workspace_admin_may_edit_any_project(slack: SlackDriver, database: Database) -> None:
    create_project(slack)
    slack.slash_command(ADMIN, "/project", "edit ERP")
    modal = slack.emulator.top_view(ADMIN)
    assert modal is not None and modal["callback_id"] == "project_edit"
    answer = slack.submit_view(
        ADMIN, {"name": "Finance rollout, admin's fix", "phase": "realization"}
    )
    assert not (answer.json or {}).get("errors")
    assert slack.emulator.top_view(ADMIN) is None
    [project] = projects_in(database)
    assert project.name == "Finance rollout, admin's fix" and project.phase == "realization"
    assert project.code == "ERP"  # what the admin left alone stays


def test_phase_command_moves_the_project(slack: SlackDriver, database: Database) -> None:
    create_project(slack)
    slack.slash_command(PM, "/project", "phase ERP realization")
    asked = last_response(slack)
    assert "Move to Realization?" in texts([asked])
    assert projects_in(database)[0].phase == "preparation"  # asked first, moved once confirmed
    confirm = asked["blocks"][-1]["elements"][0]
    slack.block_action(
        PM,
        confirm["action_id"],
        confirm["value"],
        message={**asked, "ts": "1.0"},
        channel_id="C0GENERAL",
    )
    assert "now in phase _Realization_" in texts(slack.emulator.responses[-1:])
    assert projects_in(database)[0].phase == "realization"
    slack.slash_command(PM, "/project", "phase ERP hypercare")
    assert "Pick one of the project's phases" in last_response_text(slack)
    slack.slash_command(OUTSIDER, "/project", "phase ERP blueprint")
    assert "Only the project managers" in last_response_text(slack)
    slack.slash_command(PM, "/project", "phase NOPE blueprint")
    assert "There is no project NOPE" in last_response_text(slack)


def test_another_workspace_sees_nothing(slack: SlackDriver, emulator, app, executor) -> None:  # type: ignore[no-untyped-def]
    create_project(slack)
    other = SlackDriver(app, "test-signing-secret", emulator, team_id=OTHER_TEAM, executor=executor)
    other.slash_command(PM, "/project", "list")
    assert "No projects yet" in last_response_text(other)
    other.slash_command(PM, "/project", "edit ERP")
    assert "There is no project ERP" in last_response_text(other)


def test_requests_with_a_wrong_signature_are_refused(slack: SlackDriver, app) -> None:  # type: ignore[no-untyped-def]
    """A fresh timestamp, so only the signature can be the reason for the refusal."""
    from slack_bolt.request import BoltRequest
    from slack_sdk.signature import SignatureVerifier

    body = "command=%2Fproject&text=help&team_id=T0001&user_id=UPM00001"
    stamp = str(int(time.time()))

    def dispatch(secret: str) -> int:
        signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": stamp,
            "x-slack-signature": signature,
        }
        return app.dispatch(BoltRequest(body=body, headers=headers)).status

    assert dispatch("not-the-signing-secret") == 401
    assert dispatch(SIGNING_SECRET) == 200  # the same request, signed right, is served


def test_the_project_team_is_set_in_the_modal(slack: SlackDriver, database: Database) -> None:
    create_project(slack, team_ids=[OUTSIDER])
    with database.session() as session:
        members = {(m.user_id, m.role) for m in session.exec(select(ProjectMember)).all()}
    assert members == {(PM, "pm"), (OUTSIDER, "team")}
    slack.slash_command(PM, "/project", "edit ERP")
    team = [b for b in slack.emulator.top_view(PM)["blocks"] if b.get("block_id") == "team_ids"][0]
    assert team["element"]["initial_users"] == [OUTSIDER]
    slack.submit_view(PM, {"team_ids": []})
    with database.session() as session:
        roles = [m.role for m in session.exec(select(ProjectMember)).all()]
    assert roles == ["pm"]


def test_a_change_refreshes_only_the_home_tabs_someone_has_opened(slack: SlackDriver) -> None:
    create_project(slack)
    published = {call.args["user_id"] for call in slack.emulator.calls_to("views.publish")}
    assert published == set()  # nobody has opened the Home tab: it is built when they do
    slack.open_home(PM)
    slack.emulator.reset_calls()
    slack.slash_command(PM, "/project", "edit ERP", channel_id=PROJECT_CHANNEL)
    slack.submit_view(PM, {**PROJECT_VALUES, "name": "ERP Rollout 2"})
    published = [call.args["user_id"] for call in slack.emulator.calls_to("views.publish")]
    assert published == [PM]
    assert "ERP Rollout 2" in texts([slack.emulator.home(PM)])
