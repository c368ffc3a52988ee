"""Slack Web API calls shared by handlers and the delivery path, and Slack errors made plain."""

from __future__ import annotations

import logging
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.delivery import PERMANENT_ERRORS, PermanentError, TransientError, Transport
from storage.models import OutboxMessage

log = logging.getLogger(__name__)


def slack_error_code(error: SlackApiError) -> str:
    return str(error.response.get("error") or f"http_{error.response.status_code}")


def transport_for_client(client: WebClient) -> Transport:
    def send(row: OutboxMessage) -> dict[str, Any]:
        try:
            if row.method == "files.upload_v2":
                payload = dict(row.payload)
                response = client.files_upload_v2(**payload)
                files = response.get("files") or [{}]
                return {"channel": payload.get("channel"), "ts": files[0].get("id")}
            response = client.api_call(row.method, json=row.payload)
            return {"channel": response.get("channel"), "ts": response.get("ts")}
        except SlackApiError as error:
            code = slack_error_code(error)
            status = error.response.status_code
            if status == 429 or code == "ratelimited":
                retry_after = float(error.response.headers.get("Retry-After", 1) or 1)
                raise TransientError("ratelimited", retry_after=retry_after) from None
            if code in PERMANENT_ERRORS or 400 <= status < 500 and status != 408:
                raise PermanentError(code) from None
            raise TransientError(code) from None
        except (URLError, SlackRequestError, OSError, TimeoutError) as error:
            raise TransientError(type(error).__name__) from None

    return send


class AdminCache:
    """Whether a person is a workspace admin or owner, asked of Slack once per request."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._answers: dict[str, bool] = {}

    def __call__(self, user_id: str) -> bool:
        if user_id not in self._answers:
            try:
                user = self.client.users_info(user=user_id)["user"]
                self._answers[user_id] = bool(
                    user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")
                )
            except SlackApiError as error:
                log.warning("users.info failed for %s: %s", user_id, slack_error_code(error))
                self._answers[user_id] = False
        return self._answers[user_id]


def user_profile(client: WebClient, user_id: str) -> dict[str, Any] | None:
    """The person's users.info record, or None when Slack does not know them."""
    try:
        return dict(client.users_info(user=user_id)["user"])
    except SlackApiError as error:
        if slack_error_code(error) in ("user_not_found", "users_not_found"):
            return None
        raise


def display_name(user: dict[str, Any]) -> str:
    profile = user.get("profile") or {}
    return (
        profile.get("display_name")
        or profile.get("real_name")
        or user.get("real_name")
        or user.get("name")
        or user.get("id", "")
    )


def lookup_user(client: WebClient, who: str) -> tuple[str, str | None] | None:
    """A Slack user id or email to (user id, display name); None for nobody, bots or deactivated."""
    try:
        if "@" in who:
            user = dict(client.users_lookupByEmail(email=who)["user"])
        else:
            user = dict(client.users_info(user=who)["user"])
    except SlackApiError as error:
        if slack_error_code(error) in ("user_not_found", "users_not_found"):
            return None
        raise
    if user.get("deleted") or user.get("is_bot"):
        return None
    return str(user["id"]), display_name(user)
