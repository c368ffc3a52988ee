# ruff: noqa: F811 - the drawn fixture is imported from tests.test_charts
"""`/project golive` through the emulator: a project in final preparation whose FI is go and MM at
risk (one open P2, 70 % of its end users ready), every verdict and figure recomputed here in plain
SQL and Python; the thresholds edited (checked inline, nothing stored on an error); the chart (a
PNG in both languages without missing-glyph warnings); the Home tab's line and button; who may see
the gate (the whole or a module's line) and forged ids."""

from __future__ import annotations

import json
import re
import warnings
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import GoLiveId
from bot.runtime import Runtime
from bot.services import golive as service
from bot.services import issues as issue_service
from bot.services import projects as project_service
from storage.db import Database
from storage.models import (
    CalendarEvent,
    EndUser,
    EndUserAttendance,
    GoLiveSettings,
    Invitation,
    KeyUser,
    Project,
    QuizAttempt,
    QuizRound,
    SignOff,
    SignOffSettings,
    SignOffVersion,
    TrainingModule,
    TrainingSession,
)
from tests.conftest import KEY_USERS, OUTSIDER, PM, PROJECT_CHANNEL, TEAM
from tests.flows import add_key_user, last_response, texts
from tests.test_charts import Drawn, drawn  # noqa: F401 - the fixture
from tests.test_flows_risks import ANNA, BEN, TOM, set_up_erp

SAM = KEY_USERS[2]  # the sponsor
EVE = KEY_USERS[3]  # an end user of MM (in Slack), nobody in the register
END_USERS = {"FI": (5, 5), "MM": (10, 7)}  # (registered, present at the 4-hour session)


def seed(runtime: Runtime, database: Database) -> int:
    """Final preparation; FI and MM (4 planned hours, for key users) with one 4-hour session
    each that Anna and Ben attended and a passed quiz each; end users by name, present as
    ``END_USERS`` says (Eve among MM's, in Slack); FI's user acceptance test signed, MM's
    awaiting its signers; one open P2 issue in MM."""
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        project.phase = "final_preparation"
        ctx.session.add(project)
        project_id = project.id or 0
        now = ctx.now()
        past = now - timedelta(days=3)
        key_users = {
            k.user_id: k
            for k in ctx.session.exec(select(KeyUser).where(KeyUser.project_id == project_id))
        }
        for position, name in enumerate(("FI", "MM"), start=1):
            module = TrainingModule(
                team_id=TEAM,
                project_id=project_id,
                name=name,
                planned_hours=4,
                audience_roles=["key_user"],
                position=position,
                created_at=past,
                updated_at=past,
            )
            ctx.session.add(module)
            ctx.session.flush()
            event = CalendarEvent(
                team_id=TEAM,
                project_id=project_id,
                kind="training",
                title=f"{name} training",
                starts_at=past,
                ends_at=past + timedelta(hours=4),
                timezone="Europe/Berlin",
                organizer_id=PM,
                uid=f"uid-{name}",
                created_by=PM,
                created_at=past,
                updated_at=past,
            )
            ctx.session.add(event)
            ctx.session.flush()
            ctx.session.add(
                TrainingSession(
                    team_id=TEAM,
                    project_id=project_id,
                    module_id=module.id or 0,
                    event_id=event.id or 0,
                    trainer_id=PM,
                    hours=4,
                )
            )
            quiz = QuizRound(
                team_id=TEAM,
                project_id=project_id,
                module_id=module.id or 0,
                opens_at=past,
                deadline=now,
                created_by=PM,
                created_at=past,
            )
            ctx.session.add(quiz)
            ctx.session.flush()
            for user in (ANNA, BEN):
                ctx.session.add(
                    Invitation(
                        team_id=TEAM,
                        event_id=event.id or 0,
                        user_id=user,
                        response="accepted",
                        invited_at=past,
                        attendance="present",
                    )
                )
                ctx.session.add(
                    QuizAttempt(
                        team_id=TEAM,
                        round_id=quiz.id or 0,
                        module_id=module.id or 0,
                        user_id=user,
                        key_user_id=key_users[user].id,
                        score=90,
                        passed=True,
                        submitted_at=past,
                    )
                )
            registered, present = END_USERS[name]
            trainer = key_users[ANNA if name == "FI" else BEN]
            for number in range(registered):
                in_slack = name == "MM" and number == 0
                person = EndUser(
                    team_id=TEAM,
                    project_id=project_id,
                    number=position * 100 + number,
                    name=f"{name} user {number}",
                    user_id=EVE if in_slack else None,
                    department="Finance" if number % 2 else "Plant",
                    module_id=module.id or 0,
                    key_user_id=trainer.id or 0,
                    created_by=PM,
                    created_at=past,
                    updated_at=past,
                )
                ctx.session.add(person)
                ctx.session.flush()
                mark = "present" if number < present else "absent"
                if in_slack:
                    ctx.session.add(
                        Invitation(
                            team_id=TEAM,
                            event_id=event.id or 0,
                            user_id=EVE,
                            response="accepted",
                            invited_at=past,
                            attendance=mark,
                        )
                    )
                else:
                    ctx.session.add(
                        EndUserAttendance(
                            team_id=TEAM,
                            event_id=event.id or 0,
                            end_user_id=person.id or 0,
                            attendance=mark,
                        )
                    )
        for number, (module, status) in enumerate((("FI", "approved"), ("MM", "open")), 1):
            ctx.session.add(
                SignOff(
                    team_id=TEAM,
                    project_id=project_id,
                    number=number,
                    kind="uat",
                    title=f"{module} user acceptance test",
                    module=module,
                    rule="all",
                    signers=[SAM],
                    status=status,
                    created_by=PM,
                    created_at=past,
                    updated_at=past,
                )
            )
        settings = project_service.settings_row(ctx, SignOffSettings, project)
        settings.next_number = 3
        ctx.session.add(settings)
        issue_service.create_issue(
            ctx=ctx,
            project=project,
            data=issue_service.IssueInput(title="Goods receipt fails", module="MM", priority="P2"),
        )
    return project_id


