"""Recurrence rules in detail: the form's presets, the nth weekday of a month, what a rule may
contain, series bounds, and occurrences kept in local wall time across daylight saving."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrule

from bot.errors import ValidationError
from bot.services import recurrence

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("day", "rule"),
    [
        (date(2027, 1, 1), "FREQ=MONTHLY;BYDAY=+1FR"),
        (date(2027, 1, 7), "FREQ=MONTHLY;BYDAY=+1TH"),
        (date(2027, 1, 8), "FREQ=MONTHLY;BYDAY=+2FR"),
        (date(2027, 1, 14), "FREQ=MONTHLY;BYDAY=+2TH"),
        (date(2027, 1, 24), "FREQ=MONTHLY;BYDAY=+4SU"),
        (date(2027, 1, 28), "FREQ=MONTHLY;BYDAY=+4TH"),
        (date(2027, 1, 29), "FREQ=MONTHLY;BYDAY=-1FR"),  # a 5th Friday: the last one
        (date(2027, 1, 31), "FREQ=MONTHLY;BYDAY=-1SU"),
        (date(2027, 1, 4), "FREQ=MONTHLY;BYDAY=+1MO"),
        (date(2027, 1, 12), "FREQ=MONTHLY;BYDAY=+2TU"),
        (date(2027, 1, 20), "FREQ=MONTHLY;BYDAY=+3WE"),
        (date(2027, 1, 16), "FREQ=MONTHLY;BYDAY=+3SA"),
    ],
)
def test_the_nth_weekday_of_the_month(day: date, rule: str) -> None:
    assert recurrence.monthly_same_weekday(day) == rule


def test_the_forms_presets() -> None:
    tuesday = date(2027, 1, 12)
    assert recurrence.PRESETS == ("none", "weekly", "biweekly", "monthly")
    assert [recurrence.preset_rule(p, tuesday) for p in recurrence.PRESETS] == [
        None,
        "FREQ=WEEKLY",
        "FREQ=WEEKLY;INTERVAL=2",
        "FREQ=MONTHLY;BYDAY=+2TU",
    ]
    assert recurrence.preset_rule("yearly", tuesday) is None


def test_a_rule_with_or_without_its_prefix_is_anchored_at_local_wall_time() -> None:
    first = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    for rule in ("FREQ=WEEKLY;COUNT=2", " RRULE:FREQ=WEEKLY;COUNT=2 "):
        assert list(recurrence.build(rule, first, "Europe/Berlin")) == [
            datetime(2027, 1, 4, 9, 0),
            datetime(2027, 1, 11, 9, 0),
        ]


@pytest.mark.parametrize(
    "rule",
    [
        "",
        "  ",
        "RRULE:",
        "DTSTART:20270104T090000\nRRULE:FREQ=WEEKLY",
        "FREQ=WEEKLY;dtstart=20270104T090000",
        "FREQ=WEEKLY DTSTART:20200106T090000",  # one line, but anchored elsewhere
        "FREQ=WEEKLY dtstart:20200106T090000",
        "FREQ=WEEKLY\nEXDATE:20270111T090000",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=WEEKLY;FREQ=DAILY",
        "FREQ=YEARLY;BYWEEKNO=20",
        "FREQ=YEARLY;BYEASTER=0",
    ],
)
def test_what_is_not_a_single_rule_is_refused_on_its_field(rule: str) -> None:
    first = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    with pytest.raises(ValidationError) as caught:
        recurrence.check_rule(rule, first, "UTC", field="repeat", bounded=False)
    assert caught.value.errors["repeat"].key == "meeting.errors.bad_rule"
    assert list(caught.value.errors) == ["repeat"]


def test_a_plan_cadence_may_run_on_and_a_series_must_end() -> None:
    first = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    assert recurrence.check_rule("FREQ=WEEKLY", first, "UTC", field="r", bounded=False) == []
    assert recurrence.check_rule("FREQ=DAILY;COUNT=1", first, "UTC", field="r", bounded=True) == [
        first
    ]
    hundred = recurrence.check_rule("FREQ=DAILY;COUNT=100", first, "UTC", field="r", bounded=True)
    assert (len(hundred), hundred[-1]) == (100, first + timedelta(days=99))
    until = recurrence.check_rule(
        "FREQ=WEEKLY;UNTIL=20270118T090000", first, "UTC", field="r", bounded=True
    )
    assert until == [first + timedelta(weeks=weeks) for weeks in range(3)]
    lower = recurrence.check_rule("freq=weekly;count=2", first, "UTC", field="r", bounded=True)
    assert lower == [first, first + timedelta(weeks=1)]
    with pytest.raises(ValidationError) as caught:
        recurrence.check_rule("FREQ=DAILY;COUNT=101", first, "UTC", field="r", bounded=True)
    assert caught.value.errors["r"].params == {"limit": recurrence.MAX_OCCURRENCES}
    with pytest.raises(ValidationError) as caught:
        recurrence.check_rule("FREQ=DAILY", first, "UTC", field="series", bounded=True)
    assert caught.value.errors["series"].key == "meeting.errors.series_endless"


@pytest.mark.parametrize(
    ("rule", "key", "params"),
    [
        ("FREQ=SECONDLY", "meeting.errors.rule_too_often", {}),
        ("FREQ=MINUTELY;INTERVAL=1440", "meeting.errors.rule_too_often", {}),
        ("FREQ=HOURLY;INTERVAL=24", "meeting.errors.rule_too_often", {}),
        ("FREQ=DAILY;BYHOUR=9,17", "meeting.errors.rule_too_often", {}),
        ("FREQ=DAILY;BYMINUTE=0,30", "meeting.errors.rule_too_often", {}),
        ("FREQ=DAILY;BYSECOND=0,1", "meeting.errors.rule_too_often", {}),
        ("FREQ=DAILY;INTERVAL=0", "meeting.errors.rule_interval", {"limit": 366}),
        ("FREQ=DAILY;INTERVAL=-1", "meeting.errors.rule_interval", {"limit": 366}),
        ("FREQ=WEEKLY;INTERVAL=53", "meeting.errors.rule_interval", {"limit": 52}),
        ("FREQ=MONTHLY;INTERVAL=13", "meeting.errors.rule_interval", {"limit": 12}),
        ("FREQ=YEARLY;INTERVAL=100000", "meeting.errors.rule_interval", {"limit": 1}),
        ("FREQ=WEEKLY;COUNT=0", "meeting.errors.rule_count", {"limit": 100}),
        ("FREQ=WEEKLY;COUNT=101", "meeting.errors.rule_count", {"limit": 100}),
    ],
)
def test_a_cadence_more_often_than_daily_or_with_a_senseless_interval_or_count_is_refused(
    rule: str, key: str, params: dict[str, int]
) -> None:
    first = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    with pytest.raises(ValidationError) as caught:
        recurrence.check_rule(rule, first, "UTC", field="r", bounded=False)
    assert (caught.value.errors["r"].key, caught.value.errors["r"].params) == (key, params)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;BYMONTH=4,6,9,11;BYMONTHDAY=-31",
        "FREQ=DAILY;BYSETPOS=2",
        "FREQ=DAILY;INTERVAL=7;BYDAY=TU",  # the first one is a Monday: every 7th day is one too
        "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=3",
        "FREQ=MONTHLY;BYDAY=+6MO",
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=9",
        "FREQ=YEARLY;BYDAY=-54MO",
        "FREQ=YEARLY;BYDAY=+60MO",
        "FREQ=YEARLY;BYDAY=MO;BYSETPOS=60",
    ],
)
def test_a_rule_that_never_occurs_is_refused_without_walking_to_the_year_9999(
    rule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dateutil finds no first occurrence of such a rule only after every period up to the year
    9999, seconds past the three a form has; the rule is refused before any is expanded."""

    def expand(*args: object, **kwargs: object) -> None:
        raise AssertionError("the rule was expanded")

    monkeypatch.setattr(rrule, "_iter", expand)
    first = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    with pytest.raises(ValidationError) as caught:
        recurrence.check_rule(rule, first, "UTC", field="r", bounded=False)
    assert caught.value.errors["r"].key == "meeting.errors.bad_rule"


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;BYHOUR=17;BYMINUTE=30",
        "FREQ=DAILY;INTERVAL=366",
        "FREQ=WEEKLY;INTERVAL=52;BYDAY=MO,TH",
        "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=1",
        "FREQ=YEARLY;BYMONTH=3;BYDAY=+1TU",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;WKST=SU",
        "FREQ=WEEKLY;COUNT=100",
    ],
)
def test_a_cadence_at_most_daily_within_a_year_is_accepted(rule: str) -> None:
    first = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    assert recurrence.check_rule(rule, first, "UTC", field="r", bounded=False) == []


