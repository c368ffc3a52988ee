"""What every listener shares: errors told in the reader's language, inline form errors on the
right input, and people read from command text."""

from __future__ import annotations

from typing import Any

from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import t
from handlers.common import error_text, refuse_form, slack_error_text, user_ids_in, view_errors

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
        ":no_entry: Only the project managers of ERP (or a workspace admin) can do that."
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
            "errors": {"name": "只有 ERP 的项目经理（或工作区管理员）才能执行此操作。"},
        }
    ]


def test_form_errors_are_plain_text_with_typed_text_as_typed() -> None:
    """Slack shows a modal's inline errors as plain text: no mrkdwn markers, emoji codes or
    escapes are left to show as typed, and text a person typed comes back as they typed it."""
    typed = Msg("errors.not_pm", code="<!channel> & *x*")
    assert view_errors("en", ValidationError({"name": typed}), VIEW) == {
        "name": "Only the project managers of <!channel> & *x* (or a workspace admin) can do that."
    }
    refusal = NotFound(Msg("errors.project_code_needed"))
    answers: list[dict[str, Any]] = []
    refuse_form(lambda **kwargs: answers.append(kwargs), "en", refusal, VIEW)
    assert answers[0]["errors"]["name"].startswith(
        "Which project? Add its code (see /project list)"
    )


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
