"""What forms and requests carry, read and bounded in one place.

A text's limit is the length of the column that stores it, so a form's ``max_length``, the
service's check and the database agree (PostgreSQL refuses a longer value; SQLite would keep it).
A number is finite and within its range (``inf``, ``1e999`` and ``nan`` are numbers to ``float``).
An id from a request is a whole number the database can hold, or nothing. Slack's client keeps a
form's ``max_length``, but a forged request does not: the service checks again.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from bot.errors import Msg, ValidationError

MAX_RECORD_ID = 2**31 - 1  # the largest INTEGER key PostgreSQL holds
MAX_WHOLE_NUMBER = 10**9  # far above every count a form asks for, far below INTEGER's limit
LATEST_MOMENT = datetime(9999, 12, 31, tzinfo=UTC)


def limit(column: Any) -> int:
    """The length of a string column (``limit(CalendarEvent.location)``)."""
    return int(column.property.columns[0].type.length)


def too_long(text: str | None, column: Any) -> Msg | None:
    """The error for a text longer than its column holds, else None."""
    length = limit(column)
    return Msg("errors.too_long", limit=length) if len((text or "").strip()) > length else None


def required_text(text: str, most: int) -> Msg | None:
    """The error for a required text (already trimmed) that is empty or longer than ``most``,
    else None."""
    if not text:
        return Msg("errors.required")
    return Msg("errors.too_long", limit=most) if len(text) > most else None


def _digits(raw: object, most: int) -> int | None:
    """Plain ASCII digits (no sign, no point, no exponent) up to ``most``, else None."""
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(most)):
        return None
    value = int(text)
    return value if value <= most else None


def record_id(raw: object) -> int | None:
    """A record's id taken from a request (a button's value, a form's private_metadata, a
    command's ``#12``): a whole number the database can hold, else None. Whether the record
    exists and is the acting person's to see is the service's question."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 1 <= raw <= MAX_RECORD_ID else None
    value = _digits(str(raw if raw is not None else "").strip().removeprefix("#"), MAX_RECORD_ID)
    return value if value else None


def whole_number(raw: object) -> int | None:
    """A count typed into a form or picked from a list (seats, hours, minutes), else None."""
    return _digits(raw, MAX_WHOLE_NUMBER)


def finite_number(raw: object) -> float | None:
    """A number typed into a form (a decimal comma too), or None: not a number, or not finite."""
    try:
        value = float(str(raw).strip().replace(",", "."))
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def number_in_range(raw: object, field_name: str, low: float, high: float) -> float:
    """A finite number from ``low`` to ``high``, else ``ValidationError`` on ``field_name``."""
    value = finite_number(raw)
    if value is None or not low <= value <= high:
        raise ValidationError({field_name: Msg("errors.number_range", low=low, high=high)})
    return value


def moment(raw: object) -> datetime | None:
    """The instant of a date-and-time picker (seconds since 1970), or None: empty or forged."""
    seconds = _digits(raw, int(LATEST_MOMENT.timestamp()))
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None
