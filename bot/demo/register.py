"""Act 1: a PM creates the project and registers six key users of different roles."""

from __future__ import annotations

from bot.demo.stage import CHANNEL, CONSULTANT, PM, Stage
from bot.ids import ChecklistId

KEY_USERS = [
    # user, role, department (a demo.data key), module, influence, interest
    ("UMAR0006", "sponsor", "sponsor", "", "high", "high"),
    ("UANA0003", "decision_maker", "accounting", "FI", "high", "medium"),
    ("UWEI0004", "key_user", "procurement", "MM", "medium", "high"),
    ("ULUC0005", "business_representative", "sales", "SD", "low", "high"),
    ("UJON0007", "system_administrator", "it", "BASIS", "medium", "low"),
    ("UPRI0008", "key_user", "hr", "HCM", "low", "medium"),
]


def play(stage: Stage) -> None:
    slack = stage.slack
    t = stage.t
    channel = t("demo.data.channel")
    project_name = t("demo.data.project_name")
    stage.act(t("demo.register.title"))

    stage.step(PM, t("demo.register.new_project", channel=channel))
    slack.slash_command(PM, "/project", "new", channel_id=CHANNEL)
    stage.show_view(stage.emulator.open_views(PM)[-1])

    stage.step(PM, t("demo.register.bad_submit"))
    response = slack.submit_view(
        PM,
        {
            "name": project_name,
            "code": "erp 2027",
            "channel_id": CHANNEL,
            "pm_ids": [PM],
            "digest_time": "09:00",
            "timezone": stage.timezone,
            "locale": stage.locale,
            "digest_weekday": "0",
        },
    )
    stage.show_form_errors(PM, response)

    stage.step(PM, t("demo.register.good_submit"))
    slack.submit_view(
        PM,
        {
            "name": project_name,
            "code": "ERP",
            "channel_id": CHANNEL,
            "pm_ids": [PM],
            "digest_time": "09:00",
            "timezone": stage.timezone,
            "locale": stage.locale,
            "digest_weekday": "0",
        },
    )
    stage.show_new_messages()
    stage.home(PM, t("demo.register.home_new"))

    stage.step(PM, t("demo.register.keyuser_form"))
    slack.slash_command(PM, "/keyuser", "add", channel_id=CHANNEL)
    stage.show_view(stage.emulator.open_views(PM)[-1])
    for index, (user_id, role, department, module, influence, interest) in enumerate(KEY_USERS):
        if index:
            slack.slash_command(PM, "/keyuser", "add ERP", channel_id=CHANNEL)
        values = {
            "user_id": user_id,
            "role": role,
            "department": t(f"demo.data.department_{department}"),
            "influence": influence,
            "interest": interest,
        }
        if module:
            values["module"] = module
        if user_id == "UPRI0008":
            values["cadence_days"] = "21"
            values["notes"] = t("demo.data.notes_hr")
        role_name = t(f"roles.{role}")
        role_name = role_name if stage.locale == "zh-CN" else role_name.lower()
        stage.step(PM, t("demo.register.registers", who=stage.name(user_id), role=role_name))
        slack.submit_view(PM, values)
        stage.show_new_messages()

    stage.command(PM, t("demo.register.list"), "/keyuser", "list ERP")

    stage.command(PM, t("demo.register.phase"), "/project", "phase ERP next")
    asked = {**stage.emulator.responses[-1], "ts": "1.0"}
    confirm = [
        element
        for block in asked.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("action_id") == ChecklistId.MOVE
    ]
    if confirm:
        stage.step(PM, t("demo.register.phase_confirm"))
        slack.block_action(
            PM, ChecklistId.MOVE, confirm[0]["value"], message=asked, channel_id=CHANNEL
        )
        stage.show_new_messages()

    stage.step(CONSULTANT, t("demo.register.not_pm", who=stage.name("UANA0003")))
    handle = stage.cast["UANA0003"][0]
    slack.slash_command(
        CONSULTANT, "/keyuser", f"remove ERP <@UANA0003|{handle}>", channel_id=CHANNEL
    )
    stage.show_new_messages()

    stage.command(PM, t("demo.register.export"), "/keyuser", "export ERP")
    files = stage.emulator.files
    if files:
        content = files[-1]["content"].decode("utf-8")
        stage.say("    " + "\n    ".join(content.splitlines()[:4]) + "\n    …")

    stage.home(PM, t("demo.register.home_pm"))
    stage.show_new_messages()

    stage.home("UWEI0004", t("demo.register.home_key_user"))
    stage.show_new_messages()
