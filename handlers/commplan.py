"""`/project plan CODE` (the paged plan and its entry form) and the owner's due DM: Done, Snooze,
Schedule meeting and Draft report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import Msg, ValidationError
from bot.i18n import t
from bot.ids import PlanId
from bot.runtime import Runtime
from bot.services import commplan as service
from bot.services import fields
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.slack_io import display_name, user_profile
from bot.views import common as ui
from bot.views import commplan as views
from bot.views import phases as phase_views
from handlers import listeners
from handlers.common import dm, error_text, open_modal, request_id, unit, update_sent
from handlers.listeners import Call, Click, Clicked, CommandCall, Form, FormCall, Right, clicks
from storage.models import Project

# The plan is made and changed by the PMs and the team (a workspace admin too).
PLANNER = Right("team", project_service.can_see_register, "plan.errors.not_team")


def entry_input(values: dict[str, Any]) -> service.PlanEntryInput:
    return service.PlanEntryInput(
        audience_kind=values.get("audience_kind") or "",
        role=values.get("role"),
        quadrant=values.get("quadrant"),
        person=values.get("person"),
        kind=values.get("kind") or "",
        cadence=values.get("cadence") or "",
        custom_rule=values.get("custom_rule") or "",
        first_date=values.get("first_date") or None,
        first_time=(values.get("first_time") or "").strip(),
        channel=values.get("channel") or "",
        owner_id=values.get("owner_id"),
        note=values.get("note") or "",
    )


def plan_view(ctx: Ctx, project: Project, page: int) -> dict[str, Any]:
    entries, pages = service.plan_page(ctx, project, page)
    total = len(service.active_entries(ctx, project))
    page = min(max(page, 0), pages - 1)
    return views.plan_modal(project.locale, project, entries, page=page, pages=pages, total=total)


def open_plan(call: CommandCall) -> None:
    """`/project plan [CODE]`: the plan of a project as a paged modal (PMs and team only)."""
    with call.unit() as ctx:
        view = plan_view(ctx, call.project(ctx), 0)
    call.open(view)


def open_plan_modal(
    runtime: Runtime, client: WebClient, trigger_id: str, context: BoltContext, *, project_id: int
) -> None:
    """The plan of a project as a paged modal (PMs and team only), from a button."""
    with unit(runtime, context, client) as ctx:
        view = plan_view(ctx, project_service.get_project_by_id(ctx, project_id), 0)
    open_modal(client, trigger_id, view)


def tell(call: Call, text: str) -> None:
    """A DM to the person who acted (the due DM's answers come as DMs, wherever they clicked)."""
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))


def refresh_due_message(call: Call, ts: Any, occurrence_id: int) -> None:
    """Show the new state of every item of the due DM the person acted from (buttons gone where
    it was acted on). That DM is the app's own DM to them at ``ts`` listing the item, as the
    outbox recorded it; for a ts naming anything else the new state comes in a new DM."""
    with call.unit() as ctx:
        item = service.occurrence_for_owner(ctx, occurrence_id)
        locale = item.project.locale
        text = views.item_state(locale, item)
        sent = service.due_message(ctx, str(ts or ""))
        sent_blocks = (sent.payload.get("blocks") or []) if sent else []
        listed = views.occurrence_ids_in(sent_blocks)
        items = service.items_for_owner(ctx, listed) if occurrence_id in listed else []
    redrawn = views.due_dm(locale, items, phase_views.kept_due_blocks(sent_blocks))
    if items and update_sent(call.client, sent, redrawn):
        return
    if text:
        tell(call, text)


def due_source(body: dict[str, Any]) -> dict[str, Any]:
    """Which due DM the clicked button is in (its ts: a claim the outbox must confirm)."""
    message = body.get("message") or {}
    return {"ts": message.get("ts") or (body.get("container") or {}).get("message_ts")}


# ------------------------------------------------------------------------------------- forms


