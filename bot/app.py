"""The Bolt app factory: the one place where every listener is registered."""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App

from bot.logs import ContextExecutor, tag_request
from bot.manifest import BOT_SCOPES
from bot.runtime import Runtime, make_client
from bot.settings import SettingsError
from handlers import approvals as approval_listeners
from handlers import calendar as calendar_listeners
from handlers import changes as change_listeners
from handlers import commplan, engagement, errors, events, home, keyusers, projects
from handlers import decisions as decision_listeners
from handlers import digest as digest_listeners
from handlers import golive as golive_listeners
from handlers import issues as issue_listeners
from handlers import keyuser_card as card_listeners
from handlers import meetings as meeting_listeners
from handlers import notifications as notification_listeners
from handlers import phases as phase_listeners
from handlers import polls as poll_listeners
from handlers import risks as risk_listeners
from handlers import signoffs as signoff_listeners
from handlers import trainings as training_listeners

log = logging.getLogger(__name__)


class _ClientTokenWarningFilter(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and, since it is also given our client, warns that the
    token "will be unused". Our client is made from that very token (or, with OAuth, the
    settings say why it is ignored), so the warning would only mislead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_BOLT_LOGGER = logging.getLogger("slack_bolt.App")
_BOLT_LOGGER.addFilter(_ClientTokenWarningFilter())

# Listener modules in registration order; each exposes register(app, runtime).
LISTENER_MODULES: tuple[Any, ...] = (
    errors,
    events,
    home,
    projects,
    keyusers,
    card_listeners,
    issue_listeners,
    poll_listeners,
    calendar_listeners,
    training_listeners,
    commplan,
    engagement,
    meeting_listeners,
    risk_listeners,
    change_listeners,
    signoff_listeners,
    approval_listeners,
    decision_listeners,
    digest_listeners,
    phase_listeners,
    golive_listeners,
    notification_listeners,
)


def build_app(runtime: Runtime, *, listener_executor: Executor | None = None) -> App:
    settings = runtime.settings
    kwargs: dict[str, Any] = {
        "signing_secret": settings.signing_secret or "",
        "process_before_response": False,
        "ignoring_self_events_enabled": True,
        # The name Bolt would give itself (the calling file's; its listeners' logger name), said
        # here so that it does not read the whole call stack's source to find it (~60 ms a build).
        "name": "app.py",
    }
    kwargs["listener_executor"] = listener_executor or ContextExecutor(max_workers=10)
    if settings.oauth_enabled:
        from slack_bolt.oauth.oauth_settings import OAuthSettings
        from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

        from bot.crypto import EncryptedInstallationStore

        if not settings.encryption_keys:
            raise SettingsError(
                "LIAISON_ENCRYPTION_KEYS is not set: OAuth mode stores installation tokens "
                "encrypted; create a key with `liaison keys new`"
            )
        installation_store = EncryptedInstallationStore(
            client_id=settings.client_id or "",
            engine=runtime.database.engine,
            keys=settings.encryption_keys,
        )
        state_store = SQLAlchemyOAuthStateStore(
            expiration_seconds=600, engine=runtime.database.engine
        )
        installation_store.create_tables()
        state_store.metadata.create_all(runtime.database.engine)
        kwargs["oauth_settings"] = OAuthSettings(
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            scopes=list(BOT_SCOPES),
            installation_store=installation_store,
            state_store=state_store,
        )
        kwargs["client"] = make_client(settings, None)

        def token_for(team_id: str) -> str | None:
            bot = installation_store.find_bot(enterprise_id=None, team_id=team_id)
            return bot.bot_token if bot else None

        runtime.token_for = token_for
    else:
        kwargs["client"] = make_client(settings, settings.bot_token)
        # The token is checked on the first request, not at start-up, so a demo or test can start
        # the app before the emulator answers auth.test.
        kwargs["token_verification_enabled"] = False
    app = App(**kwargs)
    app.use(tag_request)
    for module in LISTENER_MODULES:
        module.register(app, runtime)
    return app
