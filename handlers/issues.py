"""`/issue`, the "Log as key-user issue" message shortcut, the issue forms and every issue button
(on the issue message, in DMs, in the Home tab)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import LiaisonError, Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import plain, t
from bot.ids import CONFIRMED, IssueId
from bot.jobs import issues as notices
from bot.runtime import Runtime
from bot.services import fields, issue_followup, issue_levels
from bot.services import issues as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.slack_io import slack_error_code
from bot.views import common as ui
from bot.views import issues as views
from handlers import listeners
from handlers.common import (
    error_text,
    open_modal,
    person_locale,
    request_id,
    user_ids_in,
)
from handlers.listeners import (
    CODE,
    Arg,
    Call,
    Click,
    Command,
    CommandCall,
    Form,
    FormCall,
    Right,
    Subcommand,
    clicks,
)

log = logging.getLogger(__name__)
DO_ACTION = re.compile("^" + re.escape(IssueId.DO_PREFIX) + r"(\w+)$")
RATE_ACTION = re.compile("^" + re.escape(IssueId.RATE) + r"_([1-5])$")
PAGE_ACTION = re.compile("^" + re.escape(IssueId.LIST_PAGE) + r"_(prev|next)$")
# The field of a change's form (and the argument of `service.apply`) that a verb changes; the
# other verbs take a text.
CHANGED = {
    service.Verb.ASSIGN: "owner_id",
    service.Verb.PRIORITY: "priority",
    service.Verb.DUE: "due_date",
}


@dataclass(frozen=True)
class Words(Arg):
    """The free words after a verb (list filters, service levels), read by the service, and shown
    in the usage as the catalog writes them."""

    rest: bool = True
    optional: bool = True

    def shown(self, locale: str) -> str:
        return t(locale, self.label)


FILTERS = Words("filters", "issues.arg.filters")
LEVELS = Words("levels", "issues.arg.levels")
ISSUE_KEY = Arg("key", pattern=service.ISSUE_KEY_RE, example="ERP-42")
ACTION = Arg("action", rest=True, optional=True)


def issue_input(values: dict[str, Any]) -> service.IssueInput:
    """The issue form's values: its texts ("" when left empty), the people and the due date."""
    texts = ("title", "description", "kind", "module", "priority")
    return service.IssueInput(
        **{name: values.get(name) or "" for name in texts},
        **{name: values.get(name) for name in ("reporter_id", "owner_id", "due_date")},
    )


