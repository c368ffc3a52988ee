"""The go-live gate: the answer (a line per module with its reasons), the thresholds form and its
confirmation, the PM's Home tab line (pure builders: data in, Block Kit out)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from bot.i18n import plain, t
from bot.ids import GoLiveId
from bot.services.golive import Gate, ModuleGate
from bot.views import common as ui
from bot.views.projects import phase_label
from storage.models import GoLiveSettings, Project

EMOJI = {"go": ":large_green_circle:", "at_risk": ":large_yellow_circle:", "no_go": ":red_circle:"}
MODULES_SHOWN = 40  # a section each, within a message's 50 blocks
SETTINGS_MODAL = ui.Modal(GoLiveId.SETTINGS_MODAL, "golive.modal.settings_title", "common.save")
HOME_PROJECTS = 5
SETTING_FIELDS = ("key_user_go", "key_user_at_risk", "end_user_go", "end_user_at_risk", "p2_margin")


def reason_text(locale: str, reason: str, params: dict[str, Any]) -> str:
    shown = dict(params)
    if "numbers" in shown:
        shown["numbers"] = ", ".join(f"#{n}" for n in shown["numbers"])
    return t(locale, f"golive.reason.{reason}", **shown)


def module_text(locale: str, module: ModuleGate) -> str:
    verdict = module.verdict
    lines = [
        t(
            locale,
            "golive.module_line",
            emoji=EMOJI[verdict],
            module=module.module,
            verdict=plain(locale, f"golive.verdict.{verdict}"),
        )
    ]
    lines += ["• " + reason_text(locale, c.reason, c.params) for c in module.criteria]
    return "\n".join(lines)


def thresholds_text(locale: str, limits: GoLiveSettings) -> str:
    return t(
        locale,
        "golive.thresholds",
        key_go=limits.key_user_go,
        key_risk=limits.key_user_at_risk,
        end_go=limits.end_user_go,
        end_risk=limits.end_user_at_risk,
        margin=limits.p2_margin,
    )


def summary_text(locale: str, gate: Gate) -> str:
    counts = gate.counts()
    return t(
        locale,
        "golive.summary",
        code=gate.code,
        phase=phase_label(locale, gate.phase),
        go=counts["go"],
        at_risk=counts["at_risk"],
        no_go=counts["no_go"],
    )


def gate_message(locale: str, gate: Gate, command: str, own: bool = False) -> dict[str, Any]:
    """The gate as a message: the count of each verdict, a section per module (at most
    ``MODULES_SHOWN``), the thresholds."""
    head = t(locale, "golive.own_summary", code=gate.code) if own else summary_text(locale, gate)
    blocks: list[Block] = [ui.section(head)]
    if not gate.modules:
        blocks.append(ui.section(t(locale, "golive.no_modules", code=gate.code)))
    for module in gate.modules[:MODULES_SHOWN]:
        blocks.append(ui.section(module_text(locale, module)))
    hidden = len(gate.modules) - MODULES_SHOWN
    if hidden > 0:
        more = t(locale, "golive.more", count=hidden, command=command, code=gate.code)
        blocks.append(ui.context(more))
    blocks.append(ui.context(thresholds_text(locale, gate.thresholds)))
    if not gate.final:
        phase = phase_label(locale, gate.phase)
        blocks.append(ui.context(t(locale, "golive.not_yet", code=gate.code, phase=phase)))
    return ui.message(head, blocks)


def gate_text(locale: str, gate: Gate) -> str:
    """The whole gate in words (a DM from the Home tab's button)."""
    parts = [summary_text(locale, gate)]
    parts += [module_text(locale, module) for module in gate.modules[:MODULES_SHOWN]]
    return "\n\n".join(parts)


def settings_modal(locale: str, project: Project, limits: GoLiveSettings) -> dict[str, Any]:
    form = ui.Fields(locale, "golive")
    blocks: list[Block] = [ui.section(t(locale, "golive.modal.settings_intro", code=project.code))]
    blocks += [
        form.number(name, initial=getattr(limits, name), low=0, high=100) for name in SETTING_FIELDS
    ]
    return SETTINGS_MODAL(locale, blocks, {"project_id": project.id})


def settings_saved(locale: str, project: Project, row: GoLiveSettings) -> str:
    return t(
        locale,
        "golive.done.settings",
        code=project.code,
        key_go=row.key_user_go,
        key_risk=row.key_user_at_risk,
        end_go=row.end_user_go,
        end_risk=row.end_user_at_risk,
        margin=row.p2_margin,
    )


def home_part(locale: str, projects: list[Project]) -> list[Block]:
    """A line and a button per managed project from final preparation on (no query: the gate
    is computed when the button is pressed)."""
    blocks: list[Block] = []
    for project in projects[:HOME_PROJECTS]:
        line = t(
            locale,
            "golive.home.line",
            code=project.code,
            phase=phase_label(locale, project.phase),
        )
        button = ui.button(plain(locale, "golive.home.button"), GoLiveId.SHOW, str(project.id))
        blocks.append(ui.section(line, accessory=button))
    return ui.titled(plain(locale, "golive.home.title"), blocks) if blocks else []


SNAPSHOT_MODULES = 10  # lines of a sign-off's card and its signers' DMs


def snapshot_lines(locale: str, snapshot: dict[str, Any]) -> list[str]:
    """The gate a go-live sign-off's version kept: the count of each verdict, then each module's
    verdict with what kept it from go (at most ``SNAPSHOT_MODULES`` modules)."""
    modules = list(snapshot.get("modules") or [])
    counts = {verdict: 0 for verdict in EMOJI}
    for module in modules:
        counts[module["verdict"]] = counts.get(module["verdict"], 0) + 1
    lines = [
        t(
            locale,
            "golive.snapshot.title",
            go=counts["go"],
            at_risk=counts["at_risk"],
            no_go=counts["no_go"],
        )
    ]
    for module in modules[:SNAPSHOT_MODULES]:
        reasons = [
            reason_text(locale, c["reason"], c.get("params") or {})
            for c in module["criteria"]
            if c["status"] != "go"
        ]
        lines.append(
            t(
                locale,
                "golive.snapshot.module",
                emoji=EMOJI.get(module["verdict"], ""),
                module=module["module"],
                verdict=plain(locale, f"golive.verdict.{module['verdict']}"),
                reasons=plain(locale, "golive.snapshot.separator").join(reasons),
            )
        )
    if len(modules) > SNAPSHOT_MODULES:
        lines.append(t(locale, "golive.snapshot.more", count=len(modules) - SNAPSHOT_MODULES))
    return lines
