"""Listeners of the go-live gate: `/project golive [CODE] [chart|settings]` (the rows are in
`handlers/projects.py`'s table), the thresholds form and the Home tab's button."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.i18n import plain, t
from bot.ids import GoLiveId
from bot.runtime import Runtime
from bot.services import golive as service
from bot.services import projects as project_service
from bot.views import common as ui
from bot.views import golive as views
from handlers import listeners
from handlers.common import dm, dm_file
from handlers.listeners import (
    PM,
    Click,
    CommandCall,
    Form,
    FormCall,
    Right,
    choice,
    clicks,
)

READERS = Right(
    "golive_readers", service.can_see, "golive.errors.not_allowed", "errors.no_managed_projects"
)
WHAT = choice("what", "chart", "settings")


def show_gate(call: CommandCall) -> dict[str, Any] | str | None:
    """The gate (the asker's module only for a key user); `chart` sends the overview by DM,
    `settings` opens the thresholds form (PMs)."""
    what = call.args.get("what")
    if what == "settings":
        open_settings(call)
        return None
    from bot import golive_charts

    with call.unit() as ctx:
        project = call.project(ctx)
        own = service.visible_module(ctx, project)
        gate = service.compute(ctx, project, own)
        locale, code = project.locale, project.code
    if what == "chart":
        dm_file(
            call.client,
            call.user_id,
            content=golive_charts.gate_chart(gate, locale),
            filename=f"{code}-golive.png",
            title=plain(locale, "golive.chart_title", code=code),
            initial_comment=t(locale, "golive.chart_comment", code=code),
        )
        return t(locale, "golive.chart_posted", code=code)
    return views.gate_message(locale, gate, call.command, own=own is not None)


def open_settings(call: CommandCall) -> None:
    with call.unit() as ctx:
        project = call.project(ctx)
        project_service.require_pm(ctx, project)
        view = SETTINGS_FORM.build(project.locale, project, service.thresholds(ctx, project))
    call.open(view)


def settings_input(values: dict[str, Any]) -> service.SettingsInput:
    return service.SettingsInput(**{name: values.get(name) for name in views.SETTING_FIELDS})


def save_settings(call: FormCall, ctx: Any) -> str:
    project = call.project(ctx)
    row = service.save_settings(ctx=ctx, project=project, data=call.data)
    return views.settings_saved(project.locale, project, row)


def confirm_settings(call: FormCall, text: str) -> None:
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))


SETTINGS_FORM = Form(
    GoLiveId.SETTINGS_MODAL,
    build=views.settings_modal,
    read=settings_input,
    who=PM,
    submit=save_settings,
    after=confirm_settings,
)
FORMS = (SETTINGS_FORM,)


def show_from_home(click: Click) -> str:
    """The Home tab's button: the gate of the project it names, by DM (the id may be forged: the
    right is checked again)."""
    with click.unit() as ctx:
        project = click.project(ctx)
        own = service.visible_module(ctx, project)
        gate = service.compute(ctx, project, own)
        return views.gate_text(project.locale, gate)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, forms=FORMS)
    clicks(app.action(GoLiveId.SHOW), runtime)(show_from_home)


__all__ = ["FORMS", "READERS", "register", "show_gate"]
