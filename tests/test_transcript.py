"""The words of both catalogs as a reader meets them: one Chinese term per concept (the glossary's),
no space next to full-width punctuation, one percent style, lengths as people write them, usage
examples one can type. The demo's transcripts are read in tests/test_demo_chinese.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.i18n import LOCALES, duration, joined, mention, percent, read_catalog_files, t
from handlers import issues, listeners

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "bot" / "templates"
FULL_WIDTH = "，。：；！？、（）「」“”《》"
# A space may stand after a closing quote or before an opening one (" · “标题”"), never inside
# the pair of a bracket or next to a comma, a stop or a colon.
# No space on either side of full-width punctuation (a bullet's own space aside).
STRAY_SPACE = re.compile(r"(?<!•) [，。：；！？、）」”》（「《]|[，。：；！？、（「《] ")
_OPAQUE = re.compile(r"\{\{.*?\}\}|\{%-?.*?-?%\}|`[^`\n]*`|<[^<>\n]*>", re.S)


def glossary() -> list[tuple[str, str, list[str]]]:
    """(English term, Chinese term, variants not to use) for each row of docs/GLOSSARY.md."""
    rows = []
    for line in (ROOT / "docs" / "GLOSSARY.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.search(r"[\u4e00-\u9fff]", cells[1]):
            rows.append((cells[0], cells[1], [v.strip() for v in cells[2].split(",") if v.strip()]))
    return rows


def chinese_sources() -> dict[str, str]:
    sources = {key: str(value) for key, value in read_catalog_files("zh-CN").items()}
    for template in sorted(TEMPLATES.glob("zh-CN/**/*.j2")):
        sources[str(template.relative_to(TEMPLATES))] = template.read_text(encoding="utf-8")
    return sources


def test_the_glossary_names_one_chinese_term_per_concept() -> None:
    rows = glossary()
    assert len(rows) >= 15
    assert ("contact (with a key user)", "联络", ["联系"]) in rows
    assert ("scheduler", "调度器", ["调度程序"]) in rows
    chinese = [term for _, term, _ in rows]
    assert len(set(chinese)) == len(chinese)


def test_the_chinese_catalogs_use_only_the_glossarys_terms() -> None:
    sources = chinese_sources()
    used = {
        term: [key for key, text in sources.items() if term in text] for _, term, _ in glossary()
    }
    assert used["联络"] and used["联络欠账"] and used["调度器"] and used["关键用户"]
    wrong = {
        variant: [key for key, text in sources.items() if variant in text]
        for _, _, variants in glossary()
        for variant in variants
    }
    assert {variant: keys for variant, keys in wrong.items() if keys} == {}


def test_no_chinese_message_puts_a_space_next_to_full_width_punctuation() -> None:
    stray = {
        key: found
        for key, text in chinese_sources().items()
        if (found := STRAY_SPACE.findall(_OPAQUE.sub("\ue000", text)))
    }
    assert stray == {}


@pytest.mark.parametrize("locale", LOCALES)
def test_one_percent_style_a_whole_number_against_its_sign(locale: str) -> None:
    assert [percent(v) for v in (66.666, 50.0, "67", 62.5, 0, None)] == [
        "67%",
        "50%",
        "67%",
        "63%",
        "0%",
        "—",
    ]
    spaced = {
        key: text
        for key, text in read_catalog_files(locale).items()
        if re.search(r"(\d|\}\}) ?%(?!\})", str(text)) and "percent" not in str(text)
    }
    assert [key for key, text in spaced.items() if re.search(r"\d %|\}\} %", text)] == []
    shown = t(locale, "poll.trend_line", round=1, date="2026-11-30", rate=66.7, csat=50, nps=-25)
    assert "67%" in shown and "50%" in shown and " %" not in shown


def test_lengths_read_as_people_write_them() -> None:
    # in hours, as the forms ask them (one format for every duration)
    assert [duration("en", m) for m in (480, 60, 90, 45)] == ["8 h", "1 h", "1.5 h", "0.75 h"]
    assert [duration("zh-CN", m) for m in (480, 90)] == ["8 小时", "1.5 小时"]
    for source in (
        read_catalog_files("en")["calendar.span"],
        read_catalog_files("zh-CN")["calendar.span"],
    ):
        assert "minutes" not in str(source)


@pytest.mark.parametrize("locale", LOCALES)
def test_usage_examples_can_be_typed_as_they_are(locale: str) -> None:
    """No `ID` or `YYYY-MM-DD` to replace in an issue's usage line or reminder, and the Chinese
    ones name no English placeholder (`CODE`, `@person`)."""
    catalog = {key: str(value) for key, value in read_catalog_files(locale).items()}
    shown = {**catalog, "/issue help": listeners.usage(locale, issues.COMMAND, "/issue")}
    for key in ("/issue help", "issues.reminder.hint", "keyuser.register_manage_hint"):
        code = re.findall(r"`([^`]*)`", shown[key])
        assert code and not [c for c in code if re.search(r"\bID\b|YYYY", c)], key
    if locale == "zh-CN":
        assert [k for k, v in catalog.items() if re.search(r"\bCODE\b|@person|\bPHASE\b", v)] == []
    hint = t(locale, "keyuser.register_manage_hint", code="ERP")
    assert "/keyuser edit ERP @" in hint


def test_a_list_is_joined_in_the_readers_language_and_typed_text_cannot_ping() -> None:
    people = [mention("U1"), mention("U2"), "<!channel> & co"]
    assert joined("zh-CN", people) == "<@U1>、<@U2>、&lt;!channel&gt; &amp; co"
    assert joined("en", people) == "<@U1>, <@U2>, &lt;!channel&gt; &amp; co"


def test_a_time_that_ends_a_span_shows_no_date_again() -> None:
    from datetime import UTC, datetime

    from bot.emulator.render import mrkdwn_to_text
    from bot.i18n import slack_date

    end = datetime(2027, 1, 12, 10, 0, tzinfo=UTC)
    assert slack_date(end, "Europe/Berlin", "{time}").endswith("|11:00 Europe/Berlin>")
    shown = t(
        "en",
        "calendar.span",
        start="2027-01-12 10:00",
        end=slack_date(end, "Europe/Berlin", "{time}"),
        length="1 h",
    )
    assert mrkdwn_to_text(shown, tz="Europe/Berlin") == "2027-01-12 10:00 – 11:00 (1 h)"
