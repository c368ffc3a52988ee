"""`/keyuser` and its forms: add, edit, list the register, remove, log a contact, export and
import CSV; the Home tab's register buttons."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block

from bot.errors import Msg, ValidationError
from bot.i18n import t
from bot.ids import Action, Callback
from bot.runtime import Runtime
from bot.services import keyusers as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.slack_io import display_name, lookup_user, user_profile
from bot.views import common as ui
from bot.views import keyusers as views
from handlers import listeners
from handlers.common import dm, request_id, user_ids_in
from handlers.engagement import touch_by_command
from handlers.keyuser_card import SHOW
from handlers.listeners import (
    CODE,
    PERSON,
    PM,
    TEAM,
    TEXT,
    Click,
    Command,
    CommandCall,
    Form,
    FormCall,
    Subcommand,
    choice,
    clicks,
)
from storage.models import Project

log = logging.getLogger(__name__)
KIND = choice("kind", "call", "email", "face_to_face")


def keyuser_input(values: dict[str, Any]) -> service.KeyUserInput:
    return service.KeyUserInput(
        user_id=values.get("user_id") or "",
        role=values.get("role") or "",
        department=values.get("department") or "",
        module=values.get("module") or "",
        influence=values.get("influence") or "",
        interest=values.get("interest") or "",
        preferred_channel=values.get("preferred_channel") or "dm",
        cadence_days=values.get("cadence_days"),
        notes=values.get("notes") or "",
    )


class UserResolver:
    """Slack ids or emails to people, with one users.list for a whole file when emails are used."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._by_email: dict[str, tuple[str, str | None]] | None = None

    def _load_directory(self) -> dict[str, tuple[str, str | None]]:
        directory: dict[str, tuple[str, str | None]] = {}
        for page in self.client.users_list(limit=200):
            for user in page.get("members", []):
                email = (user.get("profile") or {}).get("email")
                if email and not user.get("deleted") and not user.get("is_bot"):
                    directory[email.lower()] = (user["id"], display_name(user))
        return directory

    def __call__(self, who: str) -> tuple[str, str | None] | None:
        if "@" in who:
            if self._by_email is None:
                self._by_email = self._load_directory()
            return self._by_email.get(who.lower())
        return lookup_user(self.client, who)


# ---------------------------------------------------------------------------------- /keyuser


def person_of(call: CommandCall) -> str:
    return user_ids_in(call.args["person"])[0]


def open_add(call: CommandCall) -> None:
    call.open_form(ADD_FORM)


def show_register(call: CommandCall) -> dict[str, Any]:
    with call.unit() as ctx:
        project = call.project(ctx)
        manage = project_service.can_manage(ctx, project)
        return register_message(ctx, project, manage=manage)


def register_message(ctx: Ctx, project: Project, *, manage: bool) -> dict[str, Any]:
    grouped = service.register(ctx, project)
    return views.register_message(project.locale, project, grouped, manage=manage)


def open_edit(call: CommandCall) -> None:
    with call.unit() as ctx:
        project = call.project(ctx)
        key_user = service.get_key_user(ctx, project, person_of(call))
        view = EDIT_FORM.build(
            project.locale, projects=[project], project=project, key_user=key_user
        )
    call.open(view)


def remove(call: CommandCall) -> str:
    user_id = person_of(call)
    with call.unit() as ctx:
        project = call.project(ctx)
        service.remove_key_user(ctx=ctx, key_user=service.get_key_user(ctx, project, user_id))
        text = t(project.locale, "keyuser.removed", user=user_id, code=project.code)
    call.refresh_home()
    return text


def touch(call: CommandCall) -> str:
    """`touch` reads its own words: a contact kind is optional and has aliases (`f2f`), and who
    may log one is checked there, with its own refusal."""
    typed = (call.args.get(name) for name in ("code", "person", "kind", "text"))
    words = " ".join(word for word in typed if word).split()
    return touch_by_command(call.runtime, call.client, call.context, words, call.channel_id)


def export(call: CommandCall) -> str:
    """The register as a CSV file in the person's DMs."""
    return call.export("keyuser", "key-users", service.export_csv)


