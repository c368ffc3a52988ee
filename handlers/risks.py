"""`/risk`, the "Log as risk" message shortcut, the risk forms and the buttons of a risk's card."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.errors import Msg, PermissionDenied, ValidationError
from bot.ids import RiskId
from bot.jobs import issues as issue_notices
from bot.jobs import risks as notices
from bot.runtime import Runtime
from bot.services import fields
from bot.services import meeting_outcomes as outcomes
from bot.services import projects as project_service
from bot.services import risks as service
from bot.services.context import Ctx
from bot.views import common as ui
from bot.views import risks as views
from handlers import listeners
from handlers.common import dm, person_locale, request_id, user_ids_in
from handlers.listeners import (
    CODE,
    NUMBER,
    PERSON,
    PM,
    TEXT,
    Click,
    Command,
    CommandCall,
    Form,
    FormCall,
    Right,
    Subcommand,
    choice,
    clicks,
)
from storage.models import Project, Risk, RiskSettings

FROM_MEETING_ACTION = re.compile("^" + re.escape(RiskId.FROM_MEETING) + r"_\d+$")
PAGE_ACTION = listeners.page_action(RiskId.LIST_PAGE)
# Closing, reopening, changing the owner and exporting are for the project's PMs and team; raising,
# assessing and adding actions are checked by the service (key users, a risk's owner).
RISK_TEAM = Right("team", service.is_team, "risk.errors.not_team")
RAISERS = Right("raisers", service.can_raise, "risk.errors.cannot_raise", "risk.errors.no_projects")


def located(call: CommandCall, ctx: Ctx) -> tuple[Risk, Project]:
    """The risk a command names by its number, in the project it names (or the channel's)."""
    return call.numbered(ctx, service.find_risk)


def card(ctx: Ctx, risk: Risk, project: Project) -> dict[str, Any]:
    return views.risk_card(project.locale, service.detail(ctx, risk, project))


# ---------------------------------------------------------------------------- raising one


def open_new_form(call: CommandCall, defaults: service.RiskInput | None = None) -> None:
    """The form that raises a risk: in the project named, else the channel's, else one of those
    the person may raise risks in (chosen when there is only one)."""
    with call.unit() as ctx:
        project, projects = call.project_choice(ctx)
        locale = (
            project.locale
            if project
            else person_locale(call.runtime, call.context, call.client, ctx)
        )
        view = new_form_view(ctx, locale, project, projects, defaults or service.RiskInput())
    call.open(view)


def new_form_view(
    ctx: Ctx,
    locale: str,
    project: Project | None,
    projects: list[Project],
    defaults: service.RiskInput,
    meeting: tuple[int, str, str] | None = None,
) -> dict[str, Any]:
    return NEW_FORM.build(
        locale,
        projects=projects,
        project=project,
        defaults=defaults,
        categories=service.categories(ctx, project) if project else service.CATEGORIES,
        team=any(service.is_team(ctx, p) for p in projects),
        thresholds=service.thresholds(ctx, project) if project else service.Thresholds(),
        meeting=meeting,
    )


def new_risk(call: CommandCall) -> None:
    open_new_form(call)


def risk_input(values: dict[str, Any]) -> service.RiskInput:
    texts = ("title", "description", "category", "module", "strategy", "actions", "issue_refs")
    return service.RiskInput(
        **{name: values.get(name) or "" for name in texts},
        probability=values.get("probability"),
        impact=values.get("impact"),
        owner_id=values.get("owner_id"),
        review_on=values.get("review_on"),
        key_user_ids=list(values.get("key_user_ids") or []),
        visible_in_channel="yes" in (values.get("visible_in_channel") or []),
    )


Told = tuple[str, list[str]]


def save_new_risk(call: FormCall, ctx: Ctx) -> Told:
    project = call.project(ctx)
    meeting = call.metadata.get("meeting")
    origin = outcomes.risk_origin(ctx, project, meeting) if meeting not in (None, "") else None
    change = service.create_risk(ctx=ctx, project=project, data=call.data, origin=origin)
    text = views.change_text(
        project.locale,
        project,
        change.risk,
        "raised",
        level=views.level_text(project.locale, change.risk, change.grade, labelled=False),
    )
    return text, notices.announce_high(ctx, change)


def tell_and_deliver(call: FormCall, told: Told) -> None:
    text, keys = told
    call.deliver(keys)
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))


# ------------------------------------------------------------------------------- commands


