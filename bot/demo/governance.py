"""Act: risks, a change request and the decision log. The PM raises a data-migration risk that is
assessed high (the PMs are told), its owner turns the response action into an issue and, once the
duplicates are cleansed, assesses it again; a business representative's report request goes to
the sponsor, who approves it from her DM, and the approved change becomes an issue per module and
an hour of training; the decision log shows the approval beside the meeting's decisions.

In the demo's language (``demo.governance`` catalog), like every act.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from sqlmodel import select

from bot.demo.stage import CHANNEL, CONSULTANT, PM, Stage
from bot.ids import ApprovalId, ChangeId, RiskId
from storage.models import RiskAction, TrainingModule

LUCAS = "ULUC0005"  # business representative, SD
MARIA = "UMAR0006"  # sponsor


def _response(stage: Stage) -> dict[str, Any]:
    return {**stage.emulator.responses[-1], "ts": "1.0"}


def _buttons(message: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """The buttons of ``message`` whose action id starts with ``prefix``, in order."""
    found = []
    for block in message.get("blocks") or []:
        elements = list(block.get("elements") or []) + [block.get("accessory") or {}]
        found += [e for e in elements if str(e.get("action_id", "")).startswith(prefix)]
    return found


def _press(stage: Stage, who: str, button: dict[str, Any]) -> None:
    stage.slack.block_action(
        who, button["action_id"], button.get("value"), message=_response(stage), channel_id=CHANNEL
    )


def _risk(stage: Stage) -> date:
    slack, emulator, t = stage.slack, stage.emulator, stage.t
    stage.step(PM, t("demo.governance.team", who=stage.name(CONSULTANT)))
    slack.slash_command(PM, "/project", "edit ERP", channel_id=CHANNEL)
    slack.submit_view(PM, {"team_ids": [CONSULTANT]})
    stage.show_new_messages()
    stage.step(PM, t("demo.governance.new_risk"))
    slack.slash_command(PM, "/risk", "new ERP", channel_id=CHANNEL)
    stage.show_view(emulator.open_views(PM)[-1])
    review = stage.working_day(stage.local_today(), 5)
    stage.step(PM, t("demo.governance.risk_submitted"))
    slack.submit_view(
        PM,
        {
            "title": t("demo.governance.risk_title"),
            "description": t("demo.governance.risk_description"),
            "category": "data",
            "module": "SD",
            "probability": "4",
            "impact": "4",
            "strategy": "reduce",
            "owner_id": CONSULTANT,
            "actions": t("demo.governance.risk_action"),
            "review_on": review.isoformat(),
            "visible_in_channel": ["yes"],
        },
    )
    stage.show_new_messages()

    stage.advance(hours=2)
    stage.command(CONSULTANT, t("demo.governance.risk_card"), "/risk", "1")
    with stage.database.session() as session:
        action = session.exec(select(RiskAction)).first()
    assert action is not None
    stage.step(CONSULTANT, t("demo.governance.action_to_issue"))
    slack.block_action(
        CONSULTANT,
        RiskId.ACTION_TO_ISSUE,
        str(action.id),
        message=_response(stage),
        channel_id=CHANNEL,
    )
    stage.show_new_messages()
    return review


def _reassess(stage: Stage, review: date) -> None:
    slack, t = stage.slack, stage.t
    stage.clock.set(stage.instant(stage.local_today(), time(16, 0)))
    stage.step(CONSULTANT, t("demo.governance.reassess"))
    slack.slash_command(CONSULTANT, "/risk", "assess 1", channel_id=CHANNEL)
    slack.submit_view(
        CONSULTANT,
        {
            "probability": "2",
            "impact": "4",
            "note": t("demo.governance.reassess_note"),
            "review_on": review.isoformat(),
        },
    )
    stage.show_new_messages()
    stage.command(PM, t("demo.governance.risk_list"), "/risk", "list ERP all")


def _change(stage: Stage) -> None:
    slack, emulator, t = stage.slack, stage.emulator, stage.t
    with stage.database.session() as session:
        modules = session.exec(select(TrainingModule).order_by(TrainingModule.position)).all()  # type: ignore[arg-type]
    module = modules[1]  # basic operation: where a new report is taught
    stage.step(PM, t("demo.governance.new_change", who=stage.name(LUCAS)))
    slack.slash_command(PM, "/change", "new ERP", channel_id=CHANNEL)
    stage.show_view(emulator.open_views(PM)[-1])
    stage.step(PM, t("demo.governance.change_submitted", who=stage.name(MARIA)))
    slack.submit_view(
        PM,
        {
            "title": t("demo.governance.change_title"),
            "reason": t("demo.governance.change_reason"),
            "modules": "SD, FI",
            "processes": t("demo.governance.change_processes"),
            "impact_scope": t("demo.governance.impact_scope"),
            "impact_schedule": t("demo.governance.impact_schedule"),
            "impact_cost": t("demo.governance.impact_cost"),
            "impact_training": t("demo.governance.impact_training"),
            "training_hours": "1",
            "training_module": str(module.id),
            "requested_by": LUCAS,
            "deciders": [MARIA],
        },
    )
    stage.show_new_messages()

    stage.advance(minutes=45)
    stage.home(MARIA, t("demo.governance.sponsor_home"))
    stage.step(MARIA, t("demo.governance.approves"))
    asked = [m for m in emulator.dm_messages(MARIA) if _buttons(m, ApprovalId.APPROVE)][-1]
    slack.click(MARIA, ApprovalId.APPROVE, message=asked)
    stage.show_view(emulator.open_views(MARIA)[-1])
    slack.submit_view(MARIA, {"comment": t("demo.governance.approval_comment")})
    stage.show_new_messages()

    stage.advance(minutes=20)
    stage.command(PM, t("demo.governance.change_card"), "/change", "1")
    stage.step(PM, t("demo.governance.spawn"))
    # Each click answers with the card as it now stands: the next button is pressed there.
    for _ in range(2):  # an issue per module
        _press(stage, PM, _buttons(_response(stage), ChangeId.SPAWN_ISSUE)[0])
    _press(stage, PM, _buttons(_response(stage), ChangeId.SPAWN_TRAINING)[0])
    stage.show_new_messages(last_answer_only=True)


def play(stage: Stage) -> None:
    stage.clock.set(stage.instant(stage.working_day(stage.local_today(), 1), time(9, 0)))
    stage.act(stage.t("demo.governance.title"))
    stage.show_new_messages()
    review = _risk(stage)
    _change(stage)
    _reassess(stage, review)
    stage.command(PM, stage.t("demo.governance.decisions"), "/project", "decisions ERP")