def open_import(call: CommandCall) -> None:
    with call.unit() as ctx:
        project = call.project(ctx)
        view = IMPORT_FORM.build(project.locale, project)
    call.open(view)


# ------------------------------------------------------------------------------------- forms


def add(call: FormCall, ctx: Ctx) -> str:
    data: service.KeyUserInput = call.data
    profile = user_profile(call.client, data.user_id) if data.user_id else None
    if profile is not None and (profile.get("is_bot") or profile.get("deleted")):
        raise ValidationError({"user_id": Msg("errors.user_not_person")})
    data.display_name = display_name(profile) if profile else None
    project = call.project(ctx)
    key_user = service.add_key_user(ctx=ctx, project=project, data=data)
    locale = project.locale
    quadrant = service.quadrant(key_user.influence, key_user.interest)
    return t(
        locale,
        "keyuser.added",
        user=key_user.user_id,
        code=project.code,
        role=views.role_label(locale, key_user.role),
        quadrant=t(locale, f"quadrants.{quadrant.value}"),
        cadence=service.cadence_days(key_user),
    )


def edit(call: FormCall, ctx: Ctx) -> str:
    key_user = service.get_key_user_by_id(ctx, request_id(call.metadata.get("key_user_id")))
    project = call.project(ctx, key_user.project_id)
    service.update_key_user(ctx=ctx, key_user=key_user, data=call.data)
    return t(project.locale, "keyuser.updated", user=key_user.user_id, code=project.code)


def tell(call: FormCall, text: str) -> None:
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))


def confirm(call: FormCall, text: str) -> None:
    tell(call, text)
    call.refresh_home()


def import_register(call: FormCall, ctx: Ctx, project: Project, text: str) -> dict[str, Any]:
    """Resolving people by email can take a whole users.list: the modal is closed by then."""
    report = service.import_csv(
        ctx=ctx, project=project, text=text, resolve_user=UserResolver(call.client)
    )
    return views.import_report(call.locale, project, report)


ADD_FORM = Form(
    Callback.KEYUSER_ADD,
    build=views.keyuser_modal,
    read=keyuser_input,
    who=PM,
    submit=add,
    after=confirm,
)
EDIT_FORM = replace(ADD_FORM, callback_id=Callback.KEYUSER_EDIT, submit=edit)
IMPORT_FORM = listeners.csv_import_form(
    Callback.KEYUSER_IMPORT,
    import_register,
    who=PM,
    build=views.import_modal,
    done=lambda call: call.refresh_home(),
)
COMMAND = Command(
    name="keyuser",
    catalog="keyuser",
    subcommands=(
        Subcommand("add", open_add, args=(CODE,), who=PM),
        Subcommand("list", show_register, args=(CODE,), tool=True),
        SHOW,
        Subcommand("edit", open_edit, args=(CODE, PERSON), who=PM),
        Subcommand("remove", remove, args=(CODE, PERSON), who=PM),
        Subcommand("touch", touch, args=(CODE, PERSON, KIND, TEXT), who=TEAM),
        Subcommand("export", export, args=(CODE,), who=PM),
        Subcommand("import", open_import, args=(CODE,), who=PM),
    ),
)


FORMS = (ADD_FORM, EDIT_FORM, IMPORT_FORM)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, command=COMMAND, forms=FORMS)

    clicks(app.action(Action.HOME_ADD_KEYUSER), runtime)(open_add_from_home)
    clicks(app.action(Action.HOME_SHOW_REGISTER), runtime)(show_register_from_home)


def open_add_from_home(click: Click) -> None:
    with click.unit() as ctx:
        project = PM.check(ctx, click.project(ctx))
        view = ADD_FORM.build(project.locale, projects=[project], project=project)
    click.open(view)


def show_register_from_home(click: Click) -> None:
    with click.unit() as ctx:
        project = click.project(ctx)
        message = register_message(ctx, project, manage=True)
    locale = project.locale
    click.open(
        ui.modal(
            callback_id="register_view",
            title=project.code,
            close=t(locale, "common.close"),
            blocks=[ui.section(t(locale, "keyuser.register_modal_intro"))] + _as_blocks(message),
        )
    )


def _as_blocks(message: dict[str, Any]) -> list[Any]:
    return [Block.parse(block) for block in message.get("blocks", [])]
