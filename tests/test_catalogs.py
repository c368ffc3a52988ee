"""The en and zh-CN message catalogs: same keys, valid Jinja, same parameters, renderable."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jinja2 import Environment, meta, nodes

from bot import i18n
from bot.i18n import catalog_keys, plain, t

EN = "en"
ZH = "zh-CN"

# A plain environment that knows the app's custom filters, which analysing a template requires.
_ENV = Environment()
_ENV.filters.update(
    mention=i18n.mention,
    channel=i18n.channel_link,
    slack_date=i18n.slack_date,
    percent=i18n.percent,
)

# Texts Slack shows on buttons (max 75 characters) and as modal titles (max 24 characters).
BUTTON_KEYS = ("home.add_keyuser", "home.show_register", "home.edit_project", "home.new_project")
BUTTON_LIMIT = 75
TITLE_LIMIT = 24


def _raw_catalog(locale: str) -> dict[str, str]:
    """The catalog read straight from its files, so no English fallback can hide a gap."""
    return i18n.read_catalog_files(locale)


def _variables(source: str) -> set[str]:
    return meta.find_undeclared_variables(_ENV.parse(source))


def _filters(source: str) -> set[str]:
    return {node.name for node in _ENV.parse(source).find_all(nodes.Filter)}


TEMPLATES = Path(i18n.__file__).resolve().parent / "templates"
EN_SOURCES = _raw_catalog(EN)
ZH_SOURCES = _raw_catalog(ZH)


def test_catalogs_have_the_same_keys() -> None:
    en_keys = catalog_keys(EN)
    zh_keys = catalog_keys(ZH)
    assert sorted(en_keys - zh_keys) == [], "keys missing from zh-CN"
    assert sorted(zh_keys - en_keys) == [], "keys in zh-CN but not in en"


def test_catalog_files_match_the_loaded_catalogs() -> None:
    assert set(EN_SOURCES) == catalog_keys(EN)
    assert set(ZH_SOURCES) == catalog_keys(ZH)


def test_every_value_is_a_string() -> None:
    for locale, sources in ((EN, EN_SOURCES), (ZH, ZH_SOURCES)):
        for key, value in sources.items():
            assert isinstance(value, str), f"{locale} {key} is not a string"
            assert value.strip(), f"{locale} {key} is empty"


@pytest.mark.parametrize("key", sorted(EN_SOURCES))
def test_zh_template_keeps_every_english_variable_and_filter(key: str) -> None:
    assert _variables(ZH_SOURCES[key]) == _variables(EN_SOURCES[key]), key
    assert _filters(ZH_SOURCES[key]) == _filters(EN_SOURCES[key]), key


def test_zh_values_are_translated() -> None:
    untranslated = {
        key
        for key, value in ZH_SOURCES.items()
        if value == EN_SOURCES[key] and not key.startswith("locales.") and key != "errors.plain"
    }
    assert untranslated == set()


def test_language_names_stay_as_in_english() -> None:
    for key in (k for k in EN_SOURCES if k.startswith("locales.")):
        assert ZH_SOURCES[key] == EN_SOURCES[key]


def test_no_english_plural_tricks_in_zh() -> None:
    for key, value in ZH_SOURCES.items():
        assert "else 's'" not in value, key


@pytest.mark.parametrize("locale", [EN, ZH])
def test_button_and_title_lengths(locale: str) -> None:
    sources = _raw_catalog(locale)
    for key in BUTTON_KEYS:
        assert len(plain(locale, key)) <= BUTTON_LIMIT, key
    titles = [k for k in sources if ".modal." in k and k.endswith("_title")]
    titles += [k for k in sources if k.startswith("common.") and k != "common.more"]
    assert titles
    for key in titles:
        assert len(plain(locale, key)) <= TITLE_LIMIT, key


def test_render_simple_keys_in_chinese() -> None:
    assert t(ZH, "common.save") == "保存"
    assert t(ZH, "phases.go_live_support") == "上线与支持"
    assert t(ZH, "roles.key_user") == "关键用户"
    assert t(ZH, "errors.too_long", limit=80) == "请控制在 80 个字符以内。"
    assert "ERP" in t(ZH, "errors.not_pm", code="ERP")


def test_render_project_line_in_chinese() -> None:
    text = t(
        ZH,
        "project.line",
        code="ERP",
        name="S/4HANA",
        phase="业务蓝图",
        channel="C0123",
        pms=["U1", "U2"],
        key_users=1,
    )
    assert text == "*ERP* · S/4HANA · <#C0123> — 业务蓝图\n项目经理：<@U1>、<@U2> · 关键用户 1 名"
    no_channel = t(
        ZH, "project.line", code="ERP", name="X", phase="P", channel=None, pms=["U1"], key_users=3
    )
    assert "<#" not in no_channel
    assert "关键用户 3 名" in no_channel


def test_render_keyuser_messages_in_chinese() -> None:
    summary = t(ZH, "keyuser.import_summary", code="ERP", added=2, updated=1, rejected=1)
    assert summary == ":inbox_tray: 导入到 ERP：新增 2 名，更新 1 名，拒绝 1 行。"
    line = t(
        ZH,
        "keyuser.register_line",
        user="U1",
        role="关键用户",
        department="财务部",
        module="FI",
        influence="高",
        interest="中",
        channel="私信",
        cadence=7,
        overridden=True,
    )
    assert line.startswith("• <@U1> — 关键用户，财务部，模块 FI")
    assert "每 7 天（由项目经理设定）" in line
    assert t(ZH, "keyuser.import_error_line", line=3, field="role", message="此项为必填项。") == (
        "• 第 3 行（role）：此项为必填项。"
    )


def test_render_home_dashboard_in_chinese() -> None:
    counts = t(ZH, "dashboard.key_users", total=5, counts="重点管理: 2 · 监督: 3")
    assert counts == "关键用户 5 人：重点管理: 2 · 监督: 3"
    figures = t(
        ZH,
        "dashboard.pm_figures",
        open=3,
        overdue=1,
        breaches=0,
        csat="80%",
        nps="20",
        debt=2,
        readiness=None,
    )
    assert "*逾期* 1" in figures and "*联络欠账* 2 人" in figures and "就绪度" not in figures
    assert "*培训就绪度* 75%" in t(
        ZH,
        "dashboard.pm_figures",
        open=3,
        overdue=1,
        breaches=0,
        csat="80%",
        nps="20",
        debt=2,
        readiness=75,
    )


@pytest.mark.parametrize("key", sorted(k for k, v in EN_SOURCES.items() if "\n" in v and "{%" in v))
def test_zh_line_breaks_survive_trim_blocks(key: str) -> None:
    """The app's environment has trim_blocks on, which eats a newline right after a block tag."""
    params: dict[str, object] = {name: "1" for name in _variables(EN_SOURCES[key])}
    if "pms" in params:
        params["pms"] = ["U1", "U2"]
    expected = ZH_SOURCES[key].count("\n")
    assert t(ZH, key, **params).count("\n") == expected, key


