"""What every listener needs: who and where a request is, the unit of work, and errors told well."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import delivery
from bot.delivery import SentMessage
from bot.errors import LiaisonError, Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import mrkdwn_to_plain, say, say_plain, t
from bot.runtime import Runtime
from bot.services import fields
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.slack_io import AdminCache, slack_error_code
from storage.db import store_unavailable

log = logging.getLogger(__name__)

MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|^@?([UW][A-Z0-9]{2,})$")


@contextmanager
def unit(runtime: Runtime, context: BoltContext, client: WebClient) -> Iterator[Ctx]:
    """The unit of work for one request, in the requesting workspace, as the requesting person."""
    team_id = context.team_id or context.enterprise_id
    if not team_id:
        raise PermissionDenied("no workspace in the request")
    with runtime.unit(team_id, context.user_id, admin_check=AdminCache(client)) as ctx:
        delivery.answering(ctx.session)  # what it queues answers the person (urgent)
        yield ctx


def person_locale(
    runtime: Runtime, context: BoltContext, client: WebClient, ctx: Ctx | None = None
) -> str:
    """The language to answer someone in before a project is known: that of the projects they
    work in (as PM, team member or key user), else their own Slack language, else the
    workspace's default (LIAISON_LOCALE). Asked once per request, and of Slack only when no
    project tells. Inside a unit of work, pass its ``ctx`` (a second one would wait for the
    first's lock)."""
    cached = context.get("liaison_locale")
    if cached:
        return str(cached)
    default = runtime.settings.locale
    team_id, user_id = context.team_id or context.enterprise_id, context.user_id
    locale = None
    if team_id and user_id:
        if ctx is not None:
            locale = project_service.language_of_person(ctx, user_id)
        else:
            with runtime.unit(team_id, user_id) as own:
                locale = project_service.language_of_person(own, user_id)
        if locale is None:
            try:
                user = client.users_info(user=user_id, include_locale=True).get("user") or {}
            except SlackApiError:
                user = {}
            slack_locale = str(user.get("locale") or "")
            if slack_locale.startswith("zh"):
                locale = "zh-CN"
            elif slack_locale.startswith("en"):
                locale = "en"
    context["liaison_locale"] = locale or default
    return locale or default


def locale_without_store(runtime: Runtime, context: BoltContext) -> str:
    """The language to answer in when the database cannot be asked: the one this request already
    worked out, else the workspace's default (LIAISON_LOCALE). Slack's commands, clicks and form
    submissions carry no locale of the person (only users.info does), and a form's answer is due
    within 3 s: no other call is made for it."""
    return str(context.get("liaison_locale") or runtime.settings.locale)


def user_ids_in(text: str) -> list[str]:
    """User ids from ``<@U123|name>`` mentions (escaped slash-command text) or bare ``U123``."""
    found = []
    for word in text.split():
        match = MENTION_RE.search(word)
        if match:
            found.append(match.group(1) or match.group(2))
    return found


def request_id(raw: object) -> int:
    """The id of a record named by a request (a button's value, a form's ``private_metadata``),
    read by ``fields.record_id``. Anything else is refused as a request that could not be read,
    the person told in a few words, the log told without the value."""
    ident = fields.record_id(raw)
    if ident is None:
        log.info("refused a request whose id could not be read")
        raise NotFound(Msg("security.request_unreadable"))
    return ident


def error_text(locale: str, error: Exception) -> str:
    """A domain or Slack error as one sentence for the person who caused it."""
    if isinstance(error, ValidationError):
        return "\n".join(
            f"• *{field}*: {say(locale, message)}" for field, message in error.errors.items()
        )
    if isinstance(error, PermissionDenied):
        return ":no_entry: " + say(locale, error.reason)
    if isinstance(error, NotFound):
        return ":mag: " + say(locale, error.message)
    if isinstance(error, SlackApiError):
        return slack_error_text(locale, slack_error_code(error))
    if isinstance(error, LiaisonError):
        return str(error)
    if store_unavailable(error) is not None:
        return t(locale, "errors.store_unavailable")
    return t(locale, "errors.unexpected")


def respond_error(respond: Any, locale: str, error: Exception) -> None:
    """Tell the person who clicked why it did not work, only to them, leaving the message as is."""
    respond(text=error_text(locale, error), response_type="ephemeral", replace_original=False)


def slack_error_text(locale: str, code: str) -> str:
    try:
        return ":warning: " + t(locale, f"slack_errors.{code}")
    except KeyError:
        return ":warning: " + t(locale, "slack_errors.other", code=code)


def view_errors(locale: str, error: ValidationError, view: dict[str, Any]) -> dict[str, str]:
    """Inline errors keyed by the modal's input block ids; a field the modal lacks goes first.
    Slack shows them as plain text: no mrkdwn markers or escapes are left in them."""
    block_ids = [b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"]
    errors: dict[str, str] = {}
    for field, message in error.errors.items():
        target = field if field in block_ids else (block_ids[0] if block_ids else field)
        # A domain message is said without markup; a text is mrkdwn made elsewhere.
        text = say_plain(locale, message) if hasattr(message, "key") else mrkdwn_to_plain(message)
        errors[target] = f"{errors[target]} {text}" if target in errors else text
    return errors


def refuse_form(ack: Any, locale: str, error: LiaisonError, view: dict[str, Any]) -> None:
    """Answer a submission with inline errors: the modal stays open and nothing was stored.

    A refusal that is not about one field (no permission, gone) is shown on the first input."""
    if isinstance(error, PermissionDenied):
        error = ValidationError({"": error.reason})
    elif isinstance(error, NotFound):
        error = ValidationError({"": error.message})
    elif not isinstance(error, ValidationError):
        error = ValidationError({"": error_text(locale, error)})
    ack(response_action="errors", errors=view_errors(locale, error, view))


def dm(client: WebClient, user_id: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """A direct message from the app; a Slack error is logged and returned as None."""
    try:
        return dict(client.chat_postMessage(channel=user_id, **payload).data)  # type: ignore[arg-type]
    except SlackApiError as error:
        log.warning("DM to %s failed: %s", user_id, slack_error_code(error))
        return None


def dm_file(client: WebClient, user_id: str, **upload: Any) -> None:
    """A file from the app (a CSV, a chart) in the person's DM: `upload` as files_upload_v2
    takes it (content, filename, title, initial_comment)."""
    channel = client.conversations_open(users=user_id)["channel"]["id"]
    client.files_upload_v2(channel=channel, **upload)


def update_sent(client: WebClient, message: SentMessage | None, payload: dict[str, Any]) -> bool:
    """Rewrite a message the app sent, as the database recorded it (a service finds it for the
    record and person a request is about): the one way a click or a form changes a message.
    False when there is none or Slack refused (the caller then answers the person otherwise)."""
    if message is None:
        return False
    try:
        client.chat_update(channel=message.channel, ts=message.ts, **payload)
    except SlackApiError as error:
        log.warning("could not update a message: %s", slack_error_code(error))
        return False
    return True


def open_modal(client: WebClient, trigger_id: str, view: dict[str, Any]) -> None:
    client.views_open(trigger_id=trigger_id, view=view)


MAX_CSV_BYTES = 2_000_000


class CsvDownloadFailed(Exception):
    """Slack's file could not be fetched (network, HTTP error)."""


def download_csv(url: str, token: str | None) -> str:
    """Fetch a CSV a user uploaded to Slack (``url_private_download`` needs the bot token)."""
    import requests  # only when someone uploads a CSV: kept out of the start-up

    try:
        response = requests.get(
            url, headers={"Authorization": f"Bearer {token}"}, timeout=20, stream=True
        )
        response.raise_for_status()
        content = response.raw.read(MAX_CSV_BYTES + 1, decode_content=True)
    except requests.RequestException as error:
        raise CsvDownloadFailed(str(error)) from error
    if len(content) > MAX_CSV_BYTES:
        raise ValidationError({"csv_file": Msg("errors.csv_too_big")})
    return content.decode("utf-8-sig", errors="replace")


SLACK_FILE_HOST = "https://files.slack.com/"


def uploaded_csv(client: WebClient, file_id: Any, user_id: str) -> str:
    """The text of a CSV this person uploaded, fetched from the URL Slack gives for the file id
    (never a URL taken from the request, which anyone could point anywhere with the bot token)."""
    if not isinstance(file_id, str) or not file_id:
        raise ValidationError({"csv_file": Msg("security.file_not_found")})
    try:
        record = client.files_info(file=file_id)["file"]
    except SlackApiError as error:
        raise ValidationError({"csv_file": Msg("security.file_not_found")}) from error
    if record.get("user") != user_id:
        raise PermissionDenied(Msg("security.not_yours"))
    url = record.get("url_private_download") or record.get("url_private") or ""
    if not url.startswith(SLACK_FILE_HOST):
        raise ValidationError({"csv_file": Msg("security.file_not_found")})
    return download_csv(url, client.token)