def permalink(client: WebClient, channel: str | None, ts: str | None) -> str | None:
    """A message's permalink; None (logged) when Slack will not give it, the issue stands anyway."""
    if not channel or not ts:
        return None
    try:
        return str(client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
    except SlackApiError as error:
        log.warning("chat.getPermalink failed: %s", slack_error_code(error))
        return None


# ------------------------------------------------------------------------------ logging


# Who may log an issue in a project: its PMs, team and key users (service.can_log).
LOGGERS = Right("anyone", service.can_log, "issues.errors.cannot_log", "issues.errors.no_projects")


def open_new_form(
    call: Call,
    trigger_id: str,
    channel_id: str | None,
    *,
    code: str | None = None,
    project_id: int | None = None,
    defaults: service.IssueInput | None = None,
    source: dict[str, Any] | None = None,
) -> None:
    """The form that logs an issue: in the project named, else the channel's, else one of those
    the person may log in (chosen when there is only one)."""
    with call.unit() as ctx:
        project = None
        if project_id:
            project = project_service.get_project_by_id(ctx, project_id)
        elif code:
            project = project_service.get_project(ctx, code)
        else:
            project = project_service.project_for_channel(ctx, channel_id)
        project, projects = LOGGERS.choice(ctx, project, call.runtime.settings.command("project"))
        reporter_choice = any(
            service.roles_of(ctx, p, None, ctx.actor_id) & {"pm", "team"} for p in projects
        )
        data = defaults or service.IssueInput()
        data.reporter_id = ctx.actor_id
        locale = (
            project.locale
            if project
            else person_locale(call.runtime, call.context, call.client, ctx)
        )
        view = NEW_FORM.build(
            locale,
            projects=projects,
            project=project,
            defaults=data,
            reporter_choice=reporter_choice,
            source=source,
        )
    open_modal(call.client, trigger_id, view)


def new_issue(call: CommandCall) -> None:
    open_new_form(call, call.trigger_id, call.channel_id, code=call.args.get("code"))


def save_new_issue(call: FormCall, ctx: Ctx) -> tuple[list[str], int, str]:
    project = call.project(ctx)
    data: service.IssueInput = call.data
    data.source_permalink = permalink(
        call.client, call.metadata.get("channel"), call.metadata.get("ts")
    )
    change = service.create_issue(ctx=ctx, project=project, data=data)
    keys = notices.announce_created(ctx, change)
    return keys, change.issue.id or 0, change.issue.reporter_id


def confirm_new_issue(call: FormCall, created: tuple[list[str], int, str]) -> None:
    keys, issue_id, reporter = created
    call.deliver(keys)
    # The issue's message now has a ts: link the reporter's confirmation to it.
    with call.unit() as ctx:
        issue, _ = service.get_issue(ctx, issue_id)
        channel, ts = notices.message_ref(ctx, issue)
    link = permalink(call.client, channel, ts)
    with call.unit() as ctx:
        issue, project = service.get_issue(ctx, issue_id)
        keys = notices.confirm_created(ctx, issue, project, link)
    call.deliver(keys)
    call.refresh_home(call.user_id, reporter)


# ------------------------------------------------------------------------------ changes


def announce(call: Call, ctx: Ctx, change: service.Change | None) -> list[str]:
    """Queue what a change says (with a link to the issue's message); nothing for no change."""
    if change is None:
        return []
    channel, ts = notices.message_ref(ctx, change.issue)
    return notices.announce_change(ctx, change, permalink(call.client, channel, ts))


def perform(
    call: Call, *, verb: str, key: str | None = None, issue_id: int | None = None, **kwargs: Any
) -> str:
    """Apply a change (`kwargs` as `service.apply` takes them: what changes, the version the
    person saw), deliver what it says, refresh the actor's Home; the answer for them."""
    with call.unit() as ctx:
        if key is not None:
            issue, project = service.find_issue(ctx, key)
        else:
            issue, project = service.get_issue(ctx, issue_id or 0)
            if not service.can_see(ctx, project, issue):
                raise NotFound(Msg("issues.errors.not_found", ref=str(issue_id)))
        change = service.apply(ctx=ctx, issue=issue, project=project, verb=verb, **kwargs)
        if change is None:
            return ""
        keys = announce(call, ctx, change)
        answer = views.change_confirmation(project.locale, project, issue, change.history)
    call.deliver(keys)
    call.refresh_home()
    return answer


def show_or_change(call: CommandCall) -> listeners.Reply:
    """`/issue ERP-42` shows the issue; `/issue ERP-42 <verb> [text]` changes it."""
    key = call.args["key"]
    parts = (call.args.get("action") or "").split(maxsplit=1)
    verb = service.VERB_ALIASES.get(parts[0].lower(), parts[0].lower()) if parts else ""
    rest = parts[1] if len(parts) > 1 else ""
    if not verb:
        with call.unit() as ctx:
            issue, project = service.find_issue(ctx, key)
            verbs = service.allowed_verbs(ctx, project, issue)
            return views.issue_message(
                project.locale,
                project,
                issue,
                [v for v in verbs if v != service.Verb.DELETE],
                personal=True,  # answered to the person alone: their own verbs, every one
            )
    value: str = rest
    if verb == service.Verb.ASSIGN:
        people = user_ids_in(rest)
        if len(people) != 1:
            raise ValidationError({"owner_id": Msg("issues.errors.assign_usage")})
        value = people[0]
    elif verb not in service.ALL_VERBS:
        raise ValidationError({"verb": Msg("issues.errors.unknown_verb", verb=verb)})
    return perform(call, key=key, verb=verb, **{CHANGED.get(verb, "text"): value})


def open_change_form(call: Call, body: dict[str, Any], issue_id: int, verb: str) -> str:
    """The form of a change that needs input (assign, resolve…): over the issue's detail when the
    button is in a modal; a refusal is told in the project's language."""
    with call.unit() as ctx:
        issue, project = service.get_issue(ctx, issue_id)
        reason = service.refusal(ctx, project, issue, verb)
        if reason is not None:
            return error_text(project.locale, PermissionDenied(reason))
        modal = CHANGE_FORM.build(project.locale, project, issue, verb)
    if (body.get("container") or {}).get("type") == "view":
        call.client.views_push(trigger_id=body["trigger_id"], view=modal)
    else:
        open_modal(call.client, body["trigger_id"], modal)
    return ""


def save_change(call: FormCall, ctx: Ctx) -> list[str]:
    verb = str(call.metadata.get("verb") or "")
    if verb in CHANGED:
        value = call.values.get(CHANGED[verb])
    else:
        value = call.values.get("text") or call.values.get("resolution") or ""
    issue, project = service.get_issue(ctx, request_id(call.metadata.get("issue_id")))
    call.locale = project.locale
    change = service.apply(
        ctx=ctx, issue=issue, project=project, verb=verb, **{CHANGED.get(verb, "text"): value}
    )
    return announce(call, ctx, change)


def deliver_and_refresh(call: FormCall, keys: list[str]) -> None:
    call.deliver(keys)
    call.refresh_home()


# ------------------------------------------------------------------------------- rating


def rate(
    ctx: Ctx, issue_id: int, rating: int, comment: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """The reporter's rating: the message that thanks them, and what the change says."""
    issue, project = service.get_issue(ctx, issue_id)
    change = service.rate(ctx=ctx, issue=issue, project=project, rating=rating, comment=comment)
    if change is None:
        return None, []
    return views.rated_message(project.locale, project, issue), notices.announce_change(ctx, change)


def save_rating(call: FormCall, ctx: Ctx) -> list[str]:
    rating = fields.whole_number(call.values.get("rating")) or 0
    issue_id = request_id(call.metadata.get("issue_id"))
    return rate(ctx, issue_id, rating, call.values.get("comment") or "")[1]


def deliver(call: FormCall, keys: list[str]) -> None:
    call.deliver(keys)


# ----------------------------------------------------------------- lists, levels, export


def list_page(call: Call, words: list[str], page: int) -> dict[str, Any]:
    query = service.parse_list_query(words)
    with call.unit() as ctx:
        found = service.list_issues(ctx, query, page=page, page_size=views.LIST_PAGE_SIZE)
        locale = (
            found.items[0][1].locale
            if found.items
            else person_locale(call.runtime, call.context, call.client, ctx)
        )
        return views.list_message(locale, found, query, " ".join(words), ctx.now())


def list_issues(call: CommandCall) -> dict[str, Any]:
    return list_page(call, (call.args.get("filters") or "").split(), 1)


def service_levels(call: CommandCall) -> str:
    """Show a project's service levels, or change them (its PMs): ``sla ERP P1=4h/2d``."""
    words = (call.args.get("levels") or "").split()
    code = words[0] if words and "=" not in words[0] else None
    changes = words[1:] if code else words
    with call.unit() as ctx:
        project = project_service.resolve_project(ctx, code, call.channel_id)
        if changes:
            first, days, auto_close = issue_levels.parse_service_level_words(changes)
            levels = issue_levels.set_service_levels(
                ctx=ctx,
                project=project,
                first_response_hours=first,
                resolution_days=days,
                auto_close_days=auto_close,
            )
        else:
            project_service.require_team(ctx, project, "service_levels")
            levels = issue_levels.service_levels(ctx, project)
        return views.service_levels_text(project.locale, project, levels, changed=bool(changes))


def export(call: CommandCall) -> str:
    """All issues of a project as a CSV file in the person's DMs."""
    return call.export("issues", "issues", service.export_csv)


# ------------------------------------------------------------------------ the declarations

NEW_FORM = Form(
    IssueId.NEW_MODAL,
    build=views.new_issue_modal,
    read=issue_input,
    submit=save_new_issue,
    after=confirm_new_issue,
)
CHANGE_FORM = Form(
    IssueId.ACTION_MODAL,
    build=views.action_modal,
    submit=save_change,
    after=deliver_and_refresh,
)
RATING_FORM = Form(
    IssueId.RATING_MODAL,
    build=views.rating_modal,
    submit=save_rating,
    after=deliver,
)
COMMAND = Command(
    name="issue",
    catalog="issues",
    subcommands=(
        Subcommand("new", new_issue, args=(CODE,)),
        Subcommand("list", list_issues, args=(FILTERS,)),
        Subcommand("export", export, args=(CODE,)),
        Subcommand("sla", service_levels, args=(LEVELS,)),
    ),
    other=show_or_change,
    other_args=(ISSUE_KEY, ACTION),
)


# --------------------------------------------------------------------------------- clicks


def id_and_number(action: dict[str, Any]) -> tuple[int, int | None]:
    """A button's `<issue id>:<number>`: the issue's version (a click on an old message fails)
    or a rating."""
    issue_id, _, version = (action.get("value") or "").partition(":")
    return request_id(issue_id), fields.whole_number(version)


FORMS = (NEW_FORM, CHANGE_FORM, RATING_FORM)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, command=COMMAND, forms=FORMS)

    @clicks(app.shortcut(IssueId.LOG_FROM_MESSAGE), runtime)
    def log_issue_from_message(call: Click) -> None:
        message = call.body.get("message") or {}
        text = (message.get("text") or "").strip()
        first_line = text.splitlines()[0] if text else ""
        channel_id = (call.body.get("channel") or {}).get("id")
        open_new_form(
            call,
            call.body["trigger_id"],
            channel_id,
            defaults=service.IssueInput(
                title=ui.clip(first_line, 150), description=ui.clip(text, 3000)
            ),
            source={"channel": channel_id, "ts": message.get("ts") or call.body.get("message_ts")},
        )

    @clicks(app.action(IssueId.HOME_LOG), runtime)
    def log_issue_from_home(call: Click) -> None:
        project_id = fields.record_id(call.action.get("value") or "")
        open_new_form(call, call.body["trigger_id"], None, project_id=project_id)

    @clicks(app.action(DO_ACTION), runtime)
    def act_on_issue(call: Click) -> str:
        verb = call.action["action_id"][len(IssueId.DO_PREFIX) :]
        issue_id, version = id_and_number(call.action)
        if verb in service.VERBS_WITH_INPUT or (call.from_menu and call.action_id in CONFIRMED):
            # a menu shows no confirm dialog for one option: its form asks first
            return open_change_form(call, call.body, issue_id, verb)
        return perform(call, verb=verb, issue_id=issue_id, expected_version=version)

    @clicks(app.action(IssueId.RATE_REOPEN), runtime)
    def reopen_from_rating(call: Click) -> str:
        issue_id, version = id_and_number(call.action)
        return perform(call, verb=service.Verb.REOPEN, issue_id=issue_id, expected_version=version)

    @clicks(app.action(RATE_ACTION), runtime)
    def rate_resolution(call: Click) -> dict[str, Any] | None:
        issue_id, rating = id_and_number(call.action)  # out of range: the service says so
        with call.unit() as ctx:
            thanks, keys = rate(ctx, issue_id, rating or 0, "")
        call.deliver(keys)
        return thanks

    @clicks(app.action(IssueId.RATE_COMMENT), runtime)
    def open_rating_form(call: Click) -> None:
        with call.unit() as ctx:
            issue, project = service.get_issue(ctx, request_id(call.action.get("value")))
            if ctx.actor_id != issue.reporter_id:  # the value may be forged: show nothing
                raise PermissionDenied(
                    Msg("issues.refused.rate_not_reporter", ref=service.issue_key(project, issue))
                )
            view = RATING_FORM.build(project.locale, project, issue, issue.rating)
        call.open(view)

    @clicks(app.action(IssueId.REMIND_TOMORROW), runtime)
    def remind_tomorrow(call: Click) -> str:
        return snooze(call, call.action.get("value") or "", None)

    @clicks(app.action(IssueId.SNOOZE_UNTIL), runtime)
    def snooze_until(call: Click) -> str:
        ids = (call.action.get("block_id") or "").partition(":")[2]
        return snooze(call, ids, call.action.get("selected_date") or "")

    @clicks(app.action(PAGE_ACTION), runtime)
    def turn_list_page(call: Click) -> dict[str, Any]:
        page, _, raw = (call.action.get("value") or "1|").partition("|")
        try:
            return list_page(call, raw.split(), fields.whole_number(page) or 1)
        except LiaisonError as error:  # the list's place says why
            return {"text": call.refusal(error)}

    @clicks(app.action(IssueId.HOME_LIST), runtime)
    def list_from_home(call: Click) -> None:
        """A dashboard's "Open issues": the project's open issues, as `/issue list CODE` lists
        them, in a tool's modal (paged in place)."""
        with call.unit() as ctx:
            project = call.project(ctx)  # a forged id lists only what the person may see
        message = list_page(call, ["open", f"project:{project.code}"], 1)
        title = plain(project.locale, "dashboard.open_issues")
        call.open(ui.tool_modal(title, message, plain(project.locale, "common.close")))

    @clicks(app.action(IssueId.HOME_OPEN), runtime)
    def open_issue_from_home(call: Click) -> None:
        with call.unit() as ctx:
            issue, project = service.get_issue(ctx, request_id(call.action.get("value")))
            if not service.can_see(ctx, project, issue):
                # the card's menu offers it to the whole channel: say whose it is, by its key
                ref = service.issue_key(project, issue)
                raise PermissionDenied(Msg("issues.menu.details_refused", ref=ref))
            view = views.issue_detail_modal(
                project.locale,
                project,
                issue,
                service.allowed_verbs(ctx, project, issue),
                service.history(ctx, issue),
            )
        call.open(view)

    # The channel card's menu: the verbs that are not buttons there, and the details.
    menu = {views.verb_action_id(verb): act_on_issue for verb in service.ALL_VERBS}
    menu[IssueId.HOME_OPEN] = open_issue_from_home
    clicks(app.action(IssueId.MORE), runtime)(listeners.menu(menu))


def snooze(call: Call, ids: str, until: date | str | None) -> str:
    """A reminder's issues left alone until a day (tomorrow when none is given)."""
    issue_ids = [ident for ident in map(fields.record_id, ids.split(",")) if ident]
    with call.unit() as ctx:
        snoozed = issue_followup.snooze(ctx=ctx, issue_ids=issue_ids, until=until)
        locale = person_locale(call.runtime, call.context, call.client, ctx)
        if snoozed:
            locale = project_service.get_project_by_id(ctx, snoozed[0].project_id).locale
        day = snoozed[0].snoozed_until if snoozed else until
        return t(locale, "issues.reminder.snoozed", count=len(snoozed), until=str(day or ""))


__all__ = ["COMMAND", "register"]
