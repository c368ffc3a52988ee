"""Logging: an allow-list of what libraries may write, secrets and tokens redacted from every
line at every level, optional JSON lines, and the request or job each line belongs to.

``configure_logging(settings)`` is called once by the CLI. ``RedactingFilter`` sits on the root
handler, so it sees every record of every library, in both connection modes (gunicorn's loggers
are sent to it by ``bot/server.py``). A library's line is written only in a form known to carry no
request content (``ALLOWED_LINES``), or rewritten to such a form (``REWRITTEN_LINES``: a Socket
Mode envelope becomes its type, team, action and envelope id; a Web API call its method and
status; an acknowledgement its status and time); any other line is withheld whole. Payloads,
Web API bodies and response_urls may hold what a person typed or chose, and next to the person's
id or the time of their request they would tie an anonymous answer to its author. Our own lines
name only ids, counts and reasons; any URL in any line keeps only its host unless it is a Web
API method.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

REDACTED = "[redacted]"
TOKEN_PATTERNS = [
    re.compile(r"\bxox[a-z]?(?:\.xox[a-z])?-[A-Za-z0-9-]+"),  # bot, user, refresh (xoxe.xoxp-)
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),  # app-level tokens
    re.compile(r"\bgAAAAA[A-Za-z0-9_\-=]{20,}"),  # Fernet tokens (encrypted installation tokens)
    re.compile(r"(?i)(bearer\s+)[^\s'\",]+"),
    # any key naming a secret: password, sslpassword, client_secret, refresh_token, ...
    re.compile(
        r"(?i)((?:\w*(?:passw(?:or)?d|passphrase|secret|token)\w*|\w*pass)['\"]?\s*[:=]\s*['\"]?)"
        r"[^'\"\s,&}]+"
    ),
    re.compile(r"([?&](?:code|state)=)[^&\s\"']+"),  # the OAuth redirect's one-time code
    re.compile(r"(?i)(postgres(?:ql)?(?:\+\w+)?://[^:/\s]+:)[^@\s]+(@)"),  # passwords in URLs
]
OWN_LOGGERS = ("bot", "handlers", "storage", "liaison")
# Libraries whose lines never hold a request's content: the scheduler's job names and times,
# gunicorn's process events and its access line (method, path, status, size, time: see
# bot/server.py), Alembic's revision ids.
QUIET_LIBRARIES = ("apscheduler", "gunicorn", "alembic")
WITHHELD = "[withheld: not on the log allow-list]"
# What Bolt, slack_sdk and the Socket Mode client write that is safe whole (no payload, no URL
# beyond the Web API's): listener and middleware names, queue sizes, envelope ids, timings.
ALLOWED_LINES = re.compile(
    "|".join(
        f"(?:{line})"
        for line in (
            r"Applying [\w.]+|Applying CustomMiddleware\(func=\w+\)",
            r"(?:Checking|Running) listener: \w+ \.\.\.",
            r"Running lazy listener: \w+ \.\.\.",
            r"Response time: \d+ milliseconds",
            r"A new message enqueued \(current queue size: \d+\)",
            r"A message dequeued \(current queue size: \d+\)",
            r"Message processing (?:started|completed) \(type: \w+, envelope_id: [\w-]+\)",
            r"A new session has been established \(session id: [\w-]+\)",
            r"(?:Starting|Stopped) (?:to )?receiv\w+ messages from a (?:new )?connection "
            r"\(session id: [\w-]+\)",
            r"(?:The connection has been closed|on_close invoked) \(session id: [\w-]+\)",
            r"Received CLOSE event\. Reconnecting\.\.\. \(session id: [\w-]+\)",
            r"Connecting to a new endpoint\.\.\.|Connected to a new endpoint\.\.\.",
            r"Using non-ssl socket to connect \([\w.:-]+\)",
            r"Sending a (?:ping|pong) data frame \(session id: [\w-]+, payload: b?'?[\w-]*'?\)",
            r"Rate limited\. Retrying in [\d.]+ seconds\.\.\.",
            r"A retry handler found: \w+ for [A-Z]+ \S+",
            r"Going to retry the same request: [A-Z]+ \S+",
            r"\S+ Bolt app is running!",
        )
    ),
    re.S,
)
_OPENING_WORDS = re.compile(r"^([A-Za-z][A-Za-z_ ]{2,79}?)\s*(?:[(:{\[.]|$)")
_WEB_API_URL = re.compile(r"^https?://[^/\s]+(?:/[\w.-]+)*/api/[\w.]+$")
_URL = re.compile(r"\b(https?|wss?)://(?:[^/\s'\",)@]+@)?([^/\s'\",)]+)([^\s'\",)]*)")


def _url(match: re.Match[str]) -> str:
    """A URL as it may be logged, without credentials: a Web API method whole, any other URL (a
    response_url is a credential for 30 minutes; a websocket URL carries a ticket) by its host."""
    scheme, host, path = match.groups()
    url = f"{scheme}://{host}{path}"
    if _WEB_API_URL.match(url) or path in ("", "/"):
        return url
    return f"{scheme}://{host}/[withheld]"


def _safe_id(value: Any) -> str:
    """An id as it may be logged: a callback, command or action id up to its first ``:`` (after
    which ours carry record ids and a rating's value), anything unexpected as ``?``."""
    text = str(value or "").split(":", 1)[0]
    return text if re.fullmatch(r"/?[\w.-]{1,64}", text) else "?"


def envelope_summary(raw: str) -> str:
    """A Socket Mode envelope as it may be logged: its type, envelope id, the payload's type,
    the team and the action (command, callback or action id); nobody, nothing typed or chosen,
    no response_url."""
    try:
        envelope = json.loads(raw)
    except ValueError:
        return WITHHELD
    if not isinstance(envelope, dict):
        return WITHHELD
    payload = envelope.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    team = payload.get("team")
    event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
    view = payload.get("view") if isinstance(payload.get("view"), dict) else {}
    actions = payload.get("actions") if isinstance(payload.get("actions"), list) else []
    first_action = actions[0] if actions and isinstance(actions[0], dict) else {}
    action = (
        payload.get("command")
        or first_action.get("action_id")
        or view.get("callback_id")
        or payload.get("callback_id")
        or event.get("type")
    )
    fields = {
        "type": envelope.get("type"),
        "envelope_id": envelope.get("envelope_id"),
        "payload": payload.get("type"),
        "team": (team.get("id") if isinstance(team, dict) else team) or payload.get("team_id"),
        "action": action,
    }
    return " ".join(f"{name}={_safe_id(value)}" for name, value in fields.items() if value)


def _on_message(match: re.Match[str]) -> str:
    return f"on_message invoked: {envelope_summary(match.group(1))}"


# Lines that carry a request's content after a safe part: (pattern, the safe part kept, as a
# template of the match's groups or a function of the match).
REWRITTEN_LINES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(pattern, re.S), keep)
    for pattern, keep in [
        (r"^(Sending a request - url: [^,\s]+).*$", r"\1, [body withheld]"),
        (r"^(Received the following response - status: \d+),.*$", r"\1, [body withheld]"),
        (r"^on_message invoked: \(message: (.*)\)$", _on_message),
        (r"^(Sending a message \(session id: [\w-]+), message: .*$", r"\1, [message withheld])"),
        (r'^(Responding with status: \d+) body: ".*" (\(\d+ millis\))$', r"\1 \2"),
        (r"^Unhandled request \(\{'type': '(\w+)'.*$", r"Unhandled request (type: \1)"),
        (r"^(Unsuccessful Bolt execution result \(status: \d+), body: .*$", r"\1)"),
    ]
]
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every token, secret and password replaced by ``[redacted]``."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    text = _URL.sub(_url, text)
    for pattern in TOKEN_PATTERNS:
        if pattern.groups:
            text = pattern.sub(
                lambda m: m.group(1) + REDACTED + (m.group(2) if m.re.groups > 1 else ""), text
            )
        else:
            text = pattern.sub(REDACTED, text)
    return text


