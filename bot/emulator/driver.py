"""Play the Slack side of the conversation against a real Bolt app: ``SlackDriver``.

This module owns building the requests Slack sends to an app (slash commands, block actions,
view submissions and closes, shortcuts, Events API deliveries), signing them with the signing
secret, delivering them (in-process through ``App.dispatch``, over HTTP to a running server, or as
Socket Mode envelopes through the emulator's websocket), timing the acknowledgement (past 3 s it
is a violation, as Slack would show the user a timeout), and feeding what the app answers back
into the ``SlackEmulator`` (modal stack changes from a view_submission ack). It also owns
``TrackingExecutor``, the listener executor that lets the driver wait for Bolt's background
listeners so that tests are deterministic.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from contextvars import ContextVar
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.emulator import limits
from bot.emulator.server import SlackEmulator

logger = logging.getLogger(__name__)

LISTENER_WAIT_SECONDS = 30.0
VERIFICATION_TOKEN = "legacy-verification-token"  # Slack still sends the deprecated token
# Bolt waits this long for a listener's ack() before it gives up on it (its default).
BOLT_ACK_TIMEOUT = 3.0


class _SignalledAck(Ack):
    """Bolt's ``ack``, which also says when it was called (or its listener ended without it).

    Bolt's request thread polls for the ack of a listener running in the executor every 10 ms;
    ``TrackingExecutor`` instead blocks that thread on this signal, so a request is answered the
    moment its listener acks, as with a real server, and a test spends no time polling."""

    def __init__(self) -> None:
        super().__init__()
        self.settled = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self.settled.set()


# The ack of the request being dispatched in this thread (set by ``InProcess``).
_dispatching: ContextVar[_SignalledAck | None] = ContextVar("dispatching", default=None)


class TrackingExecutor(Executor):
    """A thread pool that remembers its futures, so a caller can wait until all work is done."""

    def __init__(self, max_workers: int = 8, thread_name_prefix: str = "bolt-listener") -> None:
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix=thread_name_prefix)
        self._lock = threading.Lock()
        self._futures: list[Future[Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = self._pool.submit(fn, *args, **kwargs)
        with self._lock:
            self._futures.append(future)
        ack = _dispatching.get()
        if ack is not None and not ack.settled.is_set():
            # Submitted by Bolt's request thread: return once the listener acked (or ended), so
            # that Bolt finds the ack at once instead of polling for it.
            future.add_done_callback(lambda _: ack.settled.set())
            ack.settled.wait(BOLT_ACK_TIMEOUT)
        return future

    def pending(self) -> list[Future[Any]]:
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()]
            return list(self._futures)

    def wait_idle(self, timeout: float | None = LISTENER_WAIT_SECONDS) -> bool:
        """Wait until every submitted task (including ones submitted meanwhile) has finished.

        Returns False when ``timeout`` passed first. Task exceptions are not raised: Bolt
        catches and logs listener errors itself.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while pending := self.pending():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            wait(pending, timeout=remaining)
        return True

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


@dataclass
class DriverResponse:
    """What the app answered Slack: HTTP status, raw body and the body parsed as JSON."""

    status: int
    body: str
    json: dict[str, Any] | None
    headers: dict[str, Any] = field(default_factory=dict)


@dataclass
class SlackRequest:
    """One request Slack sends to the app, in both connection modes' shapes."""

    raw_body: str  # HTTP mode: the signed body
    headers: dict[str, str]  # HTTP mode: content type, timestamp, signature, retry headers
    envelope_type: str  # Socket Mode: slash_commands, interactive or events_api
    payload: dict[str, Any]  # Socket Mode: the envelope's payload
    retry_num: int | None = None
    retry_reason: str | None = None

    @property
    def description(self) -> str:
        payload = self.payload
        name = payload.get("command") or payload.get("type") or self.envelope_type
        if payload.get("type") == "event_callback":
            name = f"event {payload.get('event', {}).get('type')}"
        return str(name)


