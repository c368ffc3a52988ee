"""Small Block Kit builders reused by every domain's views (typed ``slack_sdk.models``).

``to_dict()`` on slack_sdk's objects validates lengths of nested elements too; ``message()`` adds
the 50-blocks-per-message check slack_sdk lacks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ChannelSelectElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    DateTimePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    InputInteractiveElement,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserMultiSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.i18n import plain
from bot.ids import Action

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
SECTION_TEXT_LIMIT = 3000


class FileInputElement(InputInteractiveElement):
    """Slack's ``file_input`` (modals only), which slack_sdk has no class for."""

    type = "file_input"

    @property
    def attributes(self) -> set[str]:  # type: ignore[override]
        return super().attributes.union({"filetypes", "max_files"})

    def __init__(self, *, action_id: str, filetypes: list[str], max_files: int = 1) -> None:
        super().__init__(type=self.type, action_id=action_id)
        self.filetypes = filetypes
        self.max_files = max_files


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=clip(text, 150), emoji=True))


def mrkdwn(text: str) -> dict[str, str]:
    """A mrkdwn text object as a plain dict, for payloads built in bulk (``text`` is short)."""
    return {"type": "mrkdwn", "text": clip(text, SECTION_TEXT_LIMIT)}


def section(text: str, *, accessory: Any = None, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(
        text=MarkdownTextObject(text=clip(text, SECTION_TEXT_LIMIT)),
        accessory=accessory,
        block_id=block_id,
    )


def line_sections(lines: Sequence[str]) -> list[SectionBlock]:
    """Lines gathered into as few sections as the section text limit allows (a long list in
    few blocks keeps a message within Slack's 50 blocks)."""
    sections: list[SectionBlock] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > SECTION_TEXT_LIMIT - 10:
            sections.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        sections.append(section("\n".join(chunk)))
    return sections


def fields(items: Sequence[str]) -> SectionBlock:
    return SectionBlock(fields=[MarkdownTextObject(text=clip(item, 2000)) for item in items[:10]])


def context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(t, 2000)) for t in texts[:10]])


def divider() -> DividerBlock:
    return DividerBlock()


def button(
    text: str,
    action_id: str,
    value: str = "",
    *,
    style: str | None = None,
    url: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=clip(text, 75), emoji=True),
        action_id=action_id,
        value=value or None,
        style=style,
        url=url,
        confirm=confirm,
    )


def confirm_dialog(title: str, text: str, yes: str, no: str) -> ConfirmObject:
    """Slack's own "are you sure?" dialog before a button acts."""
    return ConfirmObject(
        title=PlainTextObject(text=clip(title, 100)),
        text=MarkdownTextObject(text=clip(text, 300)),
        confirm=PlainTextObject(text=clip(yes, 30)),
        deny=PlainTextObject(text=clip(no, 30)),
        style="danger",
    )


def actions(*buttons: ButtonElement, block_id: str | None = None) -> ActionsBlock:
    return ActionsBlock(elements=list(buttons)[:25], block_id=block_id)


def option(value: str, label: str) -> Option:
    return Option(value=value, text=PlainTextObject(text=clip(label, 75)))


def text_input(
    block_id: str,
    label: str,
    *,
    initial: str | None = None,
    multiline: bool = False,
    optional: bool = False,
    max_length: int | None = None,
    placeholder: str | None = None,
    hint: str | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        optional=optional,
        hint=PlainTextObject(text=hint) if hint else None,
        element=PlainTextInputElement(
            action_id=Action.INPUT,
            initial_value=initial or None,
            multiline=multiline,
            max_length=max_length,
            placeholder=PlainTextObject(text=clip(placeholder, 150)) if placeholder else None,
        ),
    )


def select_input(
    block_id: str,
    label: str,
    choices: Sequence[tuple[str, str]],
    *,
    initial: str | None = None,
    optional: bool = False,
    hint: str | None = None,
) -> InputBlock:
    options = [option(value, text) for value, text in choices][:100]
    chosen = next((o for o in options if o.value == initial), None)
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        optional=optional,
        hint=PlainTextObject(text=hint) if hint else None,
        element=StaticSelectElement(action_id=Action.INPUT, options=options, initial_option=chosen),
    )


def radio_input(
    block_id: str,
    label: str,
    choices: Sequence[tuple[str, str]],
    *,
    initial: str | None = None,
    optional: bool = False,
) -> InputBlock:
    options = [option(value, text) for value, text in choices][:10]
    chosen = next((o for o in options if o.value == initial), None)
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=clip(label, 2000)),
        optional=optional,
        element=RadioButtonsElement(action_id=Action.INPUT, options=options, initial_option=chosen),
    )


def multi_select_input(
    block_id: str, label: str, choices: Sequence[tuple[str, str]], initial: Sequence[str]
) -> InputBlock:
    """An optional multi-select of fixed choices (up to 100)."""
    options = [option(value, text) for value, text in choices][:100]
    chosen = [o for o in options if o.value in initial] or None
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        optional=True,
        element=StaticMultiSelectElement(
            action_id=Action.INPUT, options=options, initial_options=chosen
        ),
    )


def datetime_input(
    block_id: str, label: str, initial: int | None, hint: str, *, optional: bool = True
) -> InputBlock:
    """A date and time picker (its value is a Unix timestamp in the reader's timezone)."""
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        optional=optional,
        hint=PlainTextObject(text=hint) if hint else None,
        element=DateTimePickerElement(action_id=Action.INPUT, initial_date_time=initial),
    )


