"""Workspace state of the Slack emulator: people, channels, messages, views, files.

This module owns what a Slack workspace remembers between API calls and the rules Slack
applies to them (who can be messaged, which channel the bot may post to, the modal stack,
single-use trigger ids, response_url budgets). It knows nothing about HTTP: the server in
``server.py`` turns requests into calls on a ``Workspace`` and ``ApiError`` into
``{"ok": false, "error": ...}`` answers. Every public method expects the caller to hold
``Workspace.lock``; the server takes it once per request.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.emulator import limits

GENERAL_CHANNEL_ID = "C0GENERAL"
TRIGGER_TTL_SECONDS = 3.0  # Slack: a trigger_id expires 3 s after it is issued
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60
VIEW_STACK_MAX = 3
VIEW_MAX_BYTES = 250_000


class ApiError(Exception):
    """A Web API error answer: ``{"ok": false, "error": error, **extra}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


def new_id(prefix: str) -> str:
    """A Slack-looking object id (``U…``, ``V…``, ``F…``)."""
    return prefix + secrets.token_hex(5).upper()


def _tz_fields(tz_name: str) -> dict[str, Any]:
    try:
        now = datetime.now(ZoneInfo(tz_name))
    except ZoneInfoNotFoundError:
        now = datetime.now(ZoneInfo("UTC"))
    offset = now.utcoffset()
    return {
        "tz": tz_name,
        "tz_label": now.tzname() or tz_name,
        "tz_offset": int(offset.total_seconds()) if offset else 0,
    }


@dataclass
class User:
    """A member of the workspace (people and the app's own bot user)."""

    id: str
    name: str
    real_name: str
    tz: str = "Europe/Berlin"
    is_admin: bool = False
    deleted: bool = False
    email: str | None = None
    is_bot: bool = False
    locale: str = "en-US"
    display_name: str | None = None  # what the person chose to be called; the handle without

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name

    def to_api(self, team_id: str, include_locale: bool = False) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.shown_name,
            "display_name_normalized": self.shown_name,
            "first_name": self.real_name.split(" ")[0],
            "last_name": " ".join(self.real_name.split(" ")[1:]),
            "team": team_id,
        }
        if self.email:
            profile["email"] = self.email
        user: dict[str, Any] = {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            **_tz_fields(self.tz),
            "profile": profile,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }
        if include_locale:
            user["locale"] = self.locale
        return user


@dataclass
class Channel:
    """A conversation: public or private channel, DM (``is_im``) or group DM (``is_mpim``)."""

    id: str
    name: str
    members: list[str] = field(default_factory=list)
    bot_is_member: bool = True
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    user: str | None = None  # the other person of a DM
    is_open: bool = False
    created: int = field(default_factory=lambda: int(time.time()))

    def member_ids(self, bot_user_id: str) -> list[str]:
        ids = list(self.members)
        if self.bot_is_member and bot_user_id not in ids:
            ids.append(bot_user_id)
        return ids

    def to_api(self, bot_user_id: str, include_num_members: bool = False) -> dict[str, Any]:
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        channel: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private and not self.is_mpim,
            "is_group": self.is_private and not self.is_mpim,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private or self.is_mpim,
            "created": self.created,
            "is_archived": False,
            "is_general": self.id == GENERAL_CHANNEL_ID,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": self.bot_is_member,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        if include_num_members:
            channel["num_members"] = len(self.member_ids(bot_user_id))
        return channel


_TEXT_ELEMENT_TYPES = frozenset(("plain_text", "mrkdwn", "image"))


def _generated_id() -> str:
    return secrets.token_urlsafe(4)[:5]


