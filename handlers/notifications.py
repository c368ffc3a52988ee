"""A person's notification settings: the Home tab's "Change" button and the form it opens."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.ids import NotificationId
from bot.runtime import Runtime
from bot.services import notifications as service
from bot.services.context import Ctx
from bot.views import common as ui
from bot.views import notifications as views
from handlers import listeners
from handlers.common import dm
from handlers.listeners import Click, Form, FormCall, clicks
from storage.models import NotificationPreference


def read_preferences(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "reminders": values.get("reminders") or "",
        "morning_hour": values.get("morning_hour"),
        "digest": values.get("digest") or "",
        "quiet_days": values.get("quiet_days") or [],
    }


def save_preferences(call: FormCall, ctx: Ctx) -> NotificationPreference:
    """Whose settings the form changes comes from its metadata, which anyone may forge: the
    service refuses anyone's but the acting person's."""
    data = service.PreferenceInput(person_id=str(call.metadata.get("person_id") or ""), **call.data)
    return service.save_preference(ctx=ctx, data=data)


def confirm_preferences(call: FormCall, pref: NotificationPreference) -> None:
    text = views.saved(call.locale, pref)
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))
    call.refresh_home()


SETTINGS_FORM = Form(
    NotificationId.SETTINGS_MODAL,
    build=views.settings_modal,
    read=read_preferences,
    submit=save_preferences,
    after=confirm_preferences,
)
FORMS = (SETTINGS_FORM,)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, forms=FORMS)

    @clicks(app.action(NotificationId.OPEN_SETTINGS), runtime)
    def open_settings(click: Click) -> None:
        """The button's value is not read: everyone opens their own settings."""
        with click.unit() as ctx:
            pref = service.preference(ctx, click.user_id)
            view = SETTINGS_FORM.build(click.locale, pref, service.project_timezones(ctx))  # type: ignore[misc]
        click.open(view)
