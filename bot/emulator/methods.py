"""Web API method handlers of the Slack emulator.

This module owns the answers of the methods the emulator models realistically (auth, chat,
conversations, users, views, files). Each handler takes the ``Workspace`` and the parsed
arguments and returns the ``ok: true`` answer, or raises ``ApiError`` with Slack's error
code. Methods not listed in ``HANDLERS`` but present in the catalogue answer ``{"ok": true}``.
"""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable
from typing import Any

from bot.emulator.workspace import (
    ApiError,
    Channel,
    Workspace,
    new_id,
    paginate,
    public_message,
    with_generated_ids,
)

SCHEDULE_MAX_SECONDS = 120 * 24 * 3600  # Slack schedules at most 120 days ahead


class Args:
    """The arguments of one call, whatever encoding they arrived in (values may be str)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def get(self, name: str, default: Any = None) -> Any:
        value = self.data.get(name)
        return default if value is None else value

    def str(self, name: str) -> str | None:
        value = self.data.get(name)
        return None if value is None or value == "" else str(value)

    def flag(self, name: str) -> bool:
        value = self.data.get(name)
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes")
        return bool(value)

    def int(self, name: str) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] {name} must be an integer"]},
            ) from exc

    def list(self, name: str) -> list[str]:
        value = self.data.get(name)
        if value is None or value == "":
            return []
        if isinstance(value, list):
            return [str(v) for v in value]
        return [part.strip() for part in str(value).split(",") if part.strip()]


Handler = Callable[[Workspace, Args], dict[str, Any]]


def _invalid(message: str) -> ApiError:
    return ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})


# ---------------------------------------------------------------------------------- auth


def auth_test(ws: Workspace, args: Args) -> dict[str, Any]:
    return {
        "url": f"https://{ws.domain}.slack.com/",
        "team": ws.team_name,
        "user": ws.users[ws.bot_user_id].name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def api_test(ws: Workspace, args: Args) -> dict[str, Any]:
    echoed = {k: v for k, v in args.data.items() if k != "token"}
    return {"args": echoed} if echoed else {}


def team_info(ws: Workspace, args: Args) -> dict[str, Any]:
    return {
        "team": {
            "id": ws.team_id,
            "name": ws.team_name,
            "domain": ws.domain,
            "email_domain": "",
            "icon": {"image_default": True},
        }
    }


# ---------------------------------------------------------------------------------- chat


def _message_content(ws: Workspace, method: str, args: Args) -> tuple[str | None, Any]:
    text, blocks = args.get("text"), args.get("blocks")
    if text is None and not blocks and not args.get("attachments"):
        raise ApiError("no_text")
    ws.check_message(method, text, blocks)
    return text, blocks


def _message_extras(args: Args) -> dict[str, Any]:
    extras = {name: args.get(name) for name in ("attachments", "metadata")}
    return {k: v for k, v in extras.items() if v}


def chat_post_message(ws: Workspace, args: Args) -> dict[str, Any]:
    text, blocks = _message_content(ws, "chat.postMessage", args)
    channel = ws.postable(args.get("channel"))
    message = ws.store_message(
        channel,
        text=text,
        blocks=blocks,
        thread_ts=args.str("thread_ts"),
        extra=_message_extras(args),
    )
    return {"channel": channel.id, "ts": message["ts"], "message": public_message(message)}


def chat_post_ephemeral(ws: Workspace, args: Args) -> dict[str, Any]:
    text, blocks = _message_content(ws, "chat.postEphemeral", args)
    user = ws.user(args.get("user"))
    channel = ws.postable(args.get("channel"))
    if channel.is_im and channel.user != user.id:
        raise ApiError("user_not_in_channel")
    if not channel.is_im and user.id not in channel.members:
        raise ApiError("user_not_in_channel")
    ts = ws.next_ts()
    ws.ephemerals.append(
        {
            "channel": channel.id,
            "user": user.id,
            "text": text or "",
            "blocks": with_generated_ids(blocks) or None,
            "thread_ts": args.str("thread_ts"),
            "ts": ts,
            "is_ephemeral": True,
        }
    )
    return {"message_ts": ts}


def _own_message(ws: Workspace, args: Args, refusal: str) -> tuple[Channel, dict[str, Any]]:
    channel = ws.channel(args.get("channel"))
    message = ws.find_message(channel.id, args.get("ts"))
    assert message is not None
    if message.get("user") != ws.bot_user_id:
        raise ApiError(refusal)
    return channel, message


def chat_update(ws: Workspace, args: Args) -> dict[str, Any]:
    text, blocks = args.get("text"), args.get("blocks")
    ws.check_message("chat.update", text, blocks)
    channel, message = _own_message(ws, args, "cant_update_message")
    if text is not None:
        message["text"] = text
    if "blocks" in args.data:
        message["blocks"] = with_generated_ids(blocks) or None
    if args.get("attachments") is not None:
        message["attachments"] = args.get("attachments")
    message["edited"] = {"user": ws.bot_user_id, "ts": ws.next_ts()}
    return {
        "channel": channel.id,
        "ts": message["ts"],
        "text": message["text"],
        "message": public_message(message),
    }


def chat_delete(ws: Workspace, args: Args) -> dict[str, Any]:
    channel, message = _own_message(ws, args, "cant_delete_message")
    ws.delete_message(channel.id, message["ts"])
    return {"channel": channel.id, "ts": message["ts"]}


def chat_get_permalink(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"))
    message = ws.find_message(channel.id, args.get("message_ts"))
    assert message is not None
    return {"channel": channel.id, "permalink": ws.permalink(channel.id, message)}


def chat_schedule_message(ws: Workspace, args: Args) -> dict[str, Any]:
    text, blocks = _message_content(ws, "chat.scheduleMessage", args)
    channel = ws.postable(args.get("channel"))
    post_at = args.int("post_at") or 0
    now = int(time.time())
    if post_at <= now:
        raise ApiError("time_in_past")
    if post_at > now + SCHEDULE_MAX_SECONDS:
        raise ApiError("time_too_far")
    scheduled_id = new_id("Q")
    message = {
        "text": text or "",
        "blocks": blocks,
        "user": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "type": "delayed_message",
    }
    ws.scheduled.append(
        {
            "id": scheduled_id,
            "channel": channel.id,
            "post_at": post_at,
            "thread_ts": args.str("thread_ts"),
            **message,
        }
    )
    return {
        "channel": channel.id,
        "scheduled_message_id": scheduled_id,
        "post_at": post_at,
        "message": {k: v for k, v in message.items() if v is not None},
    }


def chat_delete_scheduled_message(ws: Workspace, args: Args) -> dict[str, Any]:
    wanted = args.get("scheduled_message_id")
    for item in ws.scheduled:
        if item["id"] == wanted:
            ws.scheduled.remove(item)
            return {}
    raise ApiError("invalid_scheduled_message_id")


# ------------------------------------------------------------------------- conversations


def conversations_open(ws: Workspace, args: Args) -> dict[str, Any]:
    users = args.list("users")
    if args.get("channel"):
        channel = ws.channel(args.get("channel"))
    elif users:
        channel = ws.open_conversation(users)
    else:
        raise ApiError("users_list_not_supplied")
    already_open = channel.is_open
    channel.is_open = True
    answer: dict[str, Any] = {"no_op": already_open, "already_open": already_open}
    if args.flag("return_im"):
        answer["channel"] = channel.to_api(ws.bot_user_id)
    else:
        answer["channel"] = {"id": channel.id}
    return answer


def conversations_info(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"))
    return {"channel": channel.to_api(ws.bot_user_id, args.flag("include_num_members"))}


def conversations_members(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"))
    members = channel.member_ids(ws.bot_user_id)
    page, cursor = paginate(members, args.str("cursor"), args.int("limit"))
    return {"members": page, "response_metadata": {"next_cursor": cursor}}


def conversations_join(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"))
    if channel.is_private or channel.is_im or channel.is_mpim:
        raise ApiError("method_not_supported_for_channel_type")
    answer: dict[str, Any] = {}
    if channel.bot_is_member:
        answer["warning"] = "already_in_channel"
        answer["response_metadata"] = {"warnings": ["already_in_channel"]}
    channel.bot_is_member = True
    answer["channel"] = channel.to_api(ws.bot_user_id)
    return answer


def _in_window(ts: str, args: Args) -> bool:
    oldest, latest = args.str("oldest"), args.str("latest")
    inclusive = args.flag("inclusive")
    value = float(ts)
    if oldest is not None and (value < float(oldest) or (value == float(oldest) and not inclusive)):
        return False
    if latest is not None and (value > float(latest) or (value == float(latest) and not inclusive)):
        return False
    return True


def _listed(message: dict[str, Any], args: Args) -> dict[str, Any]:
    """A message as history lists it: metadata only with ``include_all_metadata``."""
    listed = public_message(message)
    if not args.flag("include_all_metadata"):
        listed.pop("metadata", None)
    return listed


def conversations_history(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.readable(args.get("channel"))
    top_level = [
        m
        for m in ws.messages.get(channel.id, [])
        if (m.get("thread_ts") in (None, m["ts"]) or m.get("reply_broadcast"))
        and _in_window(m["ts"], args)
    ]
    newest_first = [_listed(m, args) for m in reversed(top_level)]
    page, cursor = paginate(newest_first, args.str("cursor"), args.int("limit") or 100)
    return {
        "messages": page,
        "has_more": bool(cursor),
        "pin_count": 0,
        "response_metadata": {"next_cursor": cursor},
    }


def conversations_replies(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.readable(args.get("channel"))
    thread = ws.thread(channel.id, args.str("ts") or "")
    if not thread:
        raise ApiError("thread_not_found")
    messages = [_listed(m, args) for m in thread if _in_window(m["ts"], args) or m is thread[0]]
    page, cursor = paginate(messages, args.str("cursor"), args.int("limit") or 1000)
    return {
        "messages": page,
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


# --------------------------------------------------------------------------------- users


def users_info(ws: Workspace, args: Args) -> dict[str, Any]:
    user = ws.user(args.get("user"))
    return {"user": user.to_api(ws.team_id, args.flag("include_locale"))}


def users_list(ws: Workspace, args: Args) -> dict[str, Any]:
    locale = args.flag("include_locale")
    members = [u.to_api(ws.team_id, locale) for u in ws.users.values()]
    page, cursor = paginate(members, args.str("cursor"), args.int("limit"))
    return {
        "members": page,
        "cache_ts": int(time.time()),
        "response_metadata": {"next_cursor": cursor},
    }


def users_lookup_by_email(ws: Workspace, args: Args) -> dict[str, Any]:
    email = (args.str("email") or "").lower()
    for user in ws.users.values():
        if user.email and user.email.lower() == email:
            return {"user": user.to_api(ws.team_id)}
    raise ApiError("users_not_found")


# --------------------------------------------------------------------------------- views


def _trigger_user(ws: Workspace, args: Args) -> str:
    trigger = args.get("trigger_id") or args.get("interactivity_pointer")
    if not trigger:
        raise _invalid("missing required field: trigger_id")
    return ws.use_trigger(trigger)


def _modal_for_trigger(ws: Workspace, args: Args, method: str) -> tuple[str, dict[str, Any]]:
    """The checked modal of a views.open / views.push call and the user its trigger is for."""
    view = ws.check_view(method, args.get("view"))
    if view.get("type") != "modal":
        raise _invalid(f"{method} needs a view of type modal")
    return _trigger_user(ws, args), view


def views_open(ws: Workspace, args: Args) -> dict[str, Any]:
    user_id, view = _modal_for_trigger(ws, args, "views.open")
    return {"view": ws.open_modal(user_id, view)}


def views_push(ws: Workspace, args: Args) -> dict[str, Any]:
    user_id, view = _modal_for_trigger(ws, args, "views.push")
    return {"view": ws.push_modal(user_id, view)}


def views_update(ws: Workspace, args: Args) -> dict[str, Any]:
    view = ws.check_view("views.update", args.get("view"))
    if not args.get("view_id") and not args.get("external_id"):
        raise _invalid("missing required field: view_id or external_id")
    current = ws.find_view(args.get("view_id"), args.get("external_id"))
    return {"view": ws.update_view(current, view, args.get("hash"))}


def views_publish(ws: Workspace, args: Args) -> dict[str, Any]:
    view = ws.check_view("views.publish", args.get("view"))
    if view.get("type") != "home":
        raise _invalid("views.publish needs a view of type home")
    user = ws.user(args.get("user_id"))
    return {"view": ws.publish_home(user.id, view, args.get("hash"))}


# --------------------------------------------------------------------------------- files


def files_get_upload_url(ws: Workspace, args: Args) -> dict[str, Any]:
    length = args.int("length")
    if length is None or length < 0:
        raise _invalid("length must be a positive integer")
    extra = {"alt_txt": args.str("alt_txt"), "snippet_type": args.str("snippet_type")}
    return ws.start_upload(args.str("filename") or "file", length, extra)


def _share_targets(ws: Workspace, args: Args) -> list[Channel]:
    refs = args.list("channels") or ([args.str("channel_id")] if args.str("channel_id") else [])
    return [ws.postable(ref) for ref in refs]


def _file_record(
    ws: Workspace, upload: dict[str, Any], title: Any, args: Args, channels: list[Channel]
) -> dict[str, Any]:
    filename = upload["filename"]
    mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    content: bytes = upload["content"]
    now = int(time.time())
    return {
        "id": upload["id"],
        "created": now,
        "timestamp": now,
        "name": filename,
        "filename": filename,
        "title": title or filename,
        "mimetype": mimetype,
        "filetype": filename.rsplit(".", 1)[-1].lower() if "." in filename else "binary",
        "user": ws.bot_user_id,
        "size": len(content),
        "url_private": f"https://files.slack.com/files-pri/{ws.team_id}-{upload['id']}/{filename}",
        "permalink": f"https://{ws.domain}.slack.com/files/{ws.bot_user_id}/{upload['id']}/{filename}",
        "channels": [c.id for c in channels],
        "channel_id": channels[0].id if channels else None,
        "initial_comment": args.str("initial_comment"),
        "thread_ts": args.str("thread_ts"),
        "alt_txt": upload.get("alt_txt"),
        "content": content,
    }


def files_complete_upload(ws: Workspace, args: Args) -> dict[str, Any]:
    items = args.get("files")
    if not isinstance(items, list) or not items:
        raise _invalid("files must be a non-empty JSON array")
    uploads = []
    for item in items:
        upload = ws.uploads.get(item.get("id")) if isinstance(item, dict) else None
        if upload is None or upload["content"] is None:
            raise ApiError("file_not_found")
        uploads.append((upload, item.get("title")))
    channels = _share_targets(ws, args)
    records = [_file_record(ws, upload, title, args, channels) for upload, title in uploads]
    for record in records:
        ws.files[record["id"]] = record
        ws.uploads.pop(record["id"], None)
    shared = [ws.public_file(r) for r in records]
    for channel in channels:
        ws.store_message(
            channel,
            text=args.str("initial_comment") or "",
            thread_ts=args.str("thread_ts"),
            extra={"files": shared, "upload": True},
        )
    return {"files": [{"id": r["id"], "title": r["title"]} for r in records]}


def files_info(ws: Workspace, args: Args) -> dict[str, Any]:
    record = ws.files.get(args.get("file"))
    if record is None:
        raise ApiError("file_not_found")
    return {
        "file": ws.public_file(record),
        "comments": [],
        "response_metadata": {"next_cursor": ""},
    }


def files_list(ws: Workspace, args: Args) -> dict[str, Any]:
    """Files shared in a conversation (or all), newest first, as Slack lists them."""
    channel = args.str("channel")
    if channel:
        channel = ws.postable(channel).id
    count = args.int("count") or 100
    shared = [
        record
        for record in ws.files.values()
        if not channel or channel in (record.get("channels") or [])
    ]
    shared.sort(key=lambda record: record["created"], reverse=True)
    return {
        "files": [ws.public_file(record) for record in shared[:count]],
        "paging": {"count": count, "total": len(shared), "page": 1, "pages": 1},
    }


HANDLERS: dict[str, Handler] = {
    "api.test": api_test,
    "auth.test": auth_test,
    "team.info": team_info,
    "chat.postMessage": chat_post_message,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.getPermalink": chat_get_permalink,
    "chat.scheduleMessage": chat_schedule_message,
    "chat.deleteScheduledMessage": chat_delete_scheduled_message,
    "conversations.open": conversations_open,
    "conversations.info": conversations_info,
    "conversations.members": conversations_members,
    "conversations.join": conversations_join,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "users.info": users_info,
    "users.list": users_list,
    "users.lookupByEmail": users_lookup_by_email,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
    "files.getUploadURLExternal": files_get_upload_url,
    "files.completeUploadExternal": files_complete_upload,
    "files.info": files_info,
    "files.list": files_list,
}
