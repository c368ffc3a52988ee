"""Who a poll asks or an event invites: the one audience rule of polls, training sessions and
meetings. A form's audience picker (``bot.views.common.audience_inputs``) gives a kind (all key
users, by role, by quadrant, named people) and the values it needs; ``clean`` checks them and
``members`` resolves them to people, in one query."""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import Msg
from bot.services.context import Ctx
from bot.services.keyusers import ROLES, Quadrant, active_key_users, quadrant
from storage.models import KeyUser, Project

KINDS = ("all", "role", "quadrant", "people")


def clean(
    kind: str, roles: Sequence[str], quadrants: Sequence[str], people: Sequence[str]
) -> tuple[list[str], dict[str, Msg]]:
    """An audience's values (the roles, quadrants or people its kind needs) and any errors keyed
    by the picker's inputs."""
    errors: dict[str, Msg] = {}
    values: list[str] = []
    if kind not in KINDS:
        errors["audience_kind"] = Msg("errors.choice", choices=", ".join(KINDS))
    elif kind == "role":
        values = [r for r in roles if r in ROLES]
        if not values:
            errors["audience_roles"] = Msg("poll.errors.audience_roles")
    elif kind == "quadrant":
        values = [q for q in quadrants if q in tuple(Quadrant)]
        if not values:
            errors["audience_quadrants"] = Msg("poll.errors.audience_quadrants")
    elif kind == "people":
        values = list(dict.fromkeys(p for p in people if p))
        if not values:
            errors["audience_people"] = Msg("poll.errors.audience_people")
    return values, errors


def members(
    ctx: Ctx, project: Project, kind: str, values: Sequence[str]
) -> list[tuple[str, int | None]]:
    """(Slack user id, key user id or None) of everyone the audience names: the project's active
    key users of the kind, or the named people (a key user's id where they are one)."""
    key_users = active_key_users(ctx, project)
    chosen: list[KeyUser]
    if kind == "role":
        chosen = [k for k in key_users if k.role in values]
    elif kind == "quadrant":
        chosen = [k for k in key_users if quadrant(k.influence, k.interest) in values]
    elif kind == "people":
        by_user = {k.user_id: k for k in key_users}
        return [(u, by_user[u].id if u in by_user else None) for u in values]
    elif kind == "all":
        chosen = list(key_users)
    else:
        chosen = []
    return [(k.user_id, k.id) for k in chosen]
