"""`/project plan CODE` (the paged plan and its entry form) and the owner's due DM: Done, Snooze,
Schedule meeting and Draft report."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.delivery import RECORD_LIFETIME, enqueue
from bot.errors import LiaisonError, Msg, ValidationError
from bot.i18n import t
from bot.ids import PlanId
from bot.runtime import Runtime
from bot.services import commplan as service
from bot.services import fields
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import common as ui
from bot.views import commplan as views
from handlers.common import dm, error_text, open_modal, refuse_form, request_id, unit, update_sent


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


def plan_view(ctx: Ctx, project: Any, page: int) -> dict[str, Any]:
    entries, pages = service.plan_page(ctx, project, page)
    total = len(service.active_entries(ctx, project))
    page = min(max(page, 0), pages - 1)
    return views.plan_modal(project.locale, project, entries, page=page, pages=pages, total=total)


def open_plan_modal(
    runtime: Runtime,
    client: WebClient,
    trigger_id: str,
    context: BoltContext,
    *,
    code: str | None = None,
    channel_id: str | None = None,
    project_id: int | None = None,
) -> None:
    """The plan of a project as a paged modal (PMs and team only)."""
    with unit(runtime, context, client) as ctx:
        project = (
            project_service.get_project_by_id(ctx, project_id)
            if project_id is not None
            else project_service.resolve_project(ctx, code, channel_id)
        )
        view = plan_view(ctx, project, 0)
    open_modal(client, trigger_id, view)


def refresh_due_message(
    runtime: Runtime, client: WebClient, context: BoltContext, ts: Any, occurrence_id: int
) -> None:
    """Show the new state of every item of the due DM the person acted from (buttons gone where
    it was acted on). That DM is the app's own DM to them at ``ts`` listing the item, as the
    outbox recorded it; for a ts naming anything else the new state comes in a new DM."""
    with unit(runtime, context, client) as ctx:
        item = service.occurrence_for_owner(ctx, occurrence_id)
        locale = item.project.locale
        text = views.item_state(locale, item)
        sent = service.due_message(ctx, str(ts or ""))
        listed = views.occurrence_ids_in(sent.payload.get("blocks") or []) if sent else []
        items = service.items_for_owner(ctx, listed) if occurrence_id in listed else []
    if items and update_sent(client, sent, views.due_dm(locale, items)):
        return
    if text:
        dm(client, context.user_id or "", ui.message(text, [ui.section(text)]))


def due_source(body: dict[str, Any]) -> dict[str, Any]:
    """Which due DM the clicked button is in (its ts: a claim the outbox must confirm)."""
    message = body.get("message") or {}
    return {"ts": message.get("ts") or (body.get("container") or {}).get("message_ts")}


def register(app: App, runtime: Runtime) -> None:
    settings = runtime.settings

    def refresh(client: WebClient, context: BoltContext, view_id: str, page: int, pid: int) -> None:
        with unit(runtime, context, client) as ctx:
            project = project_service.get_project_by_id(ctx, pid)
            view = plan_view(ctx, project, page)
        client.views_update(view_id=view_id, view=view)

    def root(body: dict[str, Any]) -> tuple[str, int, int]:
        view = body["view"]
        metadata = ui.read_metadata(view)
        page = fields.whole_number(metadata.get("page")) or 0
        return view["id"], page, request_id(metadata.get("project_id"))

    @app.action(PlanId.USE_TEMPLATE)
    def use_ready_made_plan(
        ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        view_id, _, project_id = root(body)
        with unit(runtime, context, client) as ctx:
            project = project_service.get_project_by_id(ctx, project_id)
            service.apply_template(ctx=ctx, project=project, locale=project.locale)
            view = plan_view(ctx, project, 0)
        client.views_update(view_id=view_id, view=view)

    @app.action(PlanId.PAGE)
    def turn_plan_page(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        view_id, _, project_id = root(body)
        refresh(client, context, view_id, fields.whole_number(action.get("value")) or 0, project_id)

    @app.action(PlanId.REMOVE)
    def remove_plan_entry(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        view_id, page, _ = root(body)
        with unit(runtime, context, client) as ctx:
            entry, project = service.get_entry(ctx, request_id(action.get("value")))
            service.remove_entry(ctx=ctx, entry=entry)
            view = plan_view(ctx, project, page)
        client.views_update(view_id=view_id, view=view)

    @app.action(PlanId.ADD)
    def open_new_entry_form(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        with unit(runtime, context, client) as ctx:
            project = project_service.get_project_by_id(ctx, request_id(action.get("value")))
            service.require_planner(ctx, project)
            defaults = service.PlanEntryInput(owner_id=context.user_id)
            view = views.entry_modal(
                project.locale, project, defaults, root_view_id=(body.get("view") or {}).get("id")
            )
        show_form(client, body, view)

    @app.action(PlanId.EDIT)
    def open_entry_form(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        with unit(runtime, context, client) as ctx:
            entry, project = service.get_entry(ctx, request_id(action.get("value")))
            service.require_planner(ctx, project)
            view = views.entry_modal(
                project.locale,
                project,
                service.entry_input(entry, project),
                entry_id=entry.id,
                root_view_id=(body.get("view") or {}).get("id"),
            )
        show_form(client, body, view)

    def show_form(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
        if body.get("view"):
            client.views_push(trigger_id=body["trigger_id"], view=view)
        else:
            open_modal(client, body["trigger_id"], view)

    @app.view(PlanId.ENTRY_MODAL)
    def save_plan_entry(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        metadata = ui.read_metadata(view)
        data = entry_input(ui.read_values(view))
        locale = settings.locale
        try:
            with unit(runtime, context, client) as ctx:
                project = project_service.get_project_by_id(
                    ctx, request_id(metadata.get("project_id"))
                )
                locale = project.locale
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                if metadata.get("entry_id"):
                    entry, _ = service.get_entry(ctx, request_id(metadata["entry_id"]))
                    service.update_entry(ctx=ctx, entry=entry, data=data)
                else:
                    entry = service.add_entry(ctx=ctx, project=project, data=data)
                text = views.saved_text(locale, project, entry)
                root_view = plan_view(ctx, project, 0) if metadata.get("root_view_id") else None
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        if root_view is not None:
            try:
                client.views_update(view_id=metadata["root_view_id"], view=root_view)
            except SlackApiError:
                root_view = None  # the plan was closed meanwhile: confirm by DM instead
        if root_view is None:
            dm(client, context.user_id or "", ui.message(text, [ui.section(text)]))

    # ------------------------------------------------------------------- the owner's due DM

    def tell(client: WebClient, context: BoltContext, text: str) -> None:
        dm(client, context.user_id or "", ui.message(text, [ui.section(text)]))

    @app.action(PlanId.DUE_DONE)
    def ask_done_note(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        with unit(runtime, context, client) as ctx:
            item = service.occurrence_for_owner(ctx, request_id(action.get("value")))
            locale = item.project.locale
            if item.occurrence.status == "done":
                refusal = t(locale, "plan.answer.already_done")
                view = None
            else:
                view = views.done_modal(locale, item, source=due_source(body))
        if view is None:
            tell(client, context, refusal)
            return
        open_modal(client, body["trigger_id"], view)

    @app.view(PlanId.DONE_MODAL)
    def save_done_note(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        metadata = ui.read_metadata(view)
        note = ui.read_values(view).get("note") or ""
        locale = settings.locale
        try:
            with unit(runtime, context, client) as ctx:
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                item = service.mark_done(
                    ctx=ctx, occurrence_id=request_id(metadata.get("occurrence_id")), note=note
                )
                locale = item.project.locale
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        refresh_due_message(runtime, client, context, metadata.get("ts"), item.occurrence.id or 0)

    @app.action(PlanId.DUE_SNOOZE)
    def snooze_item(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        try:
            with unit(runtime, context, client) as ctx:
                item = service.snooze(ctx=ctx, occurrence_id=request_id(action.get("value")))
        except ValidationError as error:
            tell(client, context, error_text(settings.locale, error))
            return
        ts = due_source(body)["ts"]
        refresh_due_message(runtime, client, context, ts, item.occurrence.id or 0)

    @app.action(PlanId.DUE_DRAFT)
    def draft_report(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        with unit(runtime, context, client) as ctx:
            item = service.occurrence_for_owner(ctx, request_id(action.get("value")))
            locale = item.project.locale
            figures = service.report_figures(ctx, item.project, service.report_since(ctx, item))
            draft = views.report_draft(locale, figures)
            view = views.report_modal(locale, item, draft, source=due_source(body))
        open_modal(client, body["trigger_id"], view)

    @app.view(PlanId.REPORT_MODAL)
    def send_report(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        metadata = ui.read_metadata(view)
        text = ui.read_values(view).get("report") or ""
        locale = settings.locale
        team_id = context.team_id or ""
        keys: list[str] = []
        try:
            with unit(runtime, context, client) as ctx:
                item = service.occurrence_for_owner(ctx, request_id(metadata.get("occurrence_id")))
                locale = item.project.locale
                if item.occurrence.status == "done":
                    raise ValidationError({"report": Msg("plan.errors.already_done")})
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                service.record_report_sent(ctx=ctx, item=item, text=text)
                payload = views.report_message(locale, item.project, context.user_id or "", text)
                channel, people = service.report_targets(item)
                occurrence_id = item.occurrence.id
                for target in [channel] if channel else people:
                    key = f"plan:report:{occurrence_id}:{target}"
                    enqueue(
                        ctx.session,
                        team_id=ctx.team_id,
                        key=key,
                        payload={"channel": target, **payload},
                        now=ctx.now(),
                        subject=f"plan:{occurrence_id}",
                        expires_at=ctx.now() + RECORD_LIFETIME,  # a report, read any time
                    )
                    keys.append(key)
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        runtime.sender().deliver_due(team_id=team_id, keys=keys)
        refresh_due_message(runtime, client, context, metadata.get("ts"), occurrence_id or 0)