class Transport(Protocol):
    """How a request reaches the app; returns what the app acknowledged."""

    def __call__(self, request: SlackRequest) -> DriverResponse: ...


def _parsed(status: int, body: str, headers: dict[str, Any]) -> DriverResponse:
    parsed = None
    if body.strip().startswith("{"):
        try:
            parsed = json.loads(body)
        except json.JSONDecodeError:
            parsed = None
    return DriverResponse(status, body, parsed, headers)


class InProcess:
    """``App.dispatch`` in this process: what Bolt's HTTP adapters do with a request."""

    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, request: SlackRequest) -> DriverResponse:
        bolt_request = BoltRequest(body=request.raw_body, headers=request.headers)
        ack = _SignalledAck()
        bolt_request.context["ack"] = ack
        token = _dispatching.set(ack)
        try:
            response = self.app.dispatch(bolt_request)
        finally:
            _dispatching.reset(token)
        return _parsed(response.status, response.body or "", dict(response.headers))


class OverHttp:
    """POST to a running HTTP-mode server (``liaison serve`` or any WSGI host), as Slack does."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def __call__(self, request: SlackRequest) -> DriverResponse:
        sent = urllib.request.Request(
            self.url, data=request.raw_body.encode(), method="POST", headers=request.headers
        )
        try:
            with urllib.request.urlopen(sent, timeout=self.timeout) as answer:
                body = answer.read().decode()
                return _parsed(answer.status, body, dict(answer.headers))
        except urllib.error.HTTPError as error:
            return _parsed(error.code, error.read().decode(), dict(error.headers))


class OverSocketMode:
    """An envelope through the emulator's Socket Mode websocket to the connected app."""

    def __init__(self, emulator: SlackEmulator) -> None:
        self.emulator = emulator

    def __call__(self, request: SlackRequest) -> DriverResponse:
        ack = self.emulator.socket_mode().deliver(
            request.envelope_type,
            request.payload,
            accepts_response_payload=request.envelope_type != "events_api",
            retry_attempt=request.retry_num,
            retry_reason=request.retry_reason,
        )
        body = json.dumps(ack.payload) if ack.payload is not None else ""
        return DriverResponse(200, body, ack.payload, {})


# view.state value shapes, per element type: (state key, initial-value key, empty value)
_STATE_SHAPES: dict[str, tuple[str, str, Any]] = {
    "plain_text_input": ("value", "initial_value", None),
    "email_text_input": ("value", "initial_value", None),
    "url_text_input": ("value", "initial_value", None),
    "number_input": ("value", "initial_value", None),
    "rich_text_input": ("rich_text_value", "initial_value", None),
    "static_select": ("selected_option", "initial_option", None),
    "external_select": ("selected_option", "initial_option", None),
    "radio_buttons": ("selected_option", "initial_option", None),
    "multi_static_select": ("selected_options", "initial_options", []),
    "multi_external_select": ("selected_options", "initial_options", []),
    "checkboxes": ("selected_options", "initial_options", []),
    "users_select": ("selected_user", "initial_user", None),
    "multi_users_select": ("selected_users", "initial_users", []),
    "conversations_select": ("selected_conversation", "initial_conversation", None),
    "multi_conversations_select": ("selected_conversations", "initial_conversations", []),
    "channels_select": ("selected_channel", "initial_channel", None),
    "multi_channels_select": ("selected_channels", "initial_channels", []),
    "datepicker": ("selected_date", "initial_date", None),
    "timepicker": ("selected_time", "initial_time", None),
    "datetimepicker": ("selected_date_time", "initial_date_time", None),
    "file_input": ("files", "", []),
}
_MISSING = object()
_SINGLE_OPTION = frozenset(("static_select", "external_select", "radio_buttons", "overflow"))
_MULTI_OPTION = frozenset(("multi_static_select", "multi_external_select", "checkboxes"))


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found += group.get("options") or []
    return found