def allowed_message(name: str, level: int, message: str) -> str:
    """What a line of logger ``name`` may say: ours and quiet libraries' whole, a library's line
    only on an allowed form or rewritten to one, else nothing of it; a library's warning or
    error keeps its opening words (the library's own, before any detail), so that the operator
    still learns what failed."""
    library = name.split(".", 1)[0]
    if library in OWN_LOGGERS or library in QUIET_LIBRARIES:
        return message
    for pattern, keep in REWRITTEN_LINES:
        match = pattern.match(message)
        if match:
            return keep(match) if callable(keep) else match.expand(keep)
    if ALLOWED_LINES.fullmatch(message):
        return message
    opening = _OPENING_WORDS.match(message)
    if level >= logging.WARNING and opening:
        return f"{opening.group(1)} [details withheld]"
    return WITHHELD


class RedactingFilter(logging.Filter):
    """Keeps of each record's message only what the allow-list lets through, with secrets,
    tokens and URLs redacted (tracebacks too), and stamps the current request and job ids."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        message = allowed_message(record.name, record.levelno, message)
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        record.request_id = request_id.get()
        record.job_id = job_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, job_id, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "job_id"):
            value = getattr(record, name, None)
            if value:
                entry[name] = value
        if record.exc_info or record.exc_text:
            entry["traceback"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [
            f"{name}={getattr(record, name)}"
            for name in ("request_id", "job_id")
            if getattr(record, name, None)
        ]
        return f"{line} [{' '.join(ids)}]" if ids else line


def configure_logging(
    *,
    level: str = "INFO",
    json_lines: bool = False,
    secrets: Iterable[str] = (),
    stream: Any = None,
) -> None:
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(secrets))
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    # APScheduler logs every run of every job at INFO: only its warnings unless debugging.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))


class ContextExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, running each listener in a copy of the submitting thread's context,
    so the listener's log lines carry the request id set when the request came in."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        context = contextvars.copy_context()
        return super().submit(context.run, fn, *args, **kwargs)


def tag_request(next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's name for it
    """Bolt middleware: a fresh request id for every request (Socket Mode included)."""
    request_id.set(uuid.uuid4().hex[:12])
    return next()


@contextmanager
def tagged(*, request: str | None = None, job: str | None = None) -> Iterator[str]:
    """Every log line inside carries this request id (a new one if not given) or job id."""
    if job is not None:
        token = job_id.set(f"{job}:{uuid.uuid4().hex[:8]}")
        try:
            yield job_id.get() or ""
        finally:
            job_id.reset(token)
        return
    token = request_id.set(request or uuid.uuid4().hex[:12])
    try:
        yield request_id.get() or ""
    finally:
        request_id.reset(token)