list_risks = listeners.scoped_list(service.list_risks, views.LIST_PAGE_SIZE, views.list_message)


list_from_home = listeners.opens_tool(
    RAISERS,
    "risk.tool.list",
    lambda ctx, project, click: views.list_message(
        project.locale,
        service.list_risks(ctx, project, "open", page_size=views.LIST_PAGE_SIZE),
        click.runtime.settings.command("risk"),
    ),
)


def show_risk(call: CommandCall) -> dict[str, Any]:
    with call.unit() as ctx:
        risk, project = located(call, ctx)
        return card(ctx, risk, project)


def open_assess_form(call: CommandCall) -> None:
    with call.unit() as ctx:
        risk, project = located(call, ctx)
        view = assess_form_view(ctx, risk, project)
    call.open(view)


def assess_form_view(ctx: Ctx, risk: Risk, project: Project) -> dict[str, Any]:
    require_assessor(ctx, risk, project)
    return ASSESS_FORM.build(project.locale, project, risk)


def action_form_view(ctx: Ctx, risk: Risk, project: Project) -> dict[str, Any]:
    require_assessor(ctx, risk, project)
    return ACTION_FORM.build(project.locale, project, risk)


def close_form_view(ctx: Ctx, risk: Risk, project: Project) -> dict[str, Any]:
    RISK_TEAM.check(ctx, project)
    return CLOSE_FORM.build(project.locale, project, risk)


def require_assessor(ctx: Ctx, risk: Risk, project: Project) -> None:
    if not service.can_assess(ctx, project, risk):
        raise PermissionDenied(Msg("risk.errors.not_assessor", ref=service.risk_ref(risk)))


Act = Callable[[CommandCall, Ctx, Risk, Project], Any]


def change(done: str, act: Act) -> Callable[[CommandCall], str]:
    """A subcommand that changes the risk it names and says so (`risk.done.<done>`)."""

    def run(call: CommandCall) -> str:
        with call.unit() as ctx:
            risk, project = located(call, ctx)
            act(call, ctx, risk, project)
            return views.change_text(project.locale, project, risk, done, owner=risk.owner_id)

    return run


def _owner(call: CommandCall) -> str:
    people = user_ids_in(call.args.get("person") or "")
    return people[0] if people else ""


close_risk = change(
    "closed",
    lambda call, ctx, risk, project: service.close(
        ctx=ctx, risk=risk, project=project, reason=call.args.get("text") or ""
    ),
)
reopen_risk = change(
    "reopened",
    lambda call, ctx, risk, project: service.reopen(ctx=ctx, risk=risk, project=project),
)
change_owner = change(
    "owner",
    lambda call, ctx, risk, project: service.set_owner(
        ctx=ctx, risk=risk, project=project, owner_id=_owner(call)
    ),
)
add_action = change(
    "action",
    lambda call, ctx, risk, project: service.add_action(
        ctx=ctx, risk=risk, project=project, text=call.args.get("text") or ""
    ),
)


def open_settings(call: CommandCall) -> None:
    """`/risk settings`: the project's categories and grade thresholds (PMs)."""
    with call.unit() as ctx:
        project = call.project(ctx)
        row = project_service.settings_row(ctx, RiskSettings, project)
        view = SETTINGS_FORM.build(
            project.locale, project, list(row.categories), service.thresholds(ctx, project)
        )
    call.open(view)


def settings_input(values: dict[str, Any]) -> service.SettingsInput:
    return service.SettingsInput(
        categories=values.get("categories") or "",
        low_max=values.get("low_max"),
        medium_max=values.get("medium_max"),
    )


def save_settings(call: FormCall, ctx: Ctx) -> str:
    project = call.project(ctx)
    row = service.save_settings(ctx=ctx, project=project, data=call.data)
    return views.settings_saved(
        project.locale, project, list(row.categories), row.low_max, row.medium_max
    )


def confirm_settings(call: FormCall, text: str) -> None:
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))
    call.refresh_home()


def open_import(call: CommandCall) -> None:
    with call.unit() as ctx:
        project = call.project(ctx)
        view = IMPORT_FORM.build(project.locale, project)
    call.open(view)


def run_import(call: FormCall, ctx: Ctx, project: Project, text: str) -> dict[str, Any]:
    report = service.import_csv(ctx=ctx, project=project, text=text)
    return views.import_report(project.locale, project, report)


def export(call: CommandCall) -> str:
    """Every risk of a project as a CSV file in the person's DMs."""
    return call.export("risk", "risks", service.export_csv)


