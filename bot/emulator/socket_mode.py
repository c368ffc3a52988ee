"""Socket Mode served by the emulator: a local websocket that plays Slack's side.

This module owns the websocket that ``apps.connections.open`` hands out (``ws://127.0.0.1:PORT``).
As Slack does, it greets each connection with ``{"type": "hello", ...}``, sends envelopes
(``{"envelope_id", "type": "slash_commands" | "interactive" | "events_api", "payload",
"accepts_response_payload", ...}``) and waits for the app's acknowledgement
(``{"envelope_id", "payload"?}``), whose payload is what an HTTP-mode app answers in its response
body. ``deliver`` returns that payload and how long the app took.

It needs the ``websockets`` package (the ``test`` extra), imported only when Socket Mode is used.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

ACK_WAIT_SECONDS = 30.0


class SocketModeError(RuntimeError):
    """No app is connected, or it never acknowledged an envelope."""


@dataclass
class Ack:
    """The app's acknowledgement of one envelope."""

    envelope_id: str
    payload: dict[str, Any] | None
    seconds: float


class SocketModeServer:
    """A websocket server on 127.0.0.1 (a free port) that speaks Slack's Socket Mode protocol."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self._lock = threading.Condition()
        self._connections: list[Any] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.connections_opened = 0
        self.url = ""

    def start(self) -> SocketModeServer:
        try:
            from websockets.sync.server import serve
        except ImportError as error:  # pragma: no cover - depends on the installed extras
            raise SocketModeError(
                "Socket Mode in the emulator needs the websockets package "
                "(pip install -e '.[test]')"
            ) from error
        self._server = serve(self._serve_connection, "127.0.0.1", 0)
        port = self._server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/link"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="slack-emulator-socket", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    # ------------------------------------------------------------------------ connections

    def _serve_connection(self, connection: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        hello = {
            "type": "hello",
            "num_connections": len(self._connections) + 1,
            "debug_info": {"host": "emulator", "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        connection.send(json.dumps(hello))
        with self._lock:
            self._connections.append(connection)
            self.connections_opened += 1
            self._lock.notify_all()
        try:
            for raw in connection:
                self._receive(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._lock.notify_all()

    def _receive(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except (TypeError, ValueError):
            logger.warning("socket mode: not JSON from the app: %r", raw[:200])
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not envelope_id:
            logger.warning("socket mode: message without envelope_id: %r", message)
            return
        with self._lock:
            self._acks[envelope_id] = message
            self._lock.notify_all()

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until an app holds a connection (after its ``apps.connections.open``)."""
        with self._lock:
            if not self._lock.wait_for(lambda: bool(self._connections), timeout=timeout):
                raise SocketModeError(f"no app connected to {self.url} within {timeout:.0f} s")

    @property
    def connected(self) -> int:
        with self._lock:
            return len(self._connections)

    # --------------------------------------------------------------------------- delivery

    def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        timeout: float = ACK_WAIT_SECONDS,
    ) -> Ack:
        """Send one envelope to a connected app and wait for its acknowledgement."""
        self.wait_connected()
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        with self._lock:
            connection = self._connections[-1]
        started = time.monotonic()
        connection.send(json.dumps(envelope))
        with self._lock:
            arrived = self._lock.wait_for(lambda: envelope_id in self._acks, timeout=timeout)
            if not arrived:
                raise SocketModeError(f"the app never acknowledged {envelope_type} {envelope_id}")
            ack = self._acks.pop(envelope_id)
        body = ack.get("payload")
        return Ack(
            envelope_id, body if isinstance(body, dict) else None, time.monotonic() - started
        )
