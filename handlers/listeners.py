"""One way to write a slash command and a form.

A command is a table: each row (`Subcommand`) names its verb, its arguments, who may use it and the
function that does it. `register_command` reads the text, picks the row, fits the arguments, and
answers: the function's return value, or the error in words, or the usage, which is generated from
the same table in the person's language. A form is one declaration (`Form`): its callback id, how
it is built and read, who may submit it, what it stores (inside the unit of work, so a refusal is
answered inline with nothing stored) and what follows once Slack has its answer (messages, Home).
A button, menu or shortcut is a function of a `Click`, registered with `clicks(app.action(ID))`.

    COMMAND = Command(
        name="poll",
        catalog="poll",
        subcommands=(
            Subcommand("list", list_polls, args=(CODE,)),
            Subcommand("close", close_poll, args=(CODE, NUMBER), who=PM),
        ),
    )

    def close_poll(call: CommandCall) -> str:
        with call.unit() as ctx:
            project = call.project(ctx)           # CODE, else the channel's project; `who` checked
            ...
            return t(project.locale, "poll.closed", ...)

`docs/ARCHITECTURE.md` shows how to add a subcommand and a form with the smallest real example.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from markupsafe import Markup
from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import LiaisonError, Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import has_key, plain, t
from bot.ids import Action
from bot.runtime import Runtime
from bot.services import fields, home_visits
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import common as ui
from handlers.common import (
    MENTION_RE,
    CsvDownloadFailed,
    dm,
    dm_file,
    error_text,
    locale_without_store,
    open_modal,
    person_locale,
    refuse_form,
    request_id,
    unit,
    uploaded_csv,
)
from handlers.home import publish_home
from storage.models import Project

log = logging.getLogger(__name__)
T = TypeVar("T")

# ------------------------------------------------------------------------------------ rights


@dataclass(frozen=True)
class Right:
    """Who may use a subcommand or submit a form about a project: a name the usage shows
    (`commands.who.<name>`), the test, what a person who fails it is told (with `code=`), and
    what a person it allows for no project at all is told (with `command=`, `/project`)."""

    name: str
    allows: Callable[[Ctx, Project], bool]
    refusal: str = "errors.not_pm"
    nothing: str = "errors.no_managed_projects"

    def check(self, ctx: Ctx, project: Project) -> Project:
        if not self.allows(ctx, project):
            raise PermissionDenied(Msg(self.refusal, code=project.code))
        return project

    def choice(
        self, ctx: Ctx, project: Project | None, project_command: str
    ) -> tuple[Project | None, list[Project]]:
        """For a form that asks which project: the one given (checked), else every project this
        right allows the person (the only one chosen for them)."""
        if project is not None:
            return self.check(ctx, project), [project]
        projects = [p for p in project_service.list_projects(ctx) if self.allows(ctx, p)]
        if not projects:
            raise NotFound(Msg(self.nothing, command=project_command))
        return (projects[0] if len(projects) == 1 else None), projects


ANYONE = Right("anyone", lambda ctx, project: True)
PM = Right("pm", project_service.can_manage)
TEAM = Right("team", project_service.can_see_register, "errors.not_team")


# --------------------------------------------------------------------------------- arguments


@dataclass(frozen=True)
class Arg:
    """One argument of a subcommand: the name it is read under (`call.args[name]`), how the usage
    shows it (a catalog key, or `choices` as `a|b`), what a word must look like, and whether it may
    be left out. A `rest` argument takes the remaining text as typed (free text, possibly none)."""

    name: str
    label: str = ""
    pattern: re.Pattern[str] | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False
    rest: bool = False
    example: str = ""

    def accepts(self, word: str) -> bool:
        if self.choices:
            return word.lower() in self.choices
        return self.pattern is None or bool(self.pattern.fullmatch(word))

    def shown(self, locale: str) -> str:
        if self.choices:
            text = "|".join(self.choices)
        else:
            text = self.example or t(locale, self.label)
        return f"[{text}]" if self.optional else text

    def required(self) -> Arg:
        return replace(self, optional=False)


def choice(name: str, *choices: str, optional: bool = True) -> Arg:
    return Arg(name, choices=choices, optional=optional)


CODE = Arg("code", "commands.arg.code", re.compile(r"[A-Za-z][A-Za-z0-9]{1,9}"), optional=True)
NUMBER = Arg("number", pattern=re.compile(r"#?\d{1,7}"), example="3")  # as `list` shows: 3 or #3
PERSON = Arg("person", "commands.arg.person", MENTION_RE)
TEXT = Arg("text", "commands.arg.text", rest=True, optional=True)


def fit(args: Sequence[Arg], words: Sequence[tuple[str, int]], text: str) -> dict[str, str] | None:
    """The arguments read from the typed words (each with where it starts in `text`), or None when
    they do not fit. An optional word of a fixed set (`open`, `call`) is taken when it matches; an
    optional project code is first left out, so `list open` reads `open` as the filter, not as a
    project, unless free text follows it (`ERP the note`)."""
    if not args:
        return {} if not words else None
    first, others = args[0], args[1:]
    if first.rest:
        if not words:
            return {} if first.optional else None
        return {first.name: text[words[0][1] :].strip()}
    # Left out first, a code would never be read before free text, which takes any words.
    take_first = bool(first.choices) or bool(others and others[0].rest)
    tries = [True, False] if take_first else [False, True]
    for take in tries:
        if not take and first.optional:
            found = fit(others, words, text)
        elif take and words and first.accepts(words[0][0]):
            found = fit(others, words[1:], text)
            if found is not None:
                value = words[0][0].lower() if first.choices else words[0][0]
                found = {first.name: value, **found}
        else:
            found = None
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------------------------- commands


@dataclass
class Call:
    """What every listener has: the runtime, Slack's client and the request's context."""

    runtime: Runtime
    client: WebClient
    context: BoltContext
    locale: str

    @property
    def team_id(self) -> str:
        return self.context.team_id or ""

    @property
    def user_id(self) -> str:
        return self.context.user_id or ""

    @contextmanager
    def unit(self) -> Iterator[Ctx]:
        with unit(self.runtime, self.context, self.client) as ctx:
            yield ctx

    def deliver(self, keys: Sequence[str]) -> None:
        """Send now what the unit of work queued (the scheduler would, a little later)."""
        if keys:
            self.runtime.sender().deliver_due(team_id=self.team_id, keys=list(keys))

    def refresh_home(self, *people: str) -> None:
        """Rebuild the Home tab of those ``people`` (else the actor) who have opened theirs."""
        with self.runtime.unit(self.team_id, self.user_id) as ctx:
            lookers = home_visits.lookers(ctx, people or (self.user_id,))
        for person in lookers:
            publish_home(self.runtime, self.client, self.team_id, person)


@dataclass
class CommandCall(Call):
    """One subcommand as typed: its arguments by name, where it was typed, and how to answer."""

    command: str
    sub: Subcommand
    args: dict[str, str]
    channel_id: str | None
    trigger_id: str
    confirmed: bool = False  # the person said yes to the subcommand's question (`asks`)

    def project(self, ctx: Ctx) -> Project:
        """The project the command means (its CODE, else the channel's, else the only one the
        person manages), if the subcommand's `who` allows the person."""
        project = project_service.resolve_project(ctx, self.args.get("code"), self.channel_id)
        return self.sub.who.check(ctx, project)

    def numbered(self, ctx: Ctx, find: Callable[[Ctx, Project, str], T]) -> tuple[T, Project]:
        """The record the command names by its NUMBER (``find`` in the project, which may refuse),
        in the project it names (or the channel's), answering in that project's language."""
        project = self.project(ctx)
        self.locale = project.locale
        return find(ctx, project, self.args.get("number") or ""), project

    def project_choice(self, ctx: Ctx) -> tuple[Project | None, list[Project]]:
        """For a form that asks which project: the one named or the channel's (checked), else every
        project the person may use it for (one of them is chosen when there is only one)."""
        code = self.args.get("code")
        project = (
            project_service.get_project(ctx, code)
            if code
            else project_service.project_for_channel(ctx, self.channel_id)
        )
        return self.sub.who.choice(ctx, project, self.runtime.settings.command("project"))

    def open(self, view: dict[str, Any]) -> None:
        open_modal(self.client, self.trigger_id, view)

    def export(self, catalog: str, name: str, export: Callable[[Ctx, Project], str]) -> str:
        """A project's records as a CSV file in the person's DMs, named for the project and its
        local day (`ERP-issues-2026-12-07.csv`); `<catalog>.export_title`, `.export_comment` and
        `.exported` say what it is."""
        with self.unit() as ctx:
            project = self.project(ctx)
            content = export(ctx, project)
            today = ctx.now().astimezone(ZoneInfo(project.timezone)).date().isoformat()
        locale, code = project.locale, project.code
        dm_file(
            self.client,
            self.user_id,
            content=content,
            filename=f"{code}-{name}-{today}.csv",
            title=t(locale, f"{catalog}.export_title", code=code),
            initial_comment=t(locale, f"{catalog}.export_comment", code=code),
        )
        return t(locale, f"{catalog}.exported", code=code)

    def open_form(self, form: Form, **build: Any) -> None:
        """Open a form that asks which project (`project_choice`), in that project's language."""
        with self.unit() as ctx:
            project, projects = self.project_choice(ctx)
            locale = project.locale if project else self.locale
            assert form.build is not None, "a form opened here says how it is built"
            view = form.build(locale, projects=projects, project=project, **build)
        self.open(view)