def test_a_series_stays_at_local_time_across_daylight_saving() -> None:
    first = datetime(2027, 3, 22, 9, 0, tzinfo=BERLIN)  # a Monday before summer time
    expected = [datetime(2027, 3, 22, 8, 0, tzinfo=UTC), datetime(2027, 3, 29, 7, 0, tzinfo=UTC)]
    rule = "FREQ=WEEKLY;COUNT=2"
    assert recurrence.check_rule(rule, first, "Europe/Berlin", field="r", bounded=True) == expected
    assert recurrence.series(rule, first, "Europe/Berlin") == expected
    assert all(moment.tzinfo is UTC for moment in recurrence.series(rule, first, "Europe/Berlin"))


def test_a_series_is_read_to_one_past_the_limit_at_most() -> None:
    first = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    assert len(recurrence.series("FREQ=DAILY", first, "UTC")) == recurrence.MAX_OCCURRENCES + 1
    assert len(recurrence.series("FREQ=DAILY;COUNT=100", first, "UTC")) == 100
    assert recurrence.series("FREQ=DAILY;COUNT=3", first, "UTC") == [
        first + timedelta(days=days) for days in range(3)
    ]


def test_the_next_occurrence_is_strictly_after_and_none_once_the_rule_ends() -> None:
    first = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    rule = "FREQ=WEEKLY;COUNT=2"
    assert recurrence.next_after(rule, first, "UTC", first - timedelta(minutes=1)) == first
    assert recurrence.next_after(rule, first, "UTC", first) == first + timedelta(weeks=1)
    assert recurrence.next_after(rule, first, "UTC", first + timedelta(weeks=1)) is None