@pytest.fixture
def erp(slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime) -> SlackDriver:
    set_up_erp(slack, emulator, runtime)
    add_key_user(slack, SAM, role="sponsor")
    emulator.add_user(EVE, "eve.enduser", real_name="Eve End-User")
    emulator.reset_calls()
    return slack


# ------------------------------------------------------------- recomputed here, independently


def expected(database: Database, project_id: int) -> dict[str, dict[str, Any]]:
    """Per module, from plain SQL: key users ready (4 h attended, latest quiz passed), end users
    ready (≥ 80 % of the planned hours), open P1/P2, the UAT sign-off; the verdict from the
    thresholds."""
    with database.engine.connect() as connection:
        limits = connection.execute(
            text(
                "SELECT key_user_go, key_user_at_risk, end_user_go, end_user_at_risk, p2_margin "
                "FROM golivesettings WHERE project_id = :p"
            ),
            {"p": project_id},
        ).first() or (90, 75, 80, 60, 1)
        modules = connection.execute(
            text("SELECT id, name, planned_hours FROM trainingmodule WHERE project_id = :p"),
            {"p": project_id},
        ).all()
        found = {}
        for module_id, name, planned in modules:
            trainees = connection.execute(
                text(
                    "SELECT id, user_id FROM keyuser WHERE project_id = :p AND role = 'key_user'"
                    " AND removed_at IS NULL"
                ),
                {"p": project_id},
            ).all()
            ready = 0
            for key_user_id, user_id in trainees:
                hours = connection.execute(
                    text(
                        "SELECT COALESCE(SUM(s.hours), 0) FROM trainingsession s JOIN invitation i"
                        " ON i.event_id = s.event_id WHERE s.module_id = :m AND i.user_id = :u"
                        " AND i.attendance IN ('present', 'late')"
                    ),
                    {"m": module_id, "u": user_id},
                ).scalar()
                passed = connection.execute(
                    text(
                        "SELECT passed FROM quizattempt WHERE module_id = :m AND key_user_id = :k"
                        " AND submitted_at IS NOT NULL ORDER BY submitted_at DESC, id DESC"
                    ),
                    {"m": module_id, "k": key_user_id},
                ).scalar()
                ready += int(hours >= 0.8 * planned and bool(passed))
            end_users = connection.execute(
                text("SELECT id, user_id FROM enduser WHERE module_id = :m AND removed_at IS NULL"),
                {"m": module_id},
            ).all()
            end_ready = 0
            for end_user_id, user_id in end_users:
                by_name = connection.execute(
                    text(
                        "SELECT COALESCE(SUM(s.hours), 0) FROM enduserattendance a JOIN"
                        " trainingsession s ON s.event_id = a.event_id WHERE a.end_user_id = :e"
                        " AND a.attendance IN ('present', 'late')"
                    ),
                    {"e": end_user_id},
                ).scalar()
                by_slack = connection.execute(
                    text(
                        "SELECT COALESCE(SUM(s.hours), 0) FROM invitation i JOIN trainingsession s"
                        " ON s.event_id = i.event_id WHERE i.user_id = :u AND s.module_id = :m"
                        " AND i.attendance IN ('present', 'late')"
                    ),
                    {"u": user_id or "-", "m": module_id},
                ).scalar()
                end_ready += int(by_name + by_slack >= 0.8 * planned)
            p1, p2 = (
                connection.execute(
                    text(
                        "SELECT COUNT(*) FROM issue WHERE project_id = :p AND module = :m AND"
                        " priority = :q AND status IN ('new', 'acknowledged', 'in_progress',"
                        " 'reopened') AND deleted_at IS NULL"
                    ),
                    {"p": project_id, "m": name, "q": priority},
                ).scalar()
                for priority in ("P1", "P2")
            )
            uat = {
                status
                for (status,) in connection.execute(
                    text(
                        "SELECT status FROM signoff WHERE project_id = :p AND kind = 'uat' AND"
                        " module = :m"
                    ),
                    {"p": project_id, "m": name},
                ).all()
            }
            found[name] = {
                "uat": "go" if "approved" in uat else "at_risk" if "open" in uat else "no_go",
                "key": (ready, len(trainees)),
                "end": (end_ready, len(end_users)),
                "p1": p1,
                "p2": p2,
            }
    key_go, key_risk, end_go, end_risk, margin = limits
    for figures in found.values():

        def grade(pair: tuple[int, int], go: int, risk: int) -> str:
            share = pair[0] * 100 / pair[1]
            return "go" if share >= go else "at_risk" if share >= risk else "no_go"

        issues = (
            "no_go"
            if figures["p1"] or figures["p2"] > margin
            else "at_risk"
            if figures["p2"]
            else "go"
        )
        statuses = [
            grade(figures["key"], key_go, key_risk),
            grade(figures["end"], end_go, end_risk),
            issues,
            figures["uat"],
        ]
        figures["verdict"] = max(statuses, key=("go", "at_risk", "no_go").index)
    return found