Reply = str | dict[str, Any] | None


@dataclass(frozen=True)
class Subcommand:
    """A row of a command's table. `run` returns the answer (a text or a message) or None when it
    has answered otherwise (opened a form). Its help line is `<catalog>.help.<verb>` (spaces in the
    verb become underscores)."""

    verb: str
    run: Callable[[CommandCall], Reply]
    args: tuple[Arg, ...] = ()
    who: Right = ANYONE
    # What cannot be undone or messages other people asks first: typed, the command answers with
    # `<asks>.text` (the project's code and the number) and a `<asks>.yes` button that runs it.
    asks: str = ""
    # A tool people come back to (a list, a matrix, a card): its message opens in a modal
    # titled `<catalog>.tool.<verb>` (``ui.tool_modal``), paged in place, instead of an
    # ephemeral answer that vanishes on reload; a text answer stays ephemeral.
    tool: bool = False

    @property
    def help_key(self) -> str:
        return self.verb.replace(" ", "_")


@dataclass(frozen=True)
class Command:
    """A slash command: its name (`settings.command(name)` gives what is typed), the catalog its
    help lines live in, its table, and what a first word no verb matches means (for `/issue
    ERP-12 close`), if anything."""

    name: str
    catalog: str
    subcommands: tuple[Subcommand, ...]
    other: Callable[[CommandCall], Reply] | None = None
    other_args: tuple[Arg, ...] = ()

    def find(self, words: list[str]) -> tuple[Subcommand | None, int]:
        """The row whose verb the text starts with (the longest, for `quiz results`)."""
        lowered = [w.lower() for w in words]
        for sub in sorted(self.subcommands, key=lambda s: -len(s.verb.split())):
            size = len(sub.verb.split())
            if lowered[:size] == sub.verb.split():
                return sub, size
        return None, 0


