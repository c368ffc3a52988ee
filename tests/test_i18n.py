"""The text layer itself: escaping, the filters, the language fallbacks and domain messages."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.errors import Msg
from bot.i18n import (
    channel_link,
    mention,
    normalize_locale,
    plain,
    read_catalog_files,
    say,
    slack_date,
    t,
)


def test_mrkdwn_escapes_parameters_and_plain_text_keeps_them() -> None:
    assert t("en", "errors.plain", text="<!channel> & <b>") == "&lt;!channel&gt; &amp; &lt;b&gt;"
    assert plain("en", "errors.plain", text="<!channel> & <b>") == "<!channel> & <b>"


def test_a_missing_value_renders_as_nothing() -> None:
    assert t("en", "errors.plain", text=None) == ""


def test_mentions_and_channels_are_links_and_a_dash_when_unknown() -> None:
    assert mention("U123") == "<@U123>" and mention(None) == "—"
    assert channel_link("C123") == "<#C123>" and channel_link(None) == "—"
    assert t("en", "errors.plain", text=mention("U1")) == "<@U1>"  # Markup is not escaped


def test_an_unknown_language_falls_back_to_english() -> None:
    assert normalize_locale("fr") == "en" and normalize_locale(None) == "en"
    assert normalize_locale("zh-CN") == "zh-CN"
    assert t("fr", "common.save") == "Save"


def test_plain_text_speaks_the_readers_language() -> None:
    assert plain("zh-CN", "common.save") == "保存"
    assert plain("en", "common.save") == "Save"


def test_domain_messages_are_translated_with_their_parameters() -> None:
    message = Msg("errors.not_pm", code="ERP")
    assert say("en", message) == (
        "Only the project managers of ERP (or a workspace admin) "
        "can do that: ask one of them (`/project list` names them)."
    )
    assert "ERP" in say("zh-CN", message) and say("zh-CN", message) != say("en", message)
    assert say("en", "already plain text") == "already plain text"


def test_a_date_shows_in_each_readers_timezone_with_the_projects_time_as_fallback() -> None:
    moment = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    assert slack_date(moment, "Europe/Berlin") == (
        f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}"
        "|2026-12-01 09:30 Europe/Berlin>"
    )


def test_catalog_files_are_read_into_dotted_keys_with_their_texts() -> None:
    catalog = read_catalog_files("en")
    assert catalog["common.save"] == "Save"
    assert catalog["errors.plain"] == "{{ text }}"