def user_input(
    block_id: str, label: str, *, initial: str | None = None, optional: bool = False
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        optional=optional,
        element=UserSelectElement(action_id=Action.INPUT, initial_user=initial),
    )


def users_input(
    block_id: str, label: str, *, initial: Sequence[str] = (), optional: bool = False
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        optional=optional,
        element=UserMultiSelectElement(action_id=Action.INPUT, initial_users=list(initial) or None),
    )


def channel_input(
    block_id: str, label: str, *, initial: str | None = None, optional: bool = False
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        optional=optional,
        element=ChannelSelectElement(action_id=Action.INPUT, initial_channel=initial),
    )


def file_input(
    block_id: str, label: str, *, filetypes: Sequence[str], optional: bool
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        optional=optional,
        element=FileInputElement(action_id=Action.INPUT, filetypes=list(filetypes), max_files=1),
    )


def checkboxes_input(
    block_id: str,
    label: str,
    choices: Sequence[tuple[str, str]],
    initial: Sequence[str] = (),
    *,
    optional: bool = True,
) -> InputBlock:
    """Checkboxes of fixed choices (Slack shows at most 10)."""
    options = [option(value, text) for value, text in choices][:10]
    chosen = [o for o in options if o.value in initial] or None
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=clip(label, 2000)),
        optional=optional,
        element=CheckboxesElement(action_id=Action.INPUT, options=options, initial_options=chosen),
    )


def modal(
    *,
    callback_id: str,
    title: str,
    blocks: Sequence[Block],
    submit: str | None = None,
    close: str | None = None,
    private_metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if len(blocks) > VIEW_BLOCK_LIMIT:
        raise ValueError(f"a modal holds at most {VIEW_BLOCK_LIMIT} blocks, got {len(blocks)}")
    view = View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text=clip(title, 24)),
        submit=PlainTextObject(text=clip(submit, 24)) if submit else None,
        close=PlainTextObject(text=clip(close, 24)) if close else None,
        blocks=list(blocks),
        private_metadata=json.dumps(private_metadata) if private_metadata else None,
    )
    return view.to_dict()


def home(blocks: Sequence[Block]) -> dict[str, Any]:
    if len(blocks) > VIEW_BLOCK_LIMIT:
        raise ValueError(f"the Home tab holds at most {VIEW_BLOCK_LIMIT} blocks")
    return View(type="home", blocks=list(blocks)).to_dict()


def message(text: str, blocks: Sequence[Block] = ()) -> dict[str, Any]:
    """Arguments for chat.postMessage / respond(): a short fallback ``text`` plus checked blocks."""
    if len(blocks) > MESSAGE_BLOCK_LIMIT:
        raise ValueError(f"a message holds at most {MESSAGE_BLOCK_LIMIT} blocks, got {len(blocks)}")
    payload: dict[str, Any] = {"text": clip(text, 3000)}
    if blocks:
        payload["blocks"] = [block.to_dict() for block in blocks]
    return payload


def read_metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The view's private_metadata; anything but a JSON object is refused (a tampered form)."""
    from bot.errors import Msg, ValidationError

    raw = view.get("private_metadata") or ""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValidationError({"": Msg("security.form_unreadable")})
    return data


def read_values(view: dict[str, Any]) -> dict[str, Any]:
    """``view.state.values`` as ``{block_id: plain value}`` whatever the element type."""
    result: dict[str, Any] = {}
    for block_id, elements in (view.get("state") or {}).get("values", {}).items():
        for element in elements.values():
            result[block_id] = _element_value(element)
    return result


def _element_value(element: dict[str, Any]) -> Any:
    kind = element.get("type")
    if kind in ("static_select", "external_select", "radio_buttons"):
        chosen = element.get("selected_option")
        return chosen["value"] if chosen else None
    if kind in ("multi_static_select", "checkboxes", "multi_external_select"):
        return [o["value"] for o in element.get("selected_options") or []]
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "multi_users_select":
        return list(element.get("selected_users") or [])
    if kind == "channels_select":
        return element.get("selected_channel")
    if kind == "conversations_select":
        return element.get("selected_conversation")
    if kind == "multi_conversations_select":
        return list(element.get("selected_conversations") or [])
    if kind == "multi_channels_select":
        return list(element.get("selected_channels") or [])
    if kind == "datepicker":
        return element.get("selected_date")
    if kind == "timepicker":
        return element.get("selected_time")
    if kind == "datetimepicker":
        return element.get("selected_date_time")
    if kind == "file_input":
        return list(element.get("files") or [])
    return element.get("value")


def built_features(locale: str) -> str:
    """The built capabilities in words ("the key-user register, issues and requests and
    satisfaction polls"), so greetings and help promise only what exists."""
    from bot.manifest import built_capabilities

    return plain(
        locale,
        "features.list",
        items=[plain(locale, f"features.{name}") for name in built_capabilities()],
    )


def channel_posts(locale: str) -> str:
    """What Liaison will post in a project's channel, from the built capabilities."""
    from bot.manifest import CHANNEL_POSTS, built_capabilities

    built = built_capabilities()
    items = [plain(locale, f"channel_posts.{name}") for name in CHANNEL_POSTS if name in built]
    return plain(locale, "features.list", items=items) if items else ""