def test_zh_parameters_are_escaped_for_mrkdwn() -> None:
    assert t(ZH, "errors.plain", text="<!channel> & co") == "&lt;!channel&gt; &amp; co"
    assert "&lt;b&gt;" in t(ZH, "keyuser.adding_to", code="ERP", name="<b>")


def test_every_zh_key_renders_with_its_english_parameters() -> None:
    """Rendering every key with dummy values for its variables must not fail."""
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    for key in ZH_SOURCES:
        params: dict[str, object] = {name: "1" for name in _variables(EN_SOURCES[key])}
        for name in params:
            if name == "pms":
                params[name] = ["U1"]
            elif name in ("when", "date", "moment"):
                params[name] = moment
        for rendered in (t(ZH, key, **params), plain(ZH, key, **params)):
            assert rendered.strip(), f"{key} renders empty"
            assert "{{" not in rendered and "{%" not in rendered, f"{key} left template syntax"


# Slack's mrkdwn reads *bold*, _italic_ and ~struck~ only where each marker meets a space, a line's
# end or half-width punctuation on its outer side. Written against a Chinese character or full-width
# punctuation (`*时间：*2026`, `提醒：*周会*`), the markers show as typed. A placeholder may render
# as anything, so a marker next to one needs its space too.
_MARKUP_BOUNDARY = set(" \t\n.,:;!?()[]\"'/-")
_OPAQUE = re.compile(r"\{\{.*?\}\}|\{%-?.*?-?%\}|`[^`\n]*`", re.S)
# A marker next to a Latin letter or digit is no marker (snake_case, 2*3); next to a Chinese
# character it is one that Slack leaves unrendered, which is what this looks for.
_EMPHASIS = re.compile(
    r"(?<![*_~A-Za-z0-9\ue000])([*_~])(?=[^\s*_~])([^\n]+?)(?<=\S)\1(?![*_~A-Za-z0-9])"
)


def glued_emphasis(source: str) -> list[str]:
    """The emphasis spans of a message whose markers touch something other than a boundary."""
    masked = _OPAQUE.sub("\ue000", source)
    glued = []
    for span in _EMPHASIS.finditer(masked):
        before = masked[span.start() - 1] if span.start() else " "
        after = masked[span.end()] if span.end() < len(masked) else " "
        if before not in _MARKUP_BOUNDARY or after not in _MARKUP_BOUNDARY:
            glued.append(masked[max(span.start() - 2, 0) : span.end() + 2])
    return glued


def test_emphasis_is_not_glued_to_chinese_text() -> None:
    sources = dict(ZH_SOURCES)
    for template in sorted(TEMPLATES.glob("zh-CN/**/*.j2")):
        sources[str(template.relative_to(TEMPLATES))] = template.read_text(encoding="utf-8")
    glued = {name: found for name, source in sources.items() if (found := glued_emphasis(source))}
    assert glued == {}


def test_the_emphasis_rule_sees_glued_markers() -> None:
    assert glued_emphasis("*时间：*{{ start }}") and glued_emphasis("提醒：*{{ title }}* 将")
    assert glued_emphasis("*延迟发送：*到了") and glued_emphasis("请*尽快*回复")
    assert glued_emphasis("当前状态：_{{ status }}_。") and glued_emphasis("*预览*，仅您")
    assert not glued_emphasis("*时间：* {{ start }}\n提醒： *{{ title }}* 将在 _新_ 。")
    assert not glued_emphasis("`key_user` *Due:* {{ when }}, (*bold*).")


@pytest.mark.parametrize("locale", [EN, ZH])
def test_every_message_can_be_said_as_plain_text(locale: str) -> None:
    """Inline form errors say a message without its markup: taking the markup off leaves a valid
    template with the same parameters, for every message."""
    for key, source in (EN_SOURCES if locale == EN else ZH_SOURCES).items():
        stripped = i18n.mrkdwn_to_plain(source)
        assert _variables(stripped) == _variables(source), key