def save_entry(call: FormCall, ctx: Ctx) -> tuple[str, dict[str, Any] | None]:
    """A new entry or a changed one; the plan it was opened from is shown again."""
    project = call.project(ctx)
    entry_id = call.metadata.get("entry_id")
    if entry_id:
        entry, _ = service.get_entry(ctx, request_id(entry_id))
        service.update_entry(ctx=ctx, entry=entry, data=call.data)
    else:
        entry = service.add_entry(ctx=ctx, project=project, data=call.data)
    root_view = plan_view(ctx, project, 0) if call.metadata.get("root_view_id") else None
    return views.saved_text(project.locale, project, entry), root_view


def show_saved_entry(call: FormCall, saved: tuple[str, dict[str, Any] | None]) -> None:
    text, root_view = saved
    if root_view is not None:
        try:
            call.client.views_update(view_id=call.metadata["root_view_id"], view=root_view)
            return
        except SlackApiError:
            pass  # the plan was closed meanwhile: confirm by DM instead
    tell(call, text)


def mark_done(call: FormCall, ctx: Ctx) -> tuple[list[str], int]:
    item = service.mark_done(
        ctx=ctx,
        occurrence_id=request_id(call.metadata.get("occurrence_id")),
        note=call.values.get("note") or "",
    )
    return [], item.occurrence.id or 0


def send_report(call: FormCall, ctx: Ctx) -> tuple[list[str], int]:
    """The reviewed report, queued to the entry's channel or its recipients' DMs."""
    item = service.occurrence_for_owner(ctx, request_id(call.metadata.get("occurrence_id")))
    locale = call.locale = item.project.locale
    if item.occurrence.status == "done":
        raise ValidationError({"report": Msg("plan.errors.already_done")})
    text = call.values.get("report") or ""
    service.record_report_sent(ctx=ctx, item=item, text=text)
    payload = views.report_message(locale, item.project, call.user_id, text)
    return service.queue_report(ctx, item, payload), item.occurrence.id or 0


def show_item_state(call: FormCall, done: tuple[list[str], int]) -> None:
    """Send what was queued, then show the item's new state in the due DM it came from."""
    keys, occurrence_id = done
    call.deliver(keys)
    refresh_due_message(call, call.metadata.get("ts"), occurrence_id)


ENTRY_FORM = Form(
    PlanId.ENTRY_MODAL,
    build=views.entry_modal,
    read=entry_input,
    who=PLANNER,
    submit=save_entry,
    after=show_saved_entry,
)
DONE_FORM = Form(PlanId.DONE_MODAL, build=views.done_modal, submit=mark_done, after=show_item_state)
REPORT_FORM = Form(
    PlanId.REPORT_MODAL, build=views.report_modal, submit=send_report, after=show_item_state
)


# ----------------------------------------------------------------------------------- buttons


def use_template(ctx: Ctx, value: Any, page: int, project_id: int) -> tuple[Project, int]:
    project = project_service.get_project_by_id(ctx, project_id)
    service.apply_template(ctx=ctx, project=project, locale=project.locale)
    return project, 0


def turn_page(ctx: Ctx, value: Any, page: int, project_id: int) -> tuple[Project, int]:
    return project_service.get_project_by_id(ctx, project_id), fields.whole_number(value) or 0


def remove_entry(ctx: Ctx, value: Any, page: int, project_id: int) -> tuple[Project, int]:
    entry, project = service.get_entry(ctx, request_id(value))
    service.remove_entry(ctx=ctx, entry=entry)
    return project, page


# What each button of the plan modal changes: the plan (or the page) to show again.
PLAN_CHANGES: dict[str, Callable[[Ctx, Any, int, int], tuple[Project, int]]] = {
    PlanId.USE_TEMPLATE: use_template,
    PlanId.PAGE: turn_page,
    PlanId.REMOVE: remove_entry,
}


def new_entry(ctx: Ctx, value: Any) -> tuple[Project, service.PlanEntryInput, int | None]:
    project = project_service.get_project_by_id(ctx, request_id(value))
    return project, service.PlanEntryInput(owner_id=ctx.actor_id), None


def existing_entry(ctx: Ctx, value: Any) -> tuple[Project, service.PlanEntryInput, int | None]:
    entry, project = service.get_entry(ctx, request_id(value))
    return project, service.entry_input(entry, project), entry.id


# What the entry form opens with, for "Add" and for "Edit".
ENTRY_PREFILLS: dict[
    str, Callable[[Ctx, Any], tuple[Project, service.PlanEntryInput, int | None]]
] = {
    PlanId.ADD: new_entry,
    PlanId.EDIT: existing_entry,
}


