"""`/keyuser`, the register modals, CSV import/export and the App Home, through the emulator."""

from __future__ import annotations

import csv
import io

import pytest
import responses
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.ids import Action
from storage.db import Database
from storage.models import Interaction, KeyUser
from tests.conftest import KEY_USERS, OUTSIDER, PM, PROJECT_CHANNEL
from tests.flows import add_key_user, create_project, last_response, last_response_text, texts


def key_users_in(database: Database) -> list[KeyUser]:
    with database.session() as session:
        return list(session.exec(select(KeyUser).order_by(KeyUser.id)).all())


def test_help_and_unknown_input_answer_with_usage(slack: SlackDriver) -> None:
    for text in ("help", "", "promote everyone", "edit ERP"):
        slack.slash_command(PM, "/keyuser", text)
        assert "Usage of `/keyuser`" in last_response_text(slack)


def test_add_key_user_through_the_modal(slack: SlackDriver, database: Database) -> None:
    create_project(slack)
    slack.slash_command(PM, "/keyuser", "add", channel_id=PROJECT_CHANNEL)
    view = slack.emulator.top_view(PM)
    block_ids = {b.get("block_id") for b in view["blocks"]}
    assert {
        "user_id",
        "role",
        "department",
        "module",
        "influence",
        "interest",
        "preferred_channel",
        "cadence_days",
        "notes",
    } <= block_ids
    assert "project" not in block_ids  # known from the channel
    slack.submit_view(
        PM,
        {
            "user_id": KEY_USERS[0],
            "role": "decision_maker",
            "department": "Finance & Controlling",
            "module": "FI",
            "influence": "high",
            "interest": "high",
        },
    )
    [key_user] = key_users_in(database)
    assert (key_user.user_id, key_user.role, key_user.module) == (
        KEY_USERS[0],
        "decision_maker",
        "FI",
    )
    assert key_user.display_name == "key1"  # the display name people see in Slack
    dm = texts(slack.emulator.dm_messages(PM))
    assert "_Manage closely_, contacted every 7 days" in dm


def test_add_outside_a_project_channel_asks_for_the_project(
    slack: SlackDriver, database: Database
) -> None:
    create_project(slack)
    create_project(slack, code="CRM", name="CRM rollout", channel_id="C0GENERAL")
    slack.slash_command(PM, "/keyuser", "add", channel_id="CNOBOT001")
    view = slack.emulator.top_view(PM)
    assert "project" in {b.get("block_id") for b in view["blocks"]}
    project_options = [b for b in view["blocks"] if b.get("block_id") == "project"][0]
    values = [o["value"] for o in project_options["element"]["options"]]
    slack.submit_view(PM, {"project": values[1], "user_id": KEY_USERS[1]})
    assert key_users_in(database)[0].project_id == int(values[1])


def test_bad_key_user_input_gets_inline_errors(slack: SlackDriver, database: Database) -> None:
    create_project(slack)
    slack.slash_command(PM, "/keyuser", "add ERP", channel_id=PROJECT_CHANNEL)
    with pytest.raises(ValueError, match="out of range"):  # Slack's number input takes 1-365
        slack.submit_view(PM, {"user_id": KEY_USERS[0], "cadence_days": "0"})
    response = slack.submit_view(PM, {"user_id": KEY_USERS[0], "cadence_days": "0"}, forged=True)
    assert set(response.json["errors"]) == {"cadence_days"}
    response = add_key_user(slack, KEY_USERS[0])
    assert not (response.json or {}).get("errors")
    response = add_key_user(slack, KEY_USERS[0])
    assert "already a key user of ERP" in response.json["errors"]["user_id"]
    assert len(key_users_in(database)) == 1