# ---------------------------------------------------------------------- forms about one risk


def risk_of_form(call: FormCall, ctx: Ctx) -> tuple[Risk, Project, int | None]:
    """The risk a form names in its metadata (which may be forged: the service checks the
    person's rights on it) and the version the person saw."""
    risk, project = service.get_risk(ctx, request_id(call.metadata.get("risk_id")))
    call.locale = project.locale
    return risk, project, fields.whole_number(call.metadata.get("version"))


def save_assessment(call: FormCall, ctx: Ctx) -> Told:
    risk, project, version = risk_of_form(call, ctx)
    change = service.assess(
        ctx=ctx,
        risk=risk,
        project=project,
        probability=call.values.get("probability"),
        impact=call.values.get("impact"),
        note=call.values.get("note") or "",
        review_on=call.values.get("review_on"),
        expected_version=version,
    )
    text = views.assessed_text(project.locale, project, risk, change.grade)
    return text, notices.announce_high(ctx, change)


def save_closing(call: FormCall, ctx: Ctx) -> Told:
    risk, project, version = risk_of_form(call, ctx)
    service.close(
        ctx=ctx,
        risk=risk,
        project=project,
        reason=call.values.get("reason") or "",
        expected_version=version,
    )
    return views.change_text(project.locale, project, risk, "closed"), []


def save_action(call: FormCall, ctx: Ctx) -> Told:
    risk, project, _ = risk_of_form(call, ctx)
    service.add_action(
        ctx=ctx,
        risk=risk,
        project=project,
        text=call.values.get("text") or "",
        owner_id=call.values.get("owner_id"),
    )
    return views.change_text(project.locale, project, risk, "action"), []


# ------------------------------------------------------------------------ the declarations

NEW_FORM = Form(
    RiskId.NEW_MODAL,
    build=views.new_risk_modal,
    read=risk_input,
    submit=save_new_risk,
    after=tell_and_deliver,
)
ASSESS_FORM = Form(
    RiskId.ASSESS_MODAL, build=views.assess_modal, submit=save_assessment, after=tell_and_deliver
)
CLOSE_FORM = Form(
    RiskId.CLOSE_MODAL, build=views.close_modal, submit=save_closing, after=tell_and_deliver
)
ACTION_FORM = Form(
    RiskId.ACTION_MODAL, build=views.action_modal, submit=save_action, after=tell_and_deliver
)
SETTINGS_FORM = Form(
    RiskId.SETTINGS_MODAL,
    build=views.settings_modal,
    read=settings_input,
    who=PM,
    submit=save_settings,
    after=confirm_settings,
)
IMPORT_FORM = listeners.csv_import_form(
    RiskId.IMPORT_MODAL,
    run_import,
    who=RISK_TEAM,
    build=views.import_modal,
    done=lambda call: call.refresh_home(),
)
FORMS = (NEW_FORM, ASSESS_FORM, CLOSE_FORM, ACTION_FORM, SETTINGS_FORM, IMPORT_FORM)
FORMS_OF_BUTTONS = {
    RiskId.ASSESS: assess_form_view,
    RiskId.CLOSE: close_form_view,
    RiskId.ADD_ACTION: action_form_view,
}
FILTER = choice("filter", *service.LIST_FILTERS)
NEW = Subcommand("new", new_risk, args=(CODE,), who=RAISERS)
COMMAND = Command(
    name="risk",
    catalog="risk",
    subcommands=(
        NEW,
        Subcommand("list", list_risks, args=(CODE, FILTER), who=RAISERS, tool=True),
        Subcommand("show", show_risk, args=(CODE, NUMBER)),
        Subcommand("assess", open_assess_form, args=(CODE, NUMBER)),
        Subcommand("close", close_risk, args=(CODE, NUMBER, TEXT), who=RISK_TEAM),
        Subcommand("reopen", reopen_risk, args=(CODE, NUMBER), who=RISK_TEAM),
        Subcommand("owner", change_owner, args=(CODE, NUMBER, PERSON), who=RISK_TEAM),
        Subcommand("action", add_action, args=(CODE, NUMBER, TEXT)),
        Subcommand("export", export, args=(CODE,), who=RISK_TEAM),
        Subcommand("import", open_import, args=(CODE,), who=RISK_TEAM),
        Subcommand("settings", open_settings, args=(CODE,), who=PM),
    ),
    other=show_risk,
    other_args=(CODE, NUMBER),
)


