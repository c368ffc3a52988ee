# ruff: noqa: F811 - the drawn fixture is imported from tests.test_charts
"""The readiness heatmap: a PNG in either language, with no missing-glyph warnings, module names
shown whole and its grey cells explained."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import pytest

from bot.services.training_readiness import Readiness, ReadinessCell, ReadinessRow
from bot.training_charts import MAX_ROWS, readiness_heatmap
from storage.models import KeyUser, Project, TrainingModule
from tests.test_charts import Drawn, drawn  # noqa: F401 - the fixture

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def matrix(names: list[str], people: int) -> Readiness:
    project = Project(
        id=1,
        team_id="T",
        name="Rollout",
        code="ERP",
        phase="p",
        phases=["p"],
        timezone="UTC",
        locale="en",
        created_by="U",
        created_at=NOW,
        updated_at=NOW,
    )
    modules = [
        TrainingModule(
            id=index,
            team_id="T",
            project_id=1,
            name=name,
            planned_hours=8,
            formats=["lecture"],
            has_practical=index % 2 == 0,
            created_at=NOW,
            updated_at=NOW,
        )
        for index, name in enumerate(names, start=1)
    ]
    rows = []
    for number in range(people):
        key_user = KeyUser(
            id=number + 1,
            team_id="T",
            project_id=1,
            user_id=f"U{number:05d}",
            display_name=f"李明 {number}",
            role="key_user",
            created_at=NOW,
            updated_at=NOW,
        )
        cells = [
            ReadinessCell(
                applicable=index != 2,
                hours=8 * (number % 2),
                quiz_passed=True,
                practical_passed=True,
                ready=number % 2 == 1,
            )
            for index in range(len(modules))
        ]
        rows.append(ReadinessRow(key_user, cells))
    return Readiness(project=project, modules=modules, rows=rows)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_heatmap_is_a_png_without_missing_glyph_warnings(locale: str) -> None:
    names = [
        "系统概述",
        "基本操作",
        "系统管理",
        "维护与故障排除（一个很长的模块名称，超过二十二个字）",
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = readiness_heatmap(matrix(names, MAX_ROWS + 5), locale)
    assert png.startswith(b"\x89PNG")
    assert not [w for w in caught if "missing from font" in str(w.message)]


def test_chinese_module_names_are_drawn_not_replaced() -> None:
    from bot import charts

    for name in ["系统概述", "基本操作", "系统管理", "维护与故障排除", "达成就绪标准的比例"]:
        assert charts.drawable(name) == name


@pytest.mark.parametrize(
    ("locale", "grey"),
    [
        ("en", "Grey: the module is not for this key user's role"),
        ("zh-CN", "灰色：该模块不面向这位关键用户的角色"),
    ],
)
def test_the_heatmap_explains_its_grey_cells_and_shows_module_names_whole(
    drawn: Drawn, locale: str, grey: str
) -> None:
    names = [
        "System overview",
        "Basic operation",
        "Administration",
        "Maintenance and troubleshooting",
    ]
    readiness = matrix(names, 6)  # the third module is not for anyone's role: grey
    readiness_heatmap(readiness, locale)
    shown = [text for text in drawn.texts if text.startswith("Maintenance")]
    assert [" ".join(text.splitlines()) for text in shown] == [names[-1]]
    assert not [text for text in drawn.texts if "…" in text]
    assert grey in drawn.texts
    assert drawn.outside() == []

    for row in readiness.rows:
        for cell in row.cells:
            cell.applicable = True
    readiness_heatmap(readiness, locale)
    assert grey not in drawn.texts  # no grey cell, nothing to explain
