"""`/keyuser show`: a key user's card; the "Card of…" menus of the register and of the key users
listed on the PM's Home tab; the card's Previous/Next."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from slack_bolt import App
from sqlmodel import col

from bot.errors import Msg, NotFound
from bot.ids import CardId
from bot.runtime import Runtime
from bot.services import fields
from bot.services import keyuser_card as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import keyuser_card as views
from handlers.common import user_ids_in
from handlers.listeners import CODE, PERSON, Click, CommandCall, Subcommand, clicks
from storage.models import KeyUser, Project

PAGE_ACTION = re.compile("^" + re.escape(CardId.PAGE) + r"_(previous|next)$")
VALUE = re.compile(r"^(\d{1,12}):([UW][A-Z0-9]{2,31})(?::(\d{1,2}))?$")


def _own_project(ctx: Ctx) -> Project:
    """The one project the acting person is a key user of (for `/keyuser show` typed without a
    code outside a project channel)."""
    rows = ctx.session.exec(
        ctx.select(KeyUser).where(
            KeyUser.user_id == (ctx.actor_id or ""), col(KeyUser.removed_at).is_(None)
        )
    ).all()
    if len(rows) != 1:
        raise NotFound(Msg("errors.project_code_needed"))
    return project_service.get_project_by_id(ctx, rows[0].project_id)


def show(call: CommandCall) -> dict[str, Any]:
    """`/keyuser show [CODE] [@person]`: the card of the person named, else the asker's own."""
    person = call.args.get("person")
    user_id = user_ids_in(person)[0] if person else call.user_id
    with call.unit() as ctx:
        try:
            project = call.project(ctx)
        except NotFound:
            if call.args.get("code"):
                raise
            project = _own_project(ctx)
        card = service.card(ctx, project, user_id)
        return views.card_message(project.locale, card)


SHOW = Subcommand("show", show, args=(CODE, replace(PERSON, optional=True)), tool=True)


def _read(raw: Any) -> tuple[int, str, int]:
    """``<project id>:<user id>[:<page>]`` from a button or menu: a claim, checked later."""
    match = VALUE.match(str(raw or ""))
    if match is None:
        raise NotFound(Msg("security.request_unreadable"))
    return int(match.group(1)), match.group(2), fields.whole_number(match.group(3) or "0") or 0


def _shown(click: Click, raw: Any) -> tuple[str, service.Card, int]:
    project_id, user_id, page = _read(raw)
    with click.unit() as ctx:
        project = click.project(ctx, project_id)
        return project.locale, service.card(ctx, project, user_id), page


def open_card(click: Click) -> None:
    """The "Card of…" menu of the register or of the PM Home's key users: the card in a modal."""
    selected = (click.action.get("selected_option") or {}).get("value")
    locale, card, page = _shown(click, selected or click.value)
    view = views.card_modal(locale, card, page)
    if (click.body.get("view") or {}).get("type") == "modal":  # the register's window
        click.client.views_push(trigger_id=click.trigger_id, view=view)
    else:
        click.open(view)


def turn_page(click: Click) -> dict[str, Any] | None:
    """Previous/Next: the page in place (the modal, or the message)."""
    locale, card, page = _shown(click, click.value)
    if (click.body.get("view") or {}).get("type") == "modal":
        click.client.views_update(view_id=click.view_id, view=views.card_modal(locale, card, page))
        return None
    return views.card_message(locale, card, page)


def register(app: App, runtime: Runtime) -> None:
    clicks(app.action(CardId.OPEN), runtime)(open_card)
    clicks(app.action(PAGE_ACTION), runtime)(turn_page)


__all__ = ["SHOW", "register"]
