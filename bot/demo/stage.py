"""The demo's stage: emulator, database, clock, app and driver, and the printing of what
people saw.

The demo speaks the language of ``LIAISON_LOCALE``: its narration, people, project and data come
from the ``demo`` catalog (``bot/templates/locales/<locale>/demo.toml``), the emulator's labels
from the ``emulator`` catalog, and the project it creates has that locale, so everything the app
says is in that language too. An act asks ``stage.t("demo.<act>.<key>", ...)`` for its words.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from slack_bolt import App
from sqlalchemy import event

from bot.app import build_app
from bot.clock import ClockTime, MovableClock
from bot.delivery import SharedPacer, scaled_rates
from bot.emulator.driver import SlackDriver, TrackingExecutor
from bot.emulator.render import render_message, render_view, wrap
from bot.emulator.server import SlackEmulator
from bot.i18n import normalize_locale, plain
from bot.jobs.summary import describe_run
from bot.runtime import Runtime
from bot.settings import Settings
from storage.db import Database
from storage.migrate import ensure_schema

TEAM = "T0DEMO01"
SIGNING_SECRET = "demo-signing-secret"
# The week starts on Monday 30 November 2026 at 09:00 in the project's timezone.
DEMO_DAY = datetime(2026, 11, 30, 9, 0)
WIDTH = 78

# Who plays, per language: Slack handle, display name, timezone. The user ids stay the same.
CAST = {
    "en": {
        "UPIA0001": ("pia", "Pia Becker", "Europe/Berlin"),
        "UTOM0002": ("tom.consultant", "Tom Richter", "Europe/Berlin"),
        "UANA0003": ("anna.fi", "Anna Schmidt", "Europe/Berlin"),
        "UWEI0004": ("wei.mm", "Wei Zhang", "Asia/Shanghai"),
        "ULUC0005": ("lucas.sd", "Lucas Martin", "Europe/Paris"),
        "UMAR0006": ("maria.cfo", "Maria Rossi", "Europe/Rome"),
        "UJON0007": ("jonas.it", "Jonas Weber", "Europe/Berlin"),
        "UPRI0008": ("priya.hr", "Priya Nair", "Asia/Kolkata"),
    },
    "zh-CN": {
        "UPIA0001": ("li.na", "李娜", "Asia/Shanghai"),
        "UTOM0002": ("zhao.lei", "赵磊", "Asia/Shanghai"),
        "UANA0003": ("chen.jing", "陈静", "Asia/Shanghai"),
        "UWEI0004": ("wang.wei", "王伟", "Asia/Shanghai"),
        "ULUC0005": ("liu.yang", "刘洋", "Asia/Shanghai"),
        "UMAR0006": ("zhou.min", "周敏", "Asia/Shanghai"),
        "UJON0007": ("sun.hao", "孙浩", "Asia/Shanghai"),
        "UPRI0008": ("huang.li", "黄丽", "Asia/Urumqi"),
    },
}
PEOPLE = CAST["en"]
# The project's timezone, where the demo's clock reads 09:00 on the first morning.
TIMEZONES = {"en": "Europe/Berlin", "zh-CN": "Asia/Shanghai"}
PM = "UPIA0001"
CONSULTANT = "UTOM0002"
CHANNEL = "CERPROLL1"


def _throwaway(dbapi_connection: Any, _record: Any) -> None:
    """The demo's database is played once and thrown away: a commit need not wait until the disk
    has it (SQLite's WAL mode stays consistent; only a power cut could lose the last commits)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


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
    locale: str = "en"
    timezone: str = "Europe/Berlin"
    cast: dict[str, tuple[str, str, str]] = field(default_factory=lambda: PEOPLE)
    notes: list[str] = field(default_factory=list)
    _seen_calls: int = 0
    _seen_responses: int = 0

    @classmethod
    @contextmanager
    def open(cls, database_path: Path, settings: Settings, out: TextIO) -> Iterator[Stage]:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database_path}{suffix}").unlink(missing_ok=True)
        locale = normalize_locale(settings.locale)
        timezone = TIMEZONES[locale]
        cast = CAST[locale]
        clock = MovableClock(DEMO_DAY.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC))
        # The send pacer and the emulator's rate windows read the demo's clock: the outbox still
        # keeps to Slack's limits, but waiting for a free slot takes no real time. A week plays
        # in seconds: Slack's per-minute rate limits would only slow the show down.
        seconds = ClockTime(clock)
        emulator = SlackEmulator(
            team_id=TEAM, team_name="acme-demo", rate_limits=False, monotonic=seconds.monotonic
        ).start()
        for user_id, (name, real_name, tz) in cast.items():
            emulator.add_user(
                user_id,
                name,
                real_name=real_name,
                tz=tz,
                email=f"{name}@acme.example",
                locale="zh-CN" if locale == "zh-CN" else "en-US",
                # Slack shows display names; Chinese ones read best in the Chinese demo
                display_name=real_name if locale == "zh-CN" else None,
            )
        channel_name = plain(locale, "demo.data.channel")
        emulator.add_channel(CHANNEL, channel_name, members=list(cast))
        database = Database(f"sqlite:///{database_path}")
        event.listen(database.engine, "connect", _throwaway)
        ensure_schema(database.engine)
        demo_settings = settings.with_overrides(
            bot_token="xoxb-demo",
            signing_secret=SIGNING_SECRET,
            api_url=emulator.url,
            timezone=timezone,
            locale=locale,
        )
        rates = scaled_rates(demo_settings.rate_scale)
        pacer = SharedPacer(database, rates=rates, wall=seconds.monotonic, sleep=seconds.sleep)
        runtime = Runtime(settings=demo_settings, database=database, clock=clock, pacer=pacer)
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
            locale=locale,
            timezone=timezone,
            cast=cast,
        )
        try:
            stage.banner()
            yield stage
        finally:
            executor.shutdown(wait=True)
            database.dispose()
            emulator.stop()

    # -- words ---------------------------------------------------------------------------------
    def t(self, key: str, **params: Any) -> str:
        """The demo's words in its language (plain text: the terminal needs no escaping)."""
        return plain(self.locale, key, **params)

    # -- printing ------------------------------------------------------------------------------
    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def banner(self) -> None:
        self.say("=" * WIDTH)
        for line in wrap(self.t("demo.banner"), WIDTH):
            self.say(line)
        self.say("=" * WIDTH)

    def act(self, title: str) -> None:
        self.say()
        self.say("#" * WIDTH)
        self.say(f"# {title}")
        self.say("#" * WIDTH)

    def moment(self) -> str:
        local = self.clock.now().astimezone(ZoneInfo(self.timezone))
        return self.t(
            "demo.moment",
            weekday=self.t("demo.weekdays").split()[local.weekday()],
            day=str(local.day),
            month=self.t("demo.months").split()[local.month - 1],
            time=local.strftime("%H:%M"),
        )

    def step(self, who: str, what: str) -> None:
        self.say()
        line = self.t("demo.step", moment=self.moment(), who=self.name(who), what=what)
        for wrapped in wrap(line, WIDTH):
            self.say(wrapped)

    def command(self, who: str, what: str, command: str, text: str) -> None:
        """A step in which ``who`` types a slash command in the project channel, and what the
        app posted in answer."""
        self.step(who, what)
        self.slack.slash_command(who, command, text, channel_id=CHANNEL)
        self.show_new_messages()

    def home(self, who: str, what: str) -> None:
        """A step in which ``who`` opens the app's Home tab, and the tab drawn."""
        self.step(who, what)
        self.slack.open_home(who)
        self.show_home(who)

    def save_last_file(self, ending: str, file_name: str, said: str, noted: str) -> None:
        """The last file shared whose name ends with ``ending``, saved next to the demo's
        database as ``<stem><file_name>``; where it is goes into the story and the closing
        notes (catalog keys ``said`` and ``noted``, given the path)."""
        shared = [f for f in self.emulator.files if f["name"].endswith(ending)]
        if not shared:
            return
        path = self.database_path.with_name(self.database_path.stem + file_name)
        path.write_bytes(shared[-1]["content"])
        self.say("    " + self.t(said, path=str(path)))
        self.notes.append(self.t(noted, path=str(path)))

    def name(self, user_id: str) -> str:
        if user_id == "scheduler":
            return self.t("demo.scheduler")
        person = self.cast.get(user_id)
        if person is None:
            return user_id
        return f"@{person[1] if self.locale == 'zh-CN' else person[0]}"

    def _names(self) -> dict[str, Any]:
        users = self.emulator.user_names()
        return {
            "users": users,
            "channels": self.emulator.channel_names(),
            "locale": self.locale,
            "tz": self.timezone,
        }

    def show_view(self, view: dict[str, Any]) -> None:
        self.say(textwrap.indent(render_view(view, **self._names()), "    "))

    def show_home(self, user_id: str) -> None:
        home = self.emulator.home(user_id)
        if home:
            self.say("    " + self.t("demo.home_of", who=self.name(user_id)))
            self.say(textwrap.indent(render_view(home, **self._names()), "    "))

    def show_form_errors(self, user_id: str, response: Any) -> None:
        """A submission the app refused: its inline errors under each field's label, as Slack
        shows them; the form stays open."""
        view = self.emulator.top_view(user_id) or {}
        labels = {
            block.get("block_id"): block.get("label", {}).get("text", "")
            for block in view.get("blocks") or []
            if block.get("type") == "input"
        }
        for block_id, message in (response.json or {}).get("errors", {}).items():
            field_name = labels.get(block_id) or block_id
            self.say("    " + self.t("demo.form_error", field=field_name, message=message))
        self.say("    " + self.t("demo.form_stays_open"))

    def show_run(self, summary: dict[str, dict[str, Any]]) -> None:
        """What a run of the scheduler did, in words."""
        for line in wrap(describe_run(self.locale, summary), WIDTH - 4):
            self.say("    " + line)

    def show_new_messages(self, *, last_answer_only: bool = False) -> None:
        """Print every message, ephemeral answer and file Slack received since the last call
        (of the ephemeral answers only the last with ``last_answer_only``: a card answered anew
        after each of several clicks is shown as the last click left it)."""
        if last_answer_only:
            self._seen_responses = max(self._seen_responses, len(self.emulator.responses) - 1)
        calls = self.emulator.calls[self._seen_calls :]
        self._seen_calls = len(self.emulator.calls)
        for call in calls:
            args = call.args
            if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
                where = self._where(args.get("channel", ""), args.get("user"))
                if call.method == "chat.update":
                    where += self.t("demo.updated")
                if args.get("thread_ts"):
                    where += self.t("demo.in_thread")
                rendered = render_message(
                    where, args.get("text", ""), args.get("blocks"), **self._names()
                )
                self.say(textwrap.indent(rendered, "    "))
            elif call.method in ("views.open", "views.update") and _is_tool(args.get("view")):
                self.show_view(args["view"])
            elif call.method == "files.completeUploadExternal":
                where = self._where(str(args.get("channel_id", "")))
                self.say("    " + self.t("demo.file_shared", where=where))
        responses = self.emulator.responses
        for response in responses[self._seen_responses :]:
            rendered = render_message(
                self.t("demo.only_you"),
                response.get("text", ""),
                response.get("blocks"),
                **self._names(),
            )
            self.say(textwrap.indent(rendered, "    "))
        self._seen_responses = len(responses)

    def skip_new_messages(self) -> None:
        """Leave unprinted what Slack received since the last call: a step that tells in words
        what many forms confirmed."""
        self._seen_calls = len(self.emulator.calls)
        self._seen_responses = len(self.emulator.responses)

    def _where(self, channel: str, ephemeral_user: str | None = None) -> str:
        if channel.startswith(("U", "W")) or channel.startswith("D"):
            user_id = channel if channel.startswith(("U", "W")) else self._dm_user(channel)
            return self.t("demo.dm_to", who=self.name(user_id))
        name = f"#{self.emulator.channel_name(channel)}"
        if ephemeral_user:
            return self.t("demo.only_visible_to", channel=name, who=self.name(ephemeral_user))
        return name

    def _dm_user(self, channel: str) -> str:
        for user_id in self.cast:
            if self.emulator.dm_channel_id(user_id) == channel:
                return user_id
        return channel

    def local_today(self) -> date:
        """Today's date in the project's timezone."""
        return self.clock.now().astimezone(ZoneInfo(self.timezone)).date()

    def instant(self, day: date, at: time) -> datetime:
        """The moment (UTC) when the project's clocks show ``at`` on ``day``: every time a
        person sets or reads in the demo is a wall-clock time of the project's timezone."""
        return datetime.combine(day, at, tzinfo=ZoneInfo(self.timezone)).astimezone(UTC)

    @staticmethod
    def working_day(after: date, days: int) -> date:
        """The ``days``-th working day (Monday to Friday) after ``after``."""
        day = after
        while days > 0:
            day += timedelta(days=1)
            days -= 0 if day.weekday() >= 5 else 1
        return day

    def next_working_morning(self) -> None:
        """On a Saturday or Sunday, move the clock to Monday 09:00 in the project's timezone."""
        zone = ZoneInfo(self.timezone)
        local = self.clock.now().astimezone(zone)
        if local.weekday() >= 5:
            monday = (local + timedelta(days=7 - local.weekday())).date()
            morning = datetime.combine(monday, DEMO_DAY.time(), tzinfo=zone)
            self.clock.set(morning.astimezone(UTC))

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))

    def finish(self) -> None:
        self.say()
        self.say("=" * WIDTH)
        for note in self.notes:
            self.say(note)
        self.say(self.t("demo.calls", count=len(self.emulator.calls)))
        problems = self.emulator.violations
        self.say(self.t("demo.violations", count=len(problems)))
        for problem in problems:
            self.say(f"  - {problem}")
        self.say(self.t("demo.database", path=str(self.database_path)))
        self.say("=" * WIDTH)


def _is_tool(view: Any) -> bool:
    """A tool's modal (``ui.tool_modal``): shown with the answers, as an ephemeral one was."""
    from bot.views.common import TOOL_MODAL

    return isinstance(view, dict) and view.get("callback_id") == TOOL_MODAL