def sub_usage(locale: str, command: Command, typed: str, sub: Subcommand) -> str:
    """One line of the usage: the subcommand as it is typed, who may use it, what it does."""
    return t(
        locale,
        "commands.line",
        typed=" ".join([typed, sub.verb, *(arg.shown(locale) for arg in sub.args)]),
        who=Markup(t(locale, f"commands.who.{sub.who.name}") if sub.who is not ANYONE else ""),
        does=Markup(t(locale, f"{command.catalog}.help.{sub.help_key}", command=typed)),
    )


def usage(locale: str, command: Command, typed: str) -> str:
    """The help of a command, made from its table."""
    lines = [t(locale, "commands.usage_title", command=typed)]
    note = f"{command.catalog}.help.note"
    if has_key(note):
        lines[0] += " " + t(locale, note, command=typed)
    lines += [sub_usage(locale, command, typed, sub) for sub in command.subcommands]
    other = f"{command.catalog}.help.other"
    if has_key(other):
        lines.append(t(locale, other, command=typed))
    lines.append(
        t(
            locale,
            "commands.line",
            typed=f"{typed} help",
            who="",
            does=t(locale, "commands.this_help"),
        )
    )
    footer = f"{command.catalog}.help.footer"
    if has_key(footer):
        lines.append(t(locale, footer, command=typed))
    return "\n".join(lines)


