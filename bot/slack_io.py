"""Slack Web API calls shared by handlers and the delivery path, and Slack errors made plain."""

from __future__ import annotations

import base64
import logging
import re
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.delivery import PERMANENT_ERRORS, PermanentError, TransientError, Transport
from storage.models import OutboxMessage

log = logging.getLogger(__name__)


# Slack's error codes (``channel_not_found``). slack_sdk puts a sentence with the body in their
# place when the answer is not JSON (a proxy's error page during an outage).
_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]*")


def slack_error_code(error: SlackApiError) -> str:
    """Slack's error code, or ``http_<status>`` when the answer carried none."""
    code = error.response.get("error")
    if isinstance(code, str) and _ERROR_CODE.fullmatch(code):
        return code
    return f"http_{error.response.status_code}"


OUTBOX_EVENT_TYPE = "liaison_outbox"


def outbox_client(client: WebClient) -> WebClient:
    """A copy of ``client`` without automatic retries: the outbox decides about every resend.

    The runtime's client retries 429s (sleeping Retry-After) and connection errors by itself; a
    blind retry of ``chat.postMessage`` after a connection error can post twice, and a sleep inside
    slack_sdk cannot be paced or tested. The outbox's Sender does both instead.
    """
    return WebClient(
        token=client.token, base_url=client.base_url, timeout=client.timeout, retry_handlers=[]
    )


def _dm_channel(client: WebClient, channel: str) -> str:
    """A user id (posting to it means the DM) as the DM's channel id; other ids unchanged."""
    if channel.startswith(("U", "W")):
        return str(client.conversations_open(users=channel)["channel"]["id"])
    return channel


def _raise_plain(error: SlackApiError) -> None:
    code = slack_error_code(error)
    status = error.response.status_code
    if status == 429 or code == "ratelimited":
        retry_after = float(error.response.headers.get("Retry-After", 1) or 1)
        raise TransientError("ratelimited", retry_after=retry_after) from None
    if code in PERMANENT_ERRORS or 400 <= status < 500 and status != 408:
        raise PermanentError(code) from None
    raise TransientError(code) from None


def transport_for_client(client: WebClient) -> Transport:
    """Send outbox rows with ``client``'s token; errors become Transient or Permanent."""
    client = outbox_client(client)

    def send(row: OutboxMessage) -> dict[str, Any]:
        try:
            if row.method == "files.upload_v2":
                payload = dict(row.payload)
                if "content_base64" in payload:
                    payload["content"] = base64.b64decode(payload.pop("content_base64"))
                channel = _dm_channel(client, str(payload.pop("channel")))
                response = client.files_upload_v2(channel=channel, **payload)
                files = response.get("files") or [{}]
                return {"channel": channel, "ts": files[0].get("id")}
            payload = dict(row.payload)
            if row.method == "chat.postMessage" and "metadata" not in payload:
                # The key travels with the message, so a resend can first check it is not there.
                payload["metadata"] = {
                    "event_type": OUTBOX_EVENT_TYPE,
                    "event_payload": {"key": row.key},
                }
            response = client.api_call(row.method, json=payload)
            return {"channel": response.get("channel"), "ts": response.get("ts")}
        except SlackApiError as error:
            _raise_plain(error)
            raise
        except (URLError, SlackRequestError, OSError, TimeoutError) as error:
            raise TransientError(type(error).__name__) from None

    def find_sent(row: OutboxMessage) -> dict[str, Any] | None:
        """The message carrying ``row``'s key, searched page by page through the whole
        conversation (or thread), not only its latest messages."""
        payload = row.payload
        cursor: str | None = None
        try:
            channel = _dm_channel(client, str(payload.get("channel") or ""))
            if row.method == "files.upload_v2":
                # A file carries no metadata: it is known by its name and title in that channel.
                listed = client.files_list(channel=channel, count=100)
                for shared in listed.get("files") or []:
                    if shared.get("name") == payload.get("filename") and shared.get(
                        "title"
                    ) == payload.get("title"):
                        return {"channel": channel, "ts": shared.get("id")}
                return None
            thread_ts = payload.get("thread_ts")
            while True:
                if thread_ts:
                    answer = client.conversations_replies(
                        channel=channel,
                        ts=thread_ts,
                        limit=200,
                        include_all_metadata=True,
                        cursor=cursor,
                    )
                else:
                    answer = client.conversations_history(
                        channel=channel, limit=200, include_all_metadata=True, cursor=cursor
                    )
                for message in answer.get("messages") or []:
                    metadata = message.get("metadata") or {}
                    if (metadata.get("event_payload") or {}).get("key") == row.key:
                        return {"channel": channel, "ts": message.get("ts")}
                cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor or not answer.get("has_more", True):
                    return None
        except SlackApiError as error:
            _raise_plain(error)
            raise
        except (URLError, SlackRequestError, OSError, TimeoutError) as error:
            raise TransientError(type(error).__name__) from None

    send.find_sent = find_sent  # type: ignore[attr-defined]
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
