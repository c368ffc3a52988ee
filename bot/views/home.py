"""The App Home tab: a key user's projects and a PM's dashboards, assembled from parts."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from bot.i18n import plain, t
from bot.ids import Action
from bot.services.keyusers import Quadrant
from bot.views import common as ui
from bot.views.keyusers import role_label
from bot.views.projects import phase_label
from storage.models import KeyUser, Project


def key_user_part(locale: str, memberships: list[tuple[Project, KeyUser]]) -> list[Block]:
    if not memberships:
        return []
    blocks: list[Block] = [ui.header(plain(locale, "home.keyuser_title"))]
    for project, key_user in memberships:
        blocks.append(
            ui.section(
                t(
                    locale,
                    "home.keyuser_line",
                    code=project.code,
                    name=project.name,
                    role=role_label(locale, key_user.role),
                    module=key_user.module or "",
                    phase=phase_label(locale, project.phase),
                    channel=project.channel_id,
                )
            )
        )
    return blocks


def pm_part(
    locale: str,
    rows: list[tuple[Project, dict[Quadrant, int], int]],
) -> list[Block]:
    """``rows``: project, key users per quadrant, key users in engagement debt."""
    if not rows:
        return []
    blocks: list[Block] = [ui.header(plain(locale, "home.pm_title"))]
    for project, per_quadrant, debt in rows:
        total = sum(per_quadrant.values())
        counts = " · ".join(
            plain(locale, "format.count_of", what=plain(locale, f"quadrants.{q.value}"), count=n)
            for q, n in per_quadrant.items()
        )
        blocks.append(
            ui.section(
                t(
                    locale,
                    "home.pm_project",
                    code=project.code,
                    name=project.name,
                    phase=phase_label(locale, project.phase),
                    total=total,
                    counts=counts,
                    debt=debt,
                    channel=project.channel_id,
                )
            )
        )
        blocks.append(
            ui.actions(
                ui.button(
                    plain(locale, "home.add_keyuser"),
                    Action.HOME_ADD_KEYUSER,
                    str(project.id),
                    style="primary",
                ),
                ui.button(
                    plain(locale, "home.show_register"), Action.HOME_SHOW_REGISTER, str(project.id)
                ),
                ui.button(
                    plain(locale, "home.edit_project"), Action.HOME_EDIT_PROJECT, str(project.id)
                ),
                block_id=f"project_{project.id}",
            )
        )
    return blocks


def welcome_part(
    locale: str, commands: dict[str, str], *, has_anything: bool, manages_projects: bool
) -> list[Block]:
    """The welcome for newcomers; the "New project" button for them and for PMs."""
    blocks: list[Block] = []
    if not has_anything:
        blocks.append(
            ui.section(
                t(
                    locale,
                    "home.welcome",
                    project=commands["project"],
                    features=ui.built_features(locale),
                )
            )
        )
    elif not manages_projects:
        return blocks
    blocks.append(
        ui.actions(
            ui.button(plain(locale, "home.new_project"), Action.HOME_NEW_PROJECT),
            block_id="home_global",
        )
    )
    return blocks


def home_view(parts: list[list[Block]]) -> dict[str, Any]:
    blocks: list[Block] = []
    for part in parts:
        if part and blocks:
            blocks.append(ui.divider())
        blocks.extend(part)
    return ui.home(blocks[: ui.VIEW_BLOCK_LIMIT])