def shown(said: str) -> dict[str, dict[str, Any]]:
    """Each module's verdict and figures as the answer shows them."""
    found: dict[str, dict[str, Any]] = {}
    current = ""
    for line in said.splitlines():
        head = re.match(r"^:\w+: \*(.+)\*: (go|at risk|no-go)$", line)
        if head:
            current = head.group(1)
            found[current] = {"verdict": head.group(2).replace(" ", "_").replace("-", "_")}
            continue
        key = re.search(r"key users ready: (\d+) of (\d+) \((\d+)%", line)
        end = re.search(r"end users ready: (\d+) of (\d+) \((\d+)%", line)
        issues = re.search(r"open issues: (\d+) P1, (\d+) P2", line)
        if key:
            found[current]["key"] = (int(key.group(1)), int(key.group(2)))
        if end:
            found[current]["end"] = (int(end.group(1)), int(end.group(2)))
        if issues:
            found[current]["p1"], found[current]["p2"] = int(issues.group(1)), int(issues.group(2))
        if line.startswith("• ") and "user acceptance test" in line:
            found[current]["uat"] = (
                "go" if "test signed" in line else "at_risk" if "not yet" in line else "no_go"
            )
        if "no open P1 or P2" in line:
            found[current]["p1"] = found[current]["p2"] = 0
    return found


def gate(slack: SlackDriver, user: str = PM, words: str = "") -> str:
    slack.slash_command(user, "/project", f"golive ERP {words}".strip(), channel_id=PROJECT_CHANNEL)
    return texts([last_response(slack)])


def test_fi_is_go_and_mm_at_risk_every_figure_recomputed(
    erp: SlackDriver, runtime: Runtime, database: Database
) -> None:
    project_id = seed(runtime, database)
    said = gate(erp)
    assert "Go-live gate of ERP" in said and "1 go, 1 at risk, 0 no-go" in said
    want = expected(database, project_id)
    got = shown(said)
    for module in ("FI", "MM"):
        for figure in ("verdict", "key", "end", "p1", "p2", "uat"):
            assert got[module][figure] == want[module][figure], (module, figure)
    assert want["FI"]["verdict"] == "go" and want["MM"]["verdict"] == "at_risk"
    assert want["MM"]["end"] == (7, 10) and want["MM"]["p2"] == 1
    assert "70%" in said and "final-preparation checklist done" in said
    assert "Go needs key users ready ≥ 90% and end users ready ≥ 80%" in said
    assert "go-live is still ahead" not in said
    with runtime.unit(TEAM, PM) as ctx:
        project_service.get_project(ctx, "ERP").phase = "realization"
    assert "ERP* is in phase Realization: the go-live gate is computed anyway" in gate(erp)