def test_a_bot_or_deactivated_account_is_not_a_key_user(
    slack: SlackDriver, emulator, database
) -> None:  # type: ignore[no-untyped-def]
    emulator.add_user("UGONE0001", "gone", real_name="Gone Away", deleted=True)
    create_project(slack)
    response = add_key_user(slack, "UGONE0001")
    assert "not a bot or a deactivated account" in response.json["errors"]["user_id"]
    assert key_users_in(database) == []


def test_only_pms_manage_the_register(slack: SlackDriver, database: Database) -> None:
    create_project(slack)
    slack.slash_command(OUTSIDER, "/keyuser", "add ERP")
    assert "Only the project managers of ERP" in last_response_text(slack)
    assert slack.emulator.top_view(OUTSIDER) is None
    add_key_user(slack, KEY_USERS[0])
    slack.slash_command(OUTSIDER, "/keyuser", f"remove ERP <@{KEY_USERS[0]}|key1>")
    assert "Only the project managers" in last_response_text(slack)
    slack.slash_command(OUTSIDER, "/keyuser", "export ERP")
    assert "Only the project managers" in last_response_text(slack)
    assert key_users_in(database)[0].removed_at is None


def test_list_groups_the_register_by_quadrant(slack: SlackDriver) -> None:
    create_project(slack)
    add_key_user(slack, KEY_USERS[0], influence="high", interest="high", role="sponsor")
    add_key_user(slack, KEY_USERS[1], influence="low", interest="high")
    add_key_user(slack, KEY_USERS[2], influence="low", interest="low", cadence_days="5")
    slack.slash_command(PM, "/keyuser", "list ERP")
    text = texts([last_response(slack)])
    assert "Key users of ERP (3)" in text
    closely = text.index("*Manage closely*")
    informed = text.index("*Keep informed*")
    monitor = text.index("*Monitor*")
    assert closely < text.index(f"<@{KEY_USERS[0]}>") < informed < text.index(f"<@{KEY_USERS[1]}>")
    assert monitor < text.index(f"<@{KEY_USERS[2]}>")
    assert "every 5 days (set by PM)" in text
    assert "Keep satisfied" not in text  # empty quadrants are left out


def test_edit_and_remove_key_user(slack: SlackDriver, database: Database) -> None:
    create_project(slack)
    add_key_user(slack, KEY_USERS[0], module="FI")
    slack.slash_command(PM, "/keyuser", f"edit ERP <@{KEY_USERS[0]}|key1>")
    view = slack.emulator.top_view(PM)
    module = [b for b in view["blocks"] if b.get("block_id") == "module"][0]
    assert module["element"]["initial_value"] == "FI"
    slack.submit_view(PM, {"module": "CO", "interest": "high"})
    assert key_users_in(database)[0].module == "CO"

    slack.slash_command(PM, "/keyuser", f"remove ERP <@{KEY_USERS[0]}|key1>")
    assert "no longer a key user of *ERP*" in last_response_text(slack)
    [key_user] = key_users_in(database)
    assert key_user.removed_at is not None
    with database.session() as session:
        kinds = [row.kind for row in session.exec(select(Interaction)).all()]
    assert kinds.count("keyuser.updated") == 1 and kinds.count("keyuser.removed") == 1
    slack.slash_command(PM, "/keyuser", f"remove ERP <@{KEY_USERS[0]}|key1>")
    assert "not a key user of ERP" in last_response_text(slack)


def test_export_sends_a_csv_to_the_pm(slack: SlackDriver) -> None:
    create_project(slack)
    add_key_user(slack, KEY_USERS[0], department="=cmd|' /C calc'!A0", module="FI")
    slack.slash_command(PM, "/keyuser", "export ERP", channel_id=PROJECT_CHANNEL)
    assert "in your direct messages" in last_response_text(slack)
    [shared] = slack.emulator.files
    assert shared["filename"].startswith("ERP-key-users-") and shared["filename"].endswith(".csv")
    assert shared["channel_id"] == slack.emulator.dm_channel_id(PM)
    rows = list(csv.DictReader(io.StringIO(shared["content"].decode())))
    assert rows[0]["Slack user"] == KEY_USERS[0]
    assert rows[0]["Department"].startswith("'=")


