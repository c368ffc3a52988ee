"""The demo's stage: emulator, database, clock, app and driver, and the printing of what
people saw."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from slack_bolt import App

from bot.app import build_app
from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver, TrackingExecutor
from bot.emulator.render import render_home, render_message, render_view
from bot.emulator.server import SlackEmulator
from bot.runtime import Runtime
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade

TEAM = "T0DEMO01"
SIGNING_SECRET = "demo-signing-secret"
# Monday 30 November 2026, 09:00 in Berlin.
DEMO_START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
WIDTH = 78

PEOPLE = {
    "UPIA0001": ("pia", "Pia Becker", "Europe/Berlin"),
    "UTOM0002": ("tom.consultant", "Tom Richter", "Europe/Berlin"),
    "UANA0003": ("anna.fi", "Anna Schmidt", "Europe/Berlin"),
    "UWEI0004": ("wei.mm", "Wei Zhang", "Asia/Shanghai"),
    "ULUC0005": ("lucas.sd", "Lucas Martin", "Europe/Paris"),
    "UMAR0006": ("maria.cfo", "Maria Rossi", "Europe/Rome"),
    "UJON0007": ("jonas.it", "Jonas Weber", "Europe/Berlin"),
    "UPRI0008": ("priya.hr", "Priya Nair", "Asia/Kolkata"),
}
PM = "UPIA0001"
CONSULTANT = "UTOM0002"
CHANNEL = "CERPROLL1"


@dataclass
class Stage:
    emulator: SlackEmulator
    database: Database
    clock: MovableClock
    runtime: Runtime
    app: App
    slack: SlackDriver
    executor: TrackingExecutor
    out: TextIO
    database_path: Path
    notes: list[str] = field(default_factory=list)
    _seen_calls: int = 0
    _seen_responses: int = 0

    @classmethod
    @contextmanager
    def open(cls, database_path: Path, settings: Settings, out: TextIO) -> Iterator[Stage]:
        for suffix in ("", "-wal", "-shm", ".scheduler.lock"):
            Path(f"{database_path}{suffix}").unlink(missing_ok=True)
        # A week plays in seconds: Slack's per-minute rate limits would only slow the show down.
        emulator = SlackEmulator(team_id=TEAM, team_name="acme-demo", rate_limits=False).start()
        for user_id, (name, real_name, tz) in PEOPLE.items():
            emulator.add_user(
                user_id, name, real_name=real_name, tz=tz, email=f"{name}@acme.example"
            )
        emulator.add_channel(CHANNEL, "erp-rollout", members=list(PEOPLE))
        database = Database(f"sqlite:///{database_path}")
        upgrade(database.engine)
        clock = MovableClock(DEMO_START)
        demo_settings = settings.with_overrides(
            bot_token="xoxb-demo",
            signing_secret=SIGNING_SECRET,
            api_url=emulator.url,
            timezone="Europe/Berlin",
        )
        runtime = Runtime(settings=demo_settings, database=database, clock=clock)
        executor = TrackingExecutor()
        app = build_app(runtime, listener_executor=executor)
        slack = SlackDriver(app, SIGNING_SECRET, emulator, executor=executor)
        stage = cls(
            emulator=emulator,
            database=database,
            clock=clock,
            runtime=runtime,
            app=app,
            slack=slack,
            executor=executor,
            out=out,
            database_path=database_path,
        )
        try:
            stage.banner()
            yield stage
        finally:
            executor.shutdown(wait=True)
            database.dispose()
            emulator.stop()

    # -- printing ------------------------------------------------------------------------------
    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def banner(self) -> None:
        self.say("=" * WIDTH)
        self.say("Liaison demo: a week of key-user management, played against a local Slack")
        self.say("emulator. Every step goes through the real app as Slack would send it.")
        self.say("=" * WIDTH)

    def act(self, title: str) -> None:
        self.say()
        self.say("#" * WIDTH)
        self.say(f"# {title}")
        self.say("#" * WIDTH)

    def step(self, who: str, what: str) -> None:
        moment = self.clock.now().astimezone(_berlin()).strftime("%a %d %b %H:%M")
        self.say()
        wrapped = textwrap.fill(f"[{moment}] {self.name(who)} {what}", WIDTH)
        self.say(wrapped)

    def name(self, user_id: str) -> str:
        person = PEOPLE.get(user_id)
        return f"@{person[0]}" if person else user_id

    def _names(self) -> dict[str, Any]:
        return {"users": self.emulator.user_names(), "channels": self.emulator.channel_names()}

    def show_view(self, view: dict[str, Any]) -> None:
        self.say(textwrap.indent(render_view(view, **self._names()), "    "))

    def show_home(self, user_id: str) -> None:
        home = self.emulator.home(user_id)
        if home:
            self.say(f"    Home tab of {self.name(user_id)}:")
            self.say(textwrap.indent(render_home(home, **self._names()), "    "))

    def show_new_messages(self) -> None:
        """Print every message, ephemeral answer and file Slack received since the last call."""
        calls = self.emulator.calls[self._seen_calls :]
        self._seen_calls = len(self.emulator.calls)
        for call in calls:
            args = call.args
            if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
                where = self._where(args.get("channel", ""), args.get("user"))
                if call.method == "chat.update":
                    where += " (updated in place)"
                if args.get("thread_ts"):
                    where += " (in thread)"
                rendered = render_message(
                    where, args.get("text", ""), args.get("blocks"), **self._names()
                )
                self.say(textwrap.indent(rendered, "    "))
            elif call.method == "files.completeUploadExternal":
                self.say(f"    [file shared in {self._where(str(args.get('channel_id', '')))}]")
        responses = self.emulator.responses
        for response in responses[self._seen_responses :]:
            rendered = render_message(
                "only visible to you",
                response.get("text", ""),
                response.get("blocks"),
                **self._names(),
            )
            self.say(textwrap.indent(rendered, "    "))
        self._seen_responses = len(responses)

    def _where(self, channel: str, ephemeral_user: str | None = None) -> str:
        if channel.startswith(("U", "W")) or channel.startswith("D"):
            user_id = channel if channel.startswith(("U", "W")) else self._dm_user(channel)
            return f"DM to {self.name(user_id)}"
        name = self.emulator.channel_name(channel)
        if ephemeral_user:
            return f"#{name}, only visible to {self.name(ephemeral_user)}"
        return f"#{name}"

    def _dm_user(self, channel: str) -> str:
        for user_id in PEOPLE:
            if self.emulator.dm_channel_id(user_id) == channel:
                return user_id
        return channel

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))

    def finish(self) -> None:
        self.say()
        self.say("=" * WIDTH)
        for note in self.notes:
            self.say(note)
        self.say(f"Slack Web API calls made by the app: {len(self.emulator.calls)}")
        problems = self.emulator.violations
        self.say(f"Slack rules broken (Block Kit limits, scopes, late acks): {len(problems)}")
        for problem in problems:
            self.say(f"  - {problem}")
        self.say(f"Database (SQLite): {self.database_path}")
        self.say("=" * WIDTH)


def _berlin() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Berlin")
