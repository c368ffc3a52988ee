"""Logging: secrets and tokens redacted from every line at every level, optional JSON lines, and
the request or job each line belongs to.

``configure_logging(settings)`` is called once by the CLI. ``RedactingFilter`` sits on the root
handlers, so it sees every record of every library (slack_sdk's DEBUG lines carry request bodies,
Bolt's carry acknowledgements). Bodies of Web API calls and answers are withheld whole at DEBUG:
they may hold what a person typed or chose, which would let whoever reads the logs tie an
anonymous answer to a person by its timing.
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
    re.compile(r"(?i)((?:secret|password|token)['\"]?\s*[:=]\s*['\"]?)[^'\"\s,&}]+"),
    re.compile(r"([?&](?:code|state)=)[^&\s\"']+"),  # the OAuth redirect's one-time code
    re.compile(r"(?i)(postgres(?:ql)?(?:\+\w+)?://[^:/\s]+:)[^@\s]+(@)"),  # passwords in URLs
]
BODY_LINES = {
    "Sending a request - url: ": re.compile(r"^(Sending a request - url: [^,]+),.*$", re.S),
    "Received the following response - ": re.compile(
        r"^(Received the following response - status: \d+),.*$", re.S
    ),
}

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every token, secret and password replaced by ``[redacted]``."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    for pattern in TOKEN_PATTERNS:
        if pattern.groups:
            text = pattern.sub(
                lambda m: m.group(1) + REDACTED + (m.group(2) if m.re.groups > 1 else ""), text
            )
        else:
            text = pattern.sub(REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) with secrets and tokens redacted, withholds
    Web API bodies, and stamps the current request and job ids."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        for prefix, pattern in BODY_LINES.items():
            if message.startswith(prefix):
                message = pattern.sub(r"\1, [body withheld]", message)
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