def with_generated_ids(blocks: Any) -> Any:
    """A copy of ``blocks`` with the block_id / action_id Slack generates where the app set none.

    Slack stores and echoes these generated ids (in messages, views and view state), so an app
    that relies on ids it never set breaks in the emulator as it would in Slack.
    """
    if not isinstance(blocks, list):
        return deepcopy(blocks)
    filled = deepcopy(blocks)
    for block in filled:
        if not isinstance(block, dict):
            continue
        block.setdefault("block_id", _generated_id())
        elements = [block.get("accessory"), block.get("element")]
        if block.get("type") == "actions":
            elements += block.get("elements") or []
        for element in elements:
            if isinstance(element, dict) and element.get("type") not in _TEXT_ELEMENT_TYPES:
                element.setdefault("action_id", _generated_id())
    return filled


def public_message(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as Slack shows it in API answers and payloads (no unset keys)."""
    return {k: deepcopy(v) for k, v in message.items() if v is not None and k != "channel"}


def paginate(items: list[Any], cursor: str | None, limit: int | None) -> tuple[list[Any], str]:
    """Slice ``items`` the way Slack's cursor pagination does; returns (page, next_cursor)."""
    start = int(cursor.removeprefix("next:")) if cursor and cursor.startswith("next:") else 0
    if not limit or limit <= 0:
        return items[start:], ""
    end = start + limit
    return items[start:end], (f"next:{end}" if end < len(items) else "")


def _team_domain(team_name: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", team_name.lower()) or "workspace"


class Workspace:
    """Everything the emulated Slack workspace knows, plus Slack's rules for changing it."""

    def __init__(self, team_id: str, team_name: str, bot_user_id: str) -> None:
        self.lock = threading.RLock()
        self.team_id = team_id
        self.team_name = team_name
        self.domain = _team_domain(team_name)
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id.removeprefix("U")
        self.app_id = "A0LIAISON"
        self.base_url = ""  # set by the server once it listens; ends with "/"
        self.trigger_ttl: float | None = TRIGGER_TTL_SECONDS
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.scheduled: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.view_owner: dict[str, str] = {}
        self.stacks: dict[str, list[str]] = {}
        self.homes: dict[str, str] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.triggers: dict[str, tuple[str, float]] = {}
        self.used_triggers: set[str] = set()
        self.response_urls: dict[str, dict[str, Any]] = {}
        self.responses: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self._last_ts_micro = 0
        self._trigger_seq = 0
        self.users[bot_user_id] = User(bot_user_id, "liaison", "Liaison", tz="UTC", is_bot=True)
        self.channels[GENERAL_CHANNEL_ID] = Channel(GENERAL_CHANNEL_ID, "general")

    # ----------------------------------------------------------------- people and channels

    def add_user(self, user: User) -> None:
        self.users[user.id] = user
        general = self.channels.get(GENERAL_CHANNEL_ID)
        # Every member of a workspace is in its #general channel.
        if general and user.id not in general.members and not user.is_bot:
            general.members.append(user.id)

    def add_channel(self, channel: Channel) -> None:
        self.channels[channel.id] = channel

    def user(self, user_id: Any) -> User:
        user = self.users.get(user_id) if isinstance(user_id, str) else None
        if user is None:
            raise ApiError("user_not_found")
        return user

    def dm_channel_id(self, user_id: str) -> str:
        """The stable id of the bot's DM with a person: ``D`` + the user id's suffix."""
        return "D" + user_id[1:]

    def _dm_with(self, user_id: str) -> Channel:
        user = self.user(user_id)
        if user.is_bot:
            raise ApiError("cannot_dm_bot")
        if user.deleted:
            # Slack refuses conversations.open with a deactivated account; chat.postMessage to
            # one has been seen to succeed, but we refuse it too so the app's handling of
            # deactivated key users gets exercised.
            raise ApiError("user_disabled")
        return self._dm_channel(user_id)

    def _dm_channel(self, user_id: str) -> Channel:
        dm_id = self.dm_channel_id(user_id)
        channel = self.channels.get(dm_id)
        if channel is None:
            channel = Channel(dm_id, dm_id, members=[user_id], is_im=True, user=user_id)
            self.channels[dm_id] = channel
        return channel

    def _find_dm_user(self, channel_id: str) -> str | None:
        for user_id in self.users:
            if self.dm_channel_id(user_id) == channel_id and user_id != self.bot_user_id:
                return user_id
        return None

    def channel(self, channel_id: Any) -> Channel:
        """Look a conversation up by id, as conversations.info would (DMs resolve lazily)."""
        if not isinstance(channel_id, str) or not channel_id:
            raise ApiError("channel_not_found")
        channel = self.channels.get(channel_id)
        if channel is None and channel_id.startswith("D"):
            user_id = self._find_dm_user(channel_id)
            if user_id is not None:
                channel = self._dm_channel(user_id)
        if channel is None:
            raise ApiError("channel_not_found")
        if channel.is_private and not channel.bot_is_member and not channel.is_im:
            raise ApiError("channel_not_found")  # private channels are invisible to outsiders
        return channel

    def postable(self, ref: Any) -> Channel:
        """The conversation a message to ``ref`` lands in (a user id means the bot's DM)."""
        if isinstance(ref, str) and ref in self.users:
            return self._dm_with(ref)
        channel = self.channel(ref)
        if channel.is_im and channel.user:
            self._dm_with(channel.user)  # re-check deactivation
        if not channel.bot_is_member:
            raise ApiError("not_in_channel")
        return channel

    def channel_type(self, ref: Any) -> str | None:
        """``channels``, ``groups``, ``im`` or ``mpim`` for a known conversation or user's DM."""
        if isinstance(ref, str) and ref in self.users:
            return "im"
        channel = self.channels.get(ref) if isinstance(ref, str) else None
        if channel is None and isinstance(ref, str) and ref.startswith("D"):
            return "im" if self._find_dm_user(ref) else None
        if channel is None:
            return None
        if channel.is_im:
            return "im"
        if channel.is_mpim:
            return "mpim"
        return "groups" if channel.is_private else "channels"

    def readable(self, ref: Any) -> Channel:
        channel = self.channel(ref)
        if not channel.bot_is_member:
            raise ApiError("not_in_channel")
        return channel

    def open_conversation(self, users: list[str]) -> Channel:
        if len(users) == 1:
            return self._dm_with(users[0])
        for user_id in users:
            if self.user(user_id).deleted:
                raise ApiError("user_disabled")
        for existing in self.channels.values():
            if existing.is_mpim and sorted(existing.members) == sorted(users):
                return existing
        mpim_id = "G" + secrets.token_hex(5).upper()
        names = "--".join(self.users[u].name for u in sorted(users))
        channel = Channel(mpim_id, f"mpdm-{names}-1", members=list(users), is_mpim=True)
        self.channels[mpim_id] = channel
        return channel

    # ------------------------------------------------------------------------- messages

    def next_ts(self) -> str:
        """A unique, increasing message timestamp close to real time (``1700000000.000100``)."""
        micro = max(int(time.time() * 1_000_000) // 100 * 100, self._last_ts_micro + 100)
        self._last_ts_micro = micro
        return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"

    def record_violations(self, method: str, problems: list[str], error: str) -> None:
        """Keep block-kit violations for tests and refuse the call the way Slack does."""
        if not problems:
            return
        self.violations.extend(f"{method}: {problem}" for problem in problems)
        raise ApiError(
            error,
            errors=list(problems),
            response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
        )

    def check_message(self, method: str, text: Any, blocks: Any) -> None:
        text_problems = limits.check_text(text)
        if text_problems:
            self.violations.extend(f"{method}: {p}" for p in text_problems)
            raise ApiError("msg_too_long")
        problems = limits.check_message(None, blocks)
        self.record_violations(method, problems, "invalid_blocks")

    def store_message(
        self,
        channel: Channel,
        *,
        text: str | None,
        blocks: Any = None,
        thread_ts: str | None = None,
        user: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        by_bot = user is None or user == self.bot_user_id
        message: dict[str, Any] = {
            "type": "message",
            "channel": channel.id,
            "ts": self.next_ts(),
            "text": text if text is not None else "",
            "blocks": with_generated_ids(blocks) if blocks else None,
            "thread_ts": thread_ts,
            "user": self.bot_user_id if by_bot else user,
            "bot_id": self.bot_id if by_bot else None,
            "app_id": self.app_id if by_bot else None,
            "team": self.team_id,
            **(extra or {}),
        }
        self.messages.setdefault(channel.id, []).append(message)
        if thread_ts:
            self._note_reply(channel.id, thread_ts, message)
        return message

    def _note_reply(self, channel_id: str, thread_ts: str, reply: dict[str, Any]) -> None:
        parent = self.find_message(channel_id, thread_ts, required=False)
        if parent is None or parent is reply:
            return
        parent["thread_ts"] = parent["ts"]
        parent["reply_count"] = parent.get("reply_count", 0) + 1
        users = parent.setdefault("reply_users", [])
        if reply["user"] not in users:
            users.append(reply["user"])
        parent["latest_reply"] = reply["ts"]

    def find_message(
        self, channel_id: str, ts: Any, *, required: bool = True
    ) -> dict[str, Any] | None:
        for message in self.messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        if required:
            raise ApiError("message_not_found")
        return None

    def delete_message(self, channel_id: str, ts: str) -> None:
        message = self.find_message(channel_id, ts)
        self.messages[channel_id].remove(message)

    def thread(self, channel_id: str, ts: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self.messages.get(channel_id, [])
            if m["ts"] == ts or m.get("thread_ts") == ts
        ]

    def permalink(self, channel_id: str, message: dict[str, Any]) -> str:
        compact_ts = message["ts"].replace(".", "")
        link = f"https://{self.domain}.slack.com/archives/{channel_id}/p{compact_ts}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            link += f"?thread_ts={thread_ts}&cid={channel_id}"
        return link

    # --------------------------------------------------------------------- trigger ids

    def issue_trigger_id(self, user_id: str) -> str:
        self._trigger_seq += 1
        trigger = (
            f"{int(time.time())}{self._trigger_seq:04d}.{self.team_id[1:]}.{secrets.token_hex(16)}"
        )
        self.triggers[trigger] = (user_id, time.monotonic())
        return trigger

    def use_trigger(self, trigger_id: Any) -> str:
        """Exchange a trigger id for the user it was issued to (once, within its lifetime)."""
        if not isinstance(trigger_id, str) or trigger_id not in self.triggers:
            raise ApiError("invalid_trigger_id")
        if trigger_id in self.used_triggers:
            raise ApiError("exchanged_trigger_id")
        user_id, issued = self.triggers[trigger_id]
        if self.trigger_ttl is not None and time.monotonic() - issued > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        self.used_triggers.add(trigger_id)
        return user_id

    # --------------------------------------------------------------------------- views

    def check_view(self, method: str, view: Any) -> dict[str, Any]:
        if not isinstance(view, dict):
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] view must be a JSON object"]},
            )
        if len(json.dumps(view)) > VIEW_MAX_BYTES:
            raise ApiError("view_too_large")
        problems = limits.check_view(view)
        self.record_violations(method, problems, "invalid_arguments")
        return view

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def build_view(
        self, view: dict[str, Any], *, view_id: str | None = None, previous: str | None = None
    ) -> dict[str, Any]:
        """The view object Slack stores and returns for a view the app sent."""
        view_id = view_id or new_id("V")
        built: dict[str, Any] = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "blocks": with_generated_ids(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self._new_hash(),
            "title": deepcopy(view.get("title")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": deepcopy(view.get("close")),
            "submit": deepcopy(view.get("submit")),
            "previous_view_id": previous,
            "root_view_id": view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        return built

    def _register_view(self, user_id: str, view: dict[str, Any]) -> dict[str, Any]:
        external_id = view.get("external_id")
        if external_id and any(
            v.get("external_id") == external_id and v["id"] != view["id"]
            for v in self.views.values()
        ):
            raise ApiError("duplicate_external_id")
        self.views[view["id"]] = view
        self.view_owner[view["id"]] = user_id
        return view

    def open_modal(self, user_id: str, view: dict[str, Any]) -> dict[str, Any]:
        built = self._register_view(user_id, self.build_view(view))
        self.stacks[user_id] = [built["id"]]
        return built

    def push_modal(self, user_id: str, view: dict[str, Any]) -> dict[str, Any]:
        stack = self.stacks.setdefault(user_id, [])
        if len(stack) >= VIEW_STACK_MAX:
            raise ApiError("push_limit_reached")
        previous = stack[-1] if stack else None
        built = self.build_view(view, previous=previous)
        if stack:
            built["root_view_id"] = self.views[stack[0]]["root_view_id"]
        self._register_view(user_id, built)
        stack.append(built["id"])
        return built

    def find_view(self, view_id: Any = None, external_id: Any = None) -> dict[str, Any]:
        if view_id:
            view = self.views.get(view_id)
        else:
            view = next(
                (v for v in self.views.values() if external_id and v["external_id"] == external_id),
                None,
            )
        if view is None:
            raise ApiError("not_found")
        return view

    def update_view(
        self, current: dict[str, Any], view: dict[str, Any], expected_hash: Any = None
    ) -> dict[str, Any]:
        if expected_hash and expected_hash != current["hash"]:
            raise ApiError("hash_conflict")
        built = self.build_view(view, view_id=current["id"], previous=current["previous_view_id"])
        built["root_view_id"] = current["root_view_id"]
        self.views[current["id"]] = built
        return built

    def publish_home(
        self, user_id: str, view: dict[str, Any], expected_hash: Any
    ) -> dict[str, Any]:
        current_id = self.homes.get(user_id)
        if current_id:
            return self.update_view(self.views[current_id], view, expected_hash)
        built = self._register_view(user_id, self.build_view(view))
        self.homes[user_id] = built["id"]
        return built

    def open_views(self, user_id: str) -> list[dict[str, Any]]:
        return [self.views[v] for v in self.stacks.get(user_id, [])]

    def close_top(self, user_id: str, *, clear: bool = False) -> None:
        stack = self.stacks.get(user_id, [])
        if not stack:
            return
        top = self.views[stack[-1]]
        if clear or top.get("clear_on_close"):
            stack.clear()
        else:
            stack.pop()

    def apply_submission_answer(self, user_id: str, answer: dict[str, Any] | None) -> None:
        """Do what Slack does with the ack body of a view_submission."""
        action = (answer or {}).get("response_action")
        if action is None:
            self.close_top(user_id)
        elif action == "clear":
            self.close_top(user_id, clear=True)
        elif action == "errors":
            self._check_error_keys(user_id, answer.get("errors"))
        elif action in ("update", "push"):
            view = self.check_view(f"view_submission response_action={action}", answer.get("view"))
            if action == "push":
                self.push_modal(user_id, view)
            else:
                stack = self.stacks.get(user_id) or []
                if stack:
                    self.update_view(self.views[stack[-1]], view)
        else:
            self.violations.append(f"view_submission: unknown response_action {action!r}")

    def _check_error_keys(self, user_id: str, errors: Any) -> None:
        """Slack shows inline errors only under input blocks; other keys fail the submission."""
        stack = self.stacks.get(user_id) or []
        if not stack:
            return
        blocks = self.views[stack[-1]].get("blocks") or []
        input_ids = {b.get("block_id") for b in blocks if b.get("type") == "input"}
        if not isinstance(errors, dict) or not errors:
            self.violations.append("view_submission: response_action=errors needs an errors object")
            return
        for key in errors:
            if key not in input_ids:
                self.violations.append(
                    f"view_submission: errors key {key!r} is not the block_id of an input block"
                )

    # --------------------------------------------------------------------------- files

    def start_upload(self, filename: str, length: int, extra: dict[str, Any]) -> dict[str, Any]:
        file_id = new_id("F")
        self.uploads[file_id] = {
            "id": file_id,
            "filename": filename,
            "length": length,
            "content": None,
            **extra,
        }
        return {"file_id": file_id, "upload_url": f"{self.base_url}upload/{file_id}"}

    def receive_upload(self, file_id: str, content: bytes) -> tuple[int, str]:
        """Store an upload's bytes; refuse bytes whose length is not the declared ``length``."""
        upload = self.uploads.get(file_id)
        if upload is None:
            return 404, "not_found"
        if len(content) != upload["length"]:
            self.violations.append(
                f"file upload {file_id}: {len(content)} bytes received, "
                f"files.getUploadURLExternal declared length={upload['length']}"
            )
            return 400, "length_mismatch"
        upload["content"] = content
        return 200, f"OK - {len(content)}"

    def public_file(self, record: dict[str, Any]) -> dict[str, Any]:
        return {k: deepcopy(v) for k, v in record.items() if k != "content"}

    # ---------------------------------------------------------------------- response_url

    def issue_response_url(
        self,
        channel_id: str | None,
        user_id: str,
        message_ts: str | None = None,
        *,
        ephemeral: bool = False,
    ) -> str:
        hook_id = secrets.token_hex(12)
        self.response_urls[hook_id] = {
            "channel_id": channel_id,
            "user_id": user_id,
            "message_ts": message_ts,
            "ephemeral": ephemeral,
            "uses": 0,
            "issued": time.monotonic(),
        }
        return f"{self.base_url}response_url/{hook_id}"

    def post_to_response_url(self, hook_id: str, body: Any) -> tuple[int, str]:
        """Handle a POST to a response_url; returns (HTTP status, body text) as Slack does."""
        hook = self.response_urls.get(hook_id)
        if hook is None:
            return 404, "no_service"
        if time.monotonic() - hook["issued"] > RESPONSE_URL_TTL_SECONDS:
            return 404, "expired_url"
        if hook["uses"] >= RESPONSE_URL_MAX_USES:
            return 404, "used_url"
        if not isinstance(body, dict):
            return 400, "invalid_payload"
        hook["uses"] += 1
        self.responses.append(body)
        problems = limits.check_message(body.get("text"), body.get("blocks"))
        if problems:
            self.violations.extend(f"response_url: {p}" for p in problems)
            return 400, "invalid_blocks"
        self._apply_response(hook, body)
        return 200, "ok"

    def _original_message(self, hook: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
        """The message a response_url was issued for, and the list that holds it."""
        channel_id, ts = hook["channel_id"], hook["message_ts"]
        if not (channel_id and ts):
            return [], None
        if hook["ephemeral"]:
            found = [e for e in self.ephemerals if e.get("ts") == ts]
            return self.ephemerals, (found[0] if found else None)
        return self.messages.get(channel_id, []), self.find_message(channel_id, ts, required=False)

    def _apply_response(self, hook: dict[str, Any], body: dict[str, Any]) -> None:
        channel_id = hook["channel_id"]
        holder, original = self._original_message(hook)
        if body.get("delete_original") and original is not None:
            holder.remove(original)
        elif body.get("replace_original") and original is not None:
            original["text"] = body.get("text", original["text"])
            original["blocks"] = with_generated_ids(body.get("blocks")) or None
        elif body.get("response_type") == "in_channel" and channel_id in self.channels:
            self.store_message(
                self.channels[channel_id],
                text=body.get("text"),
                blocks=body.get("blocks"),
                thread_ts=body.get("thread_ts"),
            )