def test_a_course_of_the_curriculum_is_not_a_module_that_goes_live(
    erp: SlackDriver, runtime: Runtime, database: Database
) -> None:
    """A curriculum module that is no key user's module, has no end users and no test acceptance
    (a course such as "System overview") is not in the gate; the system's modules are."""
    project_id = seed(runtime, database)
    with runtime.unit(TEAM, PM) as ctx:
        ctx.session.add(
            TrainingModule(
                team_id=TEAM,
                project_id=project_id,
                name="System overview",
                planned_hours=8,
                audience_roles=["key_user"],
                position=99,
                created_at=ctx.now(),
                updated_at=ctx.now(),
            )
        )
    said = gate(erp)
    with database.engine.connect() as connection:
        system = {
            name.lower()
            for (name,) in connection.execute(
                text(
                    "SELECT module FROM keyuser WHERE project_id = :p AND removed_at IS NULL"
                    " AND module IS NOT NULL"
                ),
                {"p": project_id},
            )
        }
    assert "System overview" not in said
    assert set(shown(said)) and {name.lower() for name in shown(said)} <= system | {"fi", "mm"}


def test_thresholds_edited_inline_errors_and_the_gate_follows(
    erp: SlackDriver, runtime: Runtime, database: Database
) -> None:
    project_id = seed(runtime, database)
    values = {
        "key_user_go": "90",
        "key_user_at_risk": "75",
        "end_user_go": "80",
        "end_user_at_risk": "60",
        "p2_margin": "1",
    }
    for field, bad, words in (
        ("end_user_go", "101", "from 0 to 100"),
        ("end_user_at_risk", "85", "At most the go threshold (80%)"),
        ("p2_margin", "x", "from 0 to 20"),
    ):
        gate(erp, words="settings")
        # the number inputs take 0-100 only; the margin rule and a forged request are the app's
        response = erp.submit_view(PM, {**values, field: bad}, forged=True)
        assert words in response.json["errors"][field], field
    with database.session() as session:
        assert session.exec(select(GoLiveSettings)).first() is None
    gate(erp, words="settings")
    response = erp.submit_view(PM, {**values, "end_user_go": "70", "p2_margin": "0"})
    assert not (response.json or {}).get("errors")
    assert "go from 90% of key users and 70% of end users" in texts(
        erp.emulator.dm_messages(PM)[-1:]
    )
    said = gate(erp)
    want = expected(database, project_id)
    # End users at 70 % are now go; one open P2 over a margin of none is no-go.
    assert want["MM"]["verdict"] == "no_go" == shown(said)["MM"]["verdict"]
    assert "1 go, 0 at risk, 1 no-go" in said
    # Only PMs change the thresholds: a team member is refused the form, and the PM's form
    # submitted by him (or with another project's id) stores nothing.
    gate(erp, user=TOM, words="settings")
    assert erp.emulator.top_view(TOM) is None
    gate(erp, words="settings")
    view = erp.emulator.top_view(PM)
    assert erp.submit_view(TOM, {**values, "p2_margin": "5"}, view=view).json[
        "response_action"
    ] == ("errors")
    forged = {**view, "private_metadata": json.dumps({"project_id": 999})}
    assert erp.submit_view(PM, {**values, "p2_margin": "5"}, view=forged).json[
        "response_action"
    ] == ("errors")
    with database.session() as session:
        assert session.exec(select(GoLiveSettings)).one().p2_margin == 0