def _option_for(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The option a user picks by value; an unknown value is a mistake in the test."""
    if isinstance(value, dict):
        return value
    for option in _options(element):
        if option.get("value") == value:
            return deepcopy(option)
    if element.get("type", "").endswith("external_select"):
        # External options come from the app's options listener; echo the picked value.
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    known = [o.get("value") for o in _options(element)]
    raise ValueError(f"{element.get('action_id')!r} has no option {value!r} (options: {known})")


def _rich_text(text: str) -> dict[str, Any]:
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return {"type": "rich_text", "elements": [section]}


def _shaped_value(element: dict[str, Any], value: Any) -> Any:
    """Turn a plain Python value into what Slack puts in view.state for this element type."""
    kind = element.get("type", "")
    if kind in _SINGLE_OPTION:
        return _option_for(element, value)
    if kind in _MULTI_OPTION:
        return [_option_for(element, v) for v in value]
    if kind == "rich_text_input" and isinstance(value, str):
        return _rich_text(value)
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        return str(value)
    if kind == "datetimepicker":
        return int(value)
    return value


def element_state(element: dict[str, Any], value: Any = None, *, given: bool = False) -> dict:
    """``{"type": ..., <state key>: ...}`` for one element, from ``value`` or its initial value."""
    kind = element.get("type", "")
    key, initial_key, empty = _STATE_SHAPES[kind]
    if given:
        shaped = _shaped_value(element, value) if value is not None else deepcopy(empty)
    else:
        shaped = deepcopy(element.get(initial_key, empty)) if initial_key else deepcopy(empty)
    state: dict[str, Any] = {"type": kind, key: shaped}
    if kind == "timepicker" and element.get("timezone"):
        state["timezone"] = element["timezone"]
    return state


def _block_elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    elements = [block.get("accessory"), block.get("element")]
    if block.get("type") == "actions":
        elements += block.get("elements") or []
    return [e for e in elements if isinstance(e, dict)]


def iter_elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict]]:
    """(block, element) for every element of every block."""
    for block in blocks or []:
        for element in _block_elements(block):
            yield block, element


def find_element(
    blocks: list[dict[str, Any]], action_id: str, value: Any = None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The (block, element) with ``action_id``; with ``value``, prefer the one carrying it (as
    its value or an option's)."""
    matches = [(b, e) for b, e in iter_elements(blocks) if e.get("action_id") == action_id]
    if value is not None:
        exact = [
            (b, e)
            for b, e in matches
            if e.get("value") == value or any(o.get("value") == value for o in _options(e))
        ]
        matches = exact or matches
    return matches[0] if matches else None


_PICKED_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _check_picked(block: dict[str, Any], element: dict[str, Any], value: Any) -> None:
    """What a person can put in a picker or a number input is only what Slack's client lets
    them: a test that gives anything else asks for something Slack would never send."""
    if value in (None, ""):
        return
    kind = element.get("type")
    label = (block.get("label") or {}).get("text", block.get("block_id"))
    if kind == "timepicker" and not (isinstance(value, str) and limits.TIME_RE.match(value)):
        raise ValueError(f"Slack's time picker {label!r} gives HH:mm, not {value!r}")
    if kind == "datepicker":
        try:
            ok = isinstance(value, str) and bool(_PICKED_DATE.match(value))
            ok = ok and bool(date.fromisoformat(value))
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"Slack's date picker {label!r} gives YYYY-MM-DD, not {value!r}")
    if kind == "number_input":
        decimal = bool(element.get("is_decimal_allowed"))
        number = limits.number_of(str(value), decimal=decimal)
        if number is None:
            kind = "a number" if decimal else "a whole number"
            shown = str(value)[:20]
            raise ValueError(f"Slack would not submit: {label!r} takes {kind}, not {shown!r}")
        for bound, outside in (("min_value", number.__lt__), ("max_value", number.__gt__)):
            limit = limits.number_of(element.get(bound), decimal=True)
            if limit is not None and outside(limit):
                raise ValueError(f"Slack would not submit: {label!r} is out of range")


