"""What every listener shares: errors told in the reader's language, inline form errors on the
right input, the language a person is answered in, and people read from command text."""

from __future__ import annotations

from typing import Any

import pytest
from slack_bolt import BoltContext
from slack_sdk.errors import SlackApiError

from bot.clock import MovableClock
from bot.delivery import Pacer
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import t
from bot.runtime import Runtime
from bot.services import keyusers, projects
from bot.services.context import Ctx
from bot.settings import Settings
from handlers.common import (
    error_text,
    person_locale,
    refuse_form,
    slack_error_text,
    user_ids_in,
    view_errors,
)
from storage.db import Database
from tests.conftest import KEY_USERS, PM, TEAM

VIEW = {
    "blocks": [
        {"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": "Hi"}},
        {"type": "input", "block_id": "name"},
        {"type": "input", "block_id": "code"},
    ]
}


def test_errors_are_told_as_one_sentence_each_with_their_sign() -> None:
    refusal = PermissionDenied(Msg("errors.not_pm", code="ERP"))
    assert error_text("en", refusal) == (
        ":no_entry: Only the project managers of ERP (or a workspace admin) "
        "can do that: ask one of them (`/project list` names them)."
    )
    assert error_text("en", NotFound("No such thing.")) == ":mag: No such thing."
    fields = ValidationError({"name": "Too long.", "code": "Taken."})
    assert error_text("en", fields) == "• *name*: Too long.\n• *code*: Taken."
    assert error_text("zh-CN", RuntimeError("boom")) == t("zh-CN", "errors.unexpected")
    assert error_text("zh-CN", RuntimeError("boom")) != t("en", "errors.unexpected")


def test_slack_errors_are_explained_and_unknown_ones_named() -> None:
    assert slack_error_text("en", "not_in_channel") == (
        ":warning: Liaison is not a member of that channel. Invite it with `/invite @Liaison` and "
        "try again."
    )
    assert slack_error_text("en", "weird_error") == (
        ":warning: Slack refused the request (weird_error)."
    )


def test_form_errors_land_on_their_input_and_the_rest_on_the_first_input() -> None:
    error = ValidationError({"code": "Taken.", "": "Not allowed.", "owner": "Gone."})
    assert view_errors("en", error, VIEW) == {"code": "Taken.", "name": "Not allowed. Gone."}
    assert view_errors("en", ValidationError({"x": "Bad."}), {"blocks": []}) == {"x": "Bad."}


def test_a_refused_form_stays_open_with_the_reason_in_the_readers_language() -> None:
    answers: list[dict[str, Any]] = []
    refusal = PermissionDenied(Msg("errors.not_pm", code="ERP"))
    refuse_form(lambda **kwargs: answers.append(kwargs), "zh-CN", refusal, VIEW)
    assert answers == [
        {
            "response_action": "errors",
            "errors": {
                "name": (
                    "只有 ERP 的项目经理（或工作区管理员）才能执行此操作，"
                    "请联络他们（/project list 列出项目经理）。"
                )
            },
        }
    ]


def test_form_errors_are_plain_text_with_typed_text_as_typed() -> None:
    """Slack shows a modal's inline errors as plain text: no mrkdwn markers, emoji codes or
    escapes are left to show as typed, and text a person typed comes back as they typed it."""
    typed = Msg("errors.not_pm", code="<!channel> & *x*")
    assert view_errors("en", ValidationError({"name": typed}), VIEW) == {
        "name": "Only the project managers of <!channel> & *x* (or a workspace admin) "
        "can do that: ask one of them (/project list names them)."
    }
    refusal = NotFound(Msg("errors.project_code_needed"))
    answers: list[dict[str, Any]] = []
    refuse_form(lambda **kwargs: answers.append(kwargs), "en", refusal, VIEW)
    assert answers[0]["errors"]["name"].startswith(
        "Which project? Add its code (see /project list)"
    )


def test_a_form_error_written_as_mrkdwn_loses_its_markup() -> None:
    error = ValidationError({"name": ":warning: *Too* long &amp; _wide_ &lt;here&gt;"})
    assert view_errors("en", error, VIEW) == {"name": "Too long & wide <here>"}


def test_people_are_read_from_mentions_and_bare_ids() -> None:
    assert user_ids_in("assign <@U123ABC|anna> and @W456DEF or U789GHI not UX") == [
        "U123ABC",
        "W456DEF",
        "U789GHI",
    ]


def test_every_kind_of_refusal_speaks_the_readers_language() -> None:
    too_long = Msg("errors.too_long", limit=80)
    chinese = t("zh-CN", "errors.too_long", limit=80)
    assert error_text("zh-CN", ValidationError({"name": too_long})) == f"• *name*: {chinese}"
    assert error_text("zh-CN", NotFound(too_long)) == f":mag: {chinese}"
    assert error_text("zh-CN", PermissionDenied(too_long)) == f":no_entry: {chinese}"
    assert view_errors("zh-CN", ValidationError({"name": too_long}), VIEW) == {"name": chinese}
    assert slack_error_text("zh-CN", "not_in_channel") == (
        ":warning: " + t("zh-CN", "slack_errors.not_in_channel")
    )
    assert slack_error_text("zh-CN", "weird_error") == (
        ":warning: " + t("zh-CN", "slack_errors.other", code="weird_error")
    )
    answers: list[dict[str, Any]] = []
    refuse_form(lambda **kw: answers.append(kw), "zh-CN", ValidationError({"code": too_long}), VIEW)
    assert answers[0]["errors"] == {"code": chinese}
    assert t("zh-CN", "slack_errors.not_in_channel") != t("en", "slack_errors.not_in_channel")