def test_import_from_pasted_csv_reports_bad_rows(slack: SlackDriver, database: Database) -> None:
    create_project(slack)
    slack.slash_command(PM, "/keyuser", "import ERP")
    pasted = (
        "slack_user,role,department,module,influence,interest\n"
        "key1@acme.test,key_user,Finance,FI,high,medium\n"
        f"{KEY_USERS[1]},sponsor,Board,,high,high\n"
        "nobody@acme.test,key_user,,,,\n"
        f"{KEY_USERS[2]},superuser,IT,,low,low\n"
    )
    response = slack.submit_view(PM, {"csv": pasted})
    assert not (response.json or {}).get("errors")
    assert {k.user_id for k in key_users_in(database)} == {KEY_USERS[0], KEY_USERS[1]}
    report = texts(slack.emulator.dm_messages(PM)[-1:])
    assert "2 added, 0 updated, 2 rows rejected" in report
    assert "line 4 (slack_user)" in report and "line 5 (role)" in report


def test_import_needs_a_file_or_text(slack: SlackDriver, database: Database) -> None:
    create_project(slack)
    slack.slash_command(PM, "/keyuser", "import ERP")
    response = slack.submit_view(PM, {})
    assert "Upload a CSV file" in response.json["errors"]["csv"]


@responses.activate
def test_import_from_an_uploaded_file(slack: SlackDriver, database: Database) -> None:
    content = f"slack_user,role,module\n{KEY_USERS[3]},key_user,SD\n"
    upload = slack.emulator.add_file(PM, "keyusers.csv", content.encode())
    responses.get(
        upload["url_private_download"],
        body=content,
        match=[responses.matchers.header_matcher({"Authorization": "Bearer xoxb-test-token"})],
    )
    create_project(slack)
    slack.slash_command(PM, "/keyuser", "import ERP")
    slack.submit_view(PM, {"csv_file": [upload]})
    [key_user] = key_users_in(database)
    assert (key_user.user_id, key_user.module) == (KEY_USERS[3], "SD")


@responses.activate
def test_a_failed_download_is_told_not_swallowed(slack: SlackDriver, database: Database) -> None:
    upload = slack.emulator.add_file(PM, "x.csv", b"")
    responses.get(upload["url_private_download"], status=404)
    create_project(slack)
    slack.slash_command(PM, "/keyuser", "import ERP")
    slack.submit_view(PM, {"csv_file": [upload]})
    assert "could not download" in texts(slack.emulator.dm_messages(PM)[-1:])
    assert key_users_in(database) == []


def test_home_tab_for_pm_and_key_user(slack: SlackDriver, database: Database) -> None:
    slack.open_home(PM)
    assert "Welcome to Liaison" in texts([slack.emulator.home(PM)])
    create_project(slack)
    add_key_user(
        slack, KEY_USERS[0], role="key_user", module="MM", influence="high", interest="high"
    )

    slack.open_home(KEY_USERS[0])
    key_user_home = texts([slack.emulator.home(KEY_USERS[0])])
    assert "Your projects as a key user" in key_user_home and "*Key user* for MM" in key_user_home

    slack.open_home(PM)
    home = slack.emulator.home(PM)
    assert "1 key user: Manage closely: 1" in texts([home])
    slack.click(PM, Action.HOME_ADD_KEYUSER, view=home)
    modal = slack.emulator.top_view(PM)
    assert modal["callback_id"] == "keyuser_add"
    slack.submit_view(PM, {"user_id": KEY_USERS[1]})
    assert len(key_users_in(database)) == 2

    slack.click(PM, Action.HOME_SHOW_REGISTER, view=slack.emulator.home(PM))
    assert "Key users of ERP (2)" in texts([slack.emulator.top_view(PM)])


