"""Helpers for flow tests: the steps a PM takes, through the driver, as in Slack."""

from __future__ import annotations

from typing import Any

from bot.emulator.driver import SlackDriver
from tests.conftest import PM, PROJECT_CHANNEL

PROJECT_VALUES = {
    "name": "S/4HANA finance rollout",
    "code": "ERP",
    "channel_id": PROJECT_CHANNEL,
    "pm_ids": [PM],
    "timezone": "Europe/Berlin",
    "digest_weekday": "0",
    "digest_time": "09:00",
}


def create_project(slack: SlackDriver, user: str = PM, **overrides: Any) -> Any:
    slack.slash_command(user, "/project", "new", channel_id=PROJECT_CHANNEL)
    return slack.submit_view(user, {**PROJECT_VALUES, **overrides})


def add_key_user(
    slack: SlackDriver, user_id: str, *, by: str = PM, code: str = "ERP", **values: Any
) -> Any:
    slack.slash_command(by, "/keyuser", f"add {code}", channel_id=PROJECT_CHANNEL)
    return slack.submit_view(by, {"user_id": user_id, **values})


def last_response(slack: SlackDriver) -> dict[str, Any]:
    """The app's latest answer to the driver's last request: its latest response_url post, else
    the tool's modal it opened or updated (``ui.tool_modal``; a click on it clicks in the modal).
    An older answer from an earlier step must not pass for this one."""
    fresh = slack.new_responses or slack.new_views
    assert fresh, "the app answered nothing through response_url to the last request"
    return fresh[-1]


def say_yes(slack: SlackDriver, user: str, channel_id: str = PROJECT_CHANNEL) -> None:
    """Yes to the question a command asks first (what cannot be undone or tells other people),
    its last answer in ``channel_id``, where it was typed."""
    asked = last_response(slack)
    [yes] = [
        element
        for block in asked.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
        if str(element.get("action_id")).endswith("_asked")
    ]
    slack.block_action(user, yes["action_id"], yes["value"], channel_id=channel_id)


def last_response_text(slack: SlackDriver) -> str:
    answer = last_response(slack)
    return texts([answer]) if answer.get("type") == "modal" else str(answer.get("text", ""))


def told(slack: SlackDriver) -> str:
    """All text the app sent in answer to the driver's last request, wherever it went: an
    ephemeral answer, a tool's modal (``ui.tool_modal``), or a DM (a click in a modal has no
    place for an ephemeral answer)."""
    return texts(slack.new_sent)


def texts(messages: list[dict[str, Any]]) -> str:
    """All text a person sees in messages: fallback text and every text in the blocks."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    parts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for message in messages:
        walk(message)
    return "\n".join(parts)