def words_of(text: str) -> list[tuple[str, int]]:
    return [(match.group(), match.start()) for match in re.finditer(r"\S+", text)]


def register_command(app: App, runtime: Runtime, command: Command) -> None:
    typed = runtime.settings.command(command.name)
    other = Subcommand("", command.other, command.other_args) if command.other else None

    @app.command(typed)
    def handle(
        ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        ack()
        text = body.get("text") or ""
        words = words_of(text)
        locale = person_locale(runtime, context, client)
        sub, size = command.find([word for word, _ in words])
        if sub is None and other is not None and words and words[0][0].lower() != "help":
            sub, size = other, 0
        args = fit(sub.args, words[size:], text) if sub is not None else None
        if sub is None or args is None:
            respond(text=usage(locale, command, typed), response_type="ephemeral")
            return
        call = CommandCall(
            runtime=runtime,
            client=client,
            context=context,
            locale=locale,
            command=typed,
            sub=sub,
            args=args,
            channel_id=body.get("channel_id"),
            trigger_id=body.get("trigger_id") or "",
        )
        try:
            reply = ask_first(call, command, text) if sub.asks else sub.run(call)
        except LiaisonError as error:
            reply = error_text(locale, error)
            if isinstance(error, ValidationError | NotFound):
                shown = sub_usage(locale, command, typed, sub) if sub.verb else ""
                reply += "\n" + (shown or usage(locale, command, typed))
        if isinstance(reply, str):
            if reply:
                respond(text=reply, response_type="ephemeral")
        elif reply is not None and sub.tool:
            title = plain(locale, f"{command.catalog}.tool.{sub.help_key}")
            call.open(ui.tool_modal(title, reply, plain(locale, "common.close")))
        elif reply is not None:
            respond(**reply, response_type="ephemeral")

    if any(sub.asks for sub in command.subcommands):
        clicks(app.action(f"{command.name}{ASKED}"), runtime)(answered(command, typed))
        clicks(app.action(f"{command.name}{ASKED}_no"), runtime)(not_asked)


ASKED = "_asked"  # the action ids of a command's question: `<command>_asked` (yes), `…_asked_no`


def ask_first(call: CommandCall, command: Command, text: str) -> dict[str, Any]:
    """The question a subcommand that `asks` answers first, for a person its `who` allows: what
    will happen and to whom, a button that runs it as typed, and one that does nothing."""
    with call.unit() as ctx:
        project = call.project(ctx)
    locale, asks = project.locale, call.sub.asks
    question = t(locale, f"{asks}.text", code=project.code, number=call.args.get("number") or "")
    name = command.name
    yes = ui.button(plain(locale, f"{asks}.yes"), f"{name}{ASKED}", text[:2000], style="primary")
    no = ui.button(plain(locale, "common.cancel"), f"{name}{ASKED}_no", "")
    return ui.message(question, [ui.section(question), ui.actions(yes, no, block_id=name)])


def answered(command: Command, typed: str) -> Clicked:
    """ "Yes" to a command's question: the subcommand its value names, as typed there (forged or
    not: the subcommand checks everything again), answered in place of the question."""

    def run(click: Click) -> Reply:
        text = str(click.value or "")
        words = words_of(text)
        sub, size = command.find([word for word, _ in words])
        args = fit(sub.args, words[size:], text) if sub is not None and sub.asks else None
        if sub is None or args is None:
            raise ValidationError({"": Msg("security.request_unreadable")})
        container = click.body.get("container") or {}
        call = CommandCall(
            runtime=click.runtime,
            client=click.client,
            context=click.context,
            locale=click.locale,
            command=typed,
            sub=sub,
            args=args,
            channel_id=container.get("channel_id") or (click.body.get("channel") or {}).get("id"),
            trigger_id=click.trigger_id,
            confirmed=True,
        )
        reply = sub.run(call)
        if isinstance(reply, str):
            return ui.message(reply, [ui.section(reply)]) if reply else None
        return reply

    return run


def not_asked(click: Click) -> Reply:
    text = t(click.locale, "commands.not_done")
    return ui.message(text, [ui.section(text)])


# ------------------------------------------------------------------------------------- forms


@dataclass
class FormCall(Call):
    """One submitted form: its values (read by the form's `read`), its metadata, and, inside the
    unit of work, `ctx`. `answer` replaces closing the modal (`response_action` update or push)."""

    view: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    data: Any = None
    ctx: Ctx | None = None
    who: Right = ANYONE
    answer: dict[str, Any] | None = None

    def project(self, ctx: Ctx, raw_id: Any = None) -> Project:
        """The project the form is about, from its metadata (or the project picked in it), if the
        form's `who` allows the person: the id may be forged, the right is checked again."""
        raw = (
            raw_id
            if raw_id is not None
            else self.metadata.get("project_id") or self.values.get("project")
        )
        if not raw:
            raise ValidationError({"project": Msg("errors.required")})
        project = project_service.get_project_by_id(ctx, request_id(raw))
        self.locale = project.locale
        return self.who.check(ctx, project)

    def claim(self, ctx: Ctx) -> bool:
        """True for the first submission of this view, False for a double click or a retry."""
        return ctx.claim(f"view:{self.view.get('id')}:{self.view.get('hash', '')}")


@dataclass(frozen=True)
class Form:
    """A modal: its callback id, how it is built (a `bot/views` function, for whoever opens it),
    how its values are read (`read(values)` gives `call.data`), who may submit it, what the
    submission stores (`submit(call, ctx)`, inside the unit of work: a `LiaisonError` is shown in
    the form and nothing is stored) and what follows once Slack has the answer (`after(call,
    result)`: messages, a DM, the Home tab). A form whose work is done in `after` (a download
    that can outlast Slack's 3 seconds) sets `claim_in_after` and claims the submission there,
    with `call.claim(ctx)` in the unit that stores the work: a submission that fails on the way
    is then not taken for a duplicate when it is sent again.

    A form that shows only what applies to a choice made in it (an input built with
    ``dispatch=True``) says how it is drawn again: `refresh(call, ctx)` returns the view for the
    values typed so far (`call.data`, read by `read`); the ids it needs come from the database
    (the metadata may be forged, the form's `who` is checked again). The view is replaced with
    `views.update` under the hash Slack gave, so a newer change is never overwritten."""

    callback_id: str | re.Pattern[str]
    submit: Callable[[FormCall, Ctx], Any]
    build: Callable[..., dict[str, Any]] | None = None
    read: Callable[[dict[str, Any]], Any] | None = None
    after: Callable[[FormCall, Any], None] | None = None
    who: Right = ANYONE
    claim_in_after: bool = False
    refresh: Callable[[FormCall, Ctx], dict[str, Any]] | None = None


def form_call(
    runtime: Runtime, form: Form, view: dict[str, Any], client: WebClient, context: BoltContext
) -> FormCall:
    """A form's submission or change, as the person who made it."""
    return FormCall(
        runtime=runtime,
        client=client,
        context=context,
        locale=person_locale(runtime, context, client),
        view=view,
        who=form.who,
    )


def read_form(call: FormCall, form: Form) -> None:
    """What the form holds: its values, its metadata (forged until checked) and its data."""
    call.values = ui.read_values(call.view)
    call.metadata = ui.read_metadata(call.view)
    call.data = form.read(call.values) if form.read else call.values


def register_form(app: App, runtime: Runtime, form: Form) -> None:
    @app.view(form.callback_id)
    def submitted(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        call = form_call(runtime, form, view, client, context)
        try:
            read_form(call, form)
            with call.unit() as ctx:
                call.ctx = ctx
                if not form.claim_in_after and not call.claim(ctx):
                    ack()
                    return
                result = form.submit(call, ctx)
        except LiaisonError as error:
            refuse_form(ack, call.locale, error, view)
            return
        finally:
            call.ctx = None
        if call.answer:
            ack(**call.answer)
        else:
            ack()
        if form.after is not None:
            form.after(call, result)

    if form.refresh is not None:
        register_refresh(app, runtime, form)


def register_refresh(app: App, runtime: Runtime, form: Form) -> None:
    """A choice in the form (an input with `dispatch_action`): the form drawn again for it."""
    assert form.refresh is not None
    redraw = form.refresh

    def of_this_form(body: dict[str, Any]) -> bool:
        callback_id = str((body.get("view") or {}).get("callback_id") or "")
        if isinstance(form.callback_id, re.Pattern):
            return bool(form.callback_id.fullmatch(callback_id))
        return callback_id == form.callback_id

    @app.action(Action.INPUT, matchers=[of_this_form])
    def chosen(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        view = body.get("view") or {}
        call = form_call(runtime, form, view, client, context)
        try:
            read_form(call, form)
            with call.unit() as ctx:
                redrawn = redraw(call, ctx)
        except LiaisonError as error:
            log.info("form %s not redrawn: %s", form.callback_id, type(error).__name__)
            return
        try:
            client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=redrawn)
        except SlackApiError as error:  # hash_conflict: a newer change was drawn already
            log.info("form %s not redrawn: %s", form.callback_id, error.response.get("error"))


# ------------------------------------------------------------------------------- CSV imports


def csv_import_form(
    callback_id: str,
    run: Callable[[FormCall, Ctx, Project, str], dict[str, Any]],
    *,
    who: Right = ANYONE,
    project_key: str = "project_id",
    check: Callable[[FormCall, Ctx, Project], None] | None = None,
    done: Callable[[FormCall], None] | None = None,
    build: Callable[..., dict[str, Any]] | None = None,
) -> Form:
    """A form that imports a CSV, uploaded (`csv_file`) or pasted (`csv`), into the project its
    metadata names under `project_key`. The right (`who`, then `check`) is tested and a file or
    rows are asked for before anything is fetched; then the modal closes, since fetching can take
    longer than Slack's 3 seconds, and `run` (in a unit of work of its own) gives the report,
    sent by DM like a failure. A submission counts once when it is imported, so the same form
    may be sent again after a failed download. `done` follows a report (the Home tab, say)."""

    def submit(call: FormCall, ctx: Ctx) -> int:
        project = call.project(ctx, call.metadata.get(project_key))
        if check is not None:
            check(call, ctx, project)
        if not call.values.get("csv_file") and not (call.values.get("csv") or "").strip():
            raise ValidationError({"csv": Msg("errors.csv_missing")})
        return project.id or 0

    def report(call: FormCall, project_id: int) -> None:
        files = call.values.get("csv_file") or []
        try:
            text = (
                uploaded_csv(call.client, (files[0] or {}).get("id"), call.user_id)
                if files
                else (call.values.get("csv") or "").strip()
            )
            with call.unit() as ctx:
                if not call.claim(ctx):
                    return
                project = project_service.get_project_by_id(ctx, project_id)
                message = run(call, ctx, project, text)
        except (LiaisonError, SlackApiError, CsvDownloadFailed) as error:
            if isinstance(error, CsvDownloadFailed):
                log.warning("CSV download failed: %s", error)
                reason = t(call.locale, "errors.csv_download")
            else:
                reason = error_text(call.locale, error)
            dm(call.client, call.user_id, ui.message(reason, [ui.section(reason)]))
            return
        dm(call.client, call.user_id, message)
        if done is not None:
            done(call)

    return Form(callback_id, submit=submit, build=build, after=report, who=who, claim_in_after=True)


# ----------------------------------------------------------------------------------- buttons


@dataclass
class Click(Call):
    """A button, a menu choice or a message shortcut: the request's body, the clicked element, and
    how to answer the person who clicked."""

    body: dict[str, Any] = field(default_factory=dict)
    action: dict[str, Any] = field(default_factory=dict)
    respond: Respond | None = None

    @property
    def value(self) -> Any:
        return self.action.get("value")

    @property
    def action_id(self) -> str:
        return str(self.action.get("action_id") or "")

    @property
    def from_menu(self) -> bool:
        """Chosen in an overflow menu (``menu``): no confirm dialog was shown for this option."""
        return self.action.get("type") == "overflow"

    @property
    def trigger_id(self) -> str:
        return str(self.body.get("trigger_id") or "")

    @property
    def view_id(self) -> str:
        return str((self.body.get("view") or {}).get("id") or "")

    def project(self, ctx: Ctx, raw: Any = None) -> Project:
        """The project the button names (an id that may be forged: the services check rights)."""
        project = project_service.get_project_by_id(
            ctx, request_id(self.value if raw is None else raw)
        )
        self.locale = project.locale
        return project

    @property
    def on_home(self) -> bool:
        """Clicked on the person's Home tab."""
        return (self.body.get("view") or {}).get("type") == "home"

    @property
    def in_modal(self) -> bool:
        """Clicked in a modal (a tool's, ``ui.tool_modal``), not in a message or the Home tab."""
        return (self.body.get("view") or {}).get("type") == "modal"

    def open(self, view: dict[str, Any]) -> None:
        """A form for the click: over the modal it was clicked in, else a modal of its own."""
        if self.in_modal:
            self.client.views_push(trigger_id=self.trigger_id, view=view)
        else:
            open_modal(self.client, self.trigger_id, view)

    def show_in_modal(self, payload: dict[str, Any]) -> None:
        """A message that replaces the clicked one, shown in the modal clicked in (a tool's next
        page, its changed state), under the same title. The modal is the one Slack says was
        clicked; its ``hash`` makes Slack refuse the update if that view is not the one shown."""
        shown = self.body.get("view") or {}
        title = str((shown.get("title") or {}).get("text") or "")
        close = str((shown.get("close") or {}).get("text") or "")
        self.client.views_update(
            view_id=self.view_id,
            hash=shown.get("hash"),
            view=ui.tool_modal(title, payload, close or plain(self.locale, "common.close")),
        )

    def tell(self, text: str) -> None:
        """An answer only the clicking person sees: ephemeral where the click was in a message,
        else (the Home tab, a modal) a DM."""
        if not text:
            return
        if self.body.get("response_url") and self.respond is not None:
            self.respond(text=text, response_type="ephemeral", replace_original=False)
        else:
            dm(self.client, self.user_id, ui.message(text, [ui.section(text)]))

    def answer(self, payload: dict[str, Any] | str, *, replace: bool = False) -> None:
        if isinstance(payload, str):
            if self.in_modal and not replace:
                self.tell(payload)
                return
            payload = {"text": payload}
        if self.in_modal:
            self.show_in_modal(payload)
            return
        assert self.respond is not None
        self.respond(**payload, response_type="ephemeral", replace_original=replace)

    def refusal(self, error: LiaisonError) -> str:
        return error_text(person_locale(self.runtime, self.context, self.client), error)


Clicked = Callable[[Click], Reply]


def scoped_list(
    listed: Callable[..., Any],
    page_size: int,
    message: Callable[[str, Any, str], dict[str, Any]],
) -> Callable[[CommandCall], dict[str, Any]]:
    """The list subcommand of a project's records by scope (the FILTER typed, else the open
    ones): its first page (``listed``), answered with ``message`` in the project's language."""

    def list_records(call: CommandCall) -> dict[str, Any]:
        with call.unit() as ctx:
            project = call.project(ctx)
            found = listed(ctx, project, call.args.get("filter") or "open", page_size=page_size)
            return message(project.locale, found, call.command)

    return list_records


def opens_by_dm(
    get: Callable[[Ctx, int], tuple[Any, Project]],
    card: Callable[[Ctx, Any, Project], dict[str, Any]],
    title: str = "",
) -> Clicked:
    """The click on an Open button of a post or DM about a record (its id the value, forged or
    not: ``get`` finds it in the person's team): its ``card``, by DM; from the Home tab or a
    tool's modal, in a modal titled by the catalog's ``title`` (``ui.tool_modal``)."""

    def open_from_dm(click: Click) -> None:
        with click.unit() as ctx:
            record, project = get(ctx, request_id(click.value))
            message = card(ctx, record, project)
        if title and (click.on_home or click.in_modal):
            locale = project.locale
            click.open(ui.tool_modal(plain(locale, title), message, plain(locale, "common.close")))
            return
        dm(click.client, click.user_id, message)

    return open_from_dm


def opens_tool(
    right: Right, title: str, build: Callable[[Ctx, Project, Click], dict[str, Any]]
) -> Clicked:
    """A button of the Home tab that opens a project's tool (the value the project id, forged
    or not: ``right`` must allow the person): the message ``build`` makes, in a modal titled
    by the catalog's ``title`` (``ui.tool_modal``), paged in place."""

    def open_tool(click: Click) -> None:
        with click.unit() as ctx:
            project = right.check(ctx, click.project(ctx))
            message = build(ctx, project, click)
        locale = project.locale
        click.open(ui.tool_modal(plain(locale, title), message, plain(locale, "common.close")))

    return open_tool


def page_action(action_id: str) -> re.Pattern[str]:
    """The Previous and Next buttons of a paged list (``ui.paged_list``) whose action is
    ``action_id``."""
    return re.compile("^" + re.escape(action_id) + r"_(previous|next)$")


def list_pages(
    right: Right,
    listed: Callable[..., Any],
    scopes: Sequence[str],
    page_size: int,
    message: Callable[[str, Any, str], dict[str, Any]],
    command: str,
) -> Clicked:
    """The click on a Previous or Next button of a project's list by scope (the value
    ``<project id>|<scope>|<page>``, forged or not): the project, if ``right`` allows the person,
    listed again (``listed``; an unknown scope lists the open ones) at that page, answered with
    ``message`` in the project's language."""

    def turn_list_page(click: Click) -> dict[str, Any]:
        project_id, scope, page = (str(click.value or "") + "||").split("|")[:3]
        with click.unit() as ctx:
            project = right.check(ctx, click.project(ctx, project_id))
            found = listed(
                ctx,
                project,
                scope if scope in scopes else "open",
                page=fields.whole_number(page) or 1,
                page_size=page_size,
            )
            return message(project.locale, found, click.runtime.settings.command(command))

    return turn_list_page


def menu(options: dict[str, Clicked]) -> Clicked:
    """The choice in an overflow menu built by ``ui.more_menu``: its option's value
    ``<action id>|<button value>`` (forged or not) runs as that button of ``options`` would, with
    the same checks; ``click.from_menu`` tells it that no confirm dialog was shown. An action the
    menu does not offer is refused."""

    def chosen(click: Click) -> Reply:
        picked = str((click.action.get("selected_option") or {}).get("value") or "")
        action_id, _, value = picked.partition("|")
        run = options.get(action_id)
        if run is None:
            raise ValidationError({"": Msg("security.menu_unknown")})
        action = {**click.action, "type": "overflow", "action_id": action_id, "value": value}
        return run(replace(click, action=action))

    return chosen


def clicks(listen: Callable[..., Any], runtime: Runtime) -> Callable[[Clicked], Clicked]:
    """Register a button or shortcut (`listen` is `app.action(...)` or `app.shortcut(...)`):
    `run(click)` answers with a text only the clicking person sees, a message that replaces the
    clicked one, or None when it has answered otherwise (opened a form); a refusal is told to
    the person in words."""

    def register(run: Clicked) -> Clicked:
        @listen
        def clicked(
            ack: Ack,
            body: dict[str, Any],
            payload: dict[str, Any],
            client: WebClient,
            context: BoltContext,
            respond: Respond,
        ) -> None:
            ack()
            click = Click(
                runtime=runtime,
                client=client,
                context=context,
                locale=locale_without_store(runtime, context),
                body=body,
                action=payload,
                respond=respond,
            )
            try:
                answer = run(click)
            except LiaisonError as error:
                answer = click.refusal(error)
            if isinstance(answer, dict) and click.in_modal:
                click.show_in_modal(answer)
            elif isinstance(answer, dict):
                respond(replace_original=True, **answer)
            else:
                click.tell(answer or "")

        return run

    return register


def register(
    app: App, runtime: Runtime, *, command: Command | None = None, forms: Sequence[Form] = ()
) -> None:
    """A domain's command and forms, registered with Bolt."""
    if command is not None:
        register_command(app, runtime, command)
    for form in forms:
        register_form(app, runtime, form)
