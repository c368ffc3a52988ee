"""A fake Slack Web API server for tests and demos: ``SlackEmulator``.

This module owns the HTTP side of the emulator: it listens on 127.0.0.1 (a free port), parses
Web API calls the way Slack does (JSON, form and multipart bodies, query strings, the Bearer
token), refuses unknown methods and missing required arguments using Slack's own method
catalogue, records every call, and injects faults (errors, 429s, 5xx, a rate ceiling). The
workspace state and the method answers live in ``workspace.py`` and ``methods.py``.

Usage::

    with SlackEmulator() as emu:
        emu.add_user("U1", "anna")
        client = WebClient(base_url=emu.url, token="xoxb-test")
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.emulator.methods import HANDLERS, Args
from bot.emulator.policy import RateLimiter, manifest_bot_scopes, needed_scope
from bot.emulator.workspace import ApiError, Channel, User, Workspace, public_message

logger = logging.getLogger(__name__)

# Arguments whose value is JSON even when the rest of the call is form-encoded.
JSON_ARGUMENTS = frozenset(
    {
        "attachments",
        "blocks",
        "bookmark",
        "files",
        "inputs",
        "metadata",
        "outputs",
        "profile",
        "unfurls",
        "user_auth_blocks",
        "view",
    }
)
_HTTP_ERRORS = {500: "fatal_error", 502: "bad_gateway", 503: "service_unavailable"}
# Slack caps a history page at 999 messages, whatever ``limit`` asks for.
HISTORY_LIMIT_CAP = 999
ACK_DEADLINE_SECONDS = 3.0
APP_TOKEN_SCOPES = frozenset({"connections:write"})


@dataclass
class Call:
    """One Web API call the emulator received, and the HTTP status it answered."""

    method: str
    args: dict[str, Any]
    token: str | None
    status: int


@dataclass
class _Fault:
    kind: str  # "error" (ok:false), "rate_limit" (429) or "http" (5xx)
    times: int
    error: str = "ratelimited"
    retry_after: int = 1
    status: int = 503


@dataclass
class _Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    page: str | None = None  # sent instead of ``body``: not JSON (a proxy's error page)


def _load_catalogue(methods_path: str | Path | None) -> dict[str, dict[str, Any]]:
    if methods_path is None:
        source = resources.files("bot.emulator").joinpath("data/web_api_methods.json")
        text = source.read_text(encoding="utf-8")
    else:
        text = Path(methods_path).read_text(encoding="utf-8")
    return json.loads(text)["methods"]


def _decode_json_arguments(args: dict[str, Any]) -> dict[str, Any]:
    for name in JSON_ARGUMENTS & args.keys():
        value = args[name]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                args[name] = json.loads(value)
            except json.JSONDecodeError:
                pass  # Slack would refuse it later as invalid; keep the raw string
    return args


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        is_file = part.get_filename() is not None
        fields[str(name)] = payload if is_file else payload.decode("utf-8", "replace")
    return fields


def parse_arguments(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """Merge a call's query string and body into one argument dict, as Slack does."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if body and kind == "application/json":
        parsed = json.loads(body.decode("utf-8"))
        if isinstance(parsed, dict):
            args.update(parsed)
    elif body and kind == "multipart/form-data":
        args.update(_parse_multipart(content_type, body))
    elif body:
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return _decode_json_arguments(args)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _EmulatorHTTPServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.server.emulator._serve(self)

    def do_GET(self) -> None:  # noqa: N802
        self.server.emulator._serve(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("emulator: " + format, *args)


class _EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, emulator: SlackEmulator) -> None:
        super().__init__(("127.0.0.1", 0), _RequestHandler)
        self.emulator = emulator


