"""`/risk settings` and `/risk import` through the emulator: a PM changes the categories and the
grade thresholds (checked inline, nothing stored on an error) and the lists regrade at once; the
register is imported from the CSV `/risk export` writes, bad rows reported by line, a bad file
importing nothing; both languages, and who may do either."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.errors import ValidationError
from bot.runtime import Runtime
from bot.services import projects as project_service
from bot.services import risks as risk_service
from storage.db import Database
from storage.models import Risk, RiskAction, RiskAssessment, RiskHistory, RiskSettings
from tests.conftest import PM, PROJECT_CHANNEL, TEAM
from tests.flows import last_response, last_response_text, texts
from tests.test_flows_risks import ANNA, TOM, raise_risk, rows, set_up_erp


@pytest.fixture
def erp(slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime) -> SlackDriver:
    return set_up_erp(slack, emulator, runtime)


SETTINGS = {"categories": "", "low_max": "4", "medium_max": "12"}


def settings_of(database: Database) -> RiskSettings | None:
    with database.session() as session:
        return session.exec(select(RiskSettings)).first()


def open_settings(slack: SlackDriver, user: str = PM) -> None:
    slack.slash_command(user, "/risk", "settings ERP", channel_id=PROJECT_CHANNEL)


def grades_in_list(slack: SlackDriver) -> dict[str, str]:
    """Each risk's grade as `/risk list all` shows it, by its number."""
    slack.slash_command(PM, "/risk", "list all", channel_id=PROJECT_CHANNEL)
    said = texts([last_response(slack)])  # the list's modal
    found = {}
    for line in said.splitlines():
        if line.startswith("*#"):
            ref = line.split("*")[1]
            found[ref] = next(g for g in ("low", "medium", "high") if f" {g} " in line + " ")
    return found


def test_a_pm_changes_thresholds_and_the_list_regrades(
    erp: SlackDriver, database: Database
) -> None:
    raise_risk(erp, probability="2", impact="3")  # 6
    raise_risk(erp, probability="3", impact="4")  # 12
    raise_risk(erp, probability="4", impact="4")  # 16
    assert grades_in_list(erp) == {"#1": "medium", "#2": "medium", "#3": "high"}

    open_settings(erp)
    view = erp.emulator.top_view(PM)
    assert {b.get("block_id") for b in view["blocks"]} >= {"categories", "low_max", "medium_max"}
    response = erp.submit_view(PM, {**SETTINGS, "low_max": "6", "medium_max": "10"})
    assert not (response.json or {}).get("errors")
    said = texts(erp.emulator.dm_messages(PM)[-1:])
    assert "low up to 6, medium up to 10, high above" in said
    assert "Categories (the defaults): Business, Technical" in said
    row = settings_of(database)
    assert row is not None and (row.low_max, row.medium_max, row.categories) == (6, 10, [])
    # Recomputed here: 6 ≤ 6 low, 12 > 10 high, 16 high.
    levels = {f"#{r.number}": r.level for r in rows(database, Risk)}
    expected = {
        ref: "low" if level <= 6 else "medium" if level <= 10 else "high"
        for ref, level in levels.items()
    }
    assert grades_in_list(erp) == expected == {"#1": "low", "#2": "high", "#3": "high"}
    erp.slash_command(PM, "/risk", "list high", channel_id=PROJECT_CHANNEL)
    assert "(2)" in last_response_text(erp)


def test_bad_thresholds_are_refused_inline_and_nothing_is_stored(
    erp: SlackDriver, database: Database
) -> None:
    for low, medium, field, words in (
        ("0", "12", "low_max", "from 1 to 23"),
        ("x", "12", "low_max", "from 1 to 23"),
        ("8", "8", "medium_max", "Larger than the low threshold (8)"),
        ("9", "5", "medium_max", "Larger than the low threshold (9)"),
        ("4", "25", "medium_max", "from 2 to 24"),
    ):
        open_settings(erp)
        response = erp.submit_view(  # beyond what the number inputs let through: hand-made
            PM, {**SETTINGS, "low_max": low, "medium_max": medium}, forged=True
        )
        assert words in response.json["errors"][field], (low, medium)
    open_settings(erp)
    response = erp.submit_view(PM, {**SETTINGS, "categories": "Data\ndata"})
    assert "Each category once" in response.json["errors"]["categories"]
    row = settings_of(database)
    assert row is None or (row.low_max, row.medium_max, row.categories) == (4, 12, [])