def test_a_retried_event_is_handled_once(slack: SlackDriver) -> None:
    event = {"type": "app_home_opened", "user": PM, "channel": "D1", "tab": "home"}
    slack.event(event, event_id="Ev0001")
    slack.event(event, event_id="Ev0001", retry_num=1)
    assert len(slack.emulator.calls_to("views.publish")) == 1


def test_a_chinese_project_speaks_chinese(slack: SlackDriver) -> None:
    create_project(slack, locale="zh-CN")
    add_key_user(slack, KEY_USERS[0], influence="high", interest="high")
    slack.slash_command(PM, "/keyuser", "list ERP")
    text = texts([last_response(slack)])
    assert "ERP" in text and "重点管理" in text
    slack.slash_command(OUTSIDER, "/keyuser", "add ERP")
    assert "ERP" in last_response_text(slack)


@pytest.mark.parametrize(
    ("locale", "header", "row"),
    [
        (
            "en",
            "Slack user,Name,Role,Department,System module,Influence,Interest,"
            "Preferred channel,Contact every (days),Notes",
            "Decision maker,Finance,FI,High,Medium,Email,5,",
        ),
        (
            "zh-CN",
            "Slack 用户,姓名,角色,部门,系统模块,影响力,关注度,首选沟通渠道,联络周期（天）,备注",
            "决策者,Finance,FI,高,中,电子邮件,5,",
        ),
    ],
)
def test_the_register_exports_in_the_project_language_and_reimports_unchanged(
    slack: SlackDriver, database: Database, locale: str, header: str, row: str
) -> None:
    create_project(slack, locale=locale)
    add_key_user(
        slack,
        KEY_USERS[0],
        role="decision_maker",
        department="Finance",
        module="FI",
        influence="high",
        interest="medium",
        preferred_channel="email",
        cadence_days="5",
    )
    slack.slash_command(PM, "/keyuser", "export ERP", channel_id=PROJECT_CHANNEL)
    exported = slack.emulator.files[-1]["content"].decode()
    lines = exported.splitlines()
    assert lines[0] == header
    assert lines[1].startswith(KEY_USERS[0]) and lines[1].endswith(row)
    for code in ("decision_maker", "high", "email", "slack_user"):
        assert code not in exported

    # The exported file, a file of codes and one of the other language's labels all import.
    english = "slack_user,role,influence,interest,preferred_channel\n"
    other = "Slack user,Role,Influence,Interest,Preferred channel\n"
    if locale == "en":
        other = "Slack 用户,角色,影响力,关注度,首选沟通渠道\n"
    for text in (
        exported,
        english + f"{KEY_USERS[1]},key_user,low,high,dm\n",
        other
        + f"{KEY_USERS[2]},"
        + ("顾问,低,高,项目频道\n" if locale == "en" else "Consultant,Low,High,Project channel\n"),
    ):
        slack.slash_command(PM, "/keyuser", "import ERP")
        response = slack.submit_view(PM, {"csv": text})
        assert not (response.json or {}).get("errors")
        report = texts(slack.emulator.dm_messages(PM)[-1:])
        assert ("0 rows rejected" if locale == "en" else "拒绝 0 行") in report
    stored = {k.user_id: k for k in key_users_in(database)}
    first = stored[KEY_USERS[0]]
    assert (first.role, first.influence, first.interest, first.preferred_channel) == (
        "decision_maker",
        "high",
        "medium",
        "email",
    )
    assert (first.department, first.module, first.cadence_days) == ("Finance", "FI", 5)
    second, third = stored[KEY_USERS[1]], stored[KEY_USERS[2]]
    assert (second.role, second.influence, second.preferred_channel) == ("key_user", "low", "dm")
    assert (third.role, third.influence, third.interest, third.preferred_channel) == (
        "consultant",
        "low",
        "high",
        "project_channel",
    )