def _check_required(block: dict[str, Any], element: dict[str, Any], state: dict) -> None:
    """The Slack client itself blocks a submission with an empty required input."""
    key = _STATE_SHAPES[element["type"]][0]
    value = state.get(key)
    label = (block.get("label") or {}).get("text", block.get("block_id"))
    if not block.get("optional") and value in (None, "", []):
        raise ValueError(f"Slack would not submit: required input {label!r} is empty")
    if isinstance(value, str) and element.get("type") == "plain_text_input":
        low, high = element.get("min_length", 0), element.get("max_length", 3000)
        if not (low <= len(value) <= high) and value:
            raise ValueError(f"Slack would not submit: {label!r} must be {low}-{high} characters")


def build_state(
    view: dict[str, Any],
    values: dict[str, Any] | None = None,
    *,
    submitting: bool = False,
    forged: bool = False,
) -> dict[str, Any]:
    """Slack's ``view.state.values`` for a view, with ``values`` (keyed by block_id) applied;
    ``forged``: values no Slack client would send (a typed time, a word in a number input), as a
    hand-made request carries them."""
    values = dict(values or {})
    known = {
        block.get("block_id")
        for block in view.get("blocks") or []
        if any(e.get("type") in _STATE_SHAPES for e in _block_elements(block))
    }
    if unknown := set(values) - known:
        raise ValueError(f"no stateful block with block_id(s) {sorted(unknown)} in the view")
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks") or []:
        block_id = block.get("block_id")
        stateful = [e for e in _block_elements(block) if e.get("type") in _STATE_SHAPES]
        if not stateful or block_id is None:
            continue
        given = values.pop(block_id, _MISSING)
        state[block_id] = {}
        for element in stateful:
            value = given
            if isinstance(given, dict) and element.get("action_id") in given and len(stateful) > 1:
                value = given[element["action_id"]]
            if value is not _MISSING and not isinstance(value, dict) and not forged:
                _check_picked(block, element, value)
            element_value = element_state(element, value, given=value is not _MISSING)
            state[block_id][element["action_id"]] = element_value
            if submitting and block.get("type") == "input":
                _check_required(block, element, element_value)
    return state


