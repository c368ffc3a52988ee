"""The calendar entry (.ics, RFC 5545) a person adds to their own calendar, built with icalendar.

One ``VEVENT`` per occurrence, with the occurrence's stable ``UID`` and a ``SEQUENCE`` raised on
every change, so a calendar replaces the entry instead of adding a second one. ``METHOD:CANCEL``
with ``STATUS:CANCELLED`` removes it. Times carry the project's ``TZID`` (with its ``VTIMEZONE``),
so a recurring series keeps its local time across daylight-saving changes. A series sends one
``VEVENT`` with its ``RRULE`` (and ``EXDATE`` for cancelled occurrences).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from storage.models import CalendarEvent, EventStatus

if TYPE_CHECKING:  # icalendar is imported when a file is first built: it is a tenth of a start
    from icalendar import Event

PRODUCT_ID = "-//Liaison//Key-user management//EN"
REQUEST = "REQUEST"
CANCEL = "CANCEL"


def build(
    events: Sequence[CalendarEvent],
    *,
    method: str,
    stamp: datetime,
    excluded: Sequence[datetime] = (),
) -> bytes:
    """A calendar file holding ``events``: one occurrence each, or the first of a series whose
    ``rrule`` stands for the rest (``excluded`` names its cancelled occurrences' starts)."""
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    for occurrence in events:
        calendar.add_component(_event(occurrence, method=method, stamp=stamp, excluded=excluded))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _event(
    occurrence: CalendarEvent, *, method: str, stamp: datetime, excluded: Sequence[datetime]
) -> Event:
    zone = ZoneInfo(occurrence.timezone)
    from icalendar import Event, vRecur

    entry = Event()
    entry.add("uid", occurrence.series_uid if occurrence.rrule else occurrence.uid)
    entry.add("sequence", occurrence.sequence)
    entry.add("dtstamp", stamp)
    entry.add("dtstart", occurrence.starts_at.astimezone(zone))
    entry.add("dtend", occurrence.ends_at.astimezone(zone))
    entry.add("summary", occurrence.title)
    if occurrence.description:
        entry.add("description", occurrence.description)
    place = ", ".join(part for part in (occurrence.location, occurrence.video_url) if part)
    if place:
        entry.add("location", place)
    if occurrence.video_url:
        entry.add("url", occurrence.video_url)
    if occurrence.rrule:
        entry.add("rrule", vRecur.from_ical(occurrence.rrule))
        for moment in excluded:
            entry.add("exdate", moment.astimezone(zone))
    # A series stays confirmed while one of its occurrences is cancelled (that one is an EXDATE).
    cancelled = method == CANCEL or (
        occurrence.status == EventStatus.CANCELLED and not occurrence.rrule
    )
    entry.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return entry


def filename(occurrence: CalendarEvent) -> str:
    """A file name with nothing a person typed in it (titles may hold anything)."""
    return f"liaison-{occurrence.kind}-{occurrence.id}.ics"
