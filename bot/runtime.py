"""What a running Liaison holds: settings, database, clock and a Slack client per workspace.

Handlers, scheduler jobs and the demo share one ``Runtime``; ``unit()`` opens the unit of work
that every service call runs in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.clock import Clock, SystemClock
from bot.delivery import Pacer, Sender, SharedPacer, scaled_rates
from bot.services.context import Ctx
from bot.settings import Settings
from bot.shards import Shard
from storage.db import Database


def make_client(settings: Settings, token: str | None) -> WebClient:
    client = WebClient(token=token, base_url=settings.api_url, timeout=15)
    client.retry_handlers.append(ConnectionErrorRetryHandler(max_retry_count=2))
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


@dataclass
class Runtime:
    settings: Settings
    database: Database
    clock: Clock = field(default_factory=SystemClock)
    # Multi-workspace installs look the bot token up per team; single-workspace uses the setting.
    token_for: Callable[[str], str | None] | None = None
    # Every sender shares one budget: by default kept in the database, so that the web processes
    # and the scheduler together stay under Slack's limits (tests pass an in-memory one).
    pacer: Pacer | None = None
    # The shard of workspaces this runtime's jobs and sender work on (None: every workspace).
    shard: Shard | None = None
    _clients: dict[str, WebClient] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.pacer is None:
            rates = scaled_rates(self.settings.rate_scale)
            self.pacer = SharedPacer(self.database, rates=rates)

    @property
    def speed(self) -> float:
        """How much faster than real time the clock runs (1 but in a simulated rehearsal)."""
        return float(getattr(self.clock, "speed", 1.0))

    def client(self, team_id: str) -> WebClient:
        token = self.token_for(team_id) if self.token_for else self.settings.bot_token
        cached = self._clients.get(team_id)
        if cached is None or cached.token != token:
            cached = make_client(self.settings, token)
            self._clients[team_id] = cached
        return cached

    @contextmanager
    def unit(
        self,
        team_id: str,
        actor_id: str | None = None,
        *,
        admin_check: Callable[[str], bool] | None = None,
        locale: str | None = None,
    ) -> Iterator[Ctx]:
        with self.database.session() as session:
            kwargs: dict[str, Any] = {}
            if admin_check is not None:
                kwargs["admin_check"] = admin_check
            yield Ctx(
                session=session,
                team_id=team_id,
                actor_id=actor_id,
                clock=self.clock,
                locale=locale or self.settings.locale,
                **kwargs,
            )

    def sender(self) -> Sender:
        from bot.slack_io import transport_for_client

        return Sender(
            self.database,
            self.clock,
            lambda team: transport_for_client(self.client(team)),
            pacer=self.pacer or SharedPacer(self.database),
            claim_timeout=timedelta(seconds=self.settings.claim_timeout_seconds * self.speed),
            shard=self.shard,
        )

    def for_shard(self, shard: Shard | None) -> Runtime:
        """This runtime (same database, clock, pacer and clients) working on ``shard``."""
        return replace(self, shard=shard, _clients=self._clients)
