"""Time, injected: nothing else in Liaison calls ``datetime.now()``.

Production uses ``SystemClock``; tests and ``liaison jobs run-due --now`` use ``MovableClock``,
so that what is due at any instant can be run without waiting.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class MovableClock:
    """A clock that stands still until moved; thread-safe because Bolt runs listeners in threads."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("MovableClock needs a timezone-aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("MovableClock needs a timezone-aware datetime")
        with self._lock:
            self._now = instant.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        step = delta if delta is not None else timedelta(**kwargs)
        with self._lock:
            self._now += step
            return self._now


class SimulatedClock:
    """Time running ``speed`` times faster than real time from ``start``, counted from the real
    Unix instant ``anchor`` (standing at ``start`` before it and at ``until`` after it). Processes
    given the same values agree on the time: rehearsals of a month against the emulator, with
    several processes.
    """

    def __init__(
        self, start: datetime, anchor: float, speed: float, until: datetime | None = None
    ) -> None:
        if start.tzinfo is None or (until is not None and until.tzinfo is None):
            raise ValueError("SimulatedClock needs timezone-aware datetimes")
        self.start = start.astimezone(UTC)
        self.anchor = anchor
        self.speed = speed
        self.until = until.astimezone(UTC) if until else None

    def now(self) -> datetime:
        elapsed = max(0.0, time.time() - self.anchor)
        moment = self.start + timedelta(seconds=elapsed * self.speed)
        return min(moment, self.until) if self.until else moment

    def spec(self) -> str:
        until = self.until.isoformat() if self.until else ""
        return f"{self.start.isoformat()},{self.anchor},{self.speed},{until}"

    @classmethod
    def parse(cls, spec: str) -> SimulatedClock:
        start, anchor, speed, *rest = spec.split(",")
        until = datetime.fromisoformat(rest[0]) if rest and rest[0] else None
        return cls(datetime.fromisoformat(start), float(anchor), float(speed), until)


class ClockTime:
    """``monotonic()`` and ``sleep()`` read from a clock instead of the machine's: the send pacer
    and the emulator's rate windows of a demo or a test, so that waiting for a rate limit costs no
    real time.

    The seconds are the clock's own (moving it forward refills every bucket, as a day passing
    would), plus what was slept. Sleeping does not move the clock itself: whoever owns the clock
    decides what the time is; a sleep only moves the pacer's view of it forward. Thread-safe.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.slept = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.clock.now().timestamp() + self.slept

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept += max(0.0, seconds)


def as_utc(value: datetime) -> datetime:
    """Databases hand back naive (SQLite) or aware (PostgreSQL) datetimes: compare in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
