"""The one error handler: log what broke, tell the person in words, never fail silently."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk.errors import SlackApiError

from bot.errors import LiaisonError, ValidationError
from bot.runtime import Runtime
from handlers.common import error_text, locale_without_store, person_locale, view_errors
from storage.db import store_unavailable

log = logging.getLogger(__name__)


def register(app: App, runtime: Runtime) -> None:
    @app.error
    def tell_the_user(
        error: Exception,
        body: dict[str, Any],
        respond: Any,
        client: Any,
        context: Any,
        logger: Any,
    ) -> Any:
        outage = store_unavailable(error)
        if outage is not None:
            log.error("the database is unavailable: %s", outage)
        elif isinstance(error, LiaisonError | SlackApiError):
            log.warning("request refused: %s", error)
        else:
            log.exception("unexpected error in a listener", exc_info=error)
        # Telling the person must not depend on what failed: the database is not asked when it
        # is what failed, and the default language serves when working out theirs fails too.
        try:
            locale = (
                locale_without_store(runtime, context)
                if outage is not None
                else person_locale(runtime, context, client)
            )
        except Exception as failure:  # noqa: BLE001 - logged; the person is still answered
            log.error("the person's language is unknown: %s", type(failure).__name__)
            locale = locale_without_store(runtime, context)
        text = error_text(locale, error)
        view = body.get("view") or {}
        if body.get("type") == "view_submission" and any(
            block.get("type") == "input" for block in view.get("blocks") or []
        ):
            # The modal stays open with the reason on its first field: nothing typed is lost.
            if not isinstance(error, ValidationError):
                error = ValidationError({"": text})
            errors = view_errors(locale, error, view)
            return BoltResponse(
                status=200,
                body=json.dumps({"response_action": "errors", "errors": errors}),
                headers={"content-type": "application/json;charset=utf-8"},
            )
        user_id = body.get("user_id") or (body.get("user") or {}).get("id")
        try:
            if body.get("response_url"):
                respond(text=text, response_type="ephemeral", replace_original=False)
            elif user_id and body.get("type") in ("block_actions", "shortcut", "view_submission"):
                client.chat_postMessage(channel=user_id, text=text)
        except (SlackApiError, OSError):
            log.exception("could not tell the user about the error")
        return BoltResponse(status=200, body="")