# --------------------------------------------------------------------------------- clicks


def clicked_risk(ctx: Ctx, click: Click) -> tuple[Risk, Project, int | None]:
    """A card button's `<risk id>:<version>`: the risk, if the clicker may see it."""
    risk_id, _, version = str(click.value or "").partition(":")
    risk, project = service.get_risk(ctx, request_id(risk_id))
    click.locale = project.locale
    return risk, project, fields.whole_number(version)


def log_from_message(click: Click) -> None:
    """The "Log as risk" shortcut: the form, prefilled from the message."""
    message = click.body.get("message") or {}
    text = (message.get("text") or "").strip()
    first_line = text.splitlines()[0] if text else ""
    as_new = CommandCall(
        runtime=click.runtime,
        client=click.client,
        context=click.context,
        locale=click.locale,
        command=click.runtime.settings.command("risk"),
        sub=NEW,
        args={},
        channel_id=(click.body.get("channel") or {}).get("id"),
        trigger_id=click.trigger_id,
    )
    defaults = service.RiskInput(
        title=ui.clip(first_line, service.TITLE_LIMIT),
        description=ui.clip(text, service.DESCRIPTION_LIMIT),
    )
    open_new_form(as_new, defaults)


def raise_from_meeting(click: Click) -> None:
    """A meeting summary's "Raise a risk" button: the risk form, in the meeting's project, its
    title the decision's or action item's text; the risk's history will name the meeting."""
    with click.unit() as ctx:
        found = outcomes.risk_source(ctx, click.value)
        project = found.project
        origin = outcomes.risk_origin(ctx, project, found.event_id)
        defaults = service.RiskInput(
            title=ui.clip(found.text, service.TITLE_LIMIT),
            description=found.text if len(found.text) > service.TITLE_LIMIT else "",
        )
        view = new_form_view(
            ctx,
            project.locale,
            project,
            [project],
            defaults,
            meeting=(found.event_id, origin["meeting"], origin["meeting_on"]),
        )
    click.open(view)


def open_form(click: Click) -> None:
    """A card's button that opens a form about its risk (each form's builder checks the
    clicker's right)."""
    with click.unit() as ctx:
        risk, project, version = clicked_risk(ctx, click)
        if version != risk.version:  # a card shown before the risk changed
            raise ValidationError({"risk": Msg("risk.errors.stale", ref=service.risk_ref(risk))})
        view = FORMS_OF_BUTTONS[RiskId(click.action_id)](ctx, risk, project)
    click.open(view)


def reopen_from_card(click: Click) -> dict[str, Any]:
    with click.unit() as ctx:
        risk, project, version = clicked_risk(ctx, click)
        service.reopen(ctx=ctx, risk=risk, project=project, expected_version=version)
        return card(ctx, risk, project)


def action_to_issue(click: Click) -> dict[str, Any] | None:
    """An action of the card becomes an issue, once; the card comes back naming it."""
    with click.unit() as ctx:
        if not ctx.claim(f"risk_action_to_issue:{click.value}"):
            return None
        _, risk, change = service.action_to_issue(ctx=ctx, action_id=click.value)
        keys = issue_notices.announce_created(ctx, change)
        answer = card(ctx, risk, change.project)
    click.deliver(keys)
    click.refresh_home(click.user_id, change.issue.owner_id or "")
    return answer


open_from_dm = listeners.opens_by_dm(service.get_risk, card)


turn_list_page = listeners.list_pages(
    RAISERS,
    service.list_risks,
    service.LIST_FILTERS,
    views.LIST_PAGE_SIZE,
    views.list_message,
    "risk",
)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, command=COMMAND, forms=FORMS)
    clicks(app.shortcut(RiskId.LOG_FROM_MESSAGE), runtime)(log_from_message)
    for action_id in FORMS_OF_BUTTONS:
        clicks(app.action(action_id), runtime)(open_form)
    clicks(app.action(RiskId.REOPEN), runtime)(reopen_from_card)
    clicks(app.action(RiskId.ACTION_TO_ISSUE), runtime)(action_to_issue)
    clicks(app.action(RiskId.OPEN), runtime)(open_from_dm)
    clicks(app.action(RiskId.HOME_LIST), runtime)(list_from_home)
    clicks(app.action(PAGE_ACTION), runtime)(turn_list_page)
    clicks(app.action(FROM_MEETING_ACTION), runtime)(raise_from_meeting)


__all__ = ["COMMAND", "FORMS", "register"]
