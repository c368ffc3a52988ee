"""`/digest` (preview, send, settings), the digest's buttons and the Home tab's paging."""

from __future__ import annotations

import logging
from typing import Any

from markupsafe import Markup
from slack_bolt import App

from bot.errors import Msg, PermissionDenied
from bot.i18n import plain, t
from bot.ids import DigestId
from bot.jobs import digest as digest_jobs
from bot.runtime import Runtime
from bot.services import digest as service
from bot.services import digest_schedule as schedule
from bot.services import fields
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import common as ui
from bot.views import digest as views
from bot.views import home as home_views
from handlers import listeners
from handlers.common import request_id
from handlers.home import publish_home
from handlers.listeners import (
    CODE,
    Click,
    Command,
    CommandCall,
    Form,
    FormCall,
    Right,
    Subcommand,
    clicks,
)
from storage.models import Project

log = logging.getLogger(__name__)


def _pm_project(ctx: Ctx, raw_id: Any) -> Project:
    """The project a button names, if the clicker manages it: ids in buttons may be forged."""
    project = project_service.get_project_by_id(ctx, request_id(raw_id))
    if not project_service.can_manage(ctx, project):
        raise PermissionDenied(Msg("digest.errors.not_pm", code=project.code))
    return project


DIGEST_PM = Right("pm", project_service.can_manage, "digest.errors.not_pm")


def preview(call: CommandCall) -> dict[str, Any]:
    with call.unit() as ctx:
        project = call.project(ctx)
        digest = service.build_digest(ctx, project, now=ctx.now())
        return views.digest_message(digest, preview_command=call.command)


def send(call: CommandCall) -> str:
    with call.unit() as ctx:
        project = call.project(ctx)
        keys, counted = digest_jobs.send_now(ctx, project)
        target = schedule.settings_of(ctx, project).target
        locale = project.locale
        text = t(
            locale,
            "digest.sent",
            code=project.code,
            where=Markup(views.where_label(locale, target)),
        )
        text += " " + t(locale, "digest.sent_counts" if counted else "digest.sent_extra")
    call.deliver(keys)
    return text


def open_settings(call: CommandCall) -> None:
    with call.unit() as ctx:
        project = call.project(ctx)
        view = SETTINGS_FORM.build(
            project.locale, project, schedule.settings_of(ctx, project).target
        )
    call.open(view)


def settings_input(values: dict[str, Any]) -> schedule.SettingsInput:
    return schedule.SettingsInput(
        weekday=values.get("digest_weekday") or "",
        time=values.get("digest_time") or "",
        target=values.get("digest_target") or "",
    )


def save_settings(call: FormCall, ctx: Ctx) -> str:
    project = call.project(ctx)
    row = schedule.update_settings(ctx=ctx, project=project, data=call.data)
    return views.settings_saved(project.locale, project, row.target)


def confirm_settings(call: FormCall, confirmation: str) -> None:
    call.client.chat_postMessage(channel=call.user_id, text=confirmation)


def reminded(project: Project, keys: list[str]) -> str:
    key = "digest.reminded" if keys else "digest.nobody_to_remind"
    return t(project.locale, key, count=len(keys), code=project.code)


def remind_from_form(call: FormCall, ctx: Ctx) -> tuple[list[str], str]:
    project = call.project(ctx)
    keys = digest_jobs.remind_owners(ctx, project)
    return keys, reminded(project, keys)


def tell_reminded(call: FormCall, result: tuple[list[str], str]) -> None:
    keys, text = result
    call.deliver(keys)
    call.client.chat_postMessage(channel=call.user_id, text=text)


REMIND_FORM = Form(
    DigestId.REMIND_MODAL,
    build=views.remind_modal,
    who=DIGEST_PM,
    submit=remind_from_form,
    after=tell_reminded,
)
SETTINGS_FORM = Form(
    DigestId.SETTINGS_MODAL,
    build=views.settings_modal,
    read=settings_input,
    who=DIGEST_PM,
    submit=save_settings,
    after=confirm_settings,
)
FORMS = (SETTINGS_FORM, REMIND_FORM)
COMMAND = Command(
    name="digest",
    catalog="digest",
    subcommands=(
        Subcommand("preview", preview, args=(CODE,), who=DIGEST_PM, tool=True),
        Subcommand("send", send, args=(CODE,), who=DIGEST_PM),
        Subcommand("settings", open_settings, args=(CODE,), who=DIGEST_PM),
    ),
)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, command=COMMAND, forms=FORMS)

    @clicks(app.action(DigestId.OPEN_DASHBOARD), runtime)
    def open_dashboard(click: Click) -> None:
        with click.unit() as ctx:
            project = _pm_project(ctx, click.value)
            dashboard = service.project_dashboard(
                ctx, project, at_risk_limit=home_views.RISK_PAGE * 3
            )
            blocks = home_views.project_dashboard(project.locale, dashboard, in_modal=True)
            view = ui.modal(
                callback_id=DigestId.OPEN_DASHBOARD,
                title=plain(project.locale, "dashboard.modal_title"),
                close=plain(project.locale, "common.close"),
                blocks=blocks,
            )
        click.open(view)

    @clicks(app.action(DigestId.HOME_SETTINGS), runtime)
    def settings_from_home(click: Click) -> None:
        """A new project's next step on the PM's Home: the digest's settings."""
        with click.unit() as ctx:
            project = _pm_project(ctx, click.value)
            view = SETTINGS_FORM.build(
                project.locale, project, schedule.settings_of(ctx, project).target
            )
        click.open(view)

    @clicks(app.action(DigestId.REMIND_OWNERS), runtime)
    def remind_owners(click: Click) -> str:
        with click.unit() as ctx:
            project = _pm_project(ctx, click.value)
            if click.from_menu:  # the channel digest's menu asked nothing: its form asks
                overdue = service.overdue_by_owner(ctx, project).values()
                view = REMIND_FORM.build(project.locale, project, sum(map(len, overdue)))
            else:
                view = None
                keys = digest_jobs.remind_owners(ctx, project)
                text = reminded(project, keys)
        if view is not None:
            click.open(view)
            return ""
        click.deliver(keys)
        return text

    menu = {DigestId.OPEN_DASHBOARD: open_dashboard, DigestId.REMIND_OWNERS: remind_owners}
    clicks(app.action(DigestId.MORE), runtime)(listeners.menu(menu))

    @clicks(app.action(DigestId.HOME_PAGE), runtime)
    @clicks(app.action(DigestId.HOME_PAGE_BACK), runtime)
    def page_home(click: Click) -> None:
        """ "Show more" / "Show less" on the Home tab: publish it again at the asked page."""
        section, _, rest = (click.value or "").partition(":")
        project_id, _, page = rest.partition(":")
        key = "issues" if section == "issues" else f"risk:{project_id}"
        pages = {key: fields.whole_number(page) or 0}
        if section == "risk" and (ident := fields.record_id(project_id)):
            pages["project"] = ident
        publish_home(runtime, click.client, click.team_id, click.user_id, pages)

    @clicks(app.action(DigestId.HOME_PICK_PROJECT), runtime)
    def pick_project(click: Click) -> None:
        raw = (click.action.get("selected_option") or {}).get("value") or ""
        ident = fields.record_id(raw)
        pages = {"project": ident} if ident else {}
        publish_home(runtime, click.client, click.team_id, click.user_id, pages)
