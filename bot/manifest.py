"""The Slack app manifest, built from the settings (command names, Socket Mode or HTTP URLs)."""

from __future__ import annotations

from typing import Any

from bot.i18n import plain
from bot.settings import Settings, SettingsError

COMMAND_DESCRIPTIONS = {
    "project": (
        "Create and manage implementation projects",
        "new | list | edit CODE | phase CODE PHASE | plan CODE | help",
    ),
    "keyuser": (
        "Manage a project's key-user register",
        "add | list | edit | remove | touch | export | import [CODE] | help",
    ),
    "issue": (
        "Log and follow key users' issues and requests",
        "new | list | ID verb | export CODE | help",
    ),
    "training": (
        "Training curriculum, sessions, quizzes and readiness",
        "curriculum | new | list | roster ID | quiz | practical | readiness [CODE] | help",
    ),
    "poll": (
        "Satisfaction polls and surveys",
        "new | list | close ID | results ID | export ID | help",
    ),
    "meeting": (
        "Meetings with key users: invitations, RSVP, reminders, outcomes",
        "new [CODE] | list [CODE] [week|all] | ID | cancel ID | reschedule ID | help",
    ),
    "risk": (
        "The project's risk register: raise, assess, act, close",
        "new | list [CODE] [open|all|high|mine] | ID | assess ID | close ID | export | help",
    ),
    "change": (
        "Change requests: propose, decide, implement, verify",
        "new | list [open|all|mine] | ID [implemented|verified] | export | settings | help",
    ),
    "signoff": (
        "Sign-offs: blueprints, test acceptance, documents, phase exits, go-live",
        "new | list [open|all|mine] | ID | edit ID | export | help",
    ),
    "digest": (
        "The weekly digest: preview, send now, settings",
        "preview [CODE] | send [CODE] | settings [CODE] | help",
    ),
}
# The commands whose capability is built; the manifest declares only these.
ACTIVE_COMMANDS: list[str] = [
    "project",
    "keyuser",
    "issue",
    "poll",
    "training",
    "meeting",
    "risk",
    "change",
    "signoff",
    "digest",
]
# Message shortcuts: (callback id, catalog key of the name and the description), named in the
# workspace's language (LIAISON_LOCALE). Capabilities add theirs here.
MESSAGE_SHORTCUTS: list[tuple[str, str]] = [
    ("log_issue_from_message", "issues.shortcut"),
    ("log_risk_from_message", "risk.shortcut"),
]
# The bot token's OAuth scopes, declared in the manifest and asked for by the OAuth install flow.
BOT_SCOPES = (
    "chat:write",
    "commands",
    "im:write",
    "im:history",
    # A resend first looks for the message by its key in the conversation's history: issue cards
    # and their threads live in project channels, public or private.
    "channels:history",
    "groups:history",
    "users:read",
    "users:read.email",
    "channels:read",
    "channels:join",
    "groups:read",
    "files:write",
    "files:read",
)
BOT_EVENTS = ["app_home_opened"]
# What each built capability adds to the app's description; only active commands are named, so
# the app never promises a feature that is not there.
CAPABILITY_PHRASES = {
    "keyuser": "the register of key users by influence and interest",
    "issue": "their issues and requests with service levels",
    "training": "trainings and readiness",
    "poll": "satisfaction polls with trends",
    "meeting": "a communication plan, meetings with reminders and engagement tracking",
    "risk": "a project risk register with assessments, owners and review reminders",
    "change": "change requests decided by the project's decision makers",
    "signoff": "sign-offs with an audit trail of every signature",
    "digest": "a weekly digest for the project managers",
}
# Capabilities that post to a project's channel, in the order the channel greeting names them.
CHANNEL_POSTS = ("issue", "training", "meeting", "change", "signoff", "digest")


def built_capabilities() -> list[str]:
    """The capabilities whose commands are active (the project command aside), in order."""
    return [name for name in ACTIVE_COMMANDS if name != "project"]


def _english_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + ", and " + items[-1]


def long_description() -> str:
    phrases = [CAPABILITY_PHRASES[name] for name in built_capabilities()]
    return (
        "Liaison runs the key users of an implementation project inside Slack: "
        + _english_list(phrases)
        + ". Project managers work with slash commands, forms and the Home tab; key users "
        "answer in a click."
    )


def build_manifest(settings: Settings) -> dict[str, Any]:
    if not settings.socket_mode and not settings.public_url:
        raise SettingsError(
            "LIAISON_PUBLIC_URL is needed for an HTTP-mode manifest (LIAISON_SOCKET_MODE=false)"
        )
    request_url = f"{settings.public_url}/slack/events" if settings.public_url else None
    http = not settings.socket_mode

    commands = []
    for name in ACTIVE_COMMANDS:
        command = settings.commands[name]
        description, hint = COMMAND_DESCRIPTIONS[name]
        entry: dict[str, Any] = {
            "command": command,
            "description": description,
            "usage_hint": hint,
            "should_escape": True,
        }
        if http:
            entry["url"] = request_url
        commands.append(entry)

    features: dict[str, Any] = {
        "app_home": {
            "home_tab_enabled": True,
            "messages_tab_enabled": True,
            "messages_tab_read_only_enabled": False,
        },
        "bot_user": {"display_name": settings.app_name, "always_online": True},
        "slash_commands": commands,
    }
    if MESSAGE_SHORTCUTS:
        features["shortcuts"] = [
            {
                "name": plain(settings.locale, f"{key}.name"),
                "type": "message",
                "callback_id": callback,
                "description": plain(settings.locale, f"{key}.description"),
            }
            for callback, key in MESSAGE_SHORTCUTS
        ]

    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if http:
        events["request_url"] = request_url
        interactivity["request_url"] = request_url
    oauth: dict[str, Any] = {"scopes": {"bot": list(BOT_SCOPES)}}
    if settings.oauth_enabled and settings.public_url:
        oauth["redirect_urls"] = [f"{settings.public_url}/slack/oauth_redirect"]

    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": settings.app_name,
            "description": "Key-user management for IT and ERP implementation projects",
            "long_description": long_description(),
            "background_color": "#1d3557",
        },
        "features": features,
        "oauth_config": oauth,
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": settings.socket_mode,
            "token_rotation_enabled": False,
        },
    }
