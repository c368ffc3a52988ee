"""What the emulator refuses as Slack would: missing scopes and calls over the rate limits.

This module owns two rules, both read from Slack's method catalogue (``web_api_methods.json``):

* **Scopes.** A bot token carries the scopes the app's manifest asks for. A method that lists
  bot scopes needs one of them; for conversation methods whose scopes come in a family per
  channel type (``channels:history``, ``groups:history``, ``im:history``, ``mpim:history``) it
  needs the one that matches the conversation's type. A call without it is answered
  ``missing_scope`` with ``needed`` and ``provided``, as Slack does.
* **Rate limits.** Per workspace, each method's tier (Tier 1: 1, Tier 2: 20, Tier 3: 50,
  Tier 4: 100 calls a minute, bursts up to that many); ``chat.postMessage`` (Slack's "special"
  tier) about one message per second per channel with a short burst, under a workspace-wide
  posting ceiling. Over a limit the answer is HTTP 429 with ``Retry-After``. The limiter runs on
  an injectable monotonic clock, so tests and benchmarks can share a virtual one with the app's
  pacer and never wait in real time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

CHANNEL_TYPES = ("channels", "groups", "im", "mpim")

# Calls a minute per workspace for Slack's tiers (t5 is "special": per-method rules below).
TIER_PER_MINUTE: dict[str, float] = {"t1": 1, "t2": 20, "t3": 50, "t4": 100}
# chat.postMessage: about 1 a second per channel, short bursts allowed (Slack documents no
# figure for the burst); and a workspace-wide ceiling on posting ("several hundred a minute").
POST_PER_CHANNEL: tuple[float, float] = (1.0, 5.0)  # (per second, burst)
POST_PER_WORKSPACE: tuple[float, float] = (600 / 60, 100.0)
POSTING_METHODS = frozenset({"chat.postMessage"})


def manifest_bot_scopes() -> list[str]:
    """The bot scopes that ``liaison manifest`` declares (what an installed app's token holds)."""
    from bot.manifest import build_manifest
    from bot.settings import Settings

    return list(build_manifest(Settings())["oauth_config"]["scopes"]["bot"])


def channel_type_scopes(scopes: list[str]) -> dict[str, str] | None:
    """``{"im": "im:history", ...}`` when ``scopes`` are one family per channel type, else None."""
    by_type: dict[str, str] = {}
    for scope in scopes:
        kind, _, _ = scope.partition(":")
        if kind not in CHANNEL_TYPES:
            return None
        by_type[kind] = scope
    return by_type if set(by_type) == set(CHANNEL_TYPES) else None


def needed_scope(
    spec: dict[str, Any], channel_type: str | None
) -> tuple[str, frozenset[str]] | None:
    """(scope named in the refusal, scopes any one of which suffices), or None when none needed.

    ``channel_type`` is the conversation's type (``channels``, ``groups``, ``im``, ``mpim``) when
    the call names a conversation the workspace knows.
    """
    scopes = list((spec.get("scope") or {}).get("bot") or [])
    if not scopes:
        return None
    family = channel_type_scopes(scopes)
    if family is not None and channel_type is not None:
        return family[channel_type], frozenset({family[channel_type]})
    return ",".join(scopes), frozenset(scopes)


class RateLimiter:
    """Slack's limits per (workspace, method) at the method's tier, and per channel for posting.

    Written as a generic cell rate algorithm (a "theoretical arrival time" per key), on purpose not
    sharing code with the outbox's pacer (``bot.delivery.Pacer``): the emulator is the independent
    check of that pacer, and a shared mistake would hide itself.
    """

    def __init__(
        self,
        tiers: dict[str, str],
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tiers = tiers
        self.monotonic = monotonic
        # (per second, burst) of chat.postMessage across the workspace; benchmarks may set it.
        self.posting_ceiling = POST_PER_WORKSPACE
        self._arrival: dict[tuple[str, ...], float] = {}

    def _limits(
        self, team_id: str, method: str, channel: str | None
    ) -> Iterable[tuple[tuple[str, ...], float, float]]:
        """(key, calls per second, burst) of every limit this call counts against."""
        if method in POSTING_METHODS:
            yield (team_id, method), *self.posting_ceiling
            if channel:
                yield (team_id, method, channel), *POST_PER_CHANNEL
            return
        per_minute = TIER_PER_MINUTE.get(self.tiers.get(method) or "")
        if per_minute is not None:
            yield (team_id, method), per_minute / 60, per_minute

    def check(self, team_id: str, method: str, channel: str | None = None) -> int | None:
        """Count the call and return None, or the whole seconds to wait (Retry-After) if over."""
        now = self.monotonic()
        wait = 0.0
        arrivals: dict[tuple[str, ...], float] = {}
        for key, rate, burst in self._limits(team_id, method, channel):
            interval = 1 / rate
            arrival = max(self._arrival.get(key, now), now)
            wait = max(wait, arrival - (burst - 1) * interval - now)
            arrivals[key] = arrival + interval
        if wait > 1e-9:
            return max(1, math.ceil(wait - 1e-9))
        self._arrival.update(arrivals)
        return None

    def reset(self) -> None:
        self._arrival.clear()