def test_a_view_without_blocks_still_gets_its_errors() -> None:
    assert view_errors("en", ValidationError({"x": "Bad."}), {}) == {"x": "Bad."}


# ------------------------------------------------------------ the language a person is answered in


class SlackUsers:
    """``users.info`` as Slack answers it: a person's locale only when it is asked for, and
    ``user_not_found`` for anyone it does not know."""

    def __init__(self, locales: dict[str, str | None]) -> None:
        self.locales = locales
        self.asked: list[str | None] = []

    def users_info(self, *, user: str | None, include_locale: bool = False) -> dict[str, Any]:
        self.asked.append(user)
        if user not in self.locales:
            raise SlackApiError("user_not_found", {"ok": False, "error": "user_not_found"})
        found: dict[str, Any] = {"id": user}
        if include_locale and self.locales[user]:
            found["locale"] = self.locales[user]
        return {"ok": True, "user": found}


def runtime_speaking(default: str, database: Database, clock: MovableClock) -> Runtime:
    settings = Settings(bot_token="xoxb-test", locale=default)
    return Runtime(settings=settings, database=database, clock=clock, pacer=Pacer())


def request(**fields: str) -> BoltContext:
    return BoltContext(fields)


def locale_of(
    runtime: Runtime, context: BoltContext, slack: SlackUsers, ctx: Ctx | None = None
) -> str:
    return person_locale(runtime, context, slack, ctx)  # type: ignore[arg-type]


def test_a_person_is_answered_in_their_projects_language_without_asking_slack(
    database: Database, clock: MovableClock
) -> None:
    runtime = runtime_speaking("en", database, clock)
    with runtime.unit(TEAM, PM) as ctx:
        data = projects.ProjectInput(name="Rollout", code="CHN", pm_ids=[PM], locale="zh-CN")
        project = projects.create_project(ctx=ctx, data=data)
        keyusers.add_key_user(
            ctx=ctx, project=project, data=keyusers.KeyUserInput(user_id=KEY_USERS[0])
        )
    slack = SlackUsers({PM: "en-US", KEY_USERS[0]: "en-US"})
    assert locale_of(runtime, request(team_id=TEAM, user_id=PM), slack) == "zh-CN"
    # An Enterprise Grid request may name only the organisation.
    assert locale_of(runtime, request(enterprise_id=TEAM, user_id=KEY_USERS[0]), slack) == "zh-CN"
    with runtime.unit(TEAM, KEY_USERS[0]) as ctx:  # inside a unit of work: read through it
        answer = locale_of(runtime, request(team_id=TEAM, user_id=KEY_USERS[0]), slack, ctx)
    assert answer == "zh-CN"
    assert slack.asked == []


@pytest.mark.parametrize("default", ["en", "zh-CN"])
def test_without_a_project_a_person_gets_their_slack_language_else_the_workspaces(
    default: str, database: Database, clock: MovableClock
) -> None:
    runtime = runtime_speaking(default, database, clock)
    slack = SlackUsers(
        {"UCHINESE": "zh-TW", "UENGLISH": "en-GB", "UFRENCH": "fr-FR", "UNOLOCALE": None}
    )
    expected = {
        "UCHINESE": "zh-CN",
        "UENGLISH": "en",
        "UFRENCH": default,
        "UNOLOCALE": default,
        "UUNKNOWN": default,  # Slack refuses to tell
    }
    answers = {
        user: locale_of(runtime, request(team_id=TEAM, user_id=user), slack) for user in expected
    }
    assert answers == expected
    assert slack.asked == list(expected)


def test_a_persons_language_is_worked_out_once_per_request(
    database: Database, clock: MovableClock
) -> None:
    runtime = runtime_speaking("en", database, clock)
    slack = SlackUsers({"UCHINESE": "zh-CN"})
    context = request(team_id=TEAM, user_id="UCHINESE")
    assert locale_of(runtime, context, slack) == "zh-CN"
    assert locale_of(runtime, context, slack) == "zh-CN"
    assert slack.asked == ["UCHINESE"]
    assert context["liaison_locale"] == "zh-CN"
    told = request(team_id=TEAM, user_id="UCHINESE", liaison_locale="zh-CN")
    assert locale_of(runtime_speaking("en", database, clock), told, SlackUsers({})) == "zh-CN"


def test_a_request_without_a_person_or_a_workspace_gets_the_workspaces_language(
    database: Database, clock: MovableClock
) -> None:
    runtime = runtime_speaking("zh-CN", database, clock)
    slack = SlackUsers({PM: "en-US"})
    assert locale_of(runtime, request(team_id=TEAM), slack) == "zh-CN"
    assert locale_of(runtime, request(user_id=PM), slack) == "zh-CN"
    assert slack.asked == []