def test_the_next_occurrence_skips_one_that_the_repeated_hour_puts_before_now() -> None:
    """On 31 October 2027 Berlin's clocks go back from 03:00 to 02:00: at 01:10 UTC (02:10 local,
    the second time) today's 02:45 (the first 02:45, 00:45 UTC) has passed already."""
    first = datetime(2027, 10, 30, 2, 45, tzinfo=BERLIN)
    after = datetime(2027, 10, 31, 1, 10, tzinfo=UTC)
    assert recurrence.next_after("FREQ=DAILY", first, "Europe/Berlin", after) == datetime(
        2027, 11, 1, 1, 45, tzinfo=UTC
    )


def _counting_expansions(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """Every occurrence dateutil computes from now on (to count the work, not to time it)."""
    computed: list[datetime] = []
    expand = rrule._iter

    def counted(self: rrule) -> Iterator[datetime]:
        for occurrence in expand(self):
            computed.append(occurrence)
            yield occurrence

    monkeypatch.setattr(rrule, "_iter", counted)
    return computed


@pytest.mark.parametrize("age", [timedelta(days=1), timedelta(days=365), timedelta(days=1000)])
def test_the_next_occurrence_of_an_old_daily_entry_costs_what_a_new_ones_does(
    monkeypatch: pytest.MonkeyPatch, age: timedelta
) -> None:
    """A daily entry a day, a year or 1,000 days old: its next occurrence is found from the day
    before, a couple of occurrences computed, not one per day since the first."""
    first = datetime(2027, 1, 4, 9, 0, tzinfo=BERLIN)
    after = first + age + timedelta(hours=3)
    expected = datetime.combine((after + timedelta(days=1)).date(), time(9), tzinfo=BERLIN)
    computed = _counting_expansions(monkeypatch)
    assert recurrence.next_after("FREQ=DAILY", first, "Europe/Berlin", after) == expected
    assert len(computed) <= 3
    assert computed[0] >= (after - timedelta(days=2)).replace(tzinfo=None)


RULES = [
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=3",
    "FREQ=DAILY;INTERVAL=10;BYDAY=MO,FR",
    "FREQ=WEEKLY",
    "FREQ=WEEKLY;INTERVAL=2",
    "FREQ=WEEKLY;INTERVAL=3;BYDAY=TH",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=SU",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=WE",
    "FREQ=MONTHLY",
    "FREQ=MONTHLY;INTERVAL=3;BYDAY=+3MO",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=5",
    "FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=31",
    "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=17;BYMINUTE=30",
    "FREQ=MONTHLY;INTERVAL=2;BYMONTH=1,3,5,8",
    "FREQ=YEARLY",
    "FREQ=YEARLY;BYMONTH=3,9;BYDAY=+1TU",
    "FREQ=WEEKLY;BYMONTH=6,7;BYDAY=WE",
    "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
    "FREQ=WEEKLY;UNTIL=20290101T000000",
    "FREQ=DAILY;COUNT=50",
]


@pytest.mark.parametrize("rule", RULES)
def test_the_next_occurrence_from_a_recent_period_is_the_one_of_the_whole_expansion(
    rule: str,
) -> None:
    """Starting near the moment keeps each rule's phase: every INTERVAL counted from the first
    period, the weekday, day and time taken from the first occurrence, a COUNT from the first,
    over three years of moments around daylight-saving changes."""
    first = datetime(2026, 12, 31, 9, 30, tzinfo=BERLIN)
    whole = [
        local.replace(tzinfo=BERLIN).astimezone(UTC)
        for local in recurrence.build(rule, first, "Europe/Berlin").between(
            datetime(2026, 1, 1), datetime(2033, 1, 1), inc=True
        )
    ]
    moment = first - timedelta(days=3)
    while moment < datetime(2029, 12, 31, tzinfo=UTC):
        position = bisect_right(whole, moment)
        latest, following = recurrence.around(rule, first, "Europe/Berlin", moment)
        assert following == (whole[position] if position < len(whole) else None), moment
        assert latest in (None, whole[position - 1] if position else None), moment
        moment += timedelta(days=5, hours=7, minutes=13)