def test_own_categories_replace_the_defaults_in_the_form(
    erp: SlackDriver, database: Database, runtime: Runtime
) -> None:
    open_settings(erp)
    erp.submit_view(PM, {**SETTINGS, "categories": "Interfaces\n  Cut-over  \n\nLicences"})
    row = settings_of(database)
    assert row is not None and row.categories == ["Interfaces", "Cut-over", "Licences"]
    erp.slash_command(PM, "/risk", "new", channel_id=PROJECT_CHANNEL)
    form = erp.emulator.top_view(PM)
    category = next(b for b in form["blocks"] if b.get("block_id") == "category")
    assert [o["value"] for o in category["element"]["options"]] == row.categories
    raise_risk(erp, category="Cut-over")
    assert [r.category for r in rows(database, Risk)] == ["Cut-over"]
    with runtime.unit(TEAM, PM) as ctx:  # a forged or typed one: only the project's, any case
        project = project_service.get_project(ctx, "ERP")
        data = risk_service.RiskInput(title="X", category="data", probability=2, impact=2)
        with pytest.raises(ValidationError) as refused:
            risk_service.create_risk(ctx=ctx, project=project, data=data)
        assert "category" in refused.value.errors
        data.category = "LICENCES"
        assert risk_service.create_risk(ctx=ctx, project=project, data=data).risk.category == (
            "Licences"
        )
    # The form shows the project's own; emptied, the six defaults are back.
    open_settings(erp)
    form = erp.emulator.top_view(PM)
    field = next(b for b in form["blocks"] if b.get("block_id") == "categories")
    assert field["element"]["initial_value"] == "Interfaces\nCut-over\nLicences"
    erp.submit_view(PM, {**SETTINGS, "categories": ""})
    row = settings_of(database)
    assert row is not None and row.categories == []
    assert risk_service.CATEGORIES == (
        "business",
        "technical",
        "data",
        "organisational",
        "schedule",
        "cost",
    )


def test_only_pms_open_or_submit_the_settings(erp: SlackDriver, database: Database) -> None:
    open_settings(erp, TOM)  # the project team, not a PM
    assert "Only the project managers of ERP" in last_response_text(erp)
    open_settings(erp)
    view = erp.emulator.top_view(PM)
    response = erp.submit_view(TOM, {**SETTINGS, "low_max": "2"}, view=view)
    assert "Only the project managers of ERP" in str(response.json["errors"])
    forged = {**view, "private_metadata": '{"project_id": 999}'}
    response = erp.submit_view(PM, {**SETTINGS, "low_max": "2"}, view=forged)
    assert response.json["response_action"] == "errors"
    row = settings_of(database)
    assert row is None or row.low_max == 4


def test_settings_in_chinese(erp: SlackDriver, runtime: Runtime) -> None:
    with runtime.unit(TEAM, PM) as ctx:
        project_service.get_project(ctx, "ERP").locale = "zh-CN"
    open_settings(erp)
    assert "风险设置" in texts([erp.emulator.top_view(PM)])
    response = erp.submit_view(PM, {**SETTINGS, "low_max": "9", "medium_max": "3"})
    assert "须大于低风险阈值（9）" in response.json["errors"]["medium_max"]
    erp.submit_view(PM, {**SETTINGS, "low_max": "3", "medium_max": "9"})
    assert "风险值不超过 3 为低，不超过 9 为中" in texts(erp.emulator.dm_messages(PM)[-1:])
    erp.slash_command(PM, "/risk", "help", channel_id=PROJECT_CHANNEL)
    said = last_response_text(erp)
    assert "默认 4 及以下为低" in said and "`/risk settings`" in said


# ------------------------------------------------------------------------------ import


def export_rows(slack: SlackDriver) -> str:
    slack.slash_command(PM, "/risk", "export ERP", channel_id=PROJECT_CHANNEL)
    return slack.emulator.files[-1]["content"].decode()


def import_text(slack: SlackDriver, text: str, user: str = PM) -> Any:
    slack.slash_command(user, "/risk", "import ERP", channel_id=PROJECT_CHANNEL)
    return slack.submit_view(user, {"csv": text})


HEADER = ",".join(risk_service.CSV_COLUMNS)


def test_import_adds_and_changes_risks_and_reports_bad_rows(
    erp: SlackDriver, database: Database
) -> None:
    raise_risk(erp, probability="2", impact="2", actions="Rehearse the load", owner_id=TOM)
    pasted = (
        f"{HEADER}\n"
        # #1 exists: assessed again (3 × 5), an action added, its title changed.
        "#1,Open items load late,data,FI,3,5,,,,reduce,,open,,no,"
        "Rehearse the load | Second run,,,\n"
        f",Key users leave,organisational,MM,2,4,8,medium,{ANNA},accept,,open,,yes,,,,Attrition\n"
        ",No probability,data,,,3,,,,reduce,,open,,no,,,,\n"
        ",Bad category,weather,,2,2,,,,reduce,,open,,no,,,,\n"
        f",Closed already,cost,,1,2,,,{TOM},avoid,,closed,Budget approved,no,,,,\n"
        ",Bad status,cost,,1,2,,,,avoid,,maybe,,no,,,,\n"
    )
    response = import_text(erp, pasted)
    assert not (response.json or {}).get("errors")
    report = texts(erp.emulator.dm_messages(PM)[-1:])
    assert "2 risks added, 1 updated, 3 rows rejected" in report
    assert "line 4 (probability)" in report and "line 5 (category)" in report
    assert "line 7 (status)" in report
    risks = {r.number: r for r in rows(database, Risk)}
    assert sorted(risks) == [1, 2, 3]
    first = risks[1]
    assert (first.title, first.probability, first.impact, first.level) == (
        "Open items load late",
        3,
        5,
        15,
    )
    assessments = [a for a in rows(database, RiskAssessment) if a.risk_id == first.id]
    assert [(a.level, a.grade) for a in assessments] == [(4, "low"), (15, "high")]
    actions = [a.text for a in rows(database, RiskAction) if a.risk_id == first.id]
    assert actions == ["Rehearse the load", "Second run"]
    assert (risks[2].owner_id, risks[2].visible_in_channel, risks[2].level) == (ANNA, True, 8)
    assert first.owner_id == TOM  # its owner cell was empty: the owner stays
    assert (risks[3].status, risks[3].closed_reason) == ("closed", "Budget approved")
    history = [h.action for h in rows(database, RiskHistory) if h.risk_id == first.id]
    assert history == ["raised", "assessed", "imported"]
    assert erp.emulator.violations == []