def done_form(ctx: Ctx, item: service.DueItem, source: dict[str, Any]) -> dict[str, Any] | None:
    """The note asked when an item is done; None when it is done already."""
    if item.occurrence.status == "done":
        return None
    return DONE_FORM.build(item.project.locale, item, source=source)


def report_form(
    ctx: Ctx,
    item: service.DueItem,
    source: dict[str, Any],
    names: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The report of the item, drafted from the project's figures since the last one."""
    locale = item.project.locale
    figures = service.report_figures(ctx, item.project, service.report_since(ctx, item))
    draft = views.report_draft(locale, figures, names)
    return REPORT_FORM.build(locale, item, draft, source=source)


def slack_names(client: WebClient) -> Callable[[str], str]:
    """A person's name as Slack gives it (their id when Slack does not know them)."""

    def name(user_id: str) -> str:
        try:
            profile = user_profile(client, user_id)
        except SlackApiError:
            return user_id
        return display_name(profile) if profile else user_id

    return name


# The form each button of a due item opens.
ITEM_FORMS: dict[str, Callable[[Ctx, service.DueItem, dict[str, Any]], dict[str, Any] | None]] = {
    PlanId.DUE_DONE: done_form,
    PlanId.DUE_DRAFT: report_form,
}


FORMS = (ENTRY_FORM, DONE_FORM, REPORT_FORM)


def change_plan(click: Click) -> None:
    """A button of the plan modal: change the plan (or the page), then show it again."""
    metadata = ui.read_metadata(click.body["view"])
    page = fields.whole_number(metadata.get("page")) or 0
    with click.unit() as ctx:
        project, page = PLAN_CHANGES[click.action_id](
            ctx, click.value, page, request_id(metadata.get("project_id"))
        )
        shown = plan_view(ctx, project, page)
    click.client.views_update(view_id=click.view_id, view=shown)


def open_entry_form(click: Click) -> None:
    """The plan's "Add" and "Edit": the entry form, over the plan (or alone, from a DM)."""
    root_view_id = click.view_id or None
    with click.unit() as ctx:
        project, data, entry_id = ENTRY_PREFILLS[click.action_id](ctx, click.value)
        service.require_planner(ctx, project)
        view = ENTRY_FORM.build(
            project.locale, project, data, entry_id=entry_id, root_view_id=root_view_id
        )
    if root_view_id:
        click.client.views_push(trigger_id=click.trigger_id, view=view)
    else:
        click.open(view)


# ------------------------------------------------------------------- the owner's due DM


def open_item_form(click: Click) -> None:
    """A due item's "Done" asks for a note, its "Draft report" opens the report to review."""
    with click.unit() as ctx:
        item = service.occurrence_for_owner(ctx, request_id(click.value))
        source = due_source(click.body)
        if click.action_id == PlanId.DUE_DRAFT:  # its risks' owners named as Slack names them
            view = report_form(ctx, item, source, slack_names(click.client))
        else:
            view = ITEM_FORMS[click.action_id](ctx, item, source)
    if view is None:
        tell(click, t(item.project.locale, "plan.answer.already_done"))
        return
    click.open(view)


def snooze_item(click: Click) -> None:
    try:
        with click.unit() as ctx:
            item = service.snooze(ctx=ctx, occurrence_id=request_id(click.value))
    except ValidationError as error:
        tell(click, error_text(click.runtime.settings.locale, error))
        return
    refresh_due_message(click, due_source(click.body)["ts"], item.occurrence.id or 0)


BUTTONS: dict[str, Clicked] = {
    PlanId.USE_TEMPLATE: change_plan,
    PlanId.PAGE: change_plan,
    PlanId.REMOVE: change_plan,
    PlanId.ADD: open_entry_form,
    PlanId.EDIT: open_entry_form,
    PlanId.DUE_DONE: open_item_form,
    PlanId.DUE_DRAFT: open_item_form,
    PlanId.DUE_SNOOZE: snooze_item,
}


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, forms=FORMS)
    for action_id, run in BUTTONS.items():
        clicks(app.action(action_id), runtime)(run)