class SlackEmulator:
    """A local stand-in for slack.com's Web API, with an inspectable workspace."""

    def __init__(
        self,
        team_id: str = "T0001",
        team_name: str = "Acme",
        bot_user_id: str = "UBOT",
        methods_path: str | Path | None = None,
        *,
        scopes: list[str] | tuple[str, ...] | None = None,
        rate_limits: bool = True,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.methods = _load_catalogue(methods_path)
        self.workspace = Workspace(team_id, team_name, bot_user_id)
        # The bot token's scopes: by default those ``liaison manifest`` declares.
        self.scopes: set[str] = set(manifest_bot_scopes() if scopes is None else scopes)
        self.rate_limits = rate_limits
        self.limiter = RateLimiter(
            {name: str(spec.get("rate_limits") or "") for name, spec in self.methods.items()},
            monotonic=monotonic,
        )
        # Seconds within which the app must acknowledge a request (measured by the driver).
        self.ack_deadline = ACK_DEADLINE_SECONDS
        self.socket: Any = None  # the Socket Mode server, once ``socket_mode()`` started it
        self._calls: list[Call] = []
        # Bot tokens of other workspaces installed in the same store (OAuth): their calls count
        # against their own workspace's rate limits. Any other token is this workspace's.
        self.token_teams: dict[str, str] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._ceilings: dict[str, float] = {}
        self._outage: tuple[Callable[[], datetime], datetime, int, str | None] | None = None
        self._recent: dict[str, deque[float]] = {}
        self._server: _EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------ lifecycle

    def start(self) -> SlackEmulator:
        if self._server is not None:
            return self
        self._server = _EmulatorHTTPServer(self)
        host, port = self._server.server_address[:2]
        self.workspace.base_url = f"http://{host}:{port}/"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # quick shutdown between tests
            name="slack-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.socket is not None:
            self.socket.stop()
            self.socket = None
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The server root, ending in ``/`` (response_url and upload URLs live below it)."""
        if not self.workspace.base_url:
            raise RuntimeError("the emulator is not started")
        return self.workspace.base_url

    @property
    def url(self) -> str:
        """The Web API base URL to give ``WebClient(base_url=...)``."""
        return self.base_url + "api/"

    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    @property
    def team_domain(self) -> str:
        return self.workspace.domain

    @property
    def bot_user_id(self) -> str:
        return self.workspace.bot_user_id

    @property
    def app_id(self) -> str:
        return self.workspace.app_id

    @property
    def trigger_ttl(self) -> float | None:
        """Seconds a trigger_id stays valid (Slack: 3); None disables expiry."""
        return self.workspace.trigger_ttl

    @trigger_ttl.setter
    def trigger_ttl(self, seconds: float | None) -> None:
        self.workspace.trigger_ttl = seconds

    # ------------------------------------------------------------------- workspace setup

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        tz: str = "Europe/Berlin",
        is_admin: bool = False,
        deleted: bool = False,
        email: str | None = None,
        is_bot: bool = False,
        locale: str = "en-US",
        display_name: str | None = None,
    ) -> dict[str, Any]:
        """Add (or replace) a member; returns the users.info user object."""
        user = User(
            user_id,
            name,
            real_name or name,
            tz,
            is_admin,
            deleted,
            email,
            is_bot,
            locale,
            display_name,
        )
        with self.workspace.lock:
            self.workspace.add_user(user)
            return user.to_api(self.team_id)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        members: tuple[str, ...] | list[str] = (),
        bot_is_member: bool = True,
        is_private: bool = False,
    ) -> dict[str, Any]:
        """Add (or replace) a channel; returns the conversations.info channel object."""
        channel = Channel(channel_id, name, list(members), bot_is_member, is_private)
        with self.workspace.lock:
            self.workspace.add_channel(channel)
            return channel.to_api(self.bot_user_id, include_num_members=True)

    def add_message(
        self,
        channel: str,
        user_id: str,
        text: str,
        *,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Store a message a person wrote (e.g. to use with a message shortcut)."""
        with self.workspace.lock:
            target = self.workspace.channel(channel)
            message = self.workspace.store_message(
                target, text=text, blocks=blocks, thread_ts=thread_ts, user=user_id
            )
            return deepcopy(message)

    def add_file(self, user_id: str, name: str, content: bytes) -> dict[str, Any]:
        """A file a person uploaded (e.g. a CSV picked in a file input): its ``files.info`` record,
        whose ``url_private_download`` is on files.slack.com as in Slack."""
        with self.workspace.lock:
            file_id = "F" + secrets.token_hex(5).upper()
            base = f"https://files.slack.com/files-pri/{self.workspace.team_id}-{file_id}"
            record = {
                "id": file_id,
                "created": int(time.time()),
                "name": name,
                "title": name,
                "user": user_id,
                "size": len(content),
                "url_private": f"{base}/{name}",
                "url_private_download": f"{base}/download/{name}",
                "content": content,
            }
            self.workspace.files[file_id] = record
            return self.workspace.public_file(record)

    def issue_trigger_id(self, user_id: str) -> str:
        """A fresh trigger_id for an interaction by ``user_id`` (single use)."""
        with self.workspace.lock:
            return self.workspace.issue_trigger_id(user_id)

    def issue_response_url(
        self,
        channel_id: str | None,
        user_id: str,
        message_ts: str | None = None,
        *,
        ephemeral: bool = False,
    ) -> str:
        """A response_url that records what the app posts to it in ``.responses``."""
        with self.workspace.lock:
            return self.workspace.issue_response_url(
                channel_id, user_id, message_ts, ephemeral=ephemeral
            )

    def apply_submission_answer(self, user_id: str, answer: dict[str, Any] | None) -> None:
        """Apply a view_submission ack body to the user's modal stack (used by the driver)."""
        with self.workspace.lock:
            try:
                self.workspace.apply_submission_answer(user_id, answer)
            except ApiError as error:
                logger.warning("view_submission answer refused: %s", error.body())

    def close_view(self, user_id: str, *, clear: bool = False) -> None:
        """The user closes the top modal (with ``clear``: the whole stack)."""
        with self.workspace.lock:
            self.workspace.close_top(user_id, clear=clear)

    # ----------------------------------------------------------------- state accessors

    def user_names(self) -> dict[str, str]:
        """User id -> display name, for rendering ``<@U…>`` mentions."""
        with self.workspace.lock:
            return {u.id: u.shown_name for u in self.workspace.users.values()}

    def channel_names(self) -> dict[str, str]:
        with self.workspace.lock:
            return {c.id: c.name for c in self.workspace.channels.values() if not c.is_im}

    def channel_name(self, channel_id: str) -> str:
        """A channel's name without ``#`` (a DM: the person's name; unknown: the id)."""
        with self.workspace.lock:
            channel = self.workspace.channels.get(channel_id)
            if channel is None:
                return channel_id
            if channel.is_im and channel.user:
                return self.workspace.users[channel.user].name
            return channel.name

    def dm_channel_id(self, user_id: str) -> str:
        """The bot's DM channel id with a person (``D`` + the user id's suffix)."""
        return self.workspace.dm_channel_id(user_id)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages stored in a channel (a user id means the bot's DM), oldest first."""
        with self.workspace.lock:
            if channel in self.workspace.users:
                channel = self.dm_channel_id(channel)
            return deepcopy(self.workspace.messages.get(channel, []))

    def dm_messages(self, user_id: str) -> list[dict[str, Any]]:
        return self.messages(self.dm_channel_id(user_id))

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """A thread's parent followed by its replies."""
        with self.workspace.lock:
            if channel in self.workspace.users:
                channel = self.dm_channel_id(channel)
            return deepcopy(self.workspace.thread(channel, ts))

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages(channel) if m["ts"] == ts), None)

    def public_message(self, message: dict[str, Any]) -> dict[str, Any]:
        return public_message(message)

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        with self.workspace.lock:
            return deepcopy(self.workspace.ephemerals)

    @property
    def scheduled(self) -> list[dict[str, Any]]:
        with self.workspace.lock:
            return deepcopy(self.workspace.scheduled)

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        with self.workspace.lock:
            return deepcopy(self.workspace.views)

    def open_views(self, user_id: str) -> list[dict[str, Any]]:
        """The user's modal stack, top last (empty when no modal is open)."""
        with self.workspace.lock:
            return deepcopy(self.workspace.open_views(user_id))

    def top_view(self, user_id: str) -> dict[str, Any] | None:
        stack = self.open_views(user_id)
        return stack[-1] if stack else None

    def home(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for the user."""
        with self.workspace.lock:
            view_id = self.workspace.homes.get(user_id)
            return deepcopy(self.workspace.views[view_id]) if view_id else None

    @property
    def files(self) -> list[dict[str, Any]]:
        with self.workspace.lock:
            return deepcopy(list(self.workspace.files.values()))

    @property
    def responses(self) -> list[dict[str, Any]]:
        """Everything the app POSTed to response_urls, in order."""
        with self.workspace.lock:
            return deepcopy(self.workspace.responses)

    @property
    def violations(self) -> list[str]:
        """Block Kit violations seen so far (``"<method>: [json-pointer:…] …"``)."""
        with self.workspace.lock:
            return list(self.workspace.violations)

    def note_violation(self, problem: str) -> None:
        """Record a broken Slack rule seen outside the Web API (e.g. a late acknowledgement)."""
        with self.workspace.lock:
            self.workspace.violations.append(problem)

    def note_violations(self, source: str, problems: list[str]) -> None:
        """Record Block Kit violations found outside the Web API (e.g. in ack bodies)."""
        with self.workspace.lock:
            self.workspace.violations.extend(f"{source}: {p}" for p in problems)

    def socket_mode(self) -> Any:
        """The Socket Mode server (started on first use) that ``apps.connections.open`` names."""
        if self.socket is None:
            from bot.emulator.socket_mode import SocketModeServer

            self.socket = SocketModeServer(self.app_id).start()
        return self.socket

    def find_text(self, fragment: str) -> list[str]:
        """Where ``fragment`` appears in anything the app showed (messages, ephemerals,
        response_url posts, modals and Home tabs), as ``"<surface>: <text>"`` lines."""
        found: list[str] = []

        def walk(where: str, node: Any) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "text" and isinstance(value, str) and fragment in value:
                        found.append(f"{where}: {value}")
                    else:
                        walk(where, value)
            elif isinstance(node, list):
                for item in node:
                    walk(where, item)

        with self.workspace.lock:
            for channel, messages in self.workspace.messages.items():
                walk(f"message in {channel}", messages)
            walk("ephemeral", self.workspace.ephemerals)
            walk("response_url", self.workspace.responses)
            walk("view", list(self.workspace.views.values()))
        return found

    def use_rate_limits(
        self, enabled: bool = True, *, monotonic: Callable[[], float] | None = None
    ) -> None:
        """Apply Slack's rate limits (on a given clock, e.g. a benchmark's virtual one) or not."""
        with self.workspace.lock:
            self.rate_limits = enabled
            if monotonic is not None:
                self.limiter.monotonic = monotonic
            self.limiter.reset()

    def clear_violations(self) -> None:
        with self.workspace.lock:
            self.workspace.violations.clear()

    # --------------------------------------------------------------------------- calls

    @property
    def calls(self) -> list[Call]:
        with self.workspace.lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def reset_calls(self) -> None:
        with self.workspace.lock:
            self._calls.clear()

    # ------------------------------------------------------------------ fault injection

    def _add_fault(self, method: str, fault: _Fault) -> None:
        with self.workspace.lock:
            self._faults.setdefault(method, deque()).append(fault)

    def fail_next(self, method: str, error: str = "ratelimited", times: int = 1) -> None:
        """The next ``times`` calls to ``method`` answer ``{"ok": false, "error": error}``."""
        self._add_fault(method, _Fault("error", times, error=error))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` calls answer HTTP 429 with ``Retry-After: retry_after``."""
        self._add_fault(method, _Fault("rate_limit", times, retry_after=retry_after))

    def http_error(self, method: str, status: int = 503, times: int = 1) -> None:
        """The next ``times`` calls fail with a transient HTTP server error."""
        self._add_fault(method, _Fault("http", times, status=status))

    def outage(
        self,
        now: Callable[[], datetime],
        until: datetime,
        status: int = 503,
        page: str | None = None,
    ) -> None:
        """Slack is down: every Web API call answers ``status`` until ``now()`` reaches ``until``
        (``now`` is the test's clock, so an outage of half an hour takes no real time), with
        Slack's JSON error or, given ``page``, that text (what a proxy in the way answers)."""
        with self.workspace.lock:
            self._outage = (now, until, status, page)

    def _down(self) -> _Answer | None:
        if self._outage is None:
            return None
        now, until, status, page = self._outage
        if now() >= until:
            self._outage = None
            return None
        answer = self._fault_answer(_Fault("http", 1, status=status))
        answer.page = page
        return answer

    def set_rate_ceiling(self, method: str, per_second: float | None) -> None:
        """Answer 429 once calls to ``method`` exceed ``per_second`` in a sliding 1 s window."""
        with self.workspace.lock:
            if per_second is None:
                self._ceilings.pop(method, None)
            else:
                self._ceilings[method] = per_second
            self._recent.pop(method, None)

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        return fault

    def _over_ceiling(self, method: str) -> int | None:
        """Seconds to wait when ``method`` is over its ceiling, else None (and count the call)."""
        ceiling = self._ceilings.get(method)
        if ceiling is None:
            return None
        now = self.limiter.monotonic()
        recent = self._recent.setdefault(method, deque())
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) >= ceiling:
            return max(1, math.ceil(1.0 - (now - recent[0])))
        recent.append(now)
        return None

    # ---------------------------------------------------------------------------- HTTP

    def _serve(self, request: _RequestHandler) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        path = parts.path
        if path.startswith("/api/"):
            answer = self._api_call(path.removeprefix("/api/"), request, parts.query, body)
            if answer.page is not None:
                self._send_text(request, answer.status, answer.page)
            else:
                self._send_json(request, answer)
        elif path.startswith("/upload/"):
            with self.workspace.lock:
                status, text = self.workspace.receive_upload(path.removeprefix("/upload/"), body)
            self._send_text(request, status, text)
        elif path.startswith("/response_url/"):
            self._send_text(request, *self._response_url(path.removeprefix("/response_url/"), body))
        else:
            self._send_text(request, 404, "not_found")

    def _response_url(self, hook_id: str, body: bytes) -> tuple[int, str]:
        try:
            payload = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            payload = None
        with self.workspace.lock:
            return self.workspace.post_to_response_url(hook_id, payload)

    def _api_call(self, method: str, request: _RequestHandler, query: str, body: bytes) -> _Answer:
        token = None
        auth = request.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        try:
            args = parse_arguments(query, request.headers.get("Content-Type") or "", body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            args = {}
            answer = _Answer(200, {"ok": False, "error": "invalid_json"}, {})
        else:
            token = token or args.get("token")
            with self.workspace.lock:
                answer = self._answer(method, args, token)
        with self.workspace.lock:
            self._calls.append(Call(method, args, token, answer.status))
        return answer

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> _Answer:
        down = self._down()
        if down is not None:
            return down
        spec = self.methods.get(method)
        if spec is None:
            return _Answer(200, {"ok": False, "error": "unknown_method", "req_method": method}, {})
        refusal = self._refusal(spec, args, token) or self._scope_refusal(method, spec, args, token)
        if refusal is not None:
            return _Answer(200, refusal, {})
        fault = self._take_fault(method)
        if fault is not None:
            return self._fault_answer(fault)
        wait = self._over_ceiling(method)
        if wait is None and self.rate_limits:
            team_id = self.token_teams.get(token or "", self.team_id)
            wait = self.limiter.check(team_id, method, self._posting_channel(method, args))
        if wait is not None:
            return _Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)})
        if method in ("conversations.history", "conversations.replies"):
            args = self._capped_history_args(args)
        if method == "apps.connections.open":
            return _Answer(200, {"ok": True, "url": self.socket_mode().url}, {})
        handler = HANDLERS.get(method)
        try:
            result = handler(self.workspace, Args(args)) if handler else {}
        except ApiError as error:
            return _Answer(200, error.body(), {})
        return _Answer(200, {"ok": True, **result}, {})

    def _refusal(
        self, spec: dict[str, Any], args: dict[str, Any], token: str | None
    ) -> dict[str, Any] | None:
        required = spec.get("required") or []
        if "token" in required:
            if not token:
                return {"ok": False, "error": "not_authed"}
            if not token.startswith(("xox", "xapp-")):
                return {"ok": False, "error": "invalid_auth"}
        missing = [name for name in required if name != "token" and args.get(name) in (None, "")]
        if missing:
            return {
                "ok": False,
                "error": "invalid_arguments",
                "response_metadata": {
                    "messages": [f"[ERROR] missing required field: {name}" for name in missing]
                },
            }
        return None

    def _scope_refusal(
        self, method: str, spec: dict[str, Any], args: dict[str, Any], token: str | None
    ) -> dict[str, Any] | None:
        """``missing_scope`` (or the wrong kind of token) as Slack answers it; also a violation."""
        if not token:
            return None
        app_token = token.startswith("xapp-")
        if app_token != (method == "apps.connections.open"):
            return {"ok": False, "error": "not_allowed_token_type"}
        if app_token:
            return None
        need = needed_scope(spec, self._channel_type(method, args))
        if need is None:
            return None
        shown, any_of = need
        if any_of & self.scopes:
            return None
        provided = ",".join(sorted(self.scopes))
        self.workspace.violations.append(f"{method}: missing_scope (needed: {shown})")
        return {"ok": False, "error": "missing_scope", "needed": shown, "provided": provided}

    def _channel_type(self, method: str, args: dict[str, Any]) -> str | None:
        if method == "conversations.open" and not args.get("channel"):
            users = Args(args).list("users")
            return "im" if len(users) == 1 else "mpim" if users else None
        channel = args.get("channel") or args.get("channel_id")
        return self.workspace.channel_type(channel) if channel else None

    def _posting_channel(self, method: str, args: dict[str, Any]) -> str | None:
        channel = args.get("channel")
        if not isinstance(channel, str) or not channel:
            return None
        if channel in self.workspace.users:
            return self.workspace.dm_channel_id(channel)
        return channel

    @staticmethod
    def _capped_history_args(args: dict[str, Any]) -> dict[str, Any]:
        """Slack returns at most 999 messages a page, and metadata only when asked for."""
        capped = dict(args)
        limit = Args(args).int("limit")
        if limit is not None and limit > HISTORY_LIMIT_CAP:
            capped["limit"] = HISTORY_LIMIT_CAP
        return capped

    def _fault_answer(self, fault: _Fault) -> _Answer:
        if fault.kind == "rate_limit":
            headers = {"Retry-After": str(fault.retry_after)}
            return _Answer(429, {"ok": False, "error": "ratelimited"}, headers)
        if fault.kind == "http":
            error = _HTTP_ERRORS.get(fault.status, "request_timeout")
            return _Answer(fault.status, {"ok": False, "error": error}, {})
        return _Answer(200, {"ok": False, "error": fault.error}, {})

    @staticmethod
    def _send_json(request: _RequestHandler, answer: _Answer) -> None:
        data = json.dumps(answer.body).encode("utf-8")
        request.send_response(answer.status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)

    @staticmethod
    def _send_text(request: _RequestHandler, status: int, text: str) -> None:
        data = text.encode("utf-8")
        request.send_response(status)
        request.send_header("Content-Type", "text/plain; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