class SlackDriver:
    """Send Slack's requests to a Bolt app and keep the emulator in step with the answers."""

    def __init__(
        self,
        app: App,
        signing_secret: str,
        emulator: SlackEmulator,
        team_id: str | None = None,
        executor: TrackingExecutor | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.app = app
        self.emulator = emulator
        self.team_id = team_id or emulator.team_id
        self.executor = executor or self._app_executor(app)
        self.transport: Transport = transport or InProcess(app)
        self._verifier = SignatureVerifier(signing_secret)
        self._responses_before = 0  # how many response_url posts existed before the last request
        self._calls_before = 0  # how many Web API calls existed before the last request
        self._last_user = ""  # who made the last request

    @staticmethod
    def _app_executor(app: App) -> TrackingExecutor | None:
        # Bolt keeps the executor on a private runner; only used when none was passed.
        runner = getattr(app, "_listener_runner", None)
        executor = getattr(runner, "listener_executor", None)
        return executor if isinstance(executor, TrackingExecutor) else None

    # ----------------------------------------------------------------------- plumbing

    def wait_for_listeners(self, timeout: float = LISTENER_WAIT_SECONDS) -> None:
        """Wait until the app's background listeners (run after ack) are done."""
        if self.executor is not None and not self.executor.wait_idle(timeout):
            logger.warning("listeners still running after %.0f s", timeout)

    @property
    def new_responses(self) -> list[dict[str, Any]]:
        """What the app posted to response_urls since the driver's last request began."""
        return self.emulator.responses[self._responses_before :]

    @property
    def new_sent(self) -> list[dict[str, Any]]:
        """Every message, ephemeral answer and view the app sent since the driver's last request
        began (the arguments of its calls, then its response_url posts)."""
        kinds = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open")
        kinds += ("views.push", "views.update")
        sent = [
            call.args
            for call in self.emulator.calls[self._calls_before :]
            if call.method in kinds and call.status == 200
        ]
        return sent + self.new_responses

    @property
    def new_views(self) -> list[dict[str, Any]]:
        """The modal on top of the last request's user's stack (as the emulator holds it, with
        its id, for a click in it), when the app opened, pushed or updated one since that request
        began; else nothing."""
        methods = ("views.open", "views.push", "views.update")
        touched = any(
            call.method in methods and call.status == 200
            for call in self.emulator.calls[self._calls_before :]
        )
        top = self.emulator.top_view(self._last_user) if touched and self._last_user else None
        return [top] if top else []

    def _dispatch(
        self,
        raw_body: str,
        content_type: str,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> DriverResponse:
        timestamp = str(int(time.time()))
        headers = {
            "content-type": content_type,
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": self._verifier.generate_signature(
                timestamp=timestamp, body=raw_body
            ),
        }
        if retry_num is not None:
            headers["x-slack-retry-num"] = str(retry_num)
            headers["x-slack-retry-reason"] = retry_reason or "http_timeout"
        request = SlackRequest(
            raw_body,
            headers,
            envelope_type,
            payload,
            retry_num=retry_num,
            retry_reason=retry_reason,
        )
        self.wait_for_listeners()  # what earlier requests started belongs to them
        self._responses_before = len(self.emulator.responses)
        self._calls_before = len(self.emulator.calls)
        user = payload.get("user")
        self._last_user = str(user.get("id") if isinstance(user, dict) else payload.get("user_id"))
        started = time.monotonic()
        response = self.transport(request)
        self._check_ack_time(request, time.monotonic() - started)
        return response

    def _check_ack_time(self, request: SlackRequest, seconds: float) -> None:
        deadline = self.emulator.ack_deadline
        if deadline is not None and seconds > deadline:
            self.emulator.note_violation(
                f"ack: {request.description} was acknowledged after {seconds:.2f} s "
                f"(Slack gives up after {deadline:g} s and shows the user an error)"
            )

    def _interact(
        self, payload: dict[str, Any], before_wait: Callable[..., None] | None = None
    ) -> DriverResponse:
        raw = urlencode({"payload": json.dumps(payload)})
        response = self._dispatch(raw, "application/x-www-form-urlencoded", "interactive", payload)
        if before_wait is not None:
            before_wait(response)  # Slack acts on the ack at once, while listeners still run
        self.wait_for_listeners()
        return response

    def _user(self, user_id: str) -> dict[str, Any]:
        name = self.emulator.user_names().get(user_id, user_id.lower())
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _team(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": self.emulator.team_domain}

    def _channel(self, channel_id: str) -> dict[str, Any]:
        name = self.emulator.channel_names().get(channel_id)
        if name is None:
            name = "directmessage" if channel_id.startswith("D") else channel_id
        return {"id": channel_id, "name": name}

    def _base_payload(self, kind: str, user_id: str) -> dict[str, Any]:
        return {
            "type": kind,
            "token": VERIFICATION_TOKEN,
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.emulator.app_id,
            "is_enterprise_install": False,
            "enterprise": None,
        }

    @staticmethod
    def _action_ts() -> str:
        return f"{time.time():.6f}"

    def _view_with_state(
        self,
        view: dict[str, Any],
        values: dict | None = None,
        submitting: bool = False,
        forged: bool = False,
    ) -> dict[str, Any]:
        sent = deepcopy(view)
        state = build_state(view, values, submitting=submitting, forged=forged)
        sent["state"] = {"values": state}
        return sent

    # -------------------------------------------------------------------- slash commands

    def slash_command(
        self,
        user_id: str,
        command: str,
        text: str = "",
        channel_id: str = "C0GENERAL",
        channel_name: str | None = None,
    ) -> DriverResponse:
        """The user types ``/command text`` in a channel."""
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": self.emulator.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name or self._channel(channel_id)["name"],
            "user_id": user_id,
            "user_name": self._user(user_id)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.emulator.app_id,
            "is_enterprise_install": "false",
            "response_url": self.emulator.issue_response_url(channel_id, user_id),
            "trigger_id": self.emulator.issue_trigger_id(user_id),
        }
        raw = urlencode(fields)
        response = self._dispatch(
            raw, "application/x-www-form-urlencoded", "slash_commands", dict(parse_qsl(raw))
        )
        self._check_ack_message("slash command ack", response)
        self.wait_for_listeners()
        return response

    def _check_ack_message(self, source: str, response: DriverResponse) -> None:
        body = response.json
        if body and ("blocks" in body or "text" in body):
            self.emulator.note_violations(
                source, limits.check_message(body.get("text"), body.get("blocks"))
            )

    # ---------------------------------------------------------------------- block actions

    def _action(
        self, element: dict[str, Any], block_id: str, value: Any, selected_option: Any
    ) -> dict[str, Any]:
        kind = element.get("type", "button")
        action: dict[str, Any] = {
            "type": kind,
            "action_id": element.get("action_id"),
            "block_id": block_id,
            "action_ts": self._action_ts(),
        }
        if kind == "button":
            action["text"] = deepcopy(element.get("text"))
            chosen = value if value is not None else element.get("value")
            if chosen is not None:
                action["value"] = chosen
            if element.get("style"):
                action["style"] = element["style"]
        elif selected_option is not None:
            action["selected_option"] = deepcopy(selected_option)
        elif kind in _STATE_SHAPES or kind == "overflow":
            if kind == "overflow":
                action["selected_option"] = _option_for(element, value)
            else:
                action.update(element_state(element, value, given=value is not None))
        return action

    def _locate(
        self, action_id: str, block_id: str | None, value: Any, blocks: list[dict[str, Any]] | None
    ) -> tuple[str, dict[str, Any]]:
        if blocks is None:
            return block_id or "block", {"type": "button", "action_id": action_id}
        found = find_element(blocks, action_id, value)
        if found is None:
            raise ValueError(f"no element with action_id {action_id!r} in the given blocks")
        block, element = found
        if block_id is not None and block.get("block_id") != block_id:
            candidates = [
                (b, e)
                for b, e in iter_elements(blocks)
                if e.get("action_id") == action_id and b.get("block_id") == block_id
            ]
            if not candidates:
                raise ValueError(f"no element {action_id!r} in block {block_id!r}")
            block, element = candidates[0]
        return block["block_id"], element

    def _message_context(
        self, payload: dict[str, Any], user_id: str, message: dict[str, Any], channel_id: str | None
    ) -> None:
        channel = channel_id or message.get("channel")
        if channel is None:
            raise ValueError("the message has no channel; pass channel_id")
        ephemeral = bool(message.get("is_ephemeral"))
        payload["container"] = {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        }
        payload["channel"] = self._channel(channel)
        if not ephemeral:  # Slack leaves ephemeral messages out of the payload
            payload["message"] = self.emulator.public_message(message)
        payload["state"] = {"values": {}}
        payload["response_url"] = self.emulator.issue_response_url(
            channel, user_id, message["ts"], ephemeral=ephemeral
        )

    def block_action(
        self,
        user_id: str,
        action_id: str,
        value: Any = None,
        block_id: str | None = None,
        *,
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        channel_id: str | None = None,
        selected_option: dict[str, Any] | None = None,
        container: dict[str, Any] | None = None,
        typed: dict[str, Any] | None = None,
        forged: bool = False,
    ) -> DriverResponse:
        """The user uses an interactive element in a message (``message``) or a view (``view``).

        ``value`` is a button's value or, for selects and pickers, the picked value(s); ``typed``:
        what the user has put in the view's inputs so far (keyed by block_id), sent as its state.
        """
        if message is not None and message.get("type") == "modal" and "id" in message:
            view, message = message, None  # a tool's modal, as ``new_views`` gave it
        surface = message if message is not None else view
        blocks = surface.get("blocks") if surface is not None else None
        block_id, element = self._locate(action_id, block_id, value, blocks)
        payload = self._base_payload("block_actions", user_id)
        payload["trigger_id"] = self.emulator.issue_trigger_id(user_id)
        payload["actions"] = [self._action(element, block_id, value, selected_option)]
        if message is not None:
            self._message_context(payload, user_id, message, channel_id)
        elif view is not None:
            payload["container"] = {"type": "view", "view_id": view["id"]}
            if value is not None and element.get("type") in _STATE_SHAPES:
                typed = {**(typed or {}), block_id: value}  # the state holds the new choice
            payload["view"] = self._view_with_state(view, typed, forged=forged)
        elif channel_id is not None:
            payload["container"] = {
                "type": "message",
                "channel_id": channel_id,
                "is_ephemeral": True,
            }
            payload["channel"] = self._channel(channel_id)
            payload["response_url"] = self.emulator.issue_response_url(channel_id, user_id)
        if container is not None:
            payload["container"] = container
        return self._interact(payload)

    def click(
        self,
        user_id: str,
        action_id: str,
        *,
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        value: str | None = None,
    ) -> DriverResponse:
        """Click a button; its value is read from the blocks unless given. Where no button acts
        so, the overflow menu option that does (valued ``<action id>|<value>``) is picked."""
        surface = message if message is not None else view
        blocks = (surface or {}).get("blocks") or []
        if surface is not None and find_element(blocks, action_id) is None:
            wanted = f"{action_id}|{value}" if value is not None else f"{action_id}|"
            for block, element in iter_elements(blocks):
                for option in _options(element) if element.get("type") == "overflow" else []:
                    picked = str(option.get("value"))
                    if picked == wanted or (value is None and picked.startswith(wanted)):
                        return self.block_action(
                            user_id,
                            str(element.get("action_id")),
                            picked,
                            block.get("block_id"),
                            message=message,
                            view=view,
                        )
        return self.block_action(user_id, action_id, value, message=message, view=view)

    def choose(
        self,
        user_id: str,
        menu_id: str,
        action_id: str,
        *,
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
    ) -> DriverResponse:
        """Pick, in the overflow menu ``menu_id``, the option that acts as the button
        ``action_id`` (the app values such an option ``<action id>|<button value>``)."""
        surface = message if message is not None else view
        found = find_element((surface or {}).get("blocks") or [], menu_id)
        if found is None:
            raise ValueError(f"no menu {menu_id!r} in the given blocks")
        block, menu = found
        options = [o for o in _options(menu) if str(o.get("value")).startswith(f"{action_id}|")]
        if not options:
            raise ValueError(f"the menu {menu_id!r} offers no {action_id!r}")
        return self.block_action(
            user_id, menu_id, options[0]["value"], block["block_id"], message=message, view=view
        )

    # ----------------------------------------------------------------------------- views

    def _top_view(self, user_id: str, view: dict[str, Any] | None) -> dict[str, Any]:
        if view is not None:
            return view
        top = self.emulator.top_view(user_id)
        if top is None:
            raise ValueError(f"{user_id} has no open modal")
        return top

    def submit_view(
        self,
        user_id: str,
        values: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        *,
        forged: bool = False,
    ) -> DriverResponse:
        """The user fills the modal's inputs (``values`` keyed by block_id) and presses submit;
        ``forged``: a hand-made request with values Slack's client would not let through.

        A choice in an input with ``dispatch_action`` reaches the app as soon as it is made (Slack
        sends block_actions at once): such choices are made first, in the form's order, and the
        rest is filled into the form as the app has redrawn it."""
        view = self._top_view(user_id, view)
        if values:
            view = self._choose(user_id, view, values, forged=forged)
        payload = self._base_payload("view_submission", user_id)
        payload["trigger_id"] = self.emulator.issue_trigger_id(user_id)
        payload["view"] = self._view_with_state(view, values, submitting=True, forged=forged)
        payload["response_urls"] = []

        def apply_answer(response: DriverResponse) -> None:
            if response.status == 200:  # otherwise Slack shows a connection error, modal stays
                self.emulator.apply_submission_answer(user_id, response.json)

        return self._interact(payload, apply_answer)

    def _choose(
        self, user_id: str, view: dict[str, Any], values: dict[str, Any], *, forged: bool = False
    ) -> dict:
        """Make the dispatching choices among ``values`` one by one; the form as it then is."""
        made: set[str] = set()
        while True:
            pending = [
                (block, element)
                for block in view.get("blocks") or []
                if block.get("dispatch_action")
                and block.get("type") == "input"
                and block.get("block_id") in values
                and block["block_id"] not in made
                and isinstance(element := block.get("element"), dict)
                and element_state(element, values[block["block_id"]], given=True)
                != element_state(element)
            ]
            if not pending:
                return view
            block, element = pending[0]
            made.add(block["block_id"])
            present = {
                b.get("block_id")
                for b in view.get("blocks") or []
                if any(e.get("type") in _STATE_SHAPES for e in _block_elements(b))
            }
            typed = {k: v for k, v in values.items() if k in present}
            self.block_action(
                user_id,
                element["action_id"],
                values[block["block_id"]],
                block["block_id"],
                view=view,
                typed=typed,
                forged=forged,
            )
            view = self.emulator.top_view(user_id) or view

    def close_view(self, user_id: str, view: dict[str, Any] | None = None) -> DriverResponse:
        """The user closes the modal. Slack only tells the app if ``notify_on_close`` is set."""
        view = self._top_view(user_id, view)
        cleared = bool(view.get("clear_on_close"))
        self.emulator.close_view(user_id, clear=cleared)
        if not view.get("notify_on_close"):
            return DriverResponse(200, "", None)
        payload = self._base_payload("view_closed", user_id)
        payload["view"] = self._view_with_state(view)
        payload["is_cleared"] = cleared
        return self._interact(payload)

    # ------------------------------------------------------------------------- shortcuts

    def shortcut(self, user_id: str, callback_id: str) -> DriverResponse:
        """The user runs a global shortcut."""
        payload = self._base_payload("shortcut", user_id)
        payload.update(
            callback_id=callback_id,
            action_ts=self._action_ts(),
            trigger_id=self.emulator.issue_trigger_id(user_id),
        )
        return self._interact(payload)

    def message_shortcut(
        self, user_id: str, callback_id: str, message: dict[str, Any], channel_id: str
    ) -> DriverResponse:
        """The user runs a message shortcut on ``message`` (a stored emulator message)."""
        payload = self._base_payload("message_action", user_id)
        payload.update(
            callback_id=callback_id,
            action_ts=self._action_ts(),
            trigger_id=self.emulator.issue_trigger_id(user_id),
            channel=self._channel(channel_id),
            message_ts=message["ts"],
            message=self.emulator.public_message(message),
            response_url=self.emulator.issue_response_url(channel_id, user_id, message["ts"]),
        )
        return self._interact(payload)

    # ---------------------------------------------------------------------------- events

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> DriverResponse:
        """Deliver an Events API ``event_callback`` (a retry when ``retry_num`` is given)."""
        event = deepcopy(event)
        event.setdefault("event_ts", self._action_ts())
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "api_app_id": self.emulator.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.emulator.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_hex(12),
        }
        response = self._dispatch(
            json.dumps(envelope),
            "application/json",
            "events_api",
            envelope,
            retry_num=retry_num,
            retry_reason=retry_reason if retry_num is not None else None,
        )
        self.wait_for_listeners()
        return response

    def open_home(self, user_id: str) -> DriverResponse:
        """The user opens the app's Home tab (``app_home_opened``)."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.emulator.dm_channel_id(user_id),
            "tab": "home",
        }
        home = self.emulator.home(user_id)
        if home is not None:
            event["view"] = home
        return self.event(event)