def test_who_sees_the_gate_and_forged_ids(
    erp: SlackDriver, runtime: Runtime, database: Database, emulator: SlackEmulator
) -> None:
    seed(runtime, database)
    for person in (PM, TOM, SAM):
        assert set(shown(gate(erp, user=person))) == {"FI", "MM"}, person
    said = gate(erp, user=ANNA)
    assert set(shown(said)) == {"FI"} and "your module's line" in said
    assert set(shown(gate(erp, user=BEN))) == {"MM"}
    for person in (EVE, OUTSIDER):
        said = gate(erp, user=person)
        assert "is for its PMs, team, sponsors and decision makers" in said, person
        assert "FI" not in said.replace("ERP", "")
    # The Home tab's button names a project by id: forged, or someone not allowed, refused.
    home = emulator.home_view(PM) if hasattr(emulator, "home_view") else None
    erp.click(PM, GoLiveId.SHOW, value="999999")
    assert "Go-live gate" not in texts(emulator.dm_messages(PM)[-1:])
    with runtime.unit(TEAM, PM) as ctx:
        project_id = project_service.get_project(ctx, "ERP").id
    erp.click(EVE, GoLiveId.SHOW, value=str(project_id))
    assert "Go-live gate" not in texts(emulator.dm_messages(EVE)[-1:])
    erp.click(PM, GoLiveId.SHOW, value=str(project_id))
    assert "1 go, 1 at risk, 0 no-go" in texts(emulator.dm_messages(PM)[-1:])
    del home


def test_the_chart_in_both_languages(
    erp: SlackDriver, runtime: Runtime, database: Database, emulator: SlackEmulator
) -> None:
    seed(runtime, database)
    for locale, words in (("en", "go-live gate"), ("zh-CN", "上线关口")):
        with database.session() as session:
            project = session.exec(select(Project)).one()
            project.locale = locale
            session.add(project)
            session.commit()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            said = gate(erp, words="chart")
        assert words in said
        glyphs = [w for w in caught if "missing from" in str(w.message).lower()]
        assert glyphs == [], locale
        png = [f for f in emulator.files if f["name"] == "ERP-golive.png"][-1]
        assert png["content"].startswith(b"\x89PNG")


def test_home_line_from_final_preparation_on(
    erp: SlackDriver, runtime: Runtime, database: Database
) -> None:
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        assert not service.in_final_preparation(project)
    from handlers.home import build_home

    before = build_home(runtime, TEAM, PM)
    assert GoLiveId.SHOW not in str(before)
    seed(runtime, database)
    after = build_home(runtime, TEAM, PM)
    assert GoLiveId.SHOW in str(after) and "Go-live gate" in str(after)


def test_a_go_live_sign_off_keeps_the_gate_of_each_version(
    erp: SlackDriver, runtime: Runtime, database: Database, emulator: SlackEmulator
) -> None:
    project_id = seed(runtime, database)
    erp.slash_command(PM, "/signoff", "new", channel_id=PROJECT_CHANNEL)
    response = erp.submit_view(
        PM,
        {
            "kind": "go_live",
            "title": "ERP go-live",
            "text": "Go-live on 1 February.",
            "link": "",
            "people": [SAM],
            "rule": "all",
        },
    )
    assert not (response.json or {}).get("errors")
    first = "*Go-live gate when this version was made*: 1 go, 1 at risk, 0 no-go"
    asked = [m for m in emulator.dm_messages(SAM) if "ERP go-live" in str(m)][-1]
    assert first in texts([asked])
    assert "MM: at risk (end users ready: 7 of 10 (70%, go from 80%)" in texts([asked])
    # Not in the project's channel, where people who may not see the gate read.
    posted = [m for m in emulator.messages(PROJECT_CHANNEL) if "ERP go-live" in str(m)]
    assert posted and "Go-live gate" not in texts(posted) and "70%" not in texts(posted)

    def versions() -> list[SignOffVersion]:
        with database.session() as session:
            return list(
                session.exec(
                    select(SignOffVersion)
                    .join(SignOff, SignOff.id == SignOffVersion.signoff_id)
                    .where(SignOff.kind == "go_live")
                    .order_by(SignOffVersion.version)
                ).all()
            )

    [v1] = versions()
    kept = v1.gate
    assert kept is not None
    assert {m["module"]: m["verdict"] for m in kept["modules"]} == {
        name: figures["verdict"] for name, figures in expected(database, project_id).items()
    }
    # The data changes afterwards (an open P1 in FI): the live gate follows, the snapshot not.
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        issue_service.create_issue(
            ctx=ctx,
            project=project,
            data=issue_service.IssueInput(title="Payment run fails", module="FI", priority="P1"),
        )
    assert "0 go, 1 at risk, 1 no-go" in gate(erp)
    [v1] = versions()
    assert v1.gate == kept
    erp.slash_command(PM, "/signoff", "3", channel_id=PROJECT_CHANNEL)
    assert first in texts([last_response(erp)])
    # A new version takes a new snapshot, shown to the signer asked again.
    erp.slash_command(PM, "/signoff", "edit 3", channel_id=PROJECT_CHANNEL)
    response = erp.submit_view(PM, {"text": "Go-live on 8 February.", "link": ""})
    assert not (response.json or {}).get("errors")
    v1, v2 = versions()
    assert v1.gate == kept and v2.gate is not None
    assert (
        {m["module"]: m["verdict"] for m in v2.gate["modules"]}
        == {name: figures["verdict"] for name, figures in expected(database, project_id).items()}
        == {"FI": "no_go", "MM": "at_risk"}
    )
    asked = [m for m in emulator.dm_messages(SAM) if "ERP go-live" in str(m)][-1]
    assert "0 go, 1 at risk, 1 no-go" in texts([asked])
    assert "FI: no-go (open issues: 1 P1, 0 P2" in texts([asked])