def test_an_export_imports_into_another_project_whole(
    erp: SlackDriver, database: Database, runtime: Runtime
) -> None:
    raise_risk(erp, title="Cut-over weekend too short", probability="4", impact="5")
    raise_risk(erp, title="=HYPERLINK(evil)", probability="1", impact="2", actions="A | B")
    exported = export_rows(erp)
    with runtime.unit(TEAM, PM) as ctx:
        project_service.create_project(
            ctx=ctx,
            data=project_service.ProjectInput(name="CRM", code="CRM", pm_ids=[PM]),
        )
    erp.slash_command(PM, "/risk", "import CRM", channel_id=PROJECT_CHANNEL)
    crm_view = erp.emulator.top_view(PM)
    # The numbers name no risk of CRM: every row is a new risk there.
    text = exported.replace("#1,", ",").replace("#2,", ",")
    erp.submit_view(PM, {"csv": text}, view=crm_view)
    assert "2 risks added, 0 updated, 0 rows rejected" in texts(erp.emulator.dm_messages(PM)[-1:])
    with database.session() as session:
        crm = session.exec(select(Risk).where(Risk.number > 0).order_by(Risk.id)).all()[2:]
    assert [(r.title, r.level) for r in crm] == [
        ("Cut-over weekend too short", 20),
        ("=HYPERLINK(evil)", 2),  # the export's protective quote is taken off again
    ]
    exported_rows = list(csv.DictReader(io.StringIO(exported)))
    assert [row["title"] for row in exported_rows][1].startswith("'=")


def test_a_bad_file_imports_nothing(erp: SlackDriver, database: Database, runtime: Runtime) -> None:
    response = import_text(erp, "name,probability\nSomething,3\n")
    assert not (response.json or {}).get("errors")
    said = texts(erp.emulator.dm_messages(PM)[-1:])
    assert "at least title, category, probability and impact" in said
    assert rows(database, Risk) == []
    too_many = HEADER + "\n" + ",Risk,data,,2,2,,,,reduce,,open,,no,,,,\n" * 2001
    with runtime.unit(TEAM, PM) as ctx:  # more than a form can paste: as an uploaded file
        project = project_service.get_project(ctx, "ERP")
        with pytest.raises(ValidationError) as refused:
            risk_service.import_csv(ctx=ctx, project=project, text=too_many)
    assert refused.value.errors["csv"].key == "errors.csv_too_many"
    assert rows(database, Risk) == []


def test_only_the_team_imports_and_a_forged_project_is_refused(
    erp: SlackDriver, database: Database
) -> None:
    erp.slash_command(ANNA, "/risk", "import ERP", channel_id=PROJECT_CHANNEL)
    assert "Only the PMs and team of ERP" in last_response_text(erp)
    erp.slash_command(TOM, "/risk", "import ERP", channel_id=PROJECT_CHANNEL)
    view = erp.emulator.top_view(TOM)
    line = HEADER + "\n,A risk,data,,2,2,,,,reduce,,open,,no,,,,\n"
    response = erp.submit_view(ANNA, {"csv": line}, view=view)
    assert "Only the PMs and team of ERP" in str(response.json["errors"])
    forged = {**view, "private_metadata": '{"project_id": "x"}'}
    response = erp.submit_view(TOM, {"csv": line}, view=forged)
    assert response.json["response_action"] == "errors"
    assert rows(database, Risk) == []
    erp.submit_view(TOM, {"csv": line}, view=view)
    assert [r.title for r in rows(database, Risk)] == ["A risk"]


def test_import_in_chinese(erp: SlackDriver, runtime: Runtime, database: Database) -> None:
    with runtime.unit(TEAM, PM) as ctx:
        project_service.get_project(ctx, "ERP").locale = "zh-CN"
    import_text(
        erp, HEADER + "\n,数据迁移延迟,data,,3,4,,,,reduce,,open,,no,,,,\n,坏行,data,,9,4\n"
    )
    said = texts(erp.emulator.dm_messages(PM)[-1:])
    assert "新增 1 项风险，更新 0 项，拒绝 1 行" in said and "第 3 行（probability）" in said