def test_the_home_line_adds_no_statement_within_the_budget(runtime: Runtime, clock: Any) -> None:
    """The Home tab's go-live line reads the phase from the project rows the viewer holds: a
    PM's Home costs the same statements, within ``HOME_BUDGET``, in final preparation or not."""
    from handlers.home import build_home
    from tests.test_home_dashboard import HOME_BUDGET, _grow, _statements_of

    _grow(runtime, clock, "SMALL", 1)
    before_view: dict[str, Any] = {}
    before = _statements_of(runtime, lambda: before_view.update(build_home(runtime, TEAM, PM)))
    with runtime.unit(TEAM, PM) as ctx:
        project_service.get_project(ctx, "SMALL").phase = "final_preparation"
    after_view: dict[str, Any] = {}
    after = _statements_of(runtime, lambda: after_view.update(build_home(runtime, TEAM, PM)))
    assert GoLiveId.SHOW not in str(before_view) and GoLiveId.SHOW in str(after_view)
    assert after == before <= HOME_BUDGET, (before, after)


@pytest.mark.parametrize(
    ("locale", "words"), [("en", ("go-live gate", "at risk")), ("zh-CN", ("上线关口", "待观察"))]
)
def test_the_chart_draws_every_module_and_criterion_in_both_languages(
    erp: SlackDriver,
    runtime: Runtime,
    database: Database,
    drawn: Drawn,  # noqa: F811
    locale: str,
    words: tuple[str, str],
) -> None:
    from bot.golive_charts import gate_chart

    seed(runtime, database)
    with runtime.unit(TEAM, PM) as ctx:
        found = service.compute(ctx, project_service.get_project(ctx, "ERP"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph warns: fail on it
        png = gate_chart(found, locale)
    assert png.startswith(b"\x89PNG")
    drawn_text = " ".join(drawn.texts)
    assert all(word in drawn_text for word in words), drawn.texts
    assert "FI" in drawn.texts and "MM" in drawn.texts and "70%" in drawn.texts
    assert drawn.outside() == []


def test_the_gate_costs_the_same_statements_whatever_the_data(
    erp: SlackDriver, runtime: Runtime, database: Database
) -> None:
    """One statement per criterion at most, never one per module or person: more modules, end
    users and issues cost no more statements."""
    from tests.test_home_dashboard import _statements_of

    project_id = seed(runtime, database)

    def count() -> int:
        with runtime.unit(TEAM, PM) as ctx:
            project = project_service.get_project(ctx, "ERP")
            return _statements_of(runtime, lambda: service.compute(ctx, project))

    small = count()
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        now = ctx.now()
        key_user = ctx.session.exec(select(KeyUser).where(KeyUser.user_id == ANNA)).one()
        for index in range(5):
            module = TrainingModule(
                team_id=TEAM,
                project_id=project_id,
                name=f"Extra {index}",
                position=10 + index,
                created_at=now,
                updated_at=now,
            )
            ctx.session.add(module)
            ctx.session.flush()
            for number in range(20):
                ctx.session.add(
                    EndUser(
                        team_id=TEAM,
                        project_id=project_id,
                        number=1000 + index * 100 + number,
                        name=f"Extra user {index}-{number}",
                        department="Plant",
                        module_id=module.id or 0,
                        key_user_id=key_user.id or 0,
                        created_by=PM,
                        created_at=now,
                        updated_at=now,
                    )
                )
            issue_service.create_issue(
                ctx=ctx,
                project=project,
                data=issue_service.IssueInput(title=f"Issue {index}", module=f"Extra {index}"),
            )
    large = count()
    assert large == small <= 12, (small, large)
    assert len(shown(gate(erp))) == 7
